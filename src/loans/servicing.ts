import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import type { BusinessCalendar } from '../calendar/business.js';
import type { Queryable } from '../db/database.js';
import type { PostingDraft } from '../ledger/entry.js';
import { accountBalance, openAccount, postEntries } from '../ledger/ledger-repository.js';
import { systemUser } from '../identity/identity-repository.js';
import { formatKopecks, formatSats } from '../money/money.js';
import { currentPrice } from '../prices/current.js';
import { covers, requiredSats } from './collateral.js';
import { accrue, dayUnits, rateFromPercent } from './interest.js';
import { refuse } from './loan-errors.js';
import { LIVE_STATUSES, loadLoan, loanEvent, openBusinessDay, requireStatus, type LoanRow } from './loan-store.js';
import { loanOutcome, productVersion, rateOn, scheduleTermsOf } from './origination.js';
import { CUSTODY_DEFAULTS } from './product.js';
import { buildSchedule, continueSchedule, type Schedule } from './schedule.js';
import { holdInSuspense } from './borrower-money.js';
import { allocate, BUCKETS, sumBuckets, ZERO_BUCKETS, type Bucket, type Buckets } from './waterfall.js';

/**
 * A loan's life after approval, one loan at a time: collateral positions (declared, confirmed by
 * treasury with the custodian's reference under four eyes, pledged at disbursement, released after
 * repayment under four eyes), disbursement, repayments by reference, prepayments, restructuring.
 *
 * Every movement of money goes through `move`: one ledger entry and, in the same transaction, the
 * same change to the loan's balance columns and the borrower's settlement balance, so the two
 * cannot drift apart here (end of day does the same set-based; `reconcileLoans` checks both).
 */

type Place = Bucket | 'settlement' | 'cash' | 'interest_income' | 'penalty_income' | 'fee_income';
interface Movement { readonly debit: Place; readonly credit: Place; readonly amount: bigint }

const BUCKET_CHART: Record<Bucket, string> = {
  principal: 'loan_principal', principal_overdue: 'loan_principal_overdue', interest: 'interest_receivable',
  interest_overdue: 'interest_overdue', penalty: 'penalty_receivable', fee: 'fee_receivable',
};
const BANK_CHART: Record<string, string> = { cash: 'cash_correspondent', interest_income: 'interest_income', penalty_income: 'penalty_income', fee_income: 'fee_income' };
const isBucket = (place: Place): place is Bucket => (BUCKETS as readonly string[]).includes(place);

export interface Ctx {
  readonly now: Date;
  readonly calendar: BusinessCalendar;
  readonly staleAfterSeconds: number;
}

async function borrowerRefOf(db: Queryable, loan: LoanRow): Promise<{ ref: string; bik: string | null; account: string | null; settlement: bigint }> {
  const [row] = await db.query<{ ref: string; bik: string | null; account: string | null; settlement_kopecks: bigint }>('SELECT ref, bik, account, settlement_kopecks FROM borrowers WHERE id = $1 FOR UPDATE', [loan.borrower_id]);
  return { ref: row!.ref, bik: row!.bik, account: row!.account, settlement: row!.settlement_kopecks };
}

/** Posts one entry of movements and applies the same changes to the loan and settlement balances. */
async function move(tx: Queryable, loan: LoanRow, borrowerRef: string, entry: { key: string; kind: string; day: string; reason: string; valueTime: Date }, movements: readonly Movement[]): Promise<bigint | undefined> {
  const live = movements.filter((m) => m.amount !== 0n);
  if (live.some((m) => m.amount < 0n)) throw new Error('a movement is not negative');
  if (live.length === 0) return undefined;
  const address = (place: Place) => isBucket(place) ? { chartCode: BUCKET_CHART[place], subledgerKey: loan.ref }
    : place === 'settlement' ? { chartCode: 'borrower_settlement', subledgerKey: borrowerRef } : { chartCode: BANK_CHART[place]!, subledgerKey: '' };
  const postings: PostingDraft[] = live.flatMap((m) => [
    { account: address(m.debit), currency: 'RUB' as const, amount: m.amount },
    { account: address(m.credit), currency: 'RUB' as const, amount: -m.amount },
  ]);
  const posted = await postEntries(tx, [{ idempotencyKey: entry.key, kind: entry.kind, businessDate: entry.day, valueTime: entry.valueTime, reason: entry.reason, postings }]);
  if (!posted.ok) throw new Error(`posting ${entry.key}: ${posted.error.message}`);
  if (posted.value[0]!.replayed) throw new Error(`entry ${entry.key} was already posted`);
  const delta: Record<string, bigint> = { ...ZERO_BUCKETS, settlement: 0n };
  for (const m of live) {
    // Loan buckets are assets (a debit adds); the settlement account is the borrower's money, a liability (a credit adds).
    if (isBucket(m.debit)) delta[m.debit]! += m.amount; else if (m.debit === 'settlement') delta.settlement! -= m.amount;
    if (isBucket(m.credit)) delta[m.credit]! -= m.amount; else if (m.credit === 'settlement') delta.settlement! += m.amount;
  }
  await tx.query(
    `UPDATE loan_balances SET principal = principal + $2, principal_overdue = principal_overdue + $3, interest = interest + $4, interest_overdue = interest_overdue + $5, penalty = penalty + $6, fee = fee + $7 WHERE loan_id = $1`,
    [loan.id, delta.principal, delta.principal_overdue, delta.interest, delta.interest_overdue, delta.penalty, delta.fee]);
  if (delta.settlement !== 0n) await tx.query('UPDATE borrowers SET settlement_kopecks = settlement_kopecks + $2 WHERE id = $1', [loan.borrower_id, delta.settlement]);
  return posted.value[0]!.entryId;
}

const bucketsOf = (loan: LoanRow): Buckets => ({ penalty: loan.penalty, interest_overdue: loan.interest_overdue, principal_overdue: loan.principal_overdue, interest: loan.interest, principal: loan.principal, fee: loan.fee });
export const waterfallOf = (loan: LoanRow): Bucket[] => [...BUCKETS].sort((a, b) => (loan[`wf_${a}`] as number) - (loan[`wf_${b}`] as number));

