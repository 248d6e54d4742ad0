import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import type { BusinessCalendar } from '../calendar/business.js';
import type { Database, Queryable } from '../db/database.js';
import { ltvMillionths } from '../loans/collateral.js';
import { refuse } from '../loans/loan-errors.js';
import { LoanError } from '../loans/loan-errors.js';
import { moscowDay, openBusinessDay } from '../loans/loan-store.js';
import { formatRate, loanOutcome } from '../loans/origination.js';
import type { ProductTerms } from '../loans/product.js';
import { bookLiquidationSale, type LiquidationBooking } from '../loans/servicing.js';
import { BUCKETS } from '../loans/waterfall.js';
import { formatKopecks, formatPrice, formatSats, parseKopecks, parsePrice, parseSats, type PriceKopecksPerBtc } from '../money/money.js';
import { currentPrice } from '../prices/current.js';
import { fillProblem, liquidationTermsOf, planLiquidation, slippageMillionths, summariseFills, type Fill, type SaleSummary } from './liquidation.js';
import { CHANNELS } from './risk-store.js';
import type { Venue } from './venues.js';
import { channelVerdict, productVerdict, recordChannel, sameChannel, saleChannelProblem, type SaleChannel } from './sale-channels.js';

/**
 * Liquidations on the database (migration 0016), driven by the service's `liquidation` job:
 *
 * 1. **Queue**: every live loan the engine put into 'liquidation' that still has collateral gets
 *    one open liquidation (a unique index: at most one per loan).
 * 2. **Admit**, only while the price service stands behind its price (not degraded, not stale):
 *    worst LTV first, each planned at the current price (liquidation.ts: partial to the target LTV
 *    after fees, full when it must be, the floor), while the collateral being sold across the book
 *    stays under the cap (Maker's `hole`: a crash does not dump the whole book on the market at
 *    once; one liquidation is always admitted when none is in flight, so a loan larger than the
 *    cap is not starved). One whose loan is back at or under its target is cancelled.
 * 3. **Sell**: an automatic venue (simulated) is sent the order and its fills are recorded with the
 *    status 'sold' in one transaction; the OTC desk's fills are recorded by treasury under four eyes
 *    (`liquidation.fills`), which books at once when the desk is done.
 * 4. **Book** every 'sold' liquidation in its own transaction (the liquidation row locked, booked
 *    only from 'sold'): ledger, loan, positions, the execution report, the transition out of
 *    liquidation and its outbox rows. A crash after the sale and before the booking leaves it
 *    'sold'; the next run books it, once.
 *
 * While the price is degraded nothing is admitted or sold automatically; what was sold is still booked.
 */

export const LIQUIDATION_LOCK_KEY = 7_207_105;

export interface LiquidationOptions {
  readonly venue: Venue;
  /** Collateral in flight (admitted, not yet booked) across the book, at most (sats). */
  readonly capSats: bigint;
  readonly staleAfterSeconds: number;
  readonly calendar: BusinessCalendar;
  readonly now: () => Date;
  readonly batch?: number;
  /**
   * The channel an automatic venue sells through (risk/sale-channels.ts): recorded with each sale
   * and checked against the bank's rules and the product on the day of admission; a liquidation
   * whose channel is not allowed stays queued (reported as refused). `zalog serve` always sets it;
   * a backtest, which replays history before any channel existed, does not.
   */
  readonly saleChannel?: SaleChannel;
  /** Called after a sale is committed and before it is booked (progress lines; the crash test stops the process here). */
  readonly onSold?: (liquidationId: bigint) => void | Promise<void>;
}

export interface LiquidationRunReport {
  readonly queued: number;
  readonly admitted: number;
  readonly cancelled: number;
  readonly sold: number;
  readonly booked: number;
  /** Why nothing was admitted or sold, when the price was not good enough. */
  readonly paused?: string;
  /** Sold liquidations that could not be booked yet, with why. */
  readonly held?: readonly Held[];
  /** Queued liquidations not admitted because their sale channel is not allowed on the day. */
  readonly refused?: readonly Held[];
}

