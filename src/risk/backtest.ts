import type { BusinessCalendar } from '../calendar/business.js';
import { addDays } from '../calendar/business.js';
import type { Database, Queryable } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { openPglite } from '../db/pglite.js';
import { randomBytes } from 'node:crypto';
import { approve, ApprovalRegistry, propose, type ApprovalAction } from '../approvals/approvals.js';
import { createUser, systemUser, type User } from '../identity/identity-repository.js';
import { ltvMillionths, requiredSats } from '../loans/collateral.js';
import { runEod } from '../loans/eod.js';
import { rateFromPercent } from '../loans/interest.js';
import { formatRate } from '../loans/origination.js';
import { moscowDay } from '../loans/loan-store.js';
import { equipmentTermsOf, type ProductTerms } from '../loans/product.js';
import { countedEquipment } from '../loans/equipment-pledges.js';
import { stressedEquipment } from './stress-book.js';
import type { RepaymentType } from '../loans/schedule.js';
import { seedLoans } from '../loans/seed.js';
import { confirmCollateralAction, declareCollateral, recordRepayment, writeOffAction } from '../loans/servicing.js';
import { recoverOnLoan } from './equipment-layer.js';
import { reconcileLoans } from '../loans/views.js';
import { formatKopecks, formatSats, type PriceKopecksPerBtc } from '../money/money.js';
import { stringify } from 'csv-stringify/sync';
import { currentPrice } from '../prices/current.js';
import type { PipelineConfig } from '../prices/pipeline.js';
import { insertCycles, cycleById, type Bar } from '../prices/price-repository.js';
import { historyCycles } from '../prices/replay.js';
import { runLiquidations } from './liquidations.js';
import { RiskEngine } from './risk-engine.js';
import { PgRiskStore } from './risk-store.js';
import { simulatedVenue, type SlippageModel, DEFAULT_SLIPPAGE } from './venues.js';

/**
 * A backtest: a book lent through real price history, run through the real risk engine, end of day
 * and liquidation job, to see what a product's ladder would have done (margin calls, cures,
 * liquidations, losses, the worst day) and to compare ladders side by side.
 *
 * It runs in a database of its own (in-memory PGlite unless one is given), never in the bank's:
 * the history's price cycles are written to that database's live stream as time advances, so the
 * engine, `currentPrice` and the liquidation job read them exactly as in the service. The clock is
 * the history's: each bar's close is a price cycle at the bar's end (through the price pipeline,
 * so its circuit breaker pauses liquidation on a sharp move as it would live); each Moscow day is
 * closed by end of day when the history passes midnight.
 *
 * What is modelled, and what is not:
 * - Loans are booked set-based, as the migration seed does (src/loans/seed.ts: consistent with the
 *   ledger), not through applications: compliance and underwriting are judged on today's registry
 *   and network data, which history does not have, and the question here is market risk. Each
 *   origination lends `loansPerOrigination` loans of `amount` under the product, each with the
 *   collateral the product's origination LTV requires at that moment's price: the book the product
 *   would lend, at its riskiest allowed start. A spread (`collateralSpreadPercent`: collateral from
 *   the requirement up to that much more, evenly by loan id, so a cohort does not move as one loan)
 *   is an explicit option, stated in the report, because it makes "no loss" look better than the
 *   product would do. No origination fee is charged.
 * - Each loan is its own borrower's (one settlement account per loan, so one loan's arrears never
 *   take another's instalment). Borrowers pay every instalment (with anything overdue) when its due
 *   date opens.
 * - Top-ups: a share of borrowers (chosen by a hash of the loan id, so every ladder sees the same
 *   ones) answer a call `afterHours` after it opens by depositing the BTC that brings the loan back
 *   to its target LTV at the price then, confirmed by the custodian under four eyes
 *   (`collateral.confirm`, the real action); if the call's deadline comes first, it liquidates.
 *   With a share of 0 (the default) nobody tops up: a call is cured by the price or a repayment,
 *   or it liquidates (the conservative case). This is what makes cure periods comparable.
 * - Debt left after all of a loan's collateral is sold is written off at once, through the real
 *   four-eyes action (`loans.write_off`: proposed and approved by two risk officers the backtest
 *   creates in its own database), so the loss is booked and the loan stops accruing.
 * - Liquidations sell at the simulated venue (venues.ts slippage model) under the book-wide cap.
 * - Fixed-rate products only (a floating product needs the key rate's history, not imported yet).
 * - Machines, when the product takes them (terms collateral.equipment): each loan is lent with
 *   machines counting the product's whole share of the cover (so with the least BTC the product
 *   allows), and through the history they count at the product's stressPercent of that, fixed
 *   (machines lose value when BTC falls; the backtest has no ASIC price history). A loan whose BTC
 *   is all sold with debt left recovers the machines' counted value (modelled enforcement: a
 *   repayment and an early repayment, as recordEnforcementProceeds books it) before the rest is
 *   written off.
 */