/** After a change: the loan's status follows its balances; a loan owing nothing closes and its collateral awaits release. */
async function settleStatus(tx: Queryable, ref: string, day: string, now: Date): Promise<LoanRow> {
  const loan = await loadLoan(tx, ref, true);
  if (!(LIVE_STATUSES as readonly string[]).includes(loan.status)) return loan;
  const owed = loan.principal + loan.principal_overdue + loan.interest + loan.interest_overdue + loan.penalty + loan.fee;
  const overdue = loan.principal_overdue + loan.interest_overdue > 0n;
  const status = owed === 0n ? 'closed' : overdue ? 'overdue' : 'active';
  const since = overdue ? loan.overdue_since : null;
  if (status === loan.status && since === loan.overdue_since) return loan;
  await tx.query(`UPDATE loan_balances SET status = $2, overdue_since = $3, closed_on = CASE WHEN $2 = 'closed' THEN $4::date END, interest_remainder = CASE WHEN $2 = 'closed' THEN 0 ELSE interest_remainder END, penalty_remainder = CASE WHEN $2 = 'closed' THEN 0 ELSE penalty_remainder END WHERE loan_id = $1`, [loan.id, status, since, day]);
  if (status !== loan.status) await loanEvent(tx, loan.id, day, 'status', { from: loan.status, to: status }, now);
  if (status === 'closed') {
    await tx.query(`INSERT INTO collateral_releases (loan_id, sats, status, created_on)
                    SELECT $1, coalesce(sum(sats), 0), 'open', $2 FROM collateral_positions WHERE loan_id = $1 AND state IN ('confirmed', 'pledged')`, [loan.id, day]);
  }
  return loadLoan(tx, ref, true);
}

/**
 * The open day's interest, accrued before a repayment reduces the interest-bearing principal:
 * Regulation 39-P charges interest on the balance at the start of each day from the day after
 * disbursement through the day of repayment inclusive, so the repayment day's interest is owed on
 * its opening balance (and collected with a full repayment). Accrued once per loan and day, exactly
 * as end of day would (the loan's sub-kopeck remainder carried); end of day then accrues no
 * interest for that loan and day (`interest_day_done`). Returns the loan as it is now.
 */
export async function accrueRepaymentDay(tx: Queryable, loan: LoanRow, borrowerRef: string, day: string, now: Date): Promise<LoanRow> {
  if (loan.interest_day_done === day || loan.disbursed_on === null || day <= loan.disbursed_on || loan.accrued_through === null || loan.accrued_through >= day) return loan;
  const units = dayUnits(loan.principal + loan.principal_overdue, loan.rate_millionths, Number(day.slice(0, 4)));
  const accrued = accrue(loan.interest_remainder, units);
  await move(tx, loan, borrowerRef, { key: `loan:${loan.ref}:interest:${day}`, kind: 'accrual', day, valueTime: now, reason: `Interest of ${loan.ref} for ${day}, the repayment day, on its opening balance (39-P)` },
    [{ debit: 'interest', credit: 'interest_income', amount: accrued.kopecks }]);
  await tx.query('UPDATE loan_balances SET interest_remainder = $2, interest_day_done = $3 WHERE loan_id = $1', [loan.id, accrued.remainder, day]);
  await loanEvent(tx, loan.id, day, 'interest_repayment_day', { day, interest: formatKopecks(accrued.kopecks), on: formatKopecks(loan.principal + loan.principal_overdue) }, now);
  return loadLoan(tx, loan.ref, true);
}

// ---------------------------------------------------------------------------------------------
// Collateral.

export async function declareCollateral(tx: Queryable, ref: string, sats: bigint, userId: bigint, now: Date): Promise<bigint> {
  const loan = await loadLoan(tx, ref, true);
  requireStatus(loan, ['approved', 'active', 'overdue'], 'a collateral deposit');
  const { terms } = await productVersion(tx, loan.product_code, loan.product_version);
  const modes = terms.collateral.custody?.modes ?? CUSTODY_DEFAULTS.modes;
  if (!modes.includes('custodial')) refuse('custody_mode_not_allowed', `product ${loan.product_code} holds collateral on chain only (${modes.join(', ')}): deposit to the loan's vault instead of declaring a custodian's deposit`);
  const [row] = await tx.query<{ id: bigint }>(`INSERT INTO collateral_positions (loan_id, sats, state, declared_at, declared_by) VALUES ($1, $2, 'pending', $3, $4) RETURNING id`, [loan.id, sats, now, userId]);
  return row!.id;
}

interface PositionRow { id: bigint; loan_id: bigint; sats: bigint; state: string; custodian_ref: string | null; [key: string]: unknown }

export interface ConfirmPayload { readonly positionId: string; readonly custodianRef: string }

async function checkConfirmable(db: Queryable, payload: ConfirmPayload) {
  if (!/^[1-9][0-9]{0,17}$/.test(String(payload.positionId))) refuse('invalid_proposal', 'positionId is an id');
  if (typeof payload.custodianRef !== 'string' || !/^[A-Za-z0-9._:/-]{1,100}$/.test(payload.custodianRef)) refuse('invalid_proposal', 'custodianRef is the custodian\'s deposit reference: 1 to 100 letters, digits and ._:/-');
  const [position] = await db.query<PositionRow & { ref: string; status: string }>('SELECT p.*, l.ref, l.status FROM collateral_positions p JOIN loans l ON l.id = p.loan_id WHERE p.id = $1', [BigInt(payload.positionId)]);
  if (position === undefined) refuse('position_not_found', `no collateral position ${payload.positionId}`);
  if (position.state !== 'pending') refuse('position_not_pending', `position ${position.id} is ${position.state}`);
  const [taken] = await db.query('SELECT id FROM collateral_positions WHERE custodian_ref = $1', [payload.custodianRef]);
  if (taken !== undefined) refuse('custodian_ref_taken', `the custodian's reference ${payload.custodianRef} already confirmed a deposit`);
  return position;
}

/** Treasury records the custodian's confirmation of a deposit; a second treasurer approves. */
export const confirmCollateralAction: ApprovalAction<ConfirmPayload> = {
  type: 'collateral.confirm',
  proposerRoles: ['treasury'],
  defaultApproverRoles: ['treasury'],
  prepare(db, raw) {
    return loanOutcome(async () => {
      const payload = raw as ConfirmPayload;
      const position = await checkConfirmable(db, payload);
      return { payload: { positionId: position.id.toString(), custodianRef: payload.custodianRef }, summary: `custodian confirms ${formatSats(position.sats)} BTC for ${position.ref} (reference ${payload.custodianRef})`, amounts: { BTC: position.sats }, target: `collateral_position:${position.id}` };
    });
  },
  execute(tx, payload, context) {
    return loanOutcome(async () => {
      const position = await checkConfirmable(tx, payload);
      const loan = await loadLoan(tx, position.ref, true);
      const day = await openBusinessDay(tx, context.now);
      const posted = await postEntries(tx, [{
        idempotencyKey: `collateral:${position.id}:confirm`, kind: 'collateral_in', businessDate: day, valueTime: context.now,
        reason: `BTC collateral for ${loan.ref} confirmed by the custodian, reference ${payload.custodianRef}`,
        postings: [{ account: { chartCode: 'collateral_held', subledgerKey: '' }, currency: 'BTC', amount: position.sats }, { account: { chartCode: 'collateral_pledged', subledgerKey: loan.ref }, currency: 'BTC', amount: -position.sats }],
      }]);
      if (!posted.ok) throw new Error(posted.error.message);
      // A top-up to a live loan is pledged at once; before disbursement it waits, confirmed.
      const state = loan.status === 'approved' ? 'confirmed' : 'pledged';
      await tx.query('UPDATE collateral_positions SET state = $2, custodian_ref = $3, confirmed_at = $4, confirmed_approval_id = $5, ledger_entry_id = $6 WHERE id = $1', [position.id, state, payload.custodianRef, context.now, context.approvalId, posted.value[0]!.entryId]);
      await loanEvent(tx, loan.id, day, 'collateral_confirmed', { positionId: position.id.toString(), btc: formatSats(position.sats), custodianRef: payload.custodianRef }, context.now);
      await auditApproved(tx, context, 'collateral.confirm', `loan:${loan.ref}`, { positionId: position.id.toString(), btc: formatSats(position.sats), custodianRef: payload.custodianRef });
      return { loan: loan.ref, positionId: position.id.toString(), state };
    });
  },
};

