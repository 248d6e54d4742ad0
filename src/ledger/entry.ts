import { createHash } from 'node:crypto';
import { formatMinorUnits, isCurrency, parseMinorUnits, type Currency } from '../money/money.js';

/**
 * Journal entries, pure: validating what a caller asks to post, before any account is looked up.
 * Business rejections come back as values (`LedgerError`); only programmer errors throw.
 *
 * A posting's amount is signed in the ledger (debit > 0, credit < 0) so that "balanced" is
 * sum = 0 per currency; callers and the API speak of debit and credit.
 */

/** The accounts the chart defines (migration 0001); a test checks this list against the database. */
export const CHART_CODES = [
  'cash_correspondent',
  'borrower_settlement',
  'loan_principal',
  'loan_principal_overdue',
  'interest_receivable',
  'interest_overdue',
  'penalty_receivable',
  'fee_receivable',
  'interest_income',
  'penalty_income',
  'fee_income',
  'suspense',
  'loss_provisions',
  'provision_expense',
  'bank_equity',
  'written_off_loans',
  'written_off_contra',
  'collateral_held',
  'collateral_pledged',
] as const;
export type ChartCode = (typeof CHART_CODES)[number];

export type LedgerErrorCode =
  | 'invalid_entry'
  | 'invalid_account'
  | 'invalid_currency'
  | 'invalid_amount'
  | 'invalid_business_date'
  | 'invalid_value_time'
  | 'invalid_reason'
  | 'invalid_idempotency_key'
  | 'entry_too_few_postings'
  | 'entry_too_many_postings'
  | 'entry_unbalanced'
  | 'account_not_found'
  | 'currency_mismatch'
  | 'idempotency_key_reused'
  | 'entry_not_found'
  | 'entry_already_reversed'
  | 'reversal_of_reversal';

export interface LedgerError {
  readonly code: LedgerErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export type LedgerResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: LedgerError };

export function ledgerError<T>(code: LedgerErrorCode, message: string, details?: Record<string, unknown>): LedgerResult<T> {
  return { ok: false, error: details === undefined ? { code, message } : { code, message, details } };
}

/** Limits, stated rather than implied. */
export const ENTRY_LIMITS = {
  postingsMin: 2,
  postingsMax: 64,
  reasonLengthMax: 500,
  idempotencyKeyLengthMax: 200,
} as const;

// ---------------------------------------------------------------------------------------------
// Account addresses: "cash_correspondent" for a bank-wide account, "loan_principal:LN-1" for one
// account of a subledger (per loan or per borrower).

export interface AccountAddress {
  readonly chartCode: string;
  readonly subledgerKey: string;
}

const ADDRESS_PATTERN = /^([a-z][a-z0-9_]{1,47})(?::([A-Za-z0-9._-]{1,64}))?$/;

export function parseAccountAddress(text: unknown): LedgerResult<AccountAddress> {
  if (typeof text !== 'string') return ledgerError('invalid_account', 'an account is written as a string such as "cash_correspondent" or "loan_principal:LN-1"');
  const match = ADDRESS_PATTERN.exec(text);
  if (match === null) return ledgerError('invalid_account', `"${text}" is not an account address such as "cash_correspondent" or "loan_principal:LN-1"`);
  return { ok: true, value: { chartCode: match[1] ?? '', subledgerKey: match[2] ?? '' } };
}

export function formatAccountAddress(address: AccountAddress): string {
  return address.subledgerKey === '' ? address.chartCode : `${address.chartCode}:${address.subledgerKey}`;
}

// ---------------------------------------------------------------------------------------------
// Dates and times.