export type OriginationCadence = 'monthly' | 'weekly' | 'daily';

export interface BacktestOptions {
  readonly product: { readonly code: string; readonly terms: ProductTerms };
  /** BTC/USD bars (as the price service imports them) and their length. */
  readonly btcUsd: readonly Bar[];
  readonly intervalSeconds: number;
  /** The official USD/RUB rate, a daily step series. */
  readonly usdRub: readonly Bar[];
  readonly from: Date;
  readonly to: Date;
  readonly originate: OriginationCadence;
  readonly loansPerOrigination: number;
  readonly amountKopecks: bigint;
  readonly months: number;
  readonly repaymentType: RepaymentType;
  /** The price pipeline for one historical source (replay.ts historyPipeline). */
  readonly pipeline: PipelineConfig;
  readonly calendar: BusinessCalendar;
  /** Collateral in liquidation at once across the book (sats). */
  readonly capSats: bigint;
  /**
   * Collateral above the origination requirement, spread evenly by loan id from 0 up to this
   * percentage of it (100: between 1x and 2x the requirement). Default 0: every loan starts at the
   * product's origination LTV.
   */
  readonly collateralSpreadPercent?: number;
  /** Gather each loan's transitions (`report.loanTrail`, for `--loans-csv`). */
  readonly loanTrail?: boolean;
  /** Borrowers who top up a call, and how long after it opens (default: nobody). */
  readonly topUp?: { readonly sharePercent: number; readonly afterHours: number };
  readonly slippage?: SlippageModel;
  /** The database to run in (migrated, empty); a fresh in-memory PGlite when absent. */
  readonly db?: Database;
  /** Progress: called after each closed day. */
  readonly onDay?: (day: string) => void;
}

export interface BacktestReport {
  readonly product: { readonly code: string; readonly ladder: ProductTerms['collateral']['ltv']; readonly curePeriodHours: number; readonly acceleratedCureHours: number | null };
  /** `pausedLiquidationRuns`: bars at which sales were waiting but the price was degraded or stale. */
  readonly window: { readonly from: string; readonly to: string; readonly intervalSeconds: number; readonly bars: number; readonly degradedBars: number; readonly pausedLiquidationRuns: number; readonly statutoryCalendarYears: number[] };
  readonly book: {
    readonly originations: number; readonly skippedOriginations: number; readonly loans: number; readonly lentRub: string; readonly interestRub: string; readonly openAtEnd: number;
    /** How the loans were collateralised when lent, in words and figures (the LTV range at lending). */
    readonly collateral: {
      readonly rule: string; readonly originationLtvPercent: string; readonly spreadPercent: number; readonly ltvAtLendingPercent: { readonly min: string | null; readonly max: string | null };
      /** The product's machines (null when it takes none): counted at lending, kept through history, recovered by enforcement. */
      readonly machines: null | { readonly rule: string; readonly countedAtLendingRub: string; readonly countedThroughHistoryRub: string; readonly recoveredRub: string };
    };
  };
  readonly prices: { readonly firstRub: string | null; readonly lastRub: string | null; readonly lowRub: string | null; readonly highRub: string | null; readonly maxDrawdownPercent: string };
  /**
   * Counts of entries into a state: every transition into it from another state (a margin call
   * that escalates to an accelerated call counts once in each; a loan warned twice counts twice).
   */
  readonly outcomes: {
    readonly warnings: number; readonly marginCalls: number; readonly acceleratedCalls: number; readonly enteredLiquidation: number;
    readonly cures: number; readonly curesByPrice: number;
    /** Cured by the borrower: a top-up or a repayment. */
    readonly curesByBorrower: number; readonly topUps: number; readonly btcToppedUp: string; readonly callsExpired: number;
    readonly liquidations: number; readonly partial: number; readonly full: number; readonly cancelled: number;
    readonly btcSold: string; readonly proceedsRub: string; readonly loansWithShortfall: number; readonly writtenOffRub: string; readonly lossesRub: string;
  };
  /** The Moscow day the most loans entered liquidation. */
  readonly worstDay: null | { readonly day: string; readonly enteredLiquidation: number; readonly btcSold: string; readonly lossRub: string; readonly priceHighRub: string | null; readonly priceLowRub: string | null };
  /** Invariants checked on the finished run; any count above 0 (or false) is a defect. */
  readonly checks: {
    readonly ledgerBalanced: boolean; readonly loansReconciled: boolean;
    readonly transitionsOutOfOrder: number; readonly liquidatedAboveThreshold: number; readonly fillsBelowFloor: number; readonly unbookedSales: number;
  };
  readonly seconds: number;
  /** Each loan's life, row by row (with `loanTrail`): lent, then every transition. */
  readonly loanTrail?: readonly LoanTrailRow[];
}

