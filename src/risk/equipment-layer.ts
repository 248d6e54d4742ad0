import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import { bankCalendar } from '../calendar/load.js';
import type { Queryable } from '../db/database.js';
import { refuse } from '../loans/loan-errors.js';
import { loadLoan, loanEvent, openBusinessDay } from '../loans/loan-store.js';
import { loanOutcome } from '../loans/origination.js';
import { prepay, recordRepayment } from '../loans/servicing.js';
import { formatKopecks, parseKopecks } from '../money/money.js';
import { latestCycle } from '../prices/price-repository.js';
import { nextState, type Exposure } from './ladder.js';
import type { Move } from './risk-index.js';
import { ladderKey, loadLadders, PgRiskStore, RISK_CHANGES_LOCK_KEY } from './risk-store.js';

/**
 * Machines as the second layer of a loan's cover (issue 20, item 3).
 *
 * - At origination the offer counts the pledged machines up to the product's share of the cover,
 *   and the approval pledges them (src/loans/equipment-pledges.ts).
 * - The cap is fixed in kopecks at approval (loans.equipment_cap_kopecks); the counted kopecks sit
 *   on the loan's risk row (loan_risk.equipment_kopecks) beside its sats, so every trigger price,
 *   LTV and cure amount includes them (ladder.ts, cure.ts, migration 0028's risk_trigger).
 * - A price tick never touches them, and a liquidation never sells them. A revaluation changes
 *   them: `refreshLoanEquipment` sets the new counted kopecks and re-decides each changed loan at
 *   the last accepted price in the revaluation's own transaction, so a breach that zeroes the
 *   machines raises the call (or the warning, or the liquidation) in the transaction that records
 *   the compliance event. The risk engine then reads the row (its seq moved) and agrees.
 * - After a default the bank enforces on the machines through `equipment.enforce` (a credit
 *   officer proposes, a risk officer approves), which releases the pledges and zeroes the layer;
 *   the sale's proceeds are recorded once, as a repayment through the loan's waterfall.
 */

export interface LayerRefresh {
  /** Loans whose counted machines changed. */
  readonly changed: number;
  /** Of those, the loans that moved on the ladder in this transaction (a breach's call). */
  readonly moved: number;
  /** Why nothing was decided here (no price yet): the risk engine decides when it reads the rows. */
  readonly undecided?: string;
}

/**
 * Sets each live loan's counted machines from the latest valuations (of one borrower's loans, or
 * all), and re-decides every loan whose figure changed at the last accepted price, recording its
 * move (transition and outbox rows) in the caller's transaction.
 */
export async function refreshLoanEquipment(tx: Queryable, options: { now: Date; borrowerId?: bigint; loanIds?: readonly bigint[] }): Promise<LayerRefresh> {
  // As every change of an exposure: the engine reads changes only after such transactions end.
  await tx.query('SELECT pg_advisory_xact_lock_shared($1)', [RISK_CHANGES_LOCK_KEY]);
  const changed = await tx.query<{ loan_id: bigint; state: Move['from']; debt_kopecks: bigint; sats: bigint; equipment_kopecks: bigint; product_code: string; product_version: number }>(
    `WITH x AS (
       SELECT r.loan_id, loan_equipment_counted(r.loan_id) AS e FROM loan_risk r JOIN loans l ON l.id = r.loan_id
        WHERE r.live AND l.equipment_cap_kopecks > 0 AND ($1::int8 IS NULL OR l.borrower_id = $1) AND ($2::int8[] IS NULL OR l.id = ANY($2::int8[])))
     UPDATE loan_risk r SET equipment_kopecks = x.e, seq = nextval('loan_risk_seq'),
            worsen_at = risk_worsen_at(r.state, r.debt_kopecks, r.sats, x.e, lad),
            improve_above = risk_improve_above(r.state, r.debt_kopecks, r.sats, x.e, lad)
       FROM x, risk_ladders lad
      WHERE r.loan_id = x.loan_id AND r.equipment_kopecks <> x.e AND lad.product_code = r.product_code AND lad.product_version = r.product_version
     RETURNING r.loan_id, r.state, r.debt_kopecks, r.sats, r.equipment_kopecks, r.product_code, r.product_version`,
    [options.borrowerId ?? null, options.loanIds === undefined ? null : [...options.loanIds]]);
  if (changed.length === 0) return { changed: 0, moved: 0 };
  await tx.query(`SELECT pg_notify('zalog_risk', '')`);
  // The engine's last price is the last cycle it applied: a degraded cycle moves nothing.
  const cycle = await latestCycle(tx, 'live');
  if (cycle === undefined || cycle.publishedKopecks === null || cycle.status === 'degraded') {
    return { changed: changed.length, moved: 0, undecided: 'no price the risk engine stands behind: it re-decides these loans at its next price' };
  }
  const ladders = await loadLadders(tx);
  const moves: Move[] = [];
  for (const row of changed) {
    if (row.state === 'liquidation') continue; // left by the liquidation process, not by a price
    const ladder = ladders.get(ladderKey(row.product_code, row.product_version))!;
    const exposure: Exposure = { debt: row.debt_kopecks, sats: row.sats, equipment: row.equipment_kopecks };
    const to = nextState(row.state, exposure, cycle.publishedKopecks, ladder);
    if (to !== row.state) moves.push({ id: row.loan_id, from: row.state, to, exposure, ladder });
  }
  if (moves.length > 0) await new PgRiskStore(tx, await bankCalendar()).record({ price: cycle.publishedKopecks, cycleId: cycle.id, at: options.now, cause: 'exposure', moves });
  return { changed: changed.length, moved: moves.length };
}

