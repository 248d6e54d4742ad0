import { addDays } from '../calendar/business.js';
import type { Queryable } from '../db/database.js';
import { openAccount } from '../ledger/ledger-repository.js';
import { refuse } from './loan-errors.js';

/**
 * Loan rows and the helpers every loan service shares: the bank's open business day, reading and
 * locking a loan, its ledger accounts, loan events.
 */

export interface LoanRow {
  id: bigint; ref: string; application_id: bigint; offer_id: bigint; approval_id: bigint | null;
  borrower_id: bigint; borrower_kind: 'company' | 'entrepreneur' | 'individual';
  product_code: string; product_version: number; amount_kopecks: bigint; months: number;
  repayment_type: 'annuity' | 'bullet' | 'interest_only'; interest_only_through: number; balloon_kopecks: bigint;
  rate_kind: 'fixed' | 'floating'; rate_millionths: bigint; margin_millionths: bigint | null; rate_reset_months: number | null;
  penalty_millionths_per_day: bigint; fee_kopecks: bigint;
  wf_penalty: number; wf_interest_overdue: number; wf_principal_overdue: number; wf_interest: number; wf_principal: number; wf_fee: number;
  status: 'approved' | 'active' | 'overdue' | 'closed' | 'cancelled';
  approved_at: Date; disbursed_on: string | null; maturity_on: string | null; closed_on: string | null; accrued_through: string | null;
  schedule_version: number;
  principal: bigint; principal_overdue: bigint; interest: bigint; interest_overdue: bigint; penalty: bigint; fee: bigint;
  interest_remainder: bigint; penalty_remainder: bigint; overdue_since: string | null;
  /** The open day whose interest was accrued early, on its opening balance (a repayment that day). */
  interest_day_done: string | null;
  default_review: boolean; default_review_reason: string | null;
  /** The most pledged machines may count for (the second layer's cap, fixed at approval; 0 without). */
  equipment_cap_kopecks: bigint;
  acc_principal: bigint; acc_principal_overdue: bigint; acc_interest: bigint; acc_interest_overdue: bigint; acc_penalty: bigint; acc_fee: bigint; acc_settlement: bigint;
  [key: string]: unknown;
}

export const LIVE_STATUSES = ['active', 'overdue'] as const;

/** The loan's row, locked for the transaction when `lock` (every change locks it first). */
export async function loadLoan(db: Queryable, ref: string, lock = false): Promise<LoanRow> {
  const [row] = await db.query<LoanRow>(`SELECT * FROM loans WHERE ref = $1${lock ? ' FOR UPDATE' : ''}`, [ref]);
  return row ?? refuse('loan_not_found', `no loan ${ref}`);
}

/** The loan with its borrower's reference and name, in one round trip (the loan page's read). */
export async function loadLoanWithBorrower(db: Queryable, ref: string): Promise<LoanRow & { borrower_ref: string; borrower_name: string }> {
  const [row] = await db.query<LoanRow & { borrower_ref: string; borrower_name: string }>(
    'SELECT l.*, b.ref AS borrower_ref, b.name AS borrower_name FROM loans l JOIN borrowers b ON b.id = l.borrower_id WHERE l.ref = $1', [ref]);
  return row ?? refuse('loan_not_found', `no loan ${ref}`);
}

export function requireStatus(loan: LoanRow, statuses: readonly LoanRow['status'][], doing: string): void {
  if (!statuses.includes(loan.status)) refuse('loan_not_in_state', `loan ${loan.ref} is ${loan.status}; ${doing} needs it ${statuses.join(' or ')}`, { status: loan.status });
}

/** Moscow has kept UTC+3 all year since 2014. */
export function moscowDay(now: Date): string {
  return new Date(now.getTime() + 3 * 3_600_000).toISOString().slice(0, 10);
}

/** The end of a business day in Moscow, the value time of end-of-day entries. */
export function endOfDay(day: string): Date {
  return new Date(`${day}T23:59:59.999+03:00`);
}

/**
 * The bank's open business day: the day after the last day end of day closed (today in Moscow
 * when none was ever closed). Operations are dated on it. While end of day is part-way through a
 * day, nothing else may change a loan (the day's balances would be half-closed).
 */
export async function openBusinessDay(db: Queryable, now: Date): Promise<string> {
  const [last] = await db.query<{ business_date: string; finished_at: Date | null }>('SELECT business_date, finished_at FROM eod_days ORDER BY business_date DESC LIMIT 1');
  if (last === undefined) return moscowDay(now);
  if (last.finished_at === null) refuse('eod_in_progress', `end of day for ${last.business_date} is not finished; run it to the end (zalog eod --date ${last.business_date}) and try again`);
  return addDays(last.business_date, 1);
}

/**
 * The bank's day for figures that must not wait for end of day (a stress, the exposure book): its
 * open day, or while end of day is closing a day, that day.
 */
export async function figuresDay(db: Queryable, now: Date): Promise<string> {
  const [last] = await db.query<{ business_date: string; finished_at: Date | null }>('SELECT business_date, finished_at FROM eod_days ORDER BY business_date DESC LIMIT 1');
  if (last === undefined) return moscowDay(now);
  return last.finished_at === null ? last.business_date : addDays(last.business_date, 1);
}

/** Opens the loan's ledger accounts (and its borrower's settlement account) and stores their ids. */
export async function openLoanAccounts(tx: Queryable, loanId: bigint, ref: string, borrowerRef: string): Promise<void> {
  const ids: Record<string, bigint> = {};
  for (const chart of ['loan_principal', 'loan_principal_overdue', 'interest_receivable', 'interest_overdue', 'penalty_receivable', 'fee_receivable', 'collateral_pledged']) {
    const opened = await openAccount(tx, { chartCode: chart, subledgerKey: ref });
    if (!opened.ok) throw new Error(opened.error.message);
    ids[chart] = opened.value.account.id;
  }
  const settlement = await openAccount(tx, { chartCode: 'borrower_settlement', subledgerKey: borrowerRef });
  if (!settlement.ok) throw new Error(settlement.error.message);
  await tx.query(
    `UPDATE loan_terms SET acc_principal = $2, acc_principal_overdue = $3, acc_interest = $4, acc_interest_overdue = $5, acc_penalty = $6, acc_fee = $7, acc_settlement = $8 WHERE id = $1`,
    [loanId, ids.loan_principal, ids.loan_principal_overdue, ids.interest_receivable, ids.interest_overdue, ids.penalty_receivable, ids.fee_receivable, settlement.value.account.id],
  );
}

export async function loanEvent(tx: Queryable, loanId: bigint, businessDate: string, kind: string, details: Record<string, unknown>, at: Date): Promise<void> {
  await tx.query('INSERT INTO loan_events (loan_id, business_date, kind, details, at) VALUES ($1, $2, $3, $4::jsonb, $5)', [loanId, businessDate, kind, JSON.stringify(details), at]);
}

/** The key rate in force on a day (millionths), or undefined. */
export async function keyRateOn(db: Queryable, day: string): Promise<bigint | undefined> {
  const [row] = await db.query<{ rate_millionths: bigint }>('SELECT rate_millionths FROM key_rates WHERE effective_from <= $1 ORDER BY effective_from DESC LIMIT 1', [day]);
  return row?.rate_millionths;
}