/** One line of a loan's life in a backtest: its lending, or a transition on the ladder. */
export interface LoanTrailRow {
  readonly product: string;
  readonly loan: string;
  /** UTC instant, and the Moscow day it falls on. */
  readonly at: string;
  readonly moscowDay: string;
  /** 'lent', or the transition's cause: 'price', 'exposure' (a repayment, top-up, accrual), 'deadline'. */
  readonly event: string;
  readonly from: string;
  readonly to: string;
  readonly priceRub: string;
  readonly ltvPercent: string;
  readonly debtRub: string;
  readonly btc: string;
  readonly callDeadline: string;
}

/** The trail as CSV (RFC 4180, a header line): what `zalog backtest --loans-csv FILE` writes. */
export function loanTrailCsv(rows: readonly LoanTrailRow[]): string {
  return stringify(rows.map((r) => [r.product, r.loan, r.at, r.moscowDay, r.event, r.from, r.to, r.priceRub, r.ltvPercent, r.debtRub, r.btc, r.callDeadline]), {
    header: true, columns: ['product', 'loan', 'at_utc', 'moscow_day', 'event', 'from_state', 'to_state', 'price_rub_per_btc', 'ltv_percent', 'debt_rub', 'collateral_btc', 'call_deadline_utc'],
  });
}

/** The days a cohort is lent on: the window's first business day, then the first business day of each month or week (Monday), or every business day. */
export function originationDays(from: string, to: string, cadence: OriginationCadence, calendar: BusinessCalendar): Set<string> {
  const days = new Set<string>();
  for (let day = from; day < to; day = addDays(day, 1)) {
    const starts = day === from || cadence === 'daily' || (cadence === 'monthly' && day.endsWith('-01')) || (cadence === 'weekly' && new Date(`${day}T00:00:00Z`).getUTCDay() === 1);
    if (!starts) continue;
    const lend = calendar.isBusinessDay(day) ? day : calendar.nextBusinessDay(day);
    if (lend < to) days.add(lend);
  }
  return days;
}

export async function runBacktest(options: BacktestOptions): Promise<BacktestReport> {
  const started = performance.now();
  const { terms } = options.product;
  if (terms.rate.kind !== 'fixed') throw new RangeError(`product ${options.product.code} has a floating rate; the backtest lends at fixed rates only`);
  const own = options.db === undefined;
  const db = options.db ?? (await openPglite());
  try {
    if (own) await migrate(db);
    return await run(db, options, started);
  } finally {
    if (own) await db.close();
  }
}