export interface ReleasePayload { readonly loan: string }

async function checkReleasable(db: Queryable, payload: ReleasePayload) {
  if (typeof payload.loan !== 'string' || !/^LN-[0-9]{1,18}$/.test(payload.loan)) refuse('invalid_proposal', 'loan is a loan reference such as LN-1');
  const loan = await loadLoan(db, payload.loan);
  const [release] = await db.query<{ id: bigint; sats: bigint; status: string }>('SELECT id, sats, status FROM collateral_releases WHERE loan_id = $1', [loan.id]);
  if (release === undefined || release.status !== 'open') refuse('release_not_open', `loan ${loan.ref} has no open collateral-release instruction (it is released once the loan is repaid in full)`);
  // What the custodian holds: the live positions that are not coins in the loan's on-chain vault
  // (those leave by a vault spend to the borrower's release address, booked when it confirms).
  const [held] = await db.query<{ custodial: bigint; on_chain: bigint }>(`SELECT coalesce(sum(p.sats) FILTER (WHERE c.txid IS NULL), 0)::int8 AS custodial, coalesce(sum(p.sats) FILTER (WHERE c.txid IS NOT NULL), 0)::int8 AS on_chain
                                                                            FROM collateral_positions p LEFT JOIN vault_coins c ON c.position_id = p.id WHERE p.loan_id = $1 AND p.state IN ('confirmed', 'pledged')`, [loan.id]);
  if (held!.custodial === 0n && held!.on_chain > 0n) refuse('release_by_vault_spend', `loan ${loan.ref}'s collateral is in its on-chain vault: it is released by a vault spend to the borrower's release address (POST /api/v1/loans/${loan.ref}/vault/spends), booked when it confirms`);
  release.sats = held!.on_chain > 0n ? held!.custodial : release.sats;
  return { loan, release };
}