/** A calendar day 'YYYY-MM-DD' that exists (no 2026-02-30), years 2000-2199. */
export function isCalendarDate(text: unknown): text is string {
  if (typeof text !== 'string' || !/^(20|21)\d{2}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/** An instant in RFC 3339 form with an explicit offset ("2026-11-24T10:00:00Z", "...+03:00"). */
export function parseInstant(text: unknown): Date | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (match === null || !isCalendarDate(match[1])) return undefined;
  const instant = new Date(text);
  return Number.isNaN(instant.getTime()) ? undefined : instant;
}

// ---------------------------------------------------------------------------------------------
// Entries.

export interface PostingRequest {
  readonly account: unknown;
  readonly currency: unknown;
  readonly debit?: unknown;
  readonly credit?: unknown;
}

export interface EntryRequest {
  readonly idempotencyKey: unknown;
  readonly businessDate: unknown;
  /** Optional: when absent, the entry takes effect when it is recorded. */
  readonly valueTime?: unknown;
  readonly reason: unknown;
  readonly postings: readonly PostingRequest[];
}

export interface PostingDraft {
  readonly account: AccountAddress;
  readonly currency: Currency;
  /** Signed minor units: debit > 0, credit < 0. */
  readonly amount: bigint;
}

export interface EntryDraft {
  readonly idempotencyKey: string;
  readonly kind: string;
  readonly businessDate: string;
  /** undefined: the time of recording. */
  readonly valueTime: Date | undefined;
  readonly reason: string;
  readonly postings: readonly PostingDraft[];
  readonly reversesEntryId?: bigint;
}

export function validateIdempotencyKey(key: unknown): LedgerResult<string> {
  if (typeof key !== 'string' || key.length === 0 || key.length > ENTRY_LIMITS.idempotencyKeyLengthMax || !/^[\x21-\x7e]+$/.test(key)) {
    return ledgerError('invalid_idempotency_key', `an idempotency key is 1 to ${ENTRY_LIMITS.idempotencyKeyLengthMax} printable ASCII characters without spaces`);
  }
  return { ok: true, value: key };
}

export function validateReason(reason: unknown): LedgerResult<string> {
  if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > ENTRY_LIMITS.reasonLengthMax) {
    return ledgerError('invalid_reason', `a reason is required: 1 to ${ENTRY_LIMITS.reasonLengthMax} characters saying why the entry is made`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(reason)) return ledgerError('invalid_reason', 'a reason may not contain control characters');
  return { ok: true, value: reason };
}

function validatePosting(request: PostingRequest, index: number): LedgerResult<PostingDraft> {
  const at = { posting: index };
  const account = parseAccountAddress(request.account);
  if (!account.ok) return ledgerError(account.error.code, account.error.message, at);
  if (!isCurrency(request.currency)) return ledgerError('invalid_currency', `posting ${index}: currency must be "RUB" or "BTC"`, at);
  const hasDebit = request.debit !== undefined;
  const hasCredit = request.credit !== undefined;
  if (hasDebit === hasCredit) return ledgerError('invalid_amount', `posting ${index}: give exactly one of "debit" and "credit"`, at);
  const amount = parseMinorUnits(hasDebit ? request.debit : request.credit, request.currency, 'positive');
  if (!amount.ok) return ledgerError('invalid_amount', `posting ${index}: ${amount.error.message}`, { ...at, reason: amount.error.code });
  return { ok: true, value: { account: account.value, currency: request.currency, amount: hasDebit ? amount.value : -amount.value } };
}

/** Checks that postings are 2..64 and balance per currency. */
export function checkBalanced(postings: readonly PostingDraft[]): LedgerResult<void> {
  if (postings.length < ENTRY_LIMITS.postingsMin) return ledgerError('entry_too_few_postings', `an entry needs at least ${ENTRY_LIMITS.postingsMin} postings`);
  if (postings.length > ENTRY_LIMITS.postingsMax) return ledgerError('entry_too_many_postings', `an entry may have at most ${ENTRY_LIMITS.postingsMax} postings`);
  const totals = new Map<Currency, bigint>();
  for (const posting of postings) totals.set(posting.currency, (totals.get(posting.currency) ?? 0n) + posting.amount);
  const unbalanced = [...totals].filter(([, total]) => total !== 0n);
  if (unbalanced.length > 0) {
    const difference = Object.fromEntries(unbalanced.map(([currency, total]) => [currency, formatMinorUnits(total, currency)]));
    const said = unbalanced.map(([currency, total]) => `${currency} debits exceed credits by ${formatMinorUnits(total, currency)}`).join('; ');
    return ledgerError('entry_unbalanced', `the entry does not balance: ${said}`, { debitsMinusCredits: difference });
  }
  return { ok: true, value: undefined };
}

/** Validates a manual entry request into a draft, without touching the database. */
export function validateEntryRequest(request: EntryRequest, kind = 'manual'): LedgerResult<EntryDraft> {
  const key = validateIdempotencyKey(request.idempotencyKey);
  if (!key.ok) return key;
  if (!isCalendarDate(request.businessDate)) return ledgerError('invalid_business_date', 'businessDate must be a calendar date "YYYY-MM-DD"');
  let valueTime: Date | undefined;
  if (request.valueTime !== undefined) {
    valueTime = parseInstant(request.valueTime);
    if (valueTime === undefined) return ledgerError('invalid_value_time', 'valueTime must be an instant such as "2026-11-24T10:00:00Z" (with Z or an offset)');
  }
  const reason = validateReason(request.reason);
  if (!reason.ok) return reason;
  if (!Array.isArray(request.postings)) return ledgerError('invalid_entry', 'postings must be a list');
  const postings: PostingDraft[] = [];
  for (const [index, posting] of request.postings.entries()) {
    const parsed = validatePosting(posting, index);
    if (!parsed.ok) return parsed;
    postings.push(parsed.value);
  }
  const balanced = checkBalanced(postings);
  if (!balanced.ok) return balanced;
  return { ok: true, value: { idempotencyKey: key.value, kind, businessDate: request.businessDate, valueTime, reason: reason.value, postings } };
}

/** The negation of an entry's postings: what a reversal posts. */
export function reversePostings(postings: readonly PostingDraft[]): PostingDraft[] {
  return postings.map((posting) => ({ ...posting, amount: -posting.amount }));
}

/**
 * SHA-256 over the entry's content as the caller stated it (not the recording time), so an honest
 * retry with the same key matches and a different request under the same key does not. Amounts
 * are hashed as integers, so "100" and "100.00" are the same request.
 */
export function contentHash(draft: EntryDraft): string {
  const canonical = JSON.stringify([
    draft.kind,
    draft.businessDate,
    draft.valueTime?.toISOString() ?? null,
    draft.reason,
    draft.reversesEntryId?.toString() ?? null,
    draft.postings.map((posting) => [formatAccountAddress(posting.account), posting.currency, posting.amount.toString()]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