async function run(db: Database, options: BacktestOptions, started: number): Promise<BacktestReport> {
  const { terms, code } = options.product;
  const user = await systemUser(db);
  const pct = (text: string) => rateFromPercent(text)!;
  const [origination, target, haircut] = [pct(terms.collateral.ltv.origination), pct(terms.collateral.ltv.target), pct(terms.collateral.haircutPercent)];
  const machines = machinesOf(terms, options.amountKopecks);
  const staleAfterSeconds = options.pipeline.breaker.staleAfterSeconds;
  const spread = options.collateralSpreadPercent ?? 0;
  if (!Number.isInteger(spread) || spread < 0 || spread > 1_000) throw new RangeError('the collateral spread is a whole percentage from 0 to 1000');
  const venue = simulatedVenue(options.slippage ?? DEFAULT_SLIPPAGE);
  const engine = new RiskEngine(db, new PgRiskStore(db, options.calendar));
  await engine.rebuild();
  const approvals = new ApprovalRegistry();
  approvals.register(writeOffAction);
  approvals.register(confirmCollateralAction);
  // The bank's people in the backtest's own database: one proposes, the other approves.
  const officers: User[] = [];
  for (const n of [1, 2]) {
    officers.push((await createUser(db, { username: `backtest-officer-${n}`, displayName: `Backtest officer ${n}`, password: randomBytes(24).toString('base64url'), roles: ['risk_officer', 'treasury'], borrowerId: null }))!);
  }
  const fourEyes = async (tx: Queryable, action: ApprovalAction<unknown>, payload: unknown, now: Date, what: string) => {
    const proposed = await propose(tx, action, payload, { user: officers[0]! }, { now });
    if (!proposed.ok) throw new Error(`${what}: ${proposed.error.message}`);
    const approved = await approve(tx, approvals, proposed.value.id, { user: officers[1]! }, now);
    if (!approved.ok) throw new Error(`${what}: ${approved.error.message}`);
  };
  // Debt left with no collateral: written off by two risk officers (proposed, approved), as the bank would.
  const writeOffs = async (now: Date) => {
    const left = await db.query<{ ref: string; equipment_kopecks: bigint }>(`SELECT l.ref, r.equipment_kopecks FROM loan_risk r JOIN loans l ON l.id = r.loan_id WHERE r.live AND r.sats = 0 AND r.debt_kopecks > 0 ORDER BY l.id`);
    for (const { ref, equipment_kopecks: equipment } of left) {
      // The machines first: their counted value recovered by enforcement, then the machines are gone.
      if (equipment > 0n) {
        await db.transaction(async (tx) => {
          await recoverOnLoan(tx, ref, equipment, `backtest/${ref}/machines`, user.id, now);
          await tx.query(`UPDATE loan_risk r SET equipment_kopecks = 0, seq = nextval('loan_risk_seq') FROM loans l WHERE l.id = r.loan_id AND l.ref = $1`, [ref]);
        });
        recovered += equipment;
        const [after] = await db.query<{ debt: bigint; live: boolean }>('SELECT r.debt_kopecks AS debt, r.live FROM loan_risk r JOIN loans l ON l.id = r.loan_id WHERE l.ref = $1', [ref]);
        if (!after!.live || after!.debt === 0n) continue;
      }
      await db.transaction((tx) => fourEyes(tx, writeOffAction as ApprovalAction<unknown>, { loan: ref, reason: 'backtest: shortfall after liquidation' }, now, `write-off of ${ref}`));
    }
  };
  // Borrowers who top up: those of calls open `afterHours`, not yet answered, back to the target LTV.
  const topUp = async (now: Date, price: PriceKopecksPerBtc) => {
    const share = options.topUp?.sharePercent ?? 0;
    if (share <= 0) return;
    const since = new Date(now.getTime() - (options.topUp?.afterHours ?? 24) * 3_600_000);
    const calls = await db.query<{ ref: string; debt_kopecks: bigint; sats: bigint; equipment_kopecks: bigint }>(
      `SELECT l.ref, r.debt_kopecks, r.sats, r.equipment_kopecks FROM loan_risk r JOIN loans l ON l.id = r.loan_id
         JOIN LATERAL (SELECT at FROM risk_transitions t WHERE t.loan_id = r.loan_id ORDER BY t.id DESC LIMIT 1) opened ON true
        WHERE r.live AND r.state IN ('margin_call', 'accelerated_call') AND opened.at <= $1 AND (l.id * 2654435761) % 100 < $2
          AND NOT EXISTS (SELECT 1 FROM collateral_positions p WHERE p.loan_id = l.id AND p.custodian_ref LIKE 'BT-TOPUP-%' AND p.declared_at >= opened.at)
        ORDER BY l.id`, [since, share]);
    for (const call of calls) {
      const sats = requiredSats(call.debt_kopecks, price, target, haircut, call.equipment_kopecks) - call.sats;
      if (sats <= 0n) continue;
      await db.transaction(async (tx) => {
        const position = await declareCollateral(tx, call.ref, sats, user.id, now);
        await fourEyes(tx, confirmCollateralAction as ApprovalAction<unknown>, { positionId: position.toString(), custodianRef: `BT-TOPUP-${position}` }, now, `top-up of ${call.ref}`);
      });
    }
  };

  let openDay = moscowDay(options.from);
  const lastDay = moscowDay(options.to);
  const lendOn = originationDays(openDay, lastDay, options.originate, options.calendar);
  // The bank opens on the window's first day: the day before is recorded as closed.
  await db.query('INSERT INTO eod_days (business_date, started_at, finished_at) VALUES ($1, $2, $2)', [addDays(openDay, -1), options.from]);

  let bars = 0;
  let degradedBars = 0;
  let paused = 0;
  let originations = 0;
  let skipped = 0;
  let loans = 0;
  let recovered = 0n;
  const lentAt = new Map<string, { at: Date; price: PriceKopecksPerBtc }>();

  const beginDay = async (day: string, now: Date) => {
    if (lendOn.has(day)) {
      const price = await currentPrice(db, now, staleAfterSeconds);
      if (!price.ok) skipped += 1;
      else {
        const min = requiredSats(options.amountKopecks, price.price, origination, haircut, machines?.capKopecks ?? 0n);
        const [high] = await db.query<{ id: bigint | null }>('SELECT max(id) AS id FROM loans');
        await seedLoans(db, {
          count: options.loansPerOrigination, loansPerBorrower: 1, disbursedOn: day, amountKopecks: options.amountKopecks, months: options.months, type: options.repaymentType,
          satsRange: { min, max: min + (min * BigInt(spread)) / 100n }, calendar: options.calendar, prefix: 'bt', borrowerOffset: loans, product: { code, version: 1, terms }, priceKopecks: price.price,
        });
        if (machines !== undefined) {
          // The cohort's machines: the cap fixed as at approval, the stressed value on the risk row.
          await db.query('UPDATE loan_terms SET equipment_cap_kopecks = $2 WHERE id > $1', [high!.id ?? 0n, machines.capKopecks]);
          await db.query(`UPDATE loan_risk r SET equipment_kopecks = $2, seq = nextval('loan_risk_seq'),
                                 worsen_at = risk_worsen_at(r.state, r.debt_kopecks, r.sats, $2, lad), improve_above = risk_improve_above(r.state, r.debt_kopecks, r.sats, $2, lad)
                            FROM risk_ladders lad WHERE r.loan_id > $1 AND lad.product_code = r.product_code AND lad.product_version = r.product_version`, [high!.id ?? 0n, machines.keptKopecks]);
        }
        lentAt.set(day, { at: now, price: price.price });
        originations += 1;
        loans += options.loansPerOrigination;
      }
    }
    // Instalments due today, paid when the day opens, with anything overdue (not on a loan whose collateral is gone).
    const due = await db.query<{ ref: string; amount: bigint }>(
      `SELECT l.ref, (s.principal + s.interest + l.principal_overdue + l.interest_overdue + l.penalty)::int8 AS amount
         FROM loans l JOIN loan_schedule_lines s ON s.loan_id = l.id AND s.version = l.schedule_version AND s.due_date = $1
         JOIN loan_risk r ON r.loan_id = l.id
        WHERE l.status IN ('active', 'overdue') AND r.sats > 0 ORDER BY l.id`, [day]);
    for (const { ref, amount } of due) {
      if (amount > 0n) await db.transaction((tx) => recordRepayment(tx, ref, { reference: `backtest/${ref}/${day}`, amount }, user.id, now));
    }
  };

  for (const record of historyCycles({ name: 'backtest', series: options.btcUsd, pair: 'BTC/USD', intervalSeconds: options.intervalSeconds, usdRub: options.usdRub, from: options.from, to: options.to, config: options.pipeline })) {
    const now = record.at;
    // The history has passed midnight in Moscow: close the open day, open the next (lend, collect).
    // Not before the first bar: the bank opens on the window's first day with the first price.
    while (bars > 0 && openDay < moscowDay(now)) {
      await runEod(db, openDay, { now });
      options.onDay?.(openDay);
      openDay = addDays(openDay, 1);
      await beginDay(openDay, now);
    }
    const [id] = await db.transaction((tx) => insertCycles(tx, 'live', [record]));
    bars += 1;
    if (record.published.status !== 'normal') degradedBars += 1;
    const cycle = (await cycleById(db, id!))!;
    await engine.onCycle(cycle);
    await engine.expireCalls(now, { staleAfterSeconds });
    if (cycle.publishedKopecks !== null) await topUp(now, cycle.publishedKopecks);
    const liquidated = await runLiquidations(db, { venue, capSats: options.capSats, staleAfterSeconds, calendar: options.calendar, now: () => now });
    if (liquidated.paused !== undefined) paused += 1;
    if (liquidated.booked > 0) await writeOffs(now);
    if (bars === 1) await beginDay(openDay, now);
  }
  return report(db, options, { bars, degradedBars, paused, originations, skipped, loans, lentAt, recovered, machines }, started);
}

