/**
 * Shapes of the few answers the OpenAPI document describes only as objects (views assembled from
 * several tables). Everything else comes typed from the generated client; keep these in step with
 * the server's views (src/risk/portfolio.ts, src/inbox/routes.ts, src/loans/views.ts).
 */

export interface Portfolio {
  price: { price: string; status: string; at: string } | null;
  totals: { liveLoans: string; lent: string; principalOutstanding: string; debt: string; collateralBtc: string; collateralRub: string | null; equipmentRub: string; ltvPercent: string | null };
  states: Array<{ state: string; loans: string; debt: string; collateralBtc: string }>;
  ladders: Array<{ product: { code: string; version: number }; loans: string; warningPercent: string; marginCallPercent: string; acceleratedCallPercent: string | null; liquidationPercent: string }>;
  histogram: { bucketPoints: number; buckets: Array<{ fromPercent: number; toPercent: number | null; loans: string; debt: string }> };
  nearestTrigger: Array<{ loan: string; borrower: string; state: string; debt: string; collateralBtc: string; ltvPercent: string | null; worsensAtOrBelow: string | null; headroomPercent: string | null; callDeadline: string | null }>;
  triggerBands: Array<{ rung: string; firstTenth: string | null; half: string | null; nineTenths: string | null }>;
}

export interface Proposal {
  id: string; actionType: string; summary: string; amounts: Record<string, string>; status: string; proposedBy: string; proposedByName: string | null;
  proposedAt: string; expiresAt: string; approverRoles: string[]; canApprove: boolean; payload?: unknown;
}

export interface Inbox {
  at: string;
  proposals: Proposal[];
  myPendingProposals: number;
  applications: Array<{ id: string; borrower: string; borrowerName: string; product: string; amount: string; months: number; collateralBtc: string; createdAt: string; offerId: string | null; blockingReasons: string[] }>;
  calls: Array<{ loan: string; borrower: string; state: string; since: string; debt: string; collateralBtc: string; callDeadline: string | null; businessSecondsLeft: number | null }>;
  liquidations: Array<{ id: string; loan: string; status: string; reason: string | null; plannedBtc: string | null; filledBtc: string; queuedAt: string }>;
  screeningHits: Array<{ id: string; borrower: string; field: string; matched: string; list: string; entry: string; foundAt: string }>;
  complianceEvents: Array<{ id: string; borrower: string; rule: string; kind: string; reason: string; at: string }>;
  undeliveredNotices: Array<{ id: string; loan: string; borrower: string; channel: string; topic: string; status: 'dead' | 'expired'; error: string | null; attempts: number; at: string; callDeadline: string | null }>;
}

export interface Balances { principal: string; principalOverdue: string; interest: string; interestOverdue: string; penalty: string; fee: string; total: string }

export interface LoanView {
  ref: string; status: string; borrowerId: string; product: { code: string; version: number }; amount: string; months: number; repaymentType: string;
  rate: { kind: string; percent: string; marginPercent: string | null }; penaltyPercentPerDay: string; fee: string; approvedAt: string; disbursedOn: string | null;
  maturityOn: string | null; closedOn: string | null; accruedThrough: string | null; scheduleVersion: number; overdueSince: string | null;
  defaultReview: { reason: string } | null; balances: Balances;
}

export interface ScheduleLine { number: number; dueDate: string; days: number; principal: string; interest: string; payment: string; balance: string; status: string }
export interface Schedule { loan: string; version: number; versions: number; asOf: string; calendar: { note: string | null }; lines: ScheduleLine[] }

export interface LoanBalances extends Balances { loan: string; asOf: string; collateral: string; accounts: Record<string, string> }

export interface Posting { account: string; debit: string | null; credit: string | null; currency: string }
export interface StatementEntry { entryId: string; businessDate: string; valueTime: string; kind: string; reason: string; postings: Posting[] }
export interface LoanStatement { loan: string; entries: StatementEntry[]; nextAfter: string | null }

export interface VaultSpend {
  id: string; purpose: 'release' | 'excess' | 'liquidation'; state: 'signing' | 'finalised' | 'broadcast' | 'confirmed' | 'cancelled'; liquidation: string | null;
  to: string; btc: string; changeBtc: string; feeBtc: string; feeRateSatPerVb: string; vsize: number; unsignedTxid: string; txid: string | null;
  inputs: Array<{ txid: string; vout: number; btc: string }>; signedBy: string[]; uploads: Array<{ by: string; at: string }>;
  createdAt: string; finalisedAt: string | null; broadcastAt: string | null; broadcastError: string | null; confirmedAt: string | null; confirmedHeight: number | null; cancelledAt: string | null;
}

export interface VaultView {
  loan: string; mode: 'bank' | 'collaborative'; network: string; descriptor: string; confirmationsNeeded: number; proofRef: string;
  frozen: { at: string; reason: string } | null; tipHeight: number | null; depositAddress: string | null; payoutAddress: string | null;
  releaseAddress: { address: string; at: string } | null;
  borrowerKey: { xpub: string; provenAt: string | null } | null;
  coins: Array<{ txid: string; vout: number; addressIndex: number; btc: string; blockHeight: number | null; confirmations: number; counted: boolean; spentBy: string | null; firstSeenAt: string; unconfirmed: boolean; source: 'deposit' | 'payout' | 'change'; from: string[]; held: boolean }>;
  countedBtc: string;
  spends: VaultSpend[];
}

