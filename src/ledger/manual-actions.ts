import type { Queryable } from '../db/database.js';
import { auditApproved, type ApprovalAction, type ApprovalOutcome, type PreparedProposal } from '../approvals/approvals.js';
import type { Currency } from '../money/money.js';
import { formatAccountAddress, isCalendarDate, parseInstant, validateEntryRequest, validateReason, type EntryDraft, type EntryRequest } from './entry.js';
import { checkEntryAccounts, postEntries, readEntry, reverseEntry } from './ledger-repository.js';

/**
 * The bank's manual ledger adjustments, as four-eyes actions: a manual entry or a reversal is
 * proposed by one officer and posted only when a second approves it, within the approval limits
 * for its amounts. The posting's ledger idempotency key is the approval's id, so an approval can
 * post at most once whatever happens around it.
 */

export interface ManualEntryPayload {
  readonly businessDate: string;
  readonly valueTime?: string;
  readonly reason: string;
  readonly postings: ReadonlyArray<{ account: string; currency: string; debit?: string; credit?: string }>;
}

export interface ReversalPayload {
  readonly entryId: string;
  readonly businessDate: string;
  readonly valueTime?: string;
  readonly reason: string;
}

function debitsPerCurrency(postings: ReadonlyArray<{ currency: Currency; amount: bigint }>): Partial<Record<Currency, bigint>> {
  const totals: Partial<Record<Currency, bigint>> = {};
  for (const posting of postings) if (posting.amount > 0n) totals[posting.currency] = (totals[posting.currency] ?? 0n) + posting.amount;
  return totals;
}

function draftOf(payload: ManualEntryPayload, idempotencyKey: string): ApprovalOutcome<EntryDraft> {
  const request: EntryRequest = { ...payload, idempotencyKey };
  return validateEntryRequest(request, 'manual');
}

export const manualEntryAction: ApprovalAction<ManualEntryPayload> = {
  type: 'ledger.manual_entry',
  proposerRoles: ['credit_officer', 'risk_officer', 'treasury'],
  defaultApproverRoles: ['risk_officer'],
  async prepare(db: Queryable, payload: unknown): Promise<ApprovalOutcome<PreparedProposal<ManualEntryPayload>>> {
    const entry = payload as ManualEntryPayload;
    const draft = draftOf(entry, 'proposal');
    if (!draft.ok) return draft;
    const accounts = await checkEntryAccounts(db, draft.value);
    if (!accounts.ok) return accounts;
    const lines = draft.value.postings.map((p) => `${p.amount > 0n ? 'Dr' : 'Cr'} ${formatAccountAddress(p.account)}`).join(', ');
    return { ok: true, value: { payload: entry, summary: `manual entry (${lines}): ${entry.reason}`, amounts: debitsPerCurrency(draft.value.postings) } };
  },
  async execute(tx, payload, context) {
    const draft = draftOf(payload, `approval-${context.approvalId}`);
    if (!draft.ok) return draft;
    const posted = await postEntries(tx, [draft.value]);
    if (!posted.ok) return posted;
    const entryId = posted.value[0]!.entryId;
    await auditApproved(tx, context, 'ledger.entry.post', `ledger_entry:${entryId}`, { entry: payload });
    return { ok: true, value: { entryId: entryId.toString() } };
  },
};

export const reversalAction: ApprovalAction<ReversalPayload> = {
  type: 'ledger.reversal',
  proposerRoles: ['credit_officer', 'risk_officer', 'treasury'],
  defaultApproverRoles: ['risk_officer'],
  async prepare(db, payload) {
    const request = payload as ReversalPayload;
    if (!/^[1-9][0-9]{0,18}$/.test(request.entryId)) return { ok: false, error: { code: 'invalid_proposal', message: 'entryId must be a positive integer' } };
    if (!isCalendarDate(request.businessDate)) return { ok: false, error: { code: 'invalid_business_date', message: 'businessDate must be a calendar date "YYYY-MM-DD"' } };
    if (request.valueTime !== undefined && parseInstant(request.valueTime) === undefined) return { ok: false, error: { code: 'invalid_value_time', message: 'valueTime must be an instant such as "2026-11-24T10:00:00Z"' } };
    const reason = validateReason(request.reason);
    if (!reason.ok) return reason;
    const original = await readEntry(db, BigInt(request.entryId));
    if (original === undefined) return { ok: false, error: { code: 'entry_not_found', message: `no entry ${request.entryId}` } };
    if (original.reversesEntryId !== null) return { ok: false, error: { code: 'reversal_of_reversal', message: `entry ${original.id} is itself a reversal; post a new entry instead` } };
    if (original.reversedByEntryId !== null) return { ok: false, error: { code: 'entry_already_reversed', message: `entry ${original.id} was already reversed by entry ${original.reversedByEntryId}` } };
    return { ok: true, value: { payload: request, summary: `reverse entry ${original.id} (${original.reason}): ${request.reason}`, amounts: debitsPerCurrency(original.postings), target: `ledger_entry:${original.id}` } };
  },
  async execute(tx, payload, context) {
    const posted = await reverseEntry(tx, {
      entryId: BigInt(payload.entryId),
      idempotencyKey: `approval-${context.approvalId}`,
      businessDate: payload.businessDate,
      valueTime: payload.valueTime === undefined ? undefined : parseInstant(payload.valueTime),
      reason: payload.reason,
    });
    if (!posted.ok) return posted;
    const entryId = posted.value[0]!.entryId;
    await auditApproved(tx, context, 'ledger.entry.reverse', `ledger_entry:${payload.entryId}`, { reversalEntryId: entryId, reason: payload.reason });
    return { ok: true, value: { entryId: entryId.toString(), reversesEntryId: payload.entryId } };
  },
};