/**
 * Money recovered for a loan from outside its borrower's hands (the sale of enforced machines): a
 * repayment with `reference` through the waterfall (what is due), then the rest as an early
 * repayment of principal (smaller instalments: the term stands); above the whole debt it stays on
 * the borrower's settlement account. The backtest books its modelled enforcement the same way.
 */
export async function recoverOnLoan(tx: Queryable, ref: string, amount: bigint, reference: string, userId: bigint, now: Date) {
  if (amount <= 0n) return { repayment: null, prepayment: null };
  const repayment = await recordRepayment(tx, ref, { reference, amount }, userId, now);
  const loan = await loadLoan(tx, ref);
  const owed = loan.principal + loan.principal_overdue + loan.interest + loan.interest_overdue + loan.penalty + loan.fee;
  // What the repayment did not settle (it settles what is due, as the waterfall says).
  const left = amount - Object.values(repayment.allocated).reduce((sum, text) => sum + kopecksOf(text), 0n);
  const rest = left < owed ? left : owed;
  const live = loan.status === 'active' || loan.status === 'overdue';
  const prepayment = rest > 0n && live ? await prepay(tx, ref, { amount: rest, mode: 'smaller_instalment' }, userId, now, await bankCalendar()) : null;
  return { repayment, prepayment };
}

/** An amount this service formatted, read back. */
function kopecksOf(text: string): bigint {
  const parsed = parseKopecks(text, 'non_negative');
  if (!parsed.ok) throw new Error(`not an amount: ${text}`);
  return parsed.value;
}

// ---------------------------------------------------------------------------------------------
// Enforcement on the machines after a default, under four eyes.

export interface EnforcePayload {
  readonly loan: string;
  readonly reason: string;
}

async function checkEnforcement(db: Queryable, payload: EnforcePayload) {
  if (typeof payload.loan !== 'string' || typeof payload.reason !== 'string' || payload.reason.trim().length < 3 || payload.reason.length > 2_000) {
    refuse('invalid_proposal', 'loan (a loan reference) and reason (3 to 2000 characters)');
  }
  const loan = await loadLoan(db, payload.loan);
  const [risk] = await db.query<{ state: string; debt_kopecks: bigint; sats: bigint; equipment_kopecks: bigint }>('SELECT state, debt_kopecks, sats, equipment_kopecks FROM loan_risk WHERE loan_id = $1', [loan.id]);
  // A default: a payment overdue, or a loan its BTC no longer covers (in liquidation, or sold out with debt left).
  const defaulted = loan.status === 'overdue' || (risk !== undefined && (risk.state === 'liquidation' || (risk.sats === 0n && risk.debt_kopecks > 0n)));
  if (!defaulted) refuse('loan_not_in_default', `${loan.ref} is ${loan.status}${risk === undefined ? '' : `, ${risk.state}`}: the bank enforces on machines only after a default (a payment overdue, or BTC that no longer covers the debt)`);
  const pledges = await db.query<{ machines_id: bigint; model: string; serials: string[]; valuation_id: bigint | null; value_kopecks: bigint | null; weight_bps: number | null; breach: string | null; valued_on: string | null }>(
    `SELECT p.machines_id, m.model, m.serials, v.id AS valuation_id, v.value_kopecks, v.weight_bps, v.breach, v.valued_on::text AS valued_on
       FROM loan_equipment_pledges p JOIN site_machines m ON m.id = p.machines_id
       LEFT JOIN LATERAL (SELECT * FROM equipment_valuations WHERE machines_id = p.machines_id ORDER BY id DESC LIMIT 1) v ON true
      WHERE p.loan_id = $1 AND p.released_at IS NULL ORDER BY p.machines_id`, [loan.id]);
  if (pledges.length === 0) refuse('no_equipment_pledged', `${loan.ref} has no machines pledged to enforce on`);
  return { loan, risk, pledges };
}

