import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import { findBorrower, type Borrower } from '../borrowers/borrower-repository.js';
import type { BusinessCalendar } from '../calendar/business.js';
import { evaluateBorrower } from '../compliance/evaluation.js';
import type { Database, Queryable } from '../db/database.js';
import { divide, formatKopecks, formatSats, fraction, parseKopecks, type Kopecks } from '../money/money.js';
import { runUnderwriting, type UnderwritingProblem } from '../underwriting/underwriting-service.js';
import { currentPrice } from '../prices/current.js';
import { requiredSats } from './collateral.js';
import { equipmentLayerFor, equipmentLayerJson, pledgeEquipment, type EquipmentLayerJson } from './equipment-pledges.js';
import { ANY_PRICE, triggerPrice } from '../risk/ladder.js';
import { rateFromPercent } from './interest.js';
import { LoanError, refuse } from './loan-errors.js';
import { keyRateOn, loanEvent, moscowDay, openBusinessDay, openLoanAccounts } from './loan-store.js';
import type { ProductTerms } from './product.js';
import { fullCostOfCredit } from './psk.js';
import { checkNewLoan, recordCheck } from '../exposure/exposure-store.js';
import type { Check } from '../exposure/exposure.js';
import { buildSchedule, type RepaymentType, type Schedule } from './schedule.js';
import { DEFAULT_WATERFALL, statutoryOrder } from './waterfall.js';

/**
 * Application -> offer -> approval. An application states amount, term, repayment type and the
 * BTC the borrower will pledge; the offer is computed at once and stored with everything it stood
 * on (rate and key rate, schedule, fee, the accepted price and the collateral it requires, the
 * compliance evaluation, the latest underwriting report, and for individuals the full cost of
 * credit). Approval is a four-eyes action (`loans.approve`): a credit officer proposes, a second
 * approves, a risk officer above the limit (approval_limits). Approval creates the loan, awaiting
 * collateral; it keeps the product version.
 */

export const OFFER_VALID_DAYS = 7;
/** The cover an offer's own underwriting asks (debt service x 1.25) and the machines' assumed uptime (95%). */
export const OFFER_DSCR_MIN_BPS = 12_500n;
export const OFFER_UPTIME_BPS = 9_500n;

/** The report's main figures, for the offer: what the cash flow covers, in which scenario, through the halving. */
function keyFigures(body: Record<string, unknown>) {
  const figures = body['figures'] as { maxPrincipal: string; bindingScenario: string; crossesHalving: boolean; breakEvenTariffRubPerKwh: string; breakEvenPrice: string | null; hashpriceSatsPerThDay: string };
  return { maxPrincipal: figures.maxPrincipal, bindingScenario: figures.bindingScenario, crossesHalving: figures.crossesHalving, breakEvenTariffRubPerKwh: figures.breakEvenTariffRubPerKwh, breakEvenPrice: figures.breakEvenPrice, hashpriceSatsPerThDay: figures.hashpriceSatsPerThDay };
}

export interface ApplicationInput {
  readonly productCode: string;
  readonly amount: bigint;
  readonly months: number;
  readonly repaymentType: RepaymentType;
  readonly collateralSats: bigint;
  /** Machine groups (site_machines ids) pledged as the second layer, under a product that counts them. */
  readonly equipmentMachines?: readonly bigint[];
}

export interface OfferContext {
  readonly now: Date;
  readonly calendar: BusinessCalendar;
  readonly staleAfterSeconds: number;
  /** Underwriting refuses network data older than this (days). */
  readonly networkMaxAgeDays: number;
}

export async function productVersion(db: Queryable, code: string, version?: number): Promise<{ version: number; terms: ProductTerms }> {
  const [row] = await db.query<{ version: number; terms: ProductTerms }>(
    version === undefined ? 'SELECT version, terms FROM loan_product_versions WHERE product_code = $1 ORDER BY version DESC LIMIT 1' : 'SELECT version, terms FROM loan_product_versions WHERE product_code = $1 AND version = $2',
    version === undefined ? [code] : [code, version]);
  return row ?? refuse('product_not_found', `no loan product ${code}${version === undefined ? '' : ` version ${version}`}`);
}