/** What a product's machines count for in a backtest of loans of `amount`: the cap at lending, and the part kept through history. */
export function machinesOf(terms: ProductTerms, amount: bigint): { capKopecks: bigint; keptKopecks: bigint; sharePercent: string; stressPercent: string } | undefined {
  const machines = equipmentTermsOf(terms);
  if (machines === undefined) return undefined;
  const { cap } = countedEquipment(amount, rateFromPercent(terms.collateral.ltv.origination)!, machines.shareMillionths, 0n);
  return { capKopecks: cap, keptKopecks: stressedEquipment(cap, machines.stressMillionths), sharePercent: terms.collateral.equipment!.maxSharePercent, stressPercent: terms.collateral.equipment!.stressPercent ?? '0' };
}

interface Counters { bars: number; degradedBars: number; paused: number; originations: number; skipped: number; loans: number; lentAt: ReadonlyMap<string, { at: Date; price: PriceKopecksPerBtc }>; recovered: bigint; machines: ReturnType<typeof machinesOf> }

interface LentLoan { readonly id: bigint; readonly ref: string; readonly day: string; readonly amount: bigint; readonly sats: bigint; readonly at: Date; readonly price: PriceKopecksPerBtc; readonly ltv: bigint | undefined }

/** Each loan as lent: its first collateral, the price and time of its origination, its LTV then. */
async function lentLoans(db: Database, haircut: bigint, lentAt: Counters['lentAt'], equipment: bigint): Promise<LentLoan[]> {
  const loans = await db.query<{ id: bigint; ref: string; day: string; amount: bigint; sats: bigint }>(
    `SELECT l.id, l.ref, l.disbursed_on::text AS day, l.amount_kopecks AS amount,
            (SELECT p.sats FROM collateral_positions p WHERE p.loan_id = l.id ORDER BY p.id LIMIT 1) AS sats
       FROM loans l ORDER BY l.id`);
  return loans.flatMap((loan) => {
    const lent = lentAt.get(loan.day);
    return lent === undefined ? [] : [{ ...loan, at: lent.at, price: lent.price, ltv: ltvMillionths(loan.amount, loan.sats, lent.price, haircut, equipment) }];
  });
}