export const enforceEquipmentAction: ApprovalAction<EnforcePayload> = {
  type: 'equipment.enforce',
  proposerRoles: ['credit_officer', 'risk_officer'],
  defaultApproverRoles: ['risk_officer'],
  prepare(db, raw) {
    return loanOutcome(async () => {
      const payload = raw as EnforcePayload;
      const { loan, risk, pledges } = await checkEnforcement(db, payload);
      const machines = pledges.map((p) => `${p.model} x${p.serials.length}`).join(', ');
      return {
        payload: { loan: loan.ref, reason: payload.reason.trim() },
        summary: `enforce on the machines pledged to ${loan.ref} (${machines}), ${formatKopecks(risk?.debt_kopecks ?? 0n)} RUB owed: ${payload.reason.trim()}`,
        amounts: { RUB: risk?.debt_kopecks ?? 0n },
        target: `loan:${loan.ref}`,
      };
    });
  },
  execute(tx, payload, context) {
    return loanOutcome(async () => {
      await loadLoan(tx, payload.loan, true);
      const { loan, risk, pledges } = await checkEnforcement(tx, payload);
      const machines = pledges.map((p) => p.machines_id);
      const valuation = pledges.map((p) => ({ machinesId: p.machines_id.toString(), model: p.model, serials: p.serials, valuationId: p.valuation_id?.toString() ?? null, valuedOn: p.valued_on, value: p.value_kopecks === null ? null : formatKopecks(p.value_kopecks), breach: p.breach }));
      const [row] = await tx.query<{ id: bigint }>(
        `INSERT INTO equipment_enforcements (loan_id, machines, valuation, debt_kopecks, reason, approval_id, decided_at) VALUES ($1, $2::int8[], $3::jsonb, $4, $5, $6, $7) RETURNING id`,
        [loan.id, machines, JSON.stringify(valuation), risk?.debt_kopecks ?? 0n, payload.reason, context.approvalId, context.now]);
      await tx.query(`UPDATE loan_equipment_pledges SET released_at = $2, released_why = 'enforced' WHERE loan_id = $1 AND released_at IS NULL`, [loan.id, context.now]);
      // The machines leave the cover: the loan's triggers are the BTC's alone from now.
      const refresh = await refreshLoanEquipment(tx, { now: context.now, loanIds: [loan.id] });
      const day = await openBusinessDay(tx, context.now);
      await loanEvent(tx, loan.id, day, 'equipment_enforced', { enforcementId: row!.id.toString(), machines: valuation.map((v) => v.machinesId), reason: payload.reason }, context.now);
      await auditApproved(tx, context, 'equipment.enforce', `loan:${loan.ref}`, { enforcementId: row!.id.toString(), machines: valuation, debt: formatKopecks(risk?.debt_kopecks ?? 0n), reason: payload.reason });
      return { loan: loan.ref, enforcementId: row!.id.toString(), machines: valuation.map((v) => v.machinesId), movedOnLadder: refresh.moved > 0 };
    });
  },
};

/**
 * The proceeds of an enforcement's sale, recorded once: a repayment with the reference `ENF-<id>`
 * through the loan's waterfall (what is due and overdue), then the rest of them as an early
 * repayment of principal (smaller instalments: the borrower's term stands); anything above the
 * whole debt stays on the borrower's settlement account for it. Recording the same amount again
 * answers with the first record.
 */
export async function recordEnforcementProceeds(tx: Queryable, id: bigint, amount: bigint, userId: bigint, now: Date) {
  const [row] = await tx.query<{ id: bigint; ref: string; proceeds_kopecks: bigint | null }>(
    'SELECT e.id, l.ref, e.proceeds_kopecks FROM equipment_enforcements e JOIN loans l ON l.id = e.loan_id WHERE e.id = $1 FOR UPDATE OF e', [id]);
  if (row === undefined) refuse('enforcement_not_found', `no enforcement ${id}`);
  if (row.proceeds_kopecks !== null && row.proceeds_kopecks !== amount) refuse('proceeds_already_recorded', `enforcement ${id} recorded ${formatKopecks(row.proceeds_kopecks)} RUB of proceeds already`);
  const reference = `ENF-${id}`;
  const recovered = row.proceeds_kopecks === null ? await recoverOnLoan(tx, row.ref, amount, reference, userId, now)
    // Replayed: the repayment answers with its first record; nothing more is prepaid.
    : { repayment: amount > 0n ? await recordRepayment(tx, row.ref, { reference, amount }, userId, now) : null, prepayment: null };
  const { repayment, prepayment: prepaid } = recovered;
  if (row.proceeds_kopecks === null) {
    await tx.query('UPDATE equipment_enforcements SET proceeds_kopecks = $2, proceeds_reference = $3, completed_at = $4, completed_by = $5 WHERE id = $1', [id, amount, reference, now, userId]);
  }
  return { enforcementId: id.toString(), loan: row.ref, proceeds: formatKopecks(amount), reference, repayment, prepayment: prepaid, replayed: row.proceeds_kopecks !== null };
}