const pct = (text: string) => rateFromPercent(text)!;

export function scheduleTermsOf(terms: ProductTerms, input: { amount: bigint; months: number; repaymentType: RepaymentType }, rateMillionths: bigint, start: string) {
  const interestOnly = input.repaymentType === 'interest_only';
  return {
    principal: input.amount, rateMillionths, start, months: input.months, type: input.repaymentType,
    ...(interestOnly && terms.interestOnly?.months !== undefined ? { interestOnlyMonths: terms.interestOnly.months } : {}),
    ...(interestOnly ? { balloonBps: divide(pct(terms.interestOnly?.balloonPercent ?? '50'), 100n, 'floor') } : {}),
  };
}

/** The loan's rate on a day: fixed, or the key rate then in force plus the margin. */
export async function rateOn(db: Queryable, terms: ProductTerms, day: string): Promise<{ rate: bigint; keyRate: bigint | null }> {
  if (terms.rate.kind === 'fixed') return { rate: pct(terms.rate.percent), keyRate: null };
  const key = await keyRateOn(db, day);
  if (key === undefined) refuse('no_key_rate', `no Bank of Russia key rate is recorded on or before ${day}; record it (PUT /api/v1/key-rates/{date})`);
  return { rate: key + pct(terms.rate.marginPercent), keyRate: key };
}

export function feeOf(terms: ProductTerms, amount: bigint): bigint {
  return divide(amount * pct(terms.originationFeePercent), 1_000_000n, 'half_up');
}

/** Whole months from `from` to `to` (dates): the 15th to the 14th of the next month is 0, to the 15th is 1. */
export function wholeMonthsBetween(from: string, to: string): number {
  const [fy, fm, fd] = from.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = to.split('-').map(Number) as [number, number, number];
  return (ty - fy) * 12 + (tm - fm) - (td < fd ? 1 : 0);
}

/**
 * What a product lends (borrower kind, amount, term, repayment type, and with `today` the
 * borrower's age since registration): refused with the product's bounds.
 */
export function checkApplication(terms: ProductTerms, borrower: Pick<Borrower, 'kind' | 'registeredOn'>, input: Pick<ApplicationInput, 'productCode' | 'amount' | 'months' | 'repaymentType'>, today?: string): void {
  const bound = (text: string) => {
    const parsed = parseKopecks(text);
    if (!parsed.ok) throw new Error(`product ${input.productCode}: stored amount bound "${text}" is not an amount (productProblems checks it)`);
    return parsed.value;
  };
  const min = bound(terms.amount.min);
  const max = bound(terms.amount.max);
  if (!terms.borrowerKinds.includes(borrower.kind)) refuse('borrower_kind_not_allowed', `product ${input.productCode} lends to ${terms.borrowerKinds.join(', ')}, not to a borrower of kind ${borrower.kind}`);
  if (input.amount < min || input.amount > max) refuse('amount_out_of_range', `the amount is ${terms.amount.min} to ${terms.amount.max} RUB under product ${input.productCode}`, { min: terms.amount.min, max: terms.amount.max });
  if (input.months < terms.months.min || input.months > terms.months.max) refuse('term_out_of_range', `the term is ${terms.months.min} to ${terms.months.max} months under product ${input.productCode}`);
  if (!terms.repaymentTypes.includes(input.repaymentType)) refuse('repayment_type_not_offered', `product ${input.productCode} offers ${terms.repaymentTypes.join(', ')}`);
  if (terms.borrowerMinAgeMonths !== undefined && today !== undefined) {
    if (borrower.registeredOn === undefined) refuse('borrower_age_unknown', `product ${input.productCode} lends to companies registered at least ${terms.borrowerMinAgeMonths} months; the borrower's registration date is not on record`);
    const age = wholeMonthsBetween(borrower.registeredOn, today);
    if (age < terms.borrowerMinAgeMonths) refuse('borrower_too_young', `product ${input.productCode} lends to companies registered at least ${terms.borrowerMinAgeMonths} months; this one was registered on ${borrower.registeredOn}, ${Math.max(age, 0)} months ago`, { registeredOn: borrower.registeredOn, months: Math.max(age, 0), required: terms.borrowerMinAgeMonths });
  }
}