/** Each loan's life: lent, then its transitions in order. */
async function loanTrail(db: Database, code: string, lent: readonly LentLoan[]): Promise<LoanTrailRow[]> {
  const transitions = await db.query<{ loan_id: bigint; from_state: string; to_state: string; cause: string; price_kopecks: bigint; debt_kopecks: bigint; sats: bigint; ltv_millionths: bigint | null; call_deadline: Date | null; at: Date }>(
    'SELECT loan_id, from_state, to_state, cause, price_kopecks, debt_kopecks, sats, ltv_millionths, call_deadline, at FROM risk_transitions ORDER BY loan_id, id');
  const byLoan = new Map<bigint, typeof transitions>();
  for (const t of transitions) {
    const list = byLoan.get(t.loan_id);
    if (list === undefined) byLoan.set(t.loan_id, [t]);
    else list.push(t);
  }
  const percent = (m: bigint | null | undefined) => (m == null ? '' : formatRate(m));
  const rows: LoanTrailRow[] = [];
  for (const loan of lent) {
    rows.push({ product: code, loan: loan.ref, at: loan.at.toISOString(), moscowDay: loan.day, event: 'lent', from: '', to: 'healthy', priceRub: formatKopecks(loan.price), ltvPercent: percent(loan.ltv), debtRub: formatKopecks(loan.amount), btc: formatSats(loan.sats), callDeadline: '' });
    for (const t of byLoan.get(loan.id) ?? []) {
      rows.push({ product: code, loan: loan.ref, at: t.at.toISOString(), moscowDay: moscowDay(t.at), event: t.cause, from: t.from_state, to: t.to_state, priceRub: formatKopecks(t.price_kopecks), ltvPercent: percent(t.ltv_millionths), debtRub: formatKopecks(t.debt_kopecks), btc: formatSats(t.sats), callDeadline: t.call_deadline?.toISOString() ?? '' });
    }
  }
  return rows;
}