export interface ProofOfCollateral {
  kind: string; version: number; at: string; height: number | null; blockHash: string | null; totalBtc: string; algorithm: string; keyId: string; publicKey: string; signature: string;
  vaults: Array<{ ref: string; network: string; descriptor: string; btc: string; addresses: Array<{ index: number; address: string; btc: string }> }>;
}

export interface CollateralView {
  loan: string; held: string;
  positions: Array<{ id: string; btc: string; state: string; custodianRef: string | null; declaredAt: string; confirmedAt: string | null; releasedAt: string | null }>;
  release: Record<string, unknown> | null;
  /** The second layer: pledged machines (null for a loan without). */
  equipment: EquipmentLayerView | null;
}

export interface EquipmentLayerView {
  cap: string; counted: string;
  pledges: Array<{ machinesId: string; model: string; count: number; pledgedAt: string; releasedAt: string | null; releasedWhy: string | null; valuation: { valuedOn: string; value: string; weighted: string; breach: string | null; reason: string } | null }>;
  enforcements: Array<{ id: string; machines: string[]; reason: string; decidedAt: string; debt: string; proceeds: string | null; completedAt: string | null }>;
}

/** The machines an offer counts (null without). */
export interface OfferEquipment {
  groups: Array<{ machinesId: string; model: string; count: number; valuedOn: string; value: string; weighted: string }>;
  sharePercent: string; cover: string; cap: string; weighted: string; counted: string;
}

export interface BorrowerRisk {
  borrower: string; price: string | null;
  loans: Array<{
    loan: string; state: string; since: string; debt: string; collateral: string; ltvPercent: string | null; worsensAtOrBelow: string | null; improvesAbove: string | null;
    callDeadline: string | null; cure: { atPrice: string; toTarget: { ltvPercent: string; addBtc: string; repayRub: string }; toLeaveCall: { belowLtvPercent: string; addBtc: string; repayRub: string } | null } | null;
    /** Exact integers as strings: kopecks and sats, for the what-if bar. */
    debtKopecks: string; sats: string; equipmentKopecks: string;
    /** Machines counted beside the BTC (the second layer), roubles. */
    equipment: string;
    thresholds: { haircutPercent: string; warningPercent: string; marginCallPercent: string; acceleratedCallPercent: string | null; liquidationPercent: string; targetPercent: string; bandPercent: string };
    prices: { warning: string | null; marginCall: string | null; liquidation: string | null };
    callTimeLeftMs: number | null;
    deadlinePassed?: { at: string; waitsFor: string };
  }>;
  transitions: Array<{ id: string; loan: string; from: string; to: string; cause: string; price: string | null; ltvPercent: string | null; callDeadline: string | null; at: string; acknowledgedAt: string | null }>;
}

export interface Offer {
  offerId: string; applicationId: string; createdAt: string; validUntil: string; plannedStart: string; ratePercent: string; keyRatePercent: string | null; fee: string; price: string;
  collateralRequired: string; schedule: { lines: Array<{ number: number; dueDate: string; payment: string; principal: string; interest: string; balance: string }>; totals: { payment: string; interest: string; principal: string } };
  totalInterest: string; totalCost: string; fullCostOfCredit: { percent: string; money: string } | null; blockingReasons: string[]; approvable?: boolean;
  underwriting?: { recommendation: string | null; reasons: string[]; figures?: Record<string, unknown> };
  levels?: { forBtc: string; warning: string | null; marginCall: string | null; liquidation: string | null; warningPercent: string; marginCallPercent: string; liquidationPercent: string; curePeriodHours: number };
  compliance?: { results?: Array<{ rule: string; passed: boolean; reason?: string }> };
  exposure?: ExposureCheckView | null;
  equipment?: OfferEquipment | null;
}

export interface ExposureCheckView {
  decision: 'within' | 'soft' | 'hard' | 'no_capital'; day: string; amount: string; capital: { id: string; tier1: string } | null; reasons: string[];
  lines: Array<{ kind: string; limitId: string | null; softBps: number | null; hardBps: number | null; before: string; after: string; beforePercent: string; afterPercent: string; judgement: string }>;
}

export interface StressView {
  price: string; shockedPrice: string; loans: number;
  states: Record<string, { before: number; after: number }>;
  liquidation: { loans: number; partial: number; full: number; debt: string; btcPlanned: string; btcSold: string; gross: string; net: string; expectedShortfall: string; loansWithShortfall: number; btcUnsoldAtFloor: string };
  queue: { hoursToClear: number; timeline: Array<{ hour: number; loansWaiting: number; btcWaiting: string; btcSold: string; netProceeds: string }> };
}

export interface ApplicationView { applicationId: string; status: string; product: { code: string; version: number }; amount: string; months: number; repaymentType: string; createdAt: string; loan: string | null; offer: Offer | null }
export interface LoanEvent { id: string; businessDate: string; kind: string; details: Record<string, unknown>; at: string }

export interface PaymentDetails { recipient: string; recipientEn: string; inn: string; kpp: string; bik: string; correspondentAccount: string; account: string; purpose: string; purposeEn: string; reference: string }
export interface BorrowerMoney {
  borrower: string; businessDate: string; settlement: string; dueNow: string; nextInstalments: string; refundable: string;
  repayTo: PaymentDetails[]; bankDetails: { bik: string; account: string } | null;
  suspense: Array<{ id: string; reference: string; loan: string | null; amount: string; reason: string; status: string; businessDate: string }>;
  refunds: Array<{ paymentOrderId: string; amount: string; purpose: string; businessDate: string; at: string }>;
}