export interface OfferRow {
  id: bigint; application_id: bigint; created_at: Date; valid_until: Date; planned_start: string; rate_millionths: bigint; key_rate_millionths: bigint | null;
  fee_kopecks: bigint; price_kopecks: bigint; price_cycle_id: bigint; collateral_required_sats: bigint; schedule: unknown;
  total_interest_kopecks: bigint; total_cost_kopecks: bigint; psk_percent: string | null; psk_kopecks: bigint | null;
  compliance: unknown; underwriting_report_id: bigint | null; underwriting: unknown; blocking_reasons: string[]; exposure: Check | null;
  equipment: EquipmentLayerJson | null;
  [key: string]: unknown;
}

function scheduleJson(schedule: Schedule) {
  return {
    lines: schedule.lines.map((l) => ({ number: l.number, dueDate: l.dueDate, days: l.days, principal: formatKopecks(l.principal), interest: formatKopecks(l.interest), payment: formatKopecks(l.payment), balance: formatKopecks(l.balance) })),
    totals: { principal: formatKopecks(schedule.totals.principal), interest: formatKopecks(schedule.totals.interest), payment: formatKopecks(schedule.totals.payment) },
    // Due dates (and the ПСК computed on them) in a year no decree on days off is loaded for.
    calendar: { fallbackYears: [...schedule.calendar.fallbackYears], note: schedule.calendar.note },
  };
}