async function report(db: Database, options: BacktestOptions, c: Counters, started: number): Promise<BacktestReport> {
  const { terms, code } = options.product;
  const one = async <T>(sql: string, params: unknown[] = []): Promise<T> => (await db.query<T & Record<string, unknown>>(sql, params))[0]!;
  const rub = (kopecks: bigint | null) => (kopecks === null ? null : formatKopecks(kopecks));

  const moves = await one<{ warnings: bigint; calls: bigint; accelerated: bigint; liquidation: bigint; cures: bigint; by_price: bigint; by_exposure: bigint; expired: bigint }>(`
    SELECT count(*) FILTER (WHERE to_state = 'warning' AND from_state <> 'warning')::int8 AS warnings,
           count(*) FILTER (WHERE to_state = 'margin_call' AND from_state <> 'margin_call')::int8 AS calls,
           count(*) FILTER (WHERE to_state = 'accelerated_call' AND from_state <> 'accelerated_call')::int8 AS accelerated,
           count(*) FILTER (WHERE to_state = 'liquidation' AND from_state <> 'liquidation')::int8 AS liquidation,
           count(*) FILTER (WHERE from_state IN ('margin_call', 'accelerated_call') AND to_state IN ('healthy', 'warning'))::int8 AS cures,
           count(*) FILTER (WHERE from_state IN ('margin_call', 'accelerated_call') AND to_state IN ('healthy', 'warning') AND cause = 'price')::int8 AS by_price,
           count(*) FILTER (WHERE from_state IN ('margin_call', 'accelerated_call') AND to_state IN ('healthy', 'warning') AND cause = 'exposure')::int8 AS by_exposure,
           count(*) FILTER (WHERE cause = 'deadline')::int8 AS expired
      FROM risk_transitions`);
  const sales = await one<{ booked: bigint; partial: bigint; full: bigint; cancelled: bigint; unbooked: bigint; sats: bigint; proceeds: bigint }>(`
    SELECT count(*) FILTER (WHERE q.status = 'booked')::int8 AS booked,
           count(*) FILTER (WHERE q.status = 'booked' AND q.kind = 'partial')::int8 AS partial,
           count(*) FILTER (WHERE q.status = 'booked' AND q.kind = 'full')::int8 AS full,
           count(*) FILTER (WHERE q.status = 'cancelled')::int8 AS cancelled,
           count(*) FILTER (WHERE q.status IN ('selling', 'sold'))::int8 AS unbooked,
           coalesce(sum(f.sats), 0)::int8 AS sats, coalesce(sum(f.gross), 0)::int8 AS proceeds
      FROM liquidations q
      LEFT JOIN LATERAL (SELECT sum(sats) AS sats, sum(sats * price_kopecks / 100000000) AS gross FROM liquidation_fills WHERE liquidation_id = q.id) f ON true`);
  const money = await one<{ interest: bigint; losses: bigint; shortfall_loans: bigint; written_off: bigint; top_ups: bigint; topped_up: bigint; lent: bigint; open: bigint }>(`
    SELECT (SELECT coalesce(-sum(p.amount), 0) FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE a.chart_code = 'interest_income')::int8 AS interest,
           (SELECT coalesce(sum(p.amount), 0) FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE a.chart_code = 'provision_expense')::int8 AS losses,
           (SELECT count(DISTINCT a.subledger_key) FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id WHERE a.chart_code = 'loss_provisions')::int8 AS shortfall_loans,
           (SELECT coalesce(sum(amount_kopecks), 0) FROM loan_write_offs)::int8 AS written_off,
           (SELECT count(*) FROM collateral_positions WHERE custodian_ref LIKE 'BT-TOPUP-%')::int8 AS top_ups,
           (SELECT coalesce(sum(sats), 0) FROM collateral_positions WHERE custodian_ref LIKE 'BT-TOPUP-%')::int8 AS topped_up,
           (SELECT coalesce(sum(amount_kopecks), 0) FROM loans)::int8 AS lent,
           (SELECT count(*) FROM loans WHERE status IN ('active', 'overdue'))::int8 AS open`);
  const prices = await db.query<{ p: bigint }>(`SELECT published_kopecks AS p FROM price_cycles WHERE stream = 'live' AND published_kopecks IS NOT NULL ORDER BY at, id`);
  let peak = 0n;
  let drawdown = 0n;
  for (const { p } of prices) {
    if (p > peak) peak = p;
    const fall = ((peak - p) * 1_000_000n) / peak;
    if (fall > drawdown) drawdown = fall;
  }
  const values = prices.map((row) => row.p);
  const worst = (await db.query<{ day: string; n: bigint }>(`
    SELECT ((at AT TIME ZONE 'Europe/Moscow')::date)::text AS day, count(*)::int8 AS n FROM risk_transitions
     WHERE to_state = 'liquidation' AND from_state <> 'liquidation' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`))[0];
  let worstDay: BacktestReport['worstDay'] = null;
  if (worst !== undefined) {
    const from = new Date(`${worst.day}T00:00:00+03:00`);
    const to = new Date(`${addDays(worst.day, 1)}T00:00:00+03:00`);
    const w = await one<{ sats: bigint; loss: bigint; high: bigint | null; low: bigint | null }>(`
      SELECT (SELECT coalesce(sum(f.sats), 0) FROM liquidation_fills f WHERE f.at >= $1 AND f.at < $2)::int8 AS sats,
             (SELECT coalesce(sum(p.amount), 0) FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE a.chart_code = 'provision_expense' AND p.value_time >= $1 AND p.value_time < $2)::int8 AS loss,
             (SELECT max(published_kopecks) FROM price_cycles WHERE stream = 'live' AND at >= $1 AND at < $2) AS high,
             (SELECT min(published_kopecks) FROM price_cycles WHERE stream = 'live' AND at >= $1 AND at < $2) AS low`, [from, to]);
    worstDay = { day: worst.day, enteredLiquidation: Number(worst.n), btcSold: formatSats(w.sats), lossRub: formatKopecks(w.loss), priceHighRub: rub(w.high), priceLowRub: rub(w.low) };
  }
  const checks = await invariants(db);
  const spread = options.collateralSpreadPercent ?? 0;
  const haircut = rateFromPercent(terms.collateral.haircutPercent)!;
  const lent = await lentLoans(db, haircut, c.lentAt, c.machines?.keptKopecks ?? 0n);
  const lentLtvs = lent.flatMap((loan) => (loan.ltv === undefined ? [] : [loan.ltv]));
  const lending = lentLtvs.length === 0 ? null : { min: lentLtvs.reduce((a, b) => (b < a ? b : a)), max: lentLtvs.reduce((a, b) => (b > a ? b : a)) };
  const years = new Set<number>();
  for (let y = options.from.getUTCFullYear(); y <= options.to.getUTCFullYear(); y += 1) if (options.calendar.sourceOf(y).statutory) years.add(y);
  return {
    product: { code, ladder: terms.collateral.ltv, curePeriodHours: terms.collateral.curePeriodHours, acceleratedCureHours: terms.collateral.acceleratedCureHours ?? null },
    window: { from: options.from.toISOString(), to: options.to.toISOString(), intervalSeconds: options.intervalSeconds, bars: c.bars, degradedBars: c.degradedBars, pausedLiquidationRuns: c.paused, statutoryCalendarYears: [...years] },
    book: {
      originations: c.originations, skippedOriginations: c.skipped, loans: c.loans, lentRub: formatKopecks(money.lent), interestRub: formatKopecks(money.interest), openAtEnd: Number(money.open),
      collateral: {
        rule: spread === 0
          ? `every loan lent at the product's origination LTV (${terms.collateral.ltv.origination}%)`
          : `collateral spread (an explicit option) from the origination requirement (${terms.collateral.ltv.origination}% LTV) up to ${100 + spread}% of it: loans start below the origination LTV, so losses look smaller than the product would make`,
        originationLtvPercent: terms.collateral.ltv.origination, spreadPercent: spread,
        machines: c.machines === undefined ? null : {
          rule: `machines count ${c.machines.sharePercent}% of the cover at lending (${formatKopecks(c.machines.capKopecks)} RUB a loan, BTC asked for the rest) and ${c.machines.stressPercent}% of that through history (${formatKopecks(c.machines.keptKopecks)} RUB), recovered by enforcement when a loan's BTC is gone`,
          countedAtLendingRub: formatKopecks(c.machines.capKopecks), countedThroughHistoryRub: formatKopecks(c.machines.keptKopecks), recoveredRub: formatKopecks(c.recovered),
        },
        ltvAtLendingPercent: { min: lending === null ? null : formatRate(lending.min), max: lending === null ? null : formatRate(lending.max) },
      },
    },
    prices: {
      firstRub: rub(values[0] ?? null), lastRub: rub(values.at(-1) ?? null),
      lowRub: rub(values.length === 0 ? null : values.reduce((a, b) => (b < a ? b : a))), highRub: rub(values.length === 0 ? null : values.reduce((a, b) => (b > a ? b : a))),
      maxDrawdownPercent: (Number(drawdown) / 10_000).toFixed(2),
    },
    outcomes: {
      warnings: Number(moves.warnings), marginCalls: Number(moves.calls), acceleratedCalls: Number(moves.accelerated), enteredLiquidation: Number(moves.liquidation),
      cures: Number(moves.cures), curesByPrice: Number(moves.by_price), curesByBorrower: Number(moves.by_exposure), topUps: Number(money.top_ups), btcToppedUp: formatSats(money.topped_up), callsExpired: Number(moves.expired),
      liquidations: Number(sales.booked), partial: Number(sales.partial), full: Number(sales.full), cancelled: Number(sales.cancelled),
      btcSold: formatSats(sales.sats), proceedsRub: formatKopecks(sales.proceeds), loansWithShortfall: Number(money.shortfall_loans), writtenOffRub: formatKopecks(money.written_off), lossesRub: formatKopecks(money.losses),
    },
    worstDay,
    checks: { ...checks, unbookedSales: Number(sales.unbooked) },
    seconds: Math.round((performance.now() - started) / 100) / 10,
    ...(options.loanTrail === true ? { loanTrail: await loanTrail(db, code, lent) } : {}),
  };
}