interface Held { readonly liquidation: string; readonly code: string; readonly message: string }

interface LiquidationRow {
  id: bigint; loan_id: bigint; ref: string; status: string; kind: 'partial' | 'full' | null; reason: string | null; venue: string | null;
  sale_channel: SaleChannel['channel'] | null; sale_venue: string | null; sale_counterparty: string | null; sale_jurisdiction: string | null;
  reference_kopecks: bigint | null; reference_cycle_id: bigint | null; floor_kopecks: bigint | null; planned_sats: bigint | null;
  debt_kopecks: bigint | null; sats: bigint | null; terms: ProductTerms; haircut: bigint; [key: string]: unknown;
}

const selectLiquidation = (extra = '') => `
SELECT q.*, l.ref, v.terms, lad.haircut${extra} FROM liquidations q JOIN loans l ON l.id = q.loan_id
  JOIN loan_product_versions v ON v.product_code = l.product_code AND v.version = l.product_version
  JOIN risk_ladders lad ON lad.product_code = l.product_code AND lad.product_version = l.product_version`;

export async function runLiquidations(db: Database, options: LiquidationOptions): Promise<LiquidationRunReport> {
  const queued = await queueLiquidations(db, options.now());
  // Nothing queued, being sold or sold: nothing to do (the usual case; a backtest runs this every bar).
  if (queued === 0 && (await db.query(`SELECT 1 FROM liquidations WHERE status IN ('queued', 'selling', 'sold') LIMIT 1`)).length === 0) {
    return { queued: 0, admitted: 0, cancelled: 0, sold: 0, booked: 0 };
  }
  const price = await currentPrice(db, options.now(), options.staleAfterSeconds);
  let admitted = 0, cancelled = 0, sold = 0;
  let refused: Held[] = [];
  if (price.ok) {
    ({ admitted, cancelled, refused } = await admit(db, options, { price: price.price, cycleId: price.cycle.id }));
    if (options.venue.automatic) sold = await sell(db, options);
  }
  const { booked, held } = await bookSold(db, options);
  return { queued, admitted, cancelled, sold, booked, ...(price.ok ? {} : { paused: price.message }), ...(held.length > 0 ? { held } : {}), ...(refused.length > 0 ? { refused } : {}) };
}

/** The collateral being sold across the book: planned sats of liquidations admitted and not yet booked (what the cap bounds). */
export async function satsInFlight(db: Queryable): Promise<bigint> {
  const [row] = await db.query<{ sats: bigint }>(`SELECT coalesce(sum(planned_sats), 0)::int8 AS sats FROM liquidations WHERE status IN ('selling', 'sold')`);
  return row!.sats;
}

async function queueLiquidations(db: Database, now: Date): Promise<number> {
  const rows = await db.query(
    `INSERT INTO liquidations (loan_id, status, queued_at)
     SELECT r.loan_id, 'queued', $1 FROM loan_risk r
      WHERE r.state = 'liquidation' AND r.live AND r.sats > 0
        AND NOT EXISTS (SELECT 1 FROM liquidations q WHERE q.loan_id = r.loan_id AND q.status IN ('queued', 'selling', 'sold'))
      ORDER BY r.loan_id
     ON CONFLICT (loan_id) WHERE status IN ('queued', 'selling', 'sold') DO NOTHING
     RETURNING id`, [now]);
  return rows.length;
}