/** Computes and stores the offer for an application. */
export async function makeOffer(tx: Queryable, applicationId: bigint, userId: bigint, context: OfferContext): Promise<OfferRow> {
  const [app] = await tx.query<{ id: bigint; borrower_id: bigint; product_code: string; product_version: number; amount_kopecks: bigint; months: number; repayment_type: RepaymentType; collateral_sats: bigint; equipment_machines: bigint[] }>('SELECT * FROM loan_applications WHERE id = $1', [applicationId]);
  if (app === undefined) refuse('application_not_found', `no application ${applicationId}`);
  const [borrowerRow] = await tx.query<{ ref: string }>('SELECT ref FROM borrowers WHERE id = $1', [app.borrower_id]);
  const borrower = (await findBorrower(tx, borrowerRow!.ref))!;
  const { terms } = await productVersion(tx, app.product_code, app.product_version);
  const day = await openBusinessDay(tx, context.now);
  const start = context.calendar.nextBusinessDay(day);
  const { rate, keyRate } = await rateOn(tx, terms, start);
  const schedule = buildSchedule(scheduleTermsOf(terms, { amount: app.amount_kopecks, months: app.months, repaymentType: app.repayment_type }, rate, start), context.calendar);
  const fee = feeOf(terms, app.amount_kopecks);
  const price = await currentPrice(tx, context.now, context.staleAfterSeconds);
  if (!price.ok) refuse(price.code, price.message);
  // Machines pledged with the application count first, up to the product's share of the cover;
  // the BTC asked is what they leave (equipment-pledges.ts).
  const equipment = await equipmentLayerFor(tx, { borrowerId: app.borrower_id, machines: app.equipment_machines, terms, amount: app.amount_kopecks, originationLtv: pct(terms.collateral.ltv.origination) });
  const required = requiredSats(app.amount_kopecks, price.price, pct(terms.collateral.ltv.origination), pct(terms.collateral.haircutPercent), equipment?.countedKopecks ?? 0n);

  // Compliance and underwriting are judged on the day of the decision, not the bank's (possibly
  // lagging) open day; the underwriting is this application's: its amount, term, rate and shape,
  // on today's network data and price (a report made earlier for another amount says nothing).
  const today = moscowDay(context.now);
  const evaluation = await evaluateBorrower(tx, borrower, today, userId, context.now);
  const underwriting = await runUnderwriting(tx, borrower, {
    asOf: today, amountKopecks: app.amount_kopecks as Kopecks, months: app.months, annualRate: fraction(rate, 1_000_000n),
    shape: app.repayment_type === 'annuity' ? 'annuity' : 'interest_only', dscrMinBps: OFFER_DSCR_MIN_BPS, uptimeBps: OFFER_UPTIME_BPS,
  }, userId, context.now, { networkMaxAgeDays: context.networkMaxAgeDays, evaluation });

  const blocking: string[] = [];
  for (const result of evaluation.results.filter((r) => r.outcome === 'fail')) blocking.push(`compliance: ${result.rule}: ${result.reason}`);
  if ('code' in underwriting) blocking.push(`underwriting could not decide: ${underwriting.message}`);
  else if (underwriting.recommendation === 'decline') blocking.push(`underwriting report ${underwriting.id} declines: ${underwriting.reasons.join('; ')}`);
  const report = 'code' in underwriting ? undefined : underwriting;
  if (app.collateral_sats < required) blocking.push(`the BTC to be pledged, ${formatSats(app.collateral_sats)}, is below the ${formatSats(required)} the origination LTV of ${terms.collateral.ltv.origination}% asks at ${formatKopecks(price.price)} RUB/BTC${equipment === undefined ? '' : ` beside machines counted at ${formatKopecks(equipment.countedKopecks)} RUB`}`);

  // The bank's exposure before and after this loan, against every limit (src/exposure): above a
  // hard limit, or with no capital on record, the offer cannot be approved.
  const exposure = await checkNewLoan(tx, { borrowerId: app.borrower_id, amount: app.amount_kopecks + fee }, context.now, { lock: false });
  if (exposure.decision === 'hard' || exposure.decision === 'no_capital') blocking.push(`exposure: ${exposure.reasons.join('; ')}`);

  let psk: { percent: string; money: bigint } | null = null;
  if (borrower.kind === 'individual') {
    psk = fullCostOfCredit([{ date: start, amount: -(app.amount_kopecks - fee) }, ...schedule.lines.map((l) => ({ date: l.dueDate, amount: l.payment }))]);
  }
  const [offer] = await tx.query<OfferRow>(
    `INSERT INTO loan_offers (application_id, created_at, valid_until, planned_start, rate_millionths, key_rate_millionths, fee_kopecks, price_kopecks, price_cycle_id,
       collateral_required_sats, schedule, total_interest_kopecks, total_cost_kopecks, psk_percent, psk_kopecks, compliance, underwriting_report_id, underwriting, blocking_reasons, exposure, equipment)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, $16::jsonb, $17, $18::jsonb, $19, $20::jsonb, $21::jsonb) RETURNING *`,
    [app.id, context.now, new Date(context.now.getTime() + OFFER_VALID_DAYS * 86_400_000), start, rate, keyRate, fee, price.price, price.cycle.id,
      required, JSON.stringify(scheduleJson(schedule)), schedule.totals.interest, schedule.totals.interest + fee, psk?.percent ?? null, psk?.money ?? null,
      JSON.stringify({ evaluationId: evaluation.id.toString(), blocking: evaluation.blocking, results: evaluation.results }),
      report?.id ?? null, JSON.stringify(report === undefined ? { reportId: null, recommendation: null, asOf: today, reasons: [(underwriting as UnderwritingProblem).message], problem: (underwriting as UnderwritingProblem).code }
        : { reportId: report.id.toString(), recommendation: report.recommendation, asOf: today, reasons: report.reasons, amount: formatKopecks(app.amount_kopecks), months: app.months, figures: keyFigures(report.body) }),
      blocking, JSON.stringify(exposure), equipment === undefined ? null : JSON.stringify(equipmentLayerJson(equipment))],
  );
  await recordCheck(tx, exposure, { applicationId: app.id, stage: 'offer', userId, now: context.now });
  return offer!;
}