/**
 * What must hold after any run through history (the replay tests assert them too): the ledger
 * balances and agrees with every loan and position; transitions are recorded in time order; no
 * loan entered liquidation above its threshold's price (by a price or an exposure change, its LTV
 * was at or over the liquidation LTV; by a deadline, the loan was still in a call, moved there by
 * its previous transition, whose deadline had passed); no fill below its floor.
 */
export async function invariants(db: Queryable): Promise<{ ledgerBalanced: boolean; loansReconciled: boolean; transitionsOutOfOrder: number; liquidatedAboveThreshold: number; fillsBelowFloor: number }> {
  const [counts] = await db.query<{ unbalanced: bigint; disorder: bigint; above: bigint; below: bigint }>(`
    SELECT (SELECT count(*) FROM (SELECT currency FROM ledger_postings GROUP BY currency HAVING sum(amount) <> 0) x)::int8 AS unbalanced,
           (SELECT count(*) FROM (SELECT at < lag(at) OVER (ORDER BY id) AS back FROM risk_transitions) x WHERE back)::int8 AS disorder,
           (SELECT count(*) FROM risk_transitions t JOIN risk_ladders lad ON lad.product_code = t.product_code AND lad.product_version = t.product_version
             WHERE t.to_state = 'liquidation' AND t.from_state <> 'liquidation'
               AND CASE WHEN t.cause = 'deadline'
                        THEN NOT EXISTS (SELECT 1 FROM risk_transitions c WHERE c.id = (SELECT max(id) FROM risk_transitions d WHERE d.loan_id = t.loan_id AND d.id < t.id)
                                            AND c.to_state IN ('margin_call', 'accelerated_call') AND c.call_deadline <= t.at)
                        ELSE t.ltv_millionths IS NOT NULL AND t.ltv_millionths < lad.liquidation END)::int8 AS above,
           (SELECT count(*) FROM liquidation_fills f JOIN liquidations q ON q.id = f.liquidation_id WHERE f.price_kopecks < q.floor_kopecks)::int8 AS below`);
  return {
    ledgerBalanced: counts!.unbalanced === 0n,
    loansReconciled: (await reconcileLoans(db)).length === 0,
    transitionsOutOfOrder: Number(counts!.disorder),
    liquidatedAboveThreshold: Number(counts!.above),
    fillsBelowFloor: Number(counts!.below),
  };
}