async function admit(db: Database, options: LiquidationOptions, price: { price: PriceKopecksPerBtc; cycleId: bigint }): Promise<{ admitted: number; cancelled: number; refused: Held[] }> {
  return db.transaction(async (tx) => {
    // One admitter at a time: the cap is a sum over the book.
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LIQUIDATION_LOCK_KEY]);
    let inFlight = await satsInFlight(tx);
    const now = options.now();
    // Maturity is judged on the bank's open day; while end of day is half-way through one, nothing is admitted.
    let today: string;
    try {
      today = await openBusinessDay(tx, now);
    } catch (error) {
      if (error instanceof LoanError) return { admitted: 0, cancelled: 0, refused: [] };
      throw error;
    }
    const waiting = await tx.query<LiquidationRow & { live_debt: bigint; live_sats: bigint; live_equipment: bigint; maturity_on: string | null }>(
      `${selectLiquidation(', r.debt_kopecks AS live_debt, r.sats AS live_sats, r.equipment_kopecks AS live_equipment, l.maturity_on::text AS maturity_on')} JOIN loan_risk r ON r.loan_id = q.loan_id
        WHERE q.status = 'queued'
        ORDER BY CASE WHEN r.sats = 0 THEN NULL ELSE r.debt_kopecks::numeric / r.sats END DESC NULLS FIRST, q.id
        LIMIT $1 FOR UPDATE OF q`, [options.batch ?? 1_000]);
    let admitted = 0, cancelled = 0;
    const refused: Held[] = [];
    // The bank's rule for the automatic venue's channel is one for the whole run (one channel, one day).
    const bankVerdict = options.venue.automatic && options.saleChannel !== undefined ? await channelVerdict(tx, options.saleChannel.channel, moscowDay(now)) : undefined;
    for (const q of waiting) {
      const terms = liquidationTermsOf(q.terms);
      const plan = planLiquidation({ debt: q.live_debt, sats: q.live_sats, reference: price.price, venueFeeMillionths: options.venue.feeMillionths, pastMaturity: q.maturity_on !== null && q.maturity_on < today, terms, equipment: q.live_equipment });
      if (plan.kind === 'none') {
        await tx.query(`UPDATE liquidations SET status = 'cancelled', reference_kopecks = $2, reference_cycle_id = $3, debt_kopecks = $4, sats = $5, admitted_at = $6,
                        report = $7::jsonb WHERE id = $1`, [q.id, price.price, price.cycleId, q.live_debt, q.live_sats, now, JSON.stringify({ cancelled: 'the loan is at or under its target LTV at the reference price: nothing to sell' })]);
        await leaveLiquidation(tx, q.loan_id, 'healthy', { price: price.price, cycleId: price.cycleId, at: now, ltv: plan.ltvBefore, report: { liquidationId: q.id.toString(), cancelled: true } });
        cancelled += 1;
        continue;
      }
      if (inFlight > 0n && inFlight + plan.sats > options.capSats) break;
      // An automatic venue sells through its configured channel: not admitted when the law (the
      // bank's rules on the day) or the product does not allow it. The desk's channel is stated
      // with its fills and checked then.
      if (bankVerdict !== undefined && options.saleChannel !== undefined) {
        const verdict = bankVerdict.allowed ? productVerdict(q.terms, options.saleChannel.channel) : bankVerdict;
        if (!verdict.allowed) {
          refused.push({ liquidation: q.id.toString(), code: 'sale_channel_not_allowed', message: verdict.reason });
          continue;
        }
        await recordChannel(tx, q.id, options.saleChannel);
      }
      await tx.query(`UPDATE liquidations SET status = 'selling', kind = $2, reason = $3, venue = $4, reference_kopecks = $5, reference_cycle_id = $6, floor_kopecks = $7,
                      planned_sats = $8, debt_kopecks = $9, sats = $10, admitted_at = $11 WHERE id = $1`,
        [q.id, plan.kind, plan.reason, options.venue.name, price.price, price.cycleId, plan.floor, plan.sats, q.live_debt, q.live_sats, now]);
      inFlight += plan.sats;
      admitted += 1;
    }
    return { admitted, cancelled, refused };
  });
}