export async function applyForLoan(tx: Queryable, borrower: Borrower, input: ApplicationInput, userId: bigint, context: OfferContext): Promise<{ applicationId: bigint; offer: OfferRow }> {
  const product = await productVersion(tx, input.productCode);
  checkApplication(product.terms, borrower, input, moscowDay(context.now));
  const [row] = await tx.query<{ id: bigint }>(
    `INSERT INTO loan_applications (borrower_id, product_code, product_version, amount_kopecks, months, repayment_type, collateral_sats, equipment_machines, status, created_by, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $10::int8[], 'offered', $8, $9) RETURNING id`,
    [borrower.id, input.productCode, product.version, input.amount, input.months, input.repaymentType, input.collateralSats, userId, context.now, input.equipmentMachines ?? []]);
  return { applicationId: row!.id, offer: await makeOffer(tx, row!.id, userId, context) };
}

/** A quote's answer: the offer an application would get now, which no application holds yet. */
class Quoted extends Error {
  constructor(readonly offer: OfferRow) { super('quoted'); }
}

/**
 * The offer an application would get now (issue 19: the miner sees it before it commits): the
 * application and its offer computed exactly as `applyForLoan` does, in a transaction that is then
 * rolled back, so a quote leaves nothing behind and can never drift from the real offer.
 */
export async function quoteLoan(db: Database, borrower: Borrower, input: ApplicationInput, userId: bigint, context: OfferContext): Promise<OfferRow> {
  try {
    await db.transaction(async (tx) => {
      const made = await applyForLoan(tx, borrower, input, userId, context);
      throw new Quoted(made.offer);
    });
  } catch (error) {
    if (error instanceof Quoted) return error.offer;
    throw error;
  }
  throw new Error('a quote always rolls back');
}

/**
 * The BTC/RUB prices at which a loan of `debt` against `sats` would reach the product's warning,
 * margin call and liquidation LTVs: what an applicant reads as "how far may the price fall".
 * The highest price at which the LTV is at least each threshold (ladder.ts triggerPrice).
 */
export function offerLevels(terms: ProductTerms, debt: bigint, sats: bigint, equipment = 0n) {
  const haircut = rateFromPercent(terms.collateral.haircutPercent)!;
  const at = (percent: string) => {
    const price = triggerPrice({ debt, sats, equipment }, rateFromPercent(percent)!, haircut);
    return price <= 0n || price >= ANY_PRICE ? null : formatKopecks(price);
  };
  const ltv = terms.collateral.ltv;
  return { forBtc: formatSats(sats), warning: at(ltv.warning), marginCall: at(ltv.marginCall), liquidation: at(ltv.liquidation), warningPercent: ltv.warning, marginCallPercent: ltv.marginCall, liquidationPercent: ltv.liquidation, curePeriodHours: terms.collateral.curePeriodHours };
}

export function offerView(offer: OfferRow) {
  return {
    offerId: offer.id.toString(),
    applicationId: offer.application_id.toString(),
    createdAt: offer.created_at.toISOString(),
    validUntil: offer.valid_until.toISOString(),
    plannedStart: offer.planned_start,
    ratePercent: formatRate(offer.rate_millionths),
    keyRatePercent: offer.key_rate_millionths === null ? null : formatRate(offer.key_rate_millionths),
    fee: formatKopecks(offer.fee_kopecks),
    price: formatKopecks(offer.price_kopecks),
    priceCycleId: offer.price_cycle_id.toString(),
    collateralRequired: formatSats(offer.collateral_required_sats),
    schedule: offer.schedule,
    totalInterest: formatKopecks(offer.total_interest_kopecks),
    totalCost: formatKopecks(offer.total_cost_kopecks),
    fullCostOfCredit: offer.psk_percent === null ? null : { percent: offer.psk_percent, money: formatKopecks(offer.psk_kopecks!) },
    compliance: offer.compliance,
    underwriting: offer.underwriting,
    blockingReasons: offer.blocking_reasons,
    exposure: offer.exposure,
    // The second layer: the machines pledged, what they are worth and what counts (null without).
    equipment: offer.equipment === null ? null : (({ capKopecks: _cap, ...shown }) => shown)(offer.equipment),
    approvable: offer.blocking_reasons.length === 0,
  };
}