/** The collateral-release instruction a repaid loan produces, executed by treasury under four eyes. */
export const releaseCollateralAction: ApprovalAction<ReleasePayload> = {
  type: 'collateral.release',
  proposerRoles: ['treasury'],
  defaultApproverRoles: ['treasury'],
  prepare(db, raw) {
    return loanOutcome(async () => {
      const { loan, release } = await checkReleasable(db, raw as ReleasePayload);
      return { payload: { loan: loan.ref }, summary: `release ${formatSats(release.sats)} BTC of collateral of repaid loan ${loan.ref}`, amounts: release.sats > 0n ? { BTC: release.sats } : {}, target: `loan:${loan.ref}` };
    });
  },
  execute(tx, payload, context) {
    return loanOutcome(async () => {
      const { loan, release } = await checkReleasable(tx, payload);
      const day = await openBusinessDay(tx, context.now);
      if (release.sats > 0n) {
        const posted = await postEntries(tx, [{
          idempotencyKey: `collateral:${loan.ref}:release`, kind: 'collateral_out', businessDate: day, valueTime: context.now, reason: `BTC collateral of repaid loan ${loan.ref} released to the borrower`,
          postings: [{ account: { chartCode: 'collateral_pledged', subledgerKey: loan.ref }, currency: 'BTC', amount: release.sats }, { account: { chartCode: 'collateral_held', subledgerKey: '' }, currency: 'BTC', amount: -release.sats }],
        }]);
        if (!posted.ok) throw new Error(posted.error.message);
      }
      await tx.query(`UPDATE collateral_positions p SET state = 'released', released_at = $2 WHERE p.loan_id = $1 AND p.state IN ('confirmed', 'pledged')
                        AND NOT EXISTS (SELECT 1 FROM vault_coins c WHERE c.position_id = p.id)`, [loan.id, context.now]);
      // Done when nothing is held any more (coins in the loan's vault leave by its release spend).
      await tx.query(`UPDATE collateral_releases SET status = 'executed', executed_at = $2, approval_id = $3 WHERE id = $1
                        AND NOT EXISTS (SELECT 1 FROM collateral_positions p WHERE p.loan_id = $4 AND p.state IN ('confirmed', 'pledged'))`, [release.id, context.now, context.approvalId, loan.id]);
      await loanEvent(tx, loan.id, day, 'collateral_released', { btc: formatSats(release.sats) }, context.now);
      await auditApproved(tx, context, 'collateral.release', `loan:${loan.ref}`, { btc: formatSats(release.sats) });
      return { loan: loan.ref, released: formatSats(release.sats) };
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Schedules.

async function writeScheduleVersion(tx: Queryable, loan: LoanRow, version: number, kind: string, reason: string, day: string, userId: bigint | null, now: Date, schedule: Schedule, keepBefore: number): Promise<void> {
  await tx.query('INSERT INTO loan_schedule_versions (loan_id, version, kind, reason, business_date, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)', [loan.id, version, kind, reason, day, now, userId]);
  if (keepBefore > 1) {
    await tx.query(`INSERT INTO loan_schedule_lines (loan_id, version, number, due_date, days, principal, interest, balance)
                    SELECT loan_id, $2, number, due_date, days, principal, interest, balance FROM loan_schedule_lines WHERE loan_id = $1 AND version = $3 AND number < $4`, [loan.id, version, loan.schedule_version, keepBefore]);
    await tx.query(`INSERT INTO loan_line_dues (loan_id, version, number, interest_due)
                    SELECT loan_id, $2, number, interest_due FROM loan_line_dues WHERE loan_id = $1 AND version = $3 AND number < $4`, [loan.id, version, loan.schedule_version, keepBefore]);
  }
  const lines = schedule.lines;
  await tx.query(`INSERT INTO loan_schedule_lines (loan_id, version, number, due_date, days, principal, interest, balance)
                  SELECT $1, $2, * FROM unnest($3::int[], $4::date[], $5::int[], $6::int8[], $7::int8[], $8::int8[])`,
    [loan.id, version, lines.map((l) => l.number), lines.map((l) => l.dueDate), lines.map((l) => l.days), lines.map((l) => l.principal), lines.map((l) => l.interest), lines.map((l) => l.balance)]);
  await tx.query('UPDATE loan_terms SET schedule_version = $2, maturity_on = $3 WHERE id = $1', [loan.id, version, lines[lines.length - 1]!.dueDate]);
}

interface LineRow { number: number; due_date: string; principal: bigint; interest: bigint; [key: string]: unknown }
async function currentLines(db: Queryable, loan: LoanRow): Promise<LineRow[]> {
  return db.query<LineRow>('SELECT number, due_date, principal, interest FROM loan_schedule_lines WHERE loan_id = $1 AND version = $2 ORDER BY number', [loan.id, loan.schedule_version]);
}

// ---------------------------------------------------------------------------------------------
// Disbursement.

export async function disburse(tx: Queryable, ref: string, userId: bigint, ctx: Ctx) {
  const loan = await loadLoan(tx, ref, true);
  requireStatus(loan, ['approved'], 'disbursement');
  const day = await openBusinessDay(tx, ctx.now);
  if (!ctx.calendar.isBusinessDay(day)) refuse('not_business_day', `${day} is not a business day; disburse on ${ctx.calendar.nextBusinessDay(day)}`);
  const borrower = await borrowerRefOf(tx, loan);
  if (borrower.bik === null || borrower.account === null) refuse('no_bank_details', `borrower ${borrower.ref} has no bank details to pay the loan to`);
  const { terms } = await productVersion(tx, loan.product_code, loan.product_version);
  const price = await currentPrice(tx, ctx.now, ctx.staleAfterSeconds);
  if (!price.ok) refuse(price.code, price.message);
  // A collaborative vault's second signature is the borrower's: the loan waits until the borrower
  // has proved it holds that key (src/vaults/key-proof.ts).
  const [unproven] = await tx.query(`SELECT 1 FROM vaults WHERE loan_id = $1 AND mode = 'collaborative' AND borrower_xpub IS NOT NULL AND borrower_key_proven_at IS NULL`, [loan.id]);
  if (unproven !== undefined) refuse('borrower_key_unproven', `the borrower of ${loan.ref} has not yet proved it holds its key of the loan's vault (it signs the vault's key challenge: GET /api/v1/loans/${loan.ref}/vault/key-challenge)`);
  const [held] = await tx.query<{ sats: bigint }>(`SELECT coalesce(sum(sats), 0)::int8 AS sats FROM collateral_positions WHERE loan_id = $1 AND state = 'confirmed'`, [loan.id]);
  const ltv = rateFromPercent(terms.collateral.ltv.origination)!;
  const haircut = rateFromPercent(terms.collateral.haircutPercent)!;
  // Pledged machines count as they do now (their latest valuations, capped at approval): the BTC
  // must cover the rest (src/loans/equipment-pledges.ts).
  const [machines] = loan.equipment_cap_kopecks === 0n ? [{ counted: 0n }] : await tx.query<{ counted: bigint }>('SELECT loan_equipment_counted($1) AS counted', [loan.id]);
  const equipment = machines!.counted;
  if (!covers(loan.amount_kopecks, held!.sats, price.price, haircut, ltv, equipment)) {
    const need = requiredSats(loan.amount_kopecks, price.price, ltv, haircut, equipment);
    refuse('collateral_insufficient', `confirmed collateral ${formatSats(held!.sats)} BTC is below the ${formatSats(need)} BTC the origination LTV of ${terms.collateral.ltv.origination}% asks at ${formatKopecks(price.price)} RUB/BTC${equipment === 0n ? '' : ` beside machines counted at ${formatKopecks(equipment)} RUB`}`, { confirmed: formatSats(held!.sats), required: formatSats(need), price: formatKopecks(price.price), priceCycleId: price.cycle.id.toString(), equipment: formatKopecks(equipment) });
  }
  const { rate } = loan.rate_kind === 'fixed' ? { rate: loan.rate_millionths } : await rateOn(tx, terms, day);
  await tx.query('UPDATE loan_balances SET rate_millionths = $2 WHERE loan_id = $1', [loan.id, rate]);
  const schedule = buildSchedule(scheduleTermsOf(terms, { amount: loan.amount_kopecks, months: loan.months, repaymentType: loan.repayment_type }, rate, day), ctx.calendar);
  await writeScheduleVersion(tx, loan, 1, 'disbursement', 'schedule at disbursement', day, userId, ctx.now, schedule, 1);

  const at = { day, valueTime: ctx.now };
  const payout = loan.amount_kopecks - loan.fee_kopecks;
  await move(tx, loan, borrower.ref, { ...at, key: `loan:${loan.ref}:disbursement`, kind: 'disbursement', reason: `Loan ${loan.ref} disbursed to the settlement account of ${borrower.ref}` }, [{ debit: 'principal', credit: 'settlement', amount: loan.amount_kopecks }]);
  await move(tx, loan, borrower.ref, { ...at, key: `loan:${loan.ref}:origination-fee`, kind: 'fee', reason: `Origination fee of loan ${loan.ref}, charged and paid from the loan` }, [{ debit: 'fee', credit: 'fee_income', amount: loan.fee_kopecks }, { debit: 'settlement', credit: 'fee', amount: loan.fee_kopecks }]);
  const payoutEntry = await move(tx, loan, borrower.ref, { ...at, key: `loan:${loan.ref}:payout`, kind: 'payment_order', reason: `Payment order: loan ${loan.ref} to BIK ${borrower.bik}, account ${borrower.account}` }, [{ debit: 'settlement', credit: 'cash', amount: payout }]);
  const [order] = await tx.query<{ id: bigint }>(
    `INSERT INTO payment_orders (loan_id, borrower_id, kind, amount_kopecks, bik, account, purpose, business_date, created_at, ledger_entry_id)
     VALUES ($1, $2, 'disbursement', $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [loan.id, loan.borrower_id, payout, borrower.bik, borrower.account, `Loan ${loan.ref} under contract of ${day}, less the origination fee`, day, ctx.now, payoutEntry]);
  await tx.query(`UPDATE collateral_positions SET state = 'pledged' WHERE loan_id = $1 AND state = 'confirmed'`, [loan.id]);
  // Terms first: the balances' trigger then refreshes the risk of a loan whose terms are complete.
  await tx.query('UPDATE loan_terms SET disbursed_on = $2 WHERE id = $1', [loan.id, day]);
  await tx.query(`UPDATE loan_balances SET status = 'active', accrued_through = $2 WHERE loan_id = $1`, [loan.id, day]);
  await loanEvent(tx, loan.id, day, 'disbursed', { amount: formatKopecks(loan.amount_kopecks), paymentOrderId: order!.id.toString(), price: formatKopecks(price.price), priceCycleId: price.cycle.id.toString(), collateral: formatSats(held!.sats) }, ctx.now);
  return { loan: loan.ref, disbursedOn: day, amount: formatKopecks(loan.amount_kopecks), paymentOrderId: order!.id.toString(), payout: formatKopecks(payout), fee: formatKopecks(loan.fee_kopecks), price: formatKopecks(price.price), priceCycleId: price.cycle.id.toString() };
}

// ---------------------------------------------------------------------------------------------
// Repayments.

export interface RepaymentResult {
  readonly loan: string;
  readonly reference: string;
  readonly amount: string;
  readonly businessDate: string;
  readonly allocated: Record<Bucket, string>;
  readonly leftOnSettlement: string;
  readonly status: string;
  readonly replayed: boolean;
  /** A payment to a loan that is not being repaid (closed): held in suspense, with why. */
  readonly heldInSuspense?: { readonly suspenseItemId: string; readonly reason: string };
}

/**
 * An incoming payment by its bank reference: credited to the borrower's settlement account, then
 * what is due now (penalties, overdue interest and principal, fees) is settled from that account
 * by the loan's waterfall. Current interest and the next instalment are collected by end of day
 * on the due date, so money paid early waits on the account (as a Russian bank debits it on the
 * due date). A replay of the reference with the same loan and amount returns the first result.
 */
export async function recordRepayment(tx: Queryable, ref: string, input: { reference: string; amount: bigint }, userId: bigint, now: Date): Promise<RepaymentResult> {
  // One payment reference at a time, whichever loan it is sent to: two requests with the same
  // reference for two loans would otherwise both find it unused and race to its ledger key.
  await tx.query(`SELECT pg_advisory_xact_lock(7207110, hashtext($1))`, [input.reference]);
  const loan = await loadLoan(tx, ref, true);
  const [previous] = await tx.query<{ loan_id: bigint; amount_kopecks: bigint; business_date: string; allocation: Record<Bucket, string>; left_kopecks: bigint }>('SELECT * FROM repayments WHERE reference = $1', [input.reference]);
  if (previous !== undefined) {
    if (previous.loan_id !== loan.id || previous.amount_kopecks !== input.amount) refuse('reference_reused', `payment reference ${input.reference} was already recorded for another loan or amount`);
    return { loan: loan.ref, reference: input.reference, amount: formatKopecks(input.amount), businessDate: previous.business_date, allocated: previous.allocation, leftOnSettlement: formatKopecks(previous.left_kopecks), status: loan.status, replayed: true };
  }
  const day = await openBusinessDay(tx, now);
  const borrower = await borrowerRefOf(tx, loan);
  if (!(LIVE_STATUSES as readonly string[]).includes(loan.status)) {
    // The money has arrived whatever the loan's state: it is held in suspense with the reason, to be
    // returned by a refund order (four eyes) or applied, never refused.
    const reason = loan.status === 'closed' ? `loan ${loan.ref} was closed on ${loan.closed_on}` : `loan ${loan.ref} is ${loan.status}, not being repaid`;
    const held = await holdInSuspense(tx, { borrowerId: loan.borrower_id, loanId: loan.id, loanRef: loan.ref, reference: input.reference, amount: input.amount, reason, day, now });
    await tx.query(`INSERT INTO repayments (loan_id, reference, amount_kopecks, business_date, allocation, left_kopecks, recorded_by, recorded_at, ledger_entry_id, suspense_item_id) VALUES ($1, $2, $3, $4, '{}'::jsonb, $5, $6, $7, $8, $9)`,
      [loan.id, input.reference, input.amount, day, borrower.settlement, userId, now, held.entryId, held.itemId]);
    await loanEvent(tx, loan.id, day, 'payment_in_suspense', { reference: input.reference, amount: formatKopecks(input.amount), reason, suspenseItemId: held.itemId.toString() }, now);
    return { loan: loan.ref, reference: input.reference, amount: formatKopecks(input.amount), businessDate: day, allocated: Object.fromEntries(BUCKETS.map((b) => [b, '0.00'])) as Record<Bucket, string>, leftOnSettlement: formatKopecks(borrower.settlement), status: loan.status, replayed: false, heldInSuspense: { suspenseItemId: held.itemId.toString(), reason } };
  }
  const at = { day, valueTime: now };
  const received = await move(tx, loan, borrower.ref, { ...at, key: `repayment:${input.reference}`, kind: 'repayment', reason: `Payment ${input.reference} for loan ${loan.ref} received` }, [{ debit: 'cash', credit: 'settlement', amount: input.amount }]);
  const dueNow: Buckets = { ...bucketsOf(loan), interest: 0n, principal: 0n };
  const { allocated } = allocate(borrower.settlement + input.amount, dueNow, waterfallOf(loan));
  // Overdue principal repaid today still bore today's interest on the opening balance.
  if (allocated.principal_overdue > 0n) await accrueRepaymentDay(tx, loan, borrower.ref, day, now);
  await move(tx, loan, borrower.ref, { ...at, key: `repayment:${input.reference}:allocation`, kind: 'repayment_allocation', reason: `Payment ${input.reference} applied to loan ${loan.ref} by its waterfall` }, BUCKETS.map((b) => ({ debit: 'settlement' as const, credit: b, amount: allocated[b] })));
  const after = await settleStatus(tx, ref, day, now);
  const [left] = await tx.query<{ settlement_kopecks: bigint }>('SELECT settlement_kopecks FROM borrowers WHERE id = $1', [loan.borrower_id]);
  const allocation = Object.fromEntries(BUCKETS.map((b) => [b, formatKopecks(allocated[b])])) as Record<Bucket, string>;
  await tx.query(`INSERT INTO repayments (loan_id, reference, amount_kopecks, business_date, allocation, left_kopecks, recorded_by, recorded_at, ledger_entry_id) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)`,
    [loan.id, input.reference, input.amount, day, JSON.stringify(allocation), left!.settlement_kopecks, userId, now, received]);
  return { loan: loan.ref, reference: input.reference, amount: formatKopecks(input.amount), businessDate: day, allocated: allocation, leftOnSettlement: formatKopecks(left!.settlement_kopecks), status: after.status, replayed: false };
}

// ---------------------------------------------------------------------------------------------
// Prepayment and restructuring.

export type PrepaymentMode = 'shorter_term' | 'smaller_instalment';

async function reschedule(tx: Queryable, loan: LoanRow, kind: 'prepayment' | 'restructuring', reason: string, day: string, userId: bigint | null, now: Date, calendar: BusinessCalendar, options: { extraMonths?: number; mode?: PrepaymentMode }): Promise<number | undefined> {
  const fresh = await loadLoan(tx, loan.ref, true);
  if (fresh.principal === 0n) return undefined;
  const lines = await currentLines(tx, fresh);
  const next = lines.find((l) => l.due_date > day);
  if (next === undefined) return undefined;
  const last = lines[lines.length - 1]!;
  const instalment = options.mode === 'shorter_term' && next.number < last.number ? next.principal + next.interest : undefined;
  const schedule = continueSchedule({
    principal: fresh.principal, rateMillionths: fresh.rate_millionths, anchor: fresh.disbursed_on!, firstLine: next.number, lastLine: last.number + (options.extraMonths ?? 0),
    // Interest already accrued through today when a repayment today accrued the day (accrueRepaymentDay).
    interestFrom: fresh.interest_day_done === day ? day : fresh.accrued_through!, remainder: fresh.interest_remainder, type: fresh.repayment_type, interestOnlyThrough: fresh.interest_only_through,
    balloon: fresh.balloon_kopecks, accruedInterest: fresh.interest, ...(instalment !== undefined ? { instalment } : {}),
  }, calendar);
  const version = fresh.schedule_version + 1;
  await writeScheduleVersion(tx, fresh, version, kind, reason, day, userId, now, schedule, next.number);
  await loanEvent(tx, fresh.id, day, 'schedule', { version, kind, reason, firstLine: next.number, lastLine: schedule.lines[schedule.lines.length - 1]!.number }, now);
  return version;
}

/**
 * Early repayment from the settlement account: `amount` (all that is owed when absent) settles what
 * is owed by the waterfall, the rest of it prepays principal; the schedule is recomputed from the
 * next line, keeping the instalment (shorter term, annuities only) or the term (smaller instalment).
 */
export async function prepay(tx: Queryable, ref: string, input: { amount?: bigint; mode: PrepaymentMode }, userId: bigint, now: Date, calendar: BusinessCalendar) {
  const loan = await loadLoan(tx, ref, true);
  requireStatus(loan, ['active', 'overdue'], 'a prepayment');
  if (input.mode === 'shorter_term' && loan.repayment_type !== 'annuity') refuse('prepayment_mode_unsupported', `a shorter term keeps an annuity's instalment; loan ${loan.ref} is ${loan.repayment_type}: choose smaller_instalment`);
  const day = await openBusinessDay(tx, now);
  const borrower = await borrowerRefOf(tx, loan);
  // Today's interest on the opening balance is owed first (39-P): a full prepayment collects it.
  const current = await accrueRepaymentDay(tx, loan, borrower.ref, day, now);
  const owed = bucketsOf(current);
  const total = BUCKETS.reduce((s, b) => s + owed[b], 0n);
  const amount = input.amount ?? total;
  if (amount > total) refuse('amount_above_debt', `the loan owes ${formatKopecks(total)} RUB in all; prepay at most that`, { owed: formatKopecks(total) });
  if (amount > borrower.settlement) refuse('insufficient_funds', `the settlement account of ${borrower.ref} holds ${formatKopecks(borrower.settlement)} RUB; ${formatKopecks(amount)} is needed (pay it in first)`, { available: formatKopecks(borrower.settlement), needed: formatKopecks(amount) });
  const { allocated } = allocate(amount, owed, waterfallOf(loan));
  await move(tx, current, borrower.ref, { day, valueTime: now, key: `prepayment:${loan.ref}:${now.getTime()}:${amount}`, kind: 'prepayment', reason: `Early repayment of loan ${loan.ref} (${input.mode.replace('_', ' ')})` }, BUCKETS.map((b) => ({ debit: 'settlement' as const, credit: b, amount: allocated[b] })));
  const version = allocated.principal > 0n ? await reschedule(tx, loan, 'prepayment', `prepayment of ${formatKopecks(allocated.principal)} RUB principal, ${input.mode.replace('_', ' ')}`, day, userId, now, calendar, { mode: input.mode }) : undefined;
  const after = await settleStatus(tx, ref, day, now);
  return { loan: loan.ref, businessDate: day, paid: formatKopecks(sumBuckets(allocated)), allocated: Object.fromEntries(BUCKETS.map((b) => [b, formatKopecks(allocated[b])])), status: after.status, scheduleVersion: version ?? after.schedule_version };
}

export interface RestructurePayload { readonly loan: string; readonly extraMonths: number; readonly reason: string }

async function checkRestructurable(db: Queryable, payload: RestructurePayload) {
  if (typeof payload.loan !== 'string' || !/^LN-[0-9]{1,18}$/.test(payload.loan)) refuse('invalid_proposal', 'loan is a loan reference such as LN-1');
  if (!Number.isInteger(payload.extraMonths) || payload.extraMonths < 1 || payload.extraMonths > 60) refuse('invalid_proposal', 'extraMonths is 1 to 60');
  if (typeof payload.reason !== 'string' || payload.reason.length < 1 || payload.reason.length > 500) refuse('invalid_proposal', 'a reason of 1 to 500 characters');
  const loan = await loadLoan(db, payload.loan);
  requireStatus(loan, ['active', 'overdue'], 'restructuring');
  return loan;
}

/**
 * Restructuring (term extension): overdue principal goes back into the principal, the schedule is
 * recomputed over the longer term as a new version (the old ones are kept); overdue interest and
 * penalties stay due. Proposed by a credit officer, approved by a second (limits by principal).
 */
export function restructureAction(calendar: () => Promise<BusinessCalendar>): ApprovalAction<RestructurePayload> {
  return {
    type: 'loans.restructure',
    proposerRoles: ['credit_officer'],
    defaultApproverRoles: ['credit_officer', 'risk_officer'],
    prepare(db, raw) {
      return loanOutcome(async () => {
        const payload = raw as RestructurePayload;
        const loan = await checkRestructurable(db, payload);
        return { payload: { loan: loan.ref, extraMonths: payload.extraMonths, reason: payload.reason }, summary: `restructure ${loan.ref}: term extended by ${payload.extraMonths} months (${payload.reason})`, amounts: { RUB: loan.principal + loan.principal_overdue }, target: `loan:${loan.ref}` };
      });
    },
    execute(tx, payload, context) {
      return loanOutcome(async () => {
        await checkRestructurable(tx, payload);
        const loan = await loadLoan(tx, payload.loan, true);
        const day = await openBusinessDay(tx, context.now);
        const borrower = await borrowerRefOf(tx, loan);
        await move(tx, loan, borrower.ref, { day, valueTime: context.now, key: `loan:${loan.ref}:restructure:${loan.schedule_version + 1}`, kind: 'restructuring', reason: `Restructuring of ${loan.ref}: overdue principal rescheduled` }, [{ debit: 'principal', credit: 'principal_overdue', amount: loan.principal_overdue }]);
        const version = await reschedule(tx, loan, 'restructuring', payload.reason, day, context.approver.id, context.now, await calendar(), { extraMonths: payload.extraMonths, mode: 'smaller_instalment' });
        if (version === undefined) refuse('loan_not_in_state', `loan ${loan.ref} has no principal or no line left to reschedule`);
        await tx.query('UPDATE loan_terms SET months = months + $2 WHERE id = $1', [loan.id, payload.extraMonths]);
        const after = await settleStatus(tx, loan.ref, day, context.now);
        await auditApproved(tx, context, 'loans.restructure', `loan:${loan.ref}`, { extraMonths: payload.extraMonths, reason: payload.reason, scheduleVersion: version });
        return { loan: loan.ref, scheduleVersion: version, maturityOn: after.maturity_on, status: after.status };
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Liquidation (the risk engine's sale of collateral; src/risk/liquidations.ts drives it).

export interface LiquidationSale {
  readonly liquidationId: bigint;
  readonly soldSats: bigint;
  /** What the venue paid: gross less its fees. */
  readonly receivedKopecks: bigint;
  /** The bank's liquidation fee, taken from what was received. */
  readonly bankFeeKopecks: bigint;
}

export interface LiquidationBooking {
  readonly day: string;
  readonly allocated: Buckets;
  /** Roubles left on the settlement account after the debt (a full sale's surplus). */
  readonly surplusKopecks: bigint;
  /** Collateral still pledged (a partial sale), or awaiting release (a full one). */
  readonly remainingSats: bigint;
  /** Debt left when no collateral is: provisioned now, written off under four eyes. */
  readonly shortfallKopecks: bigint;
  readonly status: LoanRow['status'];
  readonly scheduleVersion: number;
  /** The bank's liquidation fee charged: the planned fee, or what the proceeds left after the debt when they fell short. */
  readonly bankFeeKopecks: bigint;
}

/**
 * Books a sale of a loan's collateral, in the caller's transaction: the sold BTC leaves custody
 * (memo accounts), the venue's roubles arrive on the borrower's settlement account, the bank's fee
 * is taken, and the rest settles the whole debt by the loan's waterfall (current interest and
 * principal too: a sale is a forced early repayment, so the schedule is recomputed keeping its
 * dates). Whatever is left stays on the settlement account (the surplus); a loan repaid in full
 * closes and its unsold BTC gets a release instruction; debt left with no collateral is the
 * shortfall, provisioned at once. Positions are split, never edited: the sold ones are marked
 * liquidated and the unsold part of the last becomes a new pledged position.
 */
export async function bookLiquidationSale(tx: Queryable, ref: string, sale: LiquidationSale, now: Date, calendar: BusinessCalendar): Promise<LiquidationBooking> {
  let loan = await loadLoan(tx, ref, true);
  requireStatus(loan, ['active', 'overdue'], 'booking a liquidation');
  const day = await openBusinessDay(tx, now);
  const borrower = await borrowerRefOf(tx, loan);
  const key = `liquidation:${sale.liquidationId}`;
  // Positions held off-chain first (a custodian's, or the BTC a vault spend moved to the desk), then
  // vault coins: a sale takes what the desk holds before it takes a coin still in a vault.
  const positions = await tx.query<{ id: bigint; sats: bigint }>(`SELECT p.id, p.sats FROM collateral_positions p WHERE p.loan_id = $1 AND p.state = 'pledged'
                                                                   ORDER BY EXISTS (SELECT 1 FROM vault_coins c WHERE c.position_id = p.id), p.id FOR UPDATE OF p`, [loan.id]);
  const held = positions.reduce((sum, p) => sum + p.sats, 0n);
  if (sale.soldSats > held) throw new Error(`${key}: sold ${sale.soldSats} sats of ${held} pledged`);
  if (sale.soldSats > 0n) {
    const posted = await postEntries(tx, [{
      idempotencyKey: `${key}:collateral`, kind: 'collateral_out', businessDate: day, valueTime: now, reason: `BTC collateral of ${loan.ref} sold in liquidation ${sale.liquidationId}`,
      postings: [{ account: { chartCode: 'collateral_pledged', subledgerKey: loan.ref }, currency: 'BTC', amount: sale.soldSats }, { account: { chartCode: 'collateral_held', subledgerKey: '' }, currency: 'BTC', amount: -sale.soldSats }],
    }]);
    if (!posted.ok) throw new Error(posted.error.message);
    let left = sale.soldSats;
    const sold: bigint[] = [];
    for (const p of positions) {
      if (left === 0n) break;
      sold.push(p.id);
      if (p.sats > left) {
        const system = await systemUser(tx);
        await tx.query(`INSERT INTO collateral_positions (loan_id, sats, state, declared_at, declared_by, confirmed_at, liquidation_id, ledger_entry_id) VALUES ($1, $2, 'pledged', $3, $4, $3, $5, $6)`,
          [loan.id, p.sats - left, now, system.id, sale.liquidationId, posted.value[0]!.entryId]);
        left = 0n;
      } else left -= p.sats;
    }
    await tx.query(`UPDATE collateral_positions SET state = 'liquidated', released_at = $2, liquidation_id = $3 WHERE id = ANY ($1::int8[])`, [sold, now, sale.liquidationId]);
  }
  const at = { day, valueTime: now };
  // The sale repays debt today: today's interest on the opening balance first (39-P).
  loan = await accrueRepaymentDay(tx, loan, borrower.ref, day, now);
  await move(tx, loan, borrower.ref, { ...at, key: `${key}:proceeds`, kind: 'liquidation_proceeds', reason: `Proceeds of the sale of ${loan.ref}'s collateral (liquidation ${sale.liquidationId})` }, [{ debit: 'cash', credit: 'settlement', amount: sale.receivedKopecks }]);
  // The bank's fee is a debt of the borrower like any other, settled in the loan's order (the
  // statutory one for individuals: after the whole debt). When the sale leaves no collateral and
  // the proceeds do not cover the debt, the fee comes after the debt: it takes only what the
  // proceeds leave over, so a shortfall is never made of the bank's own fee.
  const debtBefore = sumBuckets(bucketsOf(loan));
  const shortfallSale = held - sale.soldSats === 0n && sale.receivedKopecks < debtBefore + sale.bankFeeKopecks;
  const feeCharged = !shortfallSale ? sale.bankFeeKopecks : sale.receivedKopecks > debtBefore ? sale.receivedKopecks - debtBefore : 0n;
  await move(tx, loan, borrower.ref, { ...at, key: `${key}:fee`, kind: 'fee', reason: `Liquidation fee, liquidation ${sale.liquidationId} of ${loan.ref}` }, [{ debit: 'fee', credit: 'fee_income', amount: feeCharged }]);
  loan = await loadLoan(tx, ref, true);
  const { allocated, left: surplus } = allocate(sale.receivedKopecks, bucketsOf(loan), waterfallOf(loan));
  await move(tx, loan, borrower.ref, { ...at, key: `${key}:allocation`, kind: 'repayment_allocation', reason: `Liquidation ${sale.liquidationId} proceeds applied to loan ${loan.ref} by its waterfall` }, BUCKETS.map((b) => ({ debit: 'settlement' as const, credit: b, amount: allocated[b] })));
  const version = allocated.principal > 0n ? await reschedule(tx, loan, 'prepayment', `liquidation ${sale.liquidationId}: ${formatKopecks(allocated.principal)} RUB principal repaid from the sale of collateral`, day, null, now, calendar, { mode: 'smaller_instalment' }) : undefined;
  const after = await settleStatus(tx, ref, day, now);
  const remainingSats = held - sale.soldSats;
  const owed = sumBuckets(bucketsOf(after));
  const shortfall = (LIVE_STATUSES as readonly string[]).includes(after.status) && remainingSats === 0n ? owed : 0n;
  if (shortfall > 0n) {
    const account = await openAccount(tx, { chartCode: 'loss_provisions', subledgerKey: loan.ref });
    if (!account.ok) throw new Error(account.error.message);
    const posted = await postEntries(tx, [{
      idempotencyKey: `${key}:provision`, kind: 'provision', businessDate: day, valueTime: now, reason: `Shortfall of ${loan.ref} after liquidation ${sale.liquidationId}: no collateral left, provisioned in full`,
      postings: [{ account: { chartCode: 'provision_expense', subledgerKey: '' }, currency: 'RUB', amount: shortfall }, { account: { chartCode: 'loss_provisions', subledgerKey: loan.ref }, currency: 'RUB', amount: -shortfall }],
    }]);
    if (!posted.ok) throw new Error(posted.error.message);
  }
  await loanEvent(tx, loan.id, day, 'liquidation', { liquidationId: sale.liquidationId.toString(), soldBtc: formatSats(sale.soldSats), received: formatKopecks(sale.receivedKopecks), fee: formatKopecks(feeCharged), surplus: formatKopecks(surplus), shortfall: formatKopecks(shortfall) }, now);
  return { day, allocated, surplusKopecks: surplus, remainingSats, shortfallKopecks: shortfall, status: after.status, scheduleVersion: version ?? after.schedule_version, bankFeeKopecks: feeCharged };
}

export interface WriteOffPayload { readonly loan: string; readonly reason: string }

async function checkWriteOff(db: Queryable, payload: WriteOffPayload) {
  if (typeof payload.loan !== 'string' || !/^LN-[0-9]{1,18}$/.test(payload.loan)) refuse('invalid_proposal', 'loan is a loan reference such as LN-1');
  if (typeof payload.reason !== 'string' || payload.reason.length < 1 || payload.reason.length > 500) refuse('invalid_proposal', 'a reason of 1 to 500 characters');
  const loan = await loadLoan(db, payload.loan);
  requireStatus(loan, ['active', 'overdue'], 'a write-off');
  const [held] = await db.query<{ sats: bigint }>(`SELECT coalesce(sum(sats), 0)::int8 AS sats FROM collateral_positions WHERE loan_id = $1 AND state IN ('pending', 'confirmed', 'pledged')`, [loan.id]);
  if (held!.sats > 0n) refuse('collateral_remaining', `loan ${loan.ref} still has ${formatSats(held!.sats)} BTC of collateral: only debt left after all of it is sold is written off`);
  const owed = sumBuckets(bucketsOf(loan));
  if (owed === 0n) refuse('nothing_owed', `loan ${loan.ref} owes nothing`);
  return { loan, owed };
}

/**
 * The shortfall a liquidation left (debt and no collateral) written off against its provision:
 * proposed by a risk officer, approved by a second (limits by amount). The debt leaves the loan's
 * accounts (the provision absorbs what it covers, the rest is charged to provisions now) and is
 * kept in the off-balance memo accounts for written-off debt (91802), where recovery is pursued.
 */
export const writeOffAction: ApprovalAction<WriteOffPayload> = {
  type: 'loans.write_off',
  proposerRoles: ['risk_officer'],
  defaultApproverRoles: ['risk_officer'],
  prepare(db, raw) {
    return loanOutcome(async () => {
      const payload = raw as WriteOffPayload;
      const { loan, owed } = await checkWriteOff(db, payload);
      return { payload: { loan: loan.ref, reason: payload.reason }, summary: `write off ${formatKopecks(owed)} RUB owed on ${loan.ref} (no collateral left): ${payload.reason}`, amounts: { RUB: owed }, target: `loan:${loan.ref}` };
    });
  },
  execute(tx, payload, context) {
    return loanOutcome(async () => {
      await loadLoan(tx, payload.loan, true);
      const { loan, owed } = await checkWriteOff(tx, payload);
      const day = await openBusinessDay(tx, context.now);
      const provisions = await openAccount(tx, { chartCode: 'loss_provisions', subledgerKey: loan.ref });
      if (!provisions.ok) throw new Error(provisions.error.message);
      const provided = (await accountBalance(tx, provisions.value.account, undefined)).balance;
      const used = provided < owed ? provided : owed;
      const memo = await openAccount(tx, { chartCode: 'written_off_loans', subledgerKey: loan.ref });
      if (!memo.ok) throw new Error(memo.error.message);
      const owedBuckets = bucketsOf(loan);
      const postings: PostingDraft[] = [
        ...(used > 0n ? [{ account: { chartCode: 'loss_provisions', subledgerKey: loan.ref }, currency: 'RUB' as const, amount: used }] : []),
        ...(owed - used > 0n ? [{ account: { chartCode: 'provision_expense', subledgerKey: '' }, currency: 'RUB' as const, amount: owed - used }] : []),
        ...BUCKETS.filter((b) => owedBuckets[b] > 0n).map((b) => ({ account: { chartCode: BUCKET_CHART[b], subledgerKey: loan.ref }, currency: 'RUB' as const, amount: -owedBuckets[b] })),
        { account: { chartCode: 'written_off_loans', subledgerKey: loan.ref }, currency: 'RUB', amount: owed },
        { account: { chartCode: 'written_off_contra', subledgerKey: '' }, currency: 'RUB', amount: -owed },
      ];
      const posted = await postEntries(tx, [{ idempotencyKey: `loan:${loan.ref}:write-off`, kind: 'write_off', businessDate: day, valueTime: context.now, reason: `Debt of ${loan.ref} written off: ${payload.reason}`, postings }]);
      if (!posted.ok) throw new Error(posted.error.message);
      await tx.query('UPDATE loan_balances SET principal = 0, principal_overdue = 0, interest = 0, interest_overdue = 0, penalty = 0, fee = 0 WHERE loan_id = $1', [loan.id]);
      await tx.query('INSERT INTO loan_write_offs (loan_id, amount_kopecks, provision_used, reason, approval_id, ledger_entry_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [loan.id, owed, used, payload.reason, context.approvalId, posted.value[0]!.entryId, context.now]);
      const after = await settleStatus(tx, loan.ref, day, context.now);
      await loanEvent(tx, loan.id, day, 'written_off', { amount: formatKopecks(owed), provisionUsed: formatKopecks(used), reason: payload.reason }, context.now);
      await auditApproved(tx, context, 'loans.write_off', `loan:${loan.ref}`, { amount: formatKopecks(owed), provisionUsed: formatKopecks(used), reason: payload.reason });
      return { loan: loan.ref, writtenOff: formatKopecks(owed), provisionUsed: formatKopecks(used), status: after.status };
    });
  },
};