async function sell(db: Database, options: LiquidationOptions): Promise<number> {
  const selling = await db.query<{ id: bigint }>(`SELECT id FROM liquidations WHERE status = 'selling' AND venue = $1 ORDER BY id LIMIT $2`, [options.venue.name, options.batch ?? 1_000]);
  let sold = 0;
  for (const { id } of selling) {
    const done = await db.transaction(async (tx) => {
      const [q] = await tx.query<LiquidationRow>(`${selectLiquidation()} WHERE q.id = $1 FOR UPDATE OF q`, [id]);
      if (q === undefined || q.status !== 'selling') return false;
      // The whole order every time: a venue answers a repeated order id with the same fills.
      const result = await options.venue.execute({ liquidationId: q.id, sats: q.planned_sats!, reference: q.reference_kopecks! as PriceKopecksPerBtc, floor: q.floor_kopecks! as PriceKopecksPerBtc });
      await recordFills(tx, q, result.fills, options.now(), null);
      if (!result.done) return false;
      await tx.query(`UPDATE liquidations SET status = 'sold', sold_at = $2 WHERE id = $1`, [q.id, options.now()]);
      return true;
    });
    if (done) {
      sold += 1;
      await options.onSold?.(id);
    }
  }
  return sold;
}

async function recordFills(tx: Queryable, q: LiquidationRow, fills: readonly Fill[], at: Date, approvalId: bigint | null): Promise<void> {
  const recorded = await fillsOf(tx, q.id);
  let remaining = q.planned_sats! - recorded.reduce((s, f) => s + f.sats, 0n);
  for (const fill of fills) {
    if (recorded.some((r) => r.venueFillId === fill.venueFillId)) continue;
    const problem = fillProblem(fill, q.floor_kopecks!, remaining);
    if (problem !== undefined) throw new Error(`liquidation ${q.id}, fill ${fill.venueFillId}: ${problem}`);
    await tx.query('INSERT INTO liquidation_fills (liquidation_id, venue_fill_id, sats, price_kopecks, fee_kopecks, at, approval_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [q.id, fill.venueFillId, fill.sats, fill.price, fill.feeKopecks, at, approvalId]);
    remaining -= fill.sats;
  }
}

async function fillsOf(db: Queryable, liquidationId: bigint): Promise<Array<Fill & { at: Date }>> {
  const rows = await db.query<{ venue_fill_id: string; sats: bigint; price_kopecks: bigint; fee_kopecks: bigint; at: Date }>('SELECT venue_fill_id, sats, price_kopecks, fee_kopecks, at FROM liquidation_fills WHERE liquidation_id = $1 ORDER BY id', [liquidationId]);
  return rows.map((r) => ({ venueFillId: r.venue_fill_id, sats: r.sats, price: r.price_kopecks, feeKopecks: r.fee_kopecks, at: r.at }));
}

/**
 * Books what is sold, each in its own transaction. One the loan refuses for now (end of day half
 * way through a day; a loan no longer live) stays 'sold' and is reported in `held` with the reason,
 * for the next run or a person; the others are booked.
 */
async function bookSold(db: Database, options: LiquidationOptions): Promise<{ booked: number; held: Held[] }> {
  const sold = await db.query<{ id: bigint }>(`SELECT id FROM liquidations WHERE status = 'sold' ORDER BY id LIMIT $1`, [options.batch ?? 1_000]);
  let booked = 0;
  const held: Held[] = [];
  for (const { id } of sold) {
    try {
      if (await db.transaction((tx) => book(tx, id, options.calendar, options.now()))) booked += 1;
    } catch (error) {
      if (!(error instanceof LoanError)) throw error;
      held.push({ liquidation: id.toString(), code: error.code, message: error.message });
    }
  }
  return { booked, held };
}

/**
 * Books a sold liquidation (in the caller's transaction): only from 'sold', with the row locked,
 * so a second booker (a restarted job, a racing instance) finds it booked and does nothing.
 */
export async function book(tx: Queryable, id: bigint, calendar: BusinessCalendar, now: Date): Promise<boolean> {
  const [q] = await tx.query<LiquidationRow>(`${selectLiquidation()} WHERE q.id = $1 FOR UPDATE OF q`, [id]);
  if (q === undefined || q.status !== 'sold') return false;
  // A loan whose collateral is in an on-chain vault: the sale is booked once the BTC it sold has
  // reached the desk (its vault spend confirmed); until then it waits here, reported as held.
  const [vault] = await tx.query<{ confirmed: boolean }>(`SELECT EXISTS (SELECT 1 FROM vault_spends s WHERE s.vault_id = v.id AND s.liquidation_id = $2 AND s.state = 'confirmed') AS confirmed FROM vaults v WHERE v.loan_id = $1`, [q.loan_id, id]);
  if (vault !== undefined && !vault.confirmed) refuse('liquidation_awaiting_chain', `liquidation ${id} of ${q.ref}: its BTC is in the loan's vault; the sale is booked once treasury's spend to the desk has confirmed`);
  const fills = await fillsOf(tx, id);
  const terms = liquidationTermsOf(q.terms);
  const reference = q.reference_kopecks! as PriceKopecksPerBtc;
  const summary = summariseFills(fills, reference, terms.feeMillionths);
  const booking = await bookLiquidationSale(tx, q.ref, { liquidationId: id, soldSats: summary.sats, receivedKopecks: summary.grossKopecks - summary.venueFeesKopecks, bankFeeKopecks: summary.bankFeeKopecks }, now, calendar);
  const [after] = await tx.query<{ debt_kopecks: bigint; sats: bigint; equipment_kopecks: bigint }>('SELECT debt_kopecks, sats, equipment_kopecks FROM loan_risk WHERE loan_id = $1', [q.loan_id]);
  const ltvAfter = ltvMillionths(after!.debt_kopecks, after!.sats, reference, q.haircut, after!.equipment_kopecks);
  // A sale that filled worse than the plan allowed leaves the loan above its target: the next sale is
  // planned at once (queued now, admitted at the next run at the price then), so a loan is never left
  // between its target and the liquidation threshold by the desk's slippage.
  const live = booking.status === 'active' || booking.status === 'overdue';
  const aboveTarget = live && booking.shortfallKopecks === 0n && booking.remainingSats > 0n && ltvAfter !== undefined && ltvAfter > terms.targetLtv;
  const report = { ...executionReport(q, fills, summary, booking, ltvAfter, after!.equipment_kopecks), nextSale: aboveTarget ? `queued: the sale left the loan above its target LTV of ${formatRate(terms.targetLtv)}%` : null };
  await tx.query(`UPDATE liquidations SET status = 'booked', booked_at = $2, report = $3::jsonb WHERE id = $1`, [id, now, JSON.stringify(report)]);
  // With debt and no collateral left the loan stays in liquidation (nothing more to sell) until written off.
  await leaveLiquidation(tx, q.loan_id, booking.shortfallKopecks > 0n || aboveTarget ? 'liquidation' : 'healthy', { price: reference, cycleId: q.reference_cycle_id, at: now, ltv: ltvAfter, report });
  if (aboveTarget) await tx.query(`INSERT INTO liquidations (loan_id, status, queued_at) VALUES ($1, 'queued', $2)`, [q.loan_id, now]);
  return true;
}

/** What the borrower is told: the reference, the floor, each fill with its slippage, the fees, where the money went, LTV before and after. */
function executionReport(q: LiquidationRow, fills: ReadonlyArray<Fill & { at: Date }>, s: SaleSummary, b: LiquidationBooking, ltvAfter: bigint | undefined, equipment: bigint): Record<string, unknown> {
  const reference = q.reference_kopecks!;
  const pct = (m: bigint | undefined) => (m === undefined ? null : formatRate(m));
  return {
    liquidationId: q.id.toString(),
    loan: q.ref,
    kind: q.kind,
    reason: q.reason,
    venue: q.venue,
    referencePrice: formatPrice(reference as PriceKopecksPerBtc),
    floorPrice: formatPrice(q.floor_kopecks! as PriceKopecksPerBtc),
    plannedBtc: formatSats(q.planned_sats!),
    fills: fills.map((f) => ({ venueFillId: f.venueFillId, btc: formatSats(f.sats), price: formatPrice(f.price as PriceKopecksPerBtc), feeRub: formatKopecks(f.feeKopecks), slippagePercent: formatRate(slippageMillionths(reference, f.price)), at: f.at.toISOString() })),
    soldBtc: formatSats(s.sats),
    averagePrice: s.averagePrice === undefined ? null : formatPrice(s.averagePrice as PriceKopecksPerBtc),
    slippagePercent: pct(s.slippageMillionths),
    grossRub: formatKopecks(s.grossKopecks),
    venueFeesRub: formatKopecks(s.venueFeesKopecks),
    liquidationFeeRub: formatKopecks(b.bankFeeKopecks),
    netRub: formatKopecks(s.grossKopecks - s.venueFeesKopecks - b.bankFeeKopecks),
    allocated: Object.fromEntries(BUCKETS.map((k) => [k, formatKopecks(b.allocated[k])])),
    surplusRub: formatKopecks(b.surplusKopecks),
    collateralLeftBtc: formatSats(b.remainingSats),
    shortfallRub: formatKopecks(b.shortfallKopecks),
    debtBeforeRub: formatKopecks(q.debt_kopecks!),
    ltvBeforePercent: pct(ltvMillionths(q.debt_kopecks!, q.sats!, reference as PriceKopecksPerBtc, q.haircut, equipment)),
    // The machines counted beside the BTC (never sold here: a default enforces on them by four eyes).
    equipmentRub: formatKopecks(equipment),
    ltvAfterPercent: pct(ltvAfter),
    loanStatus: b.status,
    businessDate: b.day,
  };
}

/**
 * Takes a loan out of 'liquidation' (or records a booking that leaves it there): the new state, a
 * transition (cause 'liquidation', with the report) and its outbox rows. Its seq is bumped, so the
 * engine reads the row again and re-decides it at the last price (a loan still under water after
 * a partial sale climbs again and gets a new liquidation).
 */
async function leaveLiquidation(tx: Queryable, loanId: bigint, to: 'healthy' | 'liquidation', at: { price: bigint; cycleId: bigint | null; at: Date; ltv: bigint | undefined; report: Record<string, unknown> }): Promise<void> {
  const [t] = await tx.query<{ id: bigint }>(
    `WITH u AS (
       UPDATE loan_risk r SET state = $2, state_since = $5, call_deadline = NULL, seq = nextval('loan_risk_seq'),
              worsen_at = CASE WHEN r.live THEN risk_worsen_at($2, r.debt_kopecks, r.sats, r.equipment_kopecks, lad) END,
              improve_above = CASE WHEN r.live THEN risk_improve_above($2, r.debt_kopecks, r.sats, r.equipment_kopecks, lad) END
         FROM risk_ladders lad
        WHERE r.loan_id = $1 AND r.state = 'liquidation' AND lad.product_code = r.product_code AND lad.product_version = r.product_version
       RETURNING r.*)
     INSERT INTO risk_transitions (loan_id, from_state, to_state, cause, price_kopecks, price_cycle_id, debt_kopecks, sats, equipment_kopecks, ltv_millionths, product_code, product_version, at, report)
     SELECT u.loan_id, 'liquidation', $2, 'liquidation', $3, $4, u.debt_kopecks, u.sats, u.equipment_kopecks, $6, u.product_code, u.product_version, $5, $7::jsonb FROM u
     RETURNING id`, [loanId, to, at.price, at.cycleId, at.at, at.ltv ?? null, JSON.stringify(at.report)]);
  if (t === undefined) throw new Error(`loan ${loanId} is not in liquidation`);
  const topic = at.report.cancelled === true ? 'risk.liquidation_cancelled' : 'risk.liquidated';
  await tx.query(`INSERT INTO risk_outbox (transition_id, loan_id, channel, topic, next_attempt_at) SELECT $1, $2, ch, $3, $4 FROM unnest($5::text[]) AS ch
                   WHERE ch <> 'telegram' OR EXISTS (SELECT 1 FROM loans l JOIN borrowers b ON b.id = l.borrower_id JOIN users us ON us.borrower_id = b.ref JOIN telegram_links k ON k.user_id = us.id WHERE l.id = $2)`, [t.id, loanId, topic, at.at, CHANNELS]);
}

// ---------------------------------------------------------------------------------------------
// The OTC desk's fills, recorded by treasury under four eyes.

export interface FillsPayload {
  readonly liquidation: string;
  readonly fills: ReadonlyArray<{ readonly venueFillId: string; readonly btc: string; readonly price: string; readonly feeRub: string }>;
  /** The desk is done: book the liquidation with what was sold. */
  readonly done: boolean;
  /** The channel the desk sold through: required with the first fills, the same after. */
  readonly channel?: SaleChannel;
}

async function checkFills(db: Queryable, payload: FillsPayload, now?: Date): Promise<{ q: LiquidationRow; fills: Fill[]; channel: SaleChannel }> {
  if (typeof payload.liquidation !== 'string' || !/^[1-9][0-9]{0,17}$/.test(payload.liquidation)) refuse('invalid_proposal', 'liquidation is an id');
  if (!Array.isArray(payload.fills) || payload.fills.length > 100 || typeof payload.done !== 'boolean') refuse('invalid_proposal', 'up to 100 fills and whether the desk is done');
  if (payload.fills.length === 0 && !payload.done) refuse('invalid_proposal', 'fills, or done');
  const [q] = await db.query<LiquidationRow>(`${selectLiquidation()} WHERE q.id = $1`, [BigInt(payload.liquidation)]);
  if (q === undefined) refuse('liquidation_not_found', `no liquidation ${payload.liquidation}`);
  if (q.status !== 'selling' || q.venue !== 'otc') refuse('liquidation_not_selling', `liquidation ${q.id} is ${q.status}${q.venue === null ? '' : ` at the ${q.venue} venue`}; fills are recorded for one being sold at the OTC desk`, { status: q.status });
  const recorded = await fillsOf(db, q.id);
  let remaining = q.planned_sats! - recorded.reduce((s, f) => s + f.sats, 0n);
  const ids = new Set(recorded.map((r) => r.venueFillId));
  const fills: Fill[] = [];
  for (const [i, raw] of payload.fills.entries()) {
    const sats = parseSats(raw?.btc);
    const price = parsePrice(raw?.price);
    const fee = parseKopecks(raw?.feeRub, 'non_negative');
    if (typeof raw?.venueFillId !== 'string' || !/^[A-Za-z0-9._:/-]{1,100}$/.test(raw.venueFillId) || ids.has(raw.venueFillId)) refuse('invalid_proposal', `fills[${i}].venueFillId: the desk's id of the fill, 1 to 100 letters, digits and ._:/-, not recorded before`);
    if (!sats.ok) refuse('invalid_proposal', `fills[${i}].btc: ${sats.error.message}`);
    if (!price.ok) refuse('invalid_proposal', `fills[${i}].price: ${price.error.message}`);
    if (!fee.ok) refuse('invalid_proposal', `fills[${i}].feeRub: ${fee.error.message}`);
    const fill: Fill = { venueFillId: raw.venueFillId, sats: sats.value, price: price.value, feeKopecks: fee.value };
    const problem = fillProblem(fill, q.floor_kopecks!, remaining);
    if (problem !== undefined) refuse(fill.price < q.floor_kopecks! ? 'below_floor' : 'invalid_fill', `fills[${i}]: ${problem}`, { floorPrice: formatPrice(q.floor_kopecks! as PriceKopecksPerBtc), remainingBtc: formatSats(remaining) });
    ids.add(fill.venueFillId);
    remaining -= fill.sats;
    fills.push(fill);
  }
  if (payload.done && recorded.length === 0 && fills.length === 0) refuse('invalid_proposal', 'nothing was sold: a liquidation is done with at least one fill');
  // The sale's legal channel: stated with the first fills, the same with every later one, and
  // allowed (bank's rules on the day of approval, and the product) when the fills are recorded.
  const stated = q.sale_channel === null ? undefined : { channel: q.sale_channel, venue: q.sale_venue!, counterparty: q.sale_counterparty!, jurisdiction: q.sale_jurisdiction! } as SaleChannel;
  const channel = payload.channel ?? stated;
  if (channel === undefined) refuse('sale_channel_required', 'state the channel the desk sold through (channel: licensed_venue, experimental_regime or otc_abroad; the venue, the counterparty and its jurisdiction)');
  const wrong = saleChannelProblem(channel);
  if (wrong !== undefined) refuse('invalid_proposal', wrong);
  if (stated !== undefined && !sameChannel(stated, channel)) refuse('sale_channel_changed', `liquidation ${q.id} is sold through ${stated.channel} (${stated.venue}, ${stated.counterparty}, ${stated.jurisdiction}); every fill goes through the same channel`);
  if (now !== undefined) {
    const verdict = await channelVerdict(db, channel.channel, moscowDay(now), q.terms);
    if (!verdict.allowed) refuse('sale_channel_not_allowed', `the sale cannot be recorded: ${verdict.reason}`, { channel: channel.channel });
  }
  return { q, fills, channel };
}

export function liquidationFillsAction(calendar: () => Promise<BusinessCalendar>): ApprovalAction<FillsPayload> {
  return {
    type: 'liquidation.fills',
    proposerRoles: ['treasury'],
    defaultApproverRoles: ['treasury'],
    prepare(db, raw) {
      return loanOutcome(async () => {
        const payload = raw as FillsPayload;
        const { q, fills, channel } = await checkFills(db, payload);
        const sats = fills.reduce((s, f) => s + f.sats, 0n);
        return {
          payload: { liquidation: q.id.toString(), fills: payload.fills.map((f) => ({ venueFillId: f.venueFillId, btc: f.btc, price: f.price, feeRub: f.feeRub })), done: payload.done, channel: { channel: channel.channel, venue: channel.venue, counterparty: channel.counterparty, jurisdiction: channel.jurisdiction } },
          summary: `OTC fills for liquidation ${q.id} of ${q.ref}: ${formatSats(sats)} BTC in ${fills.length} fills through ${channel.channel} (${channel.venue}, ${channel.counterparty}, ${channel.jurisdiction})${payload.done ? '; the desk is done' : ''}`,
          amounts: sats > 0n ? { BTC: sats } : {},
          target: `liquidation:${q.id}`,
        };
      });
    },
    execute(tx, payload, context) {
      return loanOutcome(async () => {
        await tx.query('SELECT id FROM liquidations WHERE id = $1 FOR UPDATE', [BigInt(payload.liquidation)]);
        const { q, fills, channel } = await checkFills(tx, payload, context.now);
        if (q.sale_channel === null) await recordChannel(tx, q.id, channel);
        await recordFills(tx, q, fills, context.now, context.approvalId);
        let booked = false;
        if (payload.done) {
          await tx.query(`UPDATE liquidations SET status = 'sold', sold_at = $2 WHERE id = $1`, [q.id, context.now]);
          // A vault loan's sale waits (sold, not booked) for its spend to the desk to confirm; the liquidation job books it then.
          booked = await book(tx, q.id, await calendar(), context.now).catch((error: unknown) => {
            if (error instanceof LoanError && error.code === 'liquidation_awaiting_chain') return false;
            throw error;
          });
        }
        // What the desk's fills moved: the BTC sold and the roubles they raised (each fill floored to
        // the kopeck, as booked; before the venue's fees, which are named in the fills).
        const sold = fills.reduce((sum, f) => sum + f.sats, 0n);
        const gross = fills.reduce((sum, f) => sum + (f.sats * f.price) / 100_000_000n, 0n);
        await auditApproved(tx, context, 'liquidation.fills', `liquidation:${q.id}`, { amounts: { BTC: formatSats(sold), RUB: formatKopecks(gross) }, loan: q.ref, fills: payload.fills, done: payload.done, channel });
        return { liquidation: q.id.toString(), loan: q.ref, recorded: fills.length, booked };
      });
    },
  };
}