export function formatRate(millionths: bigint): string {
  if (millionths < 0n) return `-${formatRate(-millionths)}`; // a fill above the reference: negative slippage
  const whole = millionths / 10_000n;
  const rest = (millionths % 10_000n).toString().padStart(4, '0').replace(/0+$/, '');
  return rest === '' ? whole.toString() : `${whole}.${rest}`;
}

// ---------------------------------------------------------------------------------------------
// Approval.

export interface ApprovePayload {
  readonly applicationId: string;
  readonly offerId: string;
}

async function latestOffer(db: Queryable, applicationId: bigint): Promise<OfferRow | undefined> {
  const [offer] = await db.query<OfferRow>('SELECT * FROM loan_offers WHERE application_id = $1 ORDER BY id DESC LIMIT 1', [applicationId]);
  return offer;
}

/** `now` is the approver's clock; a proposal (no clock given) is not judged on the offer's expiry. */
async function checkApprovable(db: Queryable, payload: ApprovePayload, now: Date | undefined) {
  if (!/^[1-9][0-9]{0,17}$/.test(String(payload.applicationId)) || !/^[1-9][0-9]{0,17}$/.test(String(payload.offerId))) refuse('invalid_proposal', 'applicationId and offerId are ids');
  const [app] = await db.query<{ id: bigint; status: string; amount_kopecks: bigint; borrower_id: bigint; product_code: string; product_version: number; months: number; repayment_type: RepaymentType }>('SELECT * FROM loan_applications WHERE id = $1', [BigInt(payload.applicationId)]);
  if (app === undefined) refuse('application_not_found', `no application ${payload.applicationId}`);
  if (app.status !== 'offered') refuse('application_not_open', `application ${app.id} is ${app.status}`);
  const offer = await latestOffer(db, app.id);
  if (offer === undefined || offer.id !== BigInt(payload.offerId)) refuse('offer_expired', `offer ${payload.offerId} is not the application's latest offer; re-offer and approve that one`);
  if (now !== undefined && offer.valid_until.getTime() < now.getTime()) refuse('offer_expired', `offer ${offer.id} expired at ${offer.valid_until.toISOString()}; ask for a new offer`);
  if (offer.blocking_reasons.length > 0) refuse('offer_blocked', `offer ${offer.id} cannot be approved: ${offer.blocking_reasons.join('; ')}`, { reasons: offer.blocking_reasons });
  return { app, offer };
}

function outcome<T>(work: () => Promise<T>) {
  return work().then((value) => ({ ok: true as const, value }), (error: unknown) => {
    if (error instanceof LoanError) return { ok: false as const, error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } };
    throw error;
  });
}
export { outcome as loanOutcome };

export const approveLoanAction: ApprovalAction<ApprovePayload> = {
  type: 'loans.approve',
  proposerRoles: ['credit_officer'],
  defaultApproverRoles: ['credit_officer'],
  prepare(db, raw) {
    return outcome(async () => {
      const payload = raw as ApprovePayload;
      const { app, offer } = await checkApprovable(db, payload, undefined);
      const [borrower] = await db.query<{ ref: string }>('SELECT ref FROM borrowers WHERE id = $1', [app.borrower_id]);
      return {
        payload: { applicationId: app.id.toString(), offerId: offer.id.toString() },
        summary: `loan of ${formatKopecks(app.amount_kopecks)} RUB for ${app.months} months (${app.repayment_type}) to ${borrower!.ref} at ${formatRate(offer.rate_millionths)}%, product ${app.product_code} v${app.product_version}`,
        amounts: { RUB: app.amount_kopecks },
        target: `loan_application:${app.id}`,
      };
    });
  },
  execute(tx, payload, context) {
    return outcome(async () => {
      const { app, offer } = await checkApprovable(tx, payload, context.now);
      const { terms } = await productVersion(tx, app.product_code, app.product_version);
      // The exposure check again, now under the lock that serialises approvals: refused above a
      // hard limit; above a soft one only a risk officer approves. The check is kept with the
      // loan (exposure_checks) with the rule ids and figures it used.
      const exposure = await checkNewLoan(tx, { borrowerId: app.borrower_id, amount: app.amount_kopecks + offer.fee_kopecks }, context.now, { lock: true });
      if (exposure.decision === 'no_capital') refuse('no_capital_recorded', exposure.reasons.join('; '), { exposure });
      if (exposure.decision === 'hard') refuse('exposure_limit_exceeded', `the loan would cross a hard exposure limit: ${exposure.reasons.join('; ')}`, { exposure });
      if (exposure.decision === 'soft' && !context.approver.roles.includes('risk_officer')) refuse('exposure_needs_risk_officer', `above a soft exposure limit a risk officer approves: ${exposure.reasons.join('; ')}`, { exposure });
      await recordCheck(tx, exposure, { applicationId: app.id, stage: 'approval', approvalId: context.approvalId, userId: context.approver.id, now: context.now });
      const [borrower] = await tx.query<{ ref: string; kind: string }>('SELECT ref, kind FROM borrowers WHERE id = $1', [app.borrower_id]);
      // For individuals the law fixes the order whatever the product says (353-FZ art. 5 part 20).
      const order = statutoryOrder(borrower!.kind) ?? terms.waterfall ?? DEFAULT_WATERFALL;
      const position = (bucket: string) => order.indexOf(bucket as never) + 1;
      const interestOnly = app.repayment_type === 'interest_only';
      const months = app.months;
      const interestOnlyThrough = interestOnly ? (terms.interestOnly?.months ?? Math.floor(months / 2)) : 0;
      const balloon = interestOnly ? divide(app.amount_kopecks * pct(terms.interestOnly?.balloonPercent ?? '50'), 1_000_000n, 'floor') : 0n;
      const [loan] = await tx.query<{ id: bigint; ref: string }>(
        `WITH n AS (SELECT nextval('loans_id_seq') AS id)
         INSERT INTO loan_terms (id, ref, application_id, offer_id, approval_id, borrower_id, borrower_kind, product_code, product_version, amount_kopecks, months, repayment_type,
           interest_only_through, balloon_kopecks, rate_kind, margin_millionths, rate_reset_months, penalty_millionths_per_day, fee_kopecks,
           wf_penalty, wf_interest_overdue, wf_principal_overdue, wf_interest, wf_principal, wf_fee, approved_at)
         SELECT n.id, 'LN-' || n.id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24 FROM n
         RETURNING id, ref`,
        [app.id, offer.id, context.approvalId, app.borrower_id, borrower!.kind, app.product_code, app.product_version, app.amount_kopecks, months, app.repayment_type,
          interestOnlyThrough, balloon, terms.rate.kind, terms.rate.kind === 'floating' ? pct(terms.rate.marginPercent) : null,
          terms.rate.kind === 'floating' ? (terms.rate.reset === 'monthly' ? 1 : 3) : null, pct(terms.penaltyPercentPerDay), offer.fee_kopecks,
          position('penalty'), position('interest_overdue'), position('principal_overdue'), position('interest'), position('principal'), position('fee'), context.now]);
      // Every loan has one balances row from the start (migration 0032), written with its terms.
      await tx.query(`INSERT INTO loan_balances (loan_id, status, rate_millionths) VALUES ($1, 'approved', $2)`, [loan!.id, offer.rate_millionths]);
      await openLoanAccounts(tx, loan!.id, loan!.ref, borrower!.ref);
      if (offer.equipment !== null) await pledgeEquipment(tx, loan!.id, offer.equipment.groups, BigInt(offer.equipment.capKopecks), context.now);
      await tx.query(`UPDATE loan_applications SET status = 'approved' WHERE id = $1`, [app.id]);
      const day = await openBusinessDay(tx, context.now);
      await loanEvent(tx, loan!.id, day, 'approved', { approvalId: context.approvalId.toString(), offerId: offer.id.toString(), approvedBy: context.approver.username, exposure: exposure.decision }, context.now);
      await auditApproved(tx, context, 'loans.approve', `loan:${loan!.ref}`, { applicationId: app.id.toString(), offerId: offer.id.toString(), amount: formatKopecks(app.amount_kopecks), exposure: { decision: exposure.decision, lines: exposure.lines } });
      return { loan: loan!.ref, applicationId: app.id.toString() };
    });
  },
};

