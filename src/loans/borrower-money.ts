import { bankRequisites, paymentDetails } from './requisites.js';
import { auditApproved, type ApprovalAction, type ApprovalContext } from '../approvals/approvals.js';
import type { Queryable } from '../db/database.js';
import { postEntries } from '../ledger/ledger-repository.js';
import { formatKopecks, parseKopecks } from '../money/money.js';
import { refuse } from './loan-errors.js';
import { LIVE_STATUSES, openBusinessDay } from './loan-store.js';
import { loanOutcome } from './origination.js';

/**
 * The borrower's own money at the bank, beside its loans: the settlement account (40702/40802/
 * 40817) where payments arrive and wait for their due dates, the suspense account (47416) where a
 * payment to a closed loan is held with its reason, and refund orders that send money back to the
 * borrower's bank details under four eyes. A refund takes only what the borrower's live loans do not
 * need: what is due now and each loan's next instalment stay on the account.
 */

interface BorrowerMoneyRow { id: bigint; ref: string; bik: string | null; account: string | null; settlement_kopecks: bigint; [key: string]: unknown }

async function borrowerForMoney(db: Queryable, ref: string, lock: boolean): Promise<BorrowerMoneyRow> {
  const [row] = await db.query<BorrowerMoneyRow>(`SELECT id, ref, bik, account, settlement_kopecks FROM borrowers WHERE ref = $1${lock ? ' FOR UPDATE' : ''}`, [ref]);
  return row ?? refuse('not_found', `no borrower ${ref}`);
}

/** What the borrower's live loans need from its settlement account: due now, and each next instalment. */
export async function neededFromSettlement(db: Queryable, borrowerId: bigint, today: string): Promise<{ dueNow: bigint; nextInstalments: bigint }> {
  const [row] = await db.query<{ due_now: bigint; next_instalments: bigint }>(
    `SELECT coalesce(sum(l.penalty + l.interest_overdue + l.principal_overdue + l.fee), 0)::int8 AS due_now,
            coalesce(sum((SELECT s.principal + s.interest FROM loan_schedule_lines s WHERE s.loan_id = l.id AND s.version = l.schedule_version AND s.due_date >= $2 ORDER BY s.number LIMIT 1)), 0)::int8 AS next_instalments
       FROM loans l WHERE l.borrower_id = $1 AND l.status = ANY ($3::text[])`, [borrowerId, today, LIVE_STATUSES]);
  return { dueNow: row!.due_now, nextInstalments: row!.next_instalments };
}

export async function moneyView(db: Queryable, ref: string, now: Date) {
  const borrower = await borrowerForMoney(db, ref, false);
  const today = await openBusinessDay(db, now);
  const needed = await neededFromSettlement(db, borrower.id, today);
  const kept = needed.dueNow + needed.nextInstalments;
  const refundable = borrower.settlement_kopecks > kept ? borrower.settlement_kopecks - kept : 0n;
  const suspense = await db.query<{ id: bigint; reference: string; amount_kopecks: bigint; reason: string; status: string; business_date: string; loan_ref: string | null }>(
    `SELECT s.id, s.reference, s.amount_kopecks, s.reason, s.status, s.business_date::text, l.ref AS loan_ref FROM suspense_items s LEFT JOIN loans l ON l.id = s.loan_id WHERE s.borrower_id = $1 ORDER BY s.id DESC LIMIT 100`, [borrower.id]);
  const live = await db.query<{ ref: string }>(`SELECT ref FROM loans WHERE borrower_id = $1 AND status IN ('active', 'overdue') ORDER BY id`, [borrower.id]);
  const bank = await bankRequisites();
  const refunds = await db.query<{ id: bigint; amount_kopecks: bigint; purpose: string; business_date: string; created_at: Date }>(
    `SELECT id, amount_kopecks, purpose, business_date::text, created_at FROM payment_orders WHERE borrower_id = $1 AND kind = 'refund' ORDER BY id DESC LIMIT 100`, [borrower.id]);
  return {
    borrower: borrower.ref,
    businessDate: today,
    settlement: formatKopecks(borrower.settlement_kopecks),
    dueNow: formatKopecks(needed.dueNow),
    nextInstalments: formatKopecks(needed.nextInstalments),
    refundable: formatKopecks(refundable),
    // Where to pay: the bank's requisites, and the purpose line naming each live loan.
    repayTo: live.map((l) => paymentDetails(bank, l.ref)),
    bankDetails: borrower.bik === null || borrower.account === null ? null : { bik: borrower.bik, account: borrower.account },
    suspense: suspense.map((s) => ({ id: s.id.toString(), reference: s.reference, loan: s.loan_ref, amount: formatKopecks(s.amount_kopecks), reason: s.reason, status: s.status, businessDate: s.business_date })),
    refunds: refunds.map((r) => ({ paymentOrderId: r.id.toString(), amount: formatKopecks(r.amount_kopecks), purpose: r.purpose, businessDate: r.business_date, at: r.created_at.toISOString() })),
  };
}

/** A payment to a closed loan: into suspense with its reason, not refused (the money is the borrower's). */
export async function holdInSuspense(tx: Queryable, input: { borrowerId: bigint; loanId: bigint; loanRef: string; reference: string; amount: bigint; reason: string; day: string; now: Date }): Promise<{ itemId: bigint; entryId: bigint }> {
  const posted = await postEntries(tx, [{
    idempotencyKey: `repayment:${input.reference}`, kind: 'suspense', businessDate: input.day, valueTime: input.now,
    reason: `Payment ${input.reference} for ${input.loanRef} held in suspense: ${input.reason}`,
    postings: [{ account: { chartCode: 'cash_correspondent', subledgerKey: '' }, currency: 'RUB', amount: input.amount }, { account: { chartCode: 'suspense', subledgerKey: '' }, currency: 'RUB', amount: -input.amount }],
  }]);
  if (!posted.ok) throw new Error(posted.error.message);
  const entryId = posted.value[0]!.entryId;
  const [item] = await tx.query<{ id: bigint }>(
    `INSERT INTO suspense_items (borrower_id, loan_id, reference, amount_kopecks, reason, business_date, created_at, ledger_entry_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [input.borrowerId, input.loanId, input.reference, input.amount, input.reason, input.day, input.now, entryId]);
  return { itemId: item!.id, entryId };
}

async function refundOrder(tx: Queryable, borrower: BorrowerMoneyRow, amount: bigint, from: 'settlement' | 'suspense', purpose: string, context: ApprovalContext, key: string): Promise<bigint> {
  if (borrower.bik === null || borrower.account === null) refuse('no_bank_details', `borrower ${borrower.ref} has no bank details to refund to`);
  const day = await openBusinessDay(tx, context.now);
  const source = from === 'settlement' ? { chartCode: 'borrower_settlement', subledgerKey: borrower.ref } : { chartCode: 'suspense', subledgerKey: '' };
  const posted = await postEntries(tx, [{
    idempotencyKey: key, kind: 'refund', businessDate: day, valueTime: context.now, reason: `Refund to ${borrower.ref}: ${purpose}`,
    postings: [{ account: source, currency: 'RUB', amount }, { account: { chartCode: 'cash_correspondent', subledgerKey: '' }, currency: 'RUB', amount: -amount }],
  }]);
  if (!posted.ok) throw new Error(posted.error.message);
  if (from === 'settlement') await tx.query('UPDATE borrowers SET settlement_kopecks = settlement_kopecks - $2 WHERE id = $1', [borrower.id, amount]);
  const [order] = await tx.query<{ id: bigint }>(
    `INSERT INTO payment_orders (borrower_id, kind, amount_kopecks, bik, account, purpose, business_date, created_at, ledger_entry_id, approval_id)
     VALUES ($1, 'refund', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [borrower.id, amount, borrower.bik, borrower.account, purpose, day, context.now, posted.value[0]!.entryId, context.approvalId]);
  return order!.id;
}

export interface SettlementRefundPayload { readonly borrower: string; readonly amount: string; readonly reason: string }

async function checkSettlementRefund(db: Queryable, payload: SettlementRefundPayload, now: Date, lock: boolean) {
  if (typeof payload.borrower !== 'string' || typeof payload.reason !== 'string' || payload.reason.length < 1 || payload.reason.length > 500) refuse('invalid_proposal', 'a borrower and a reason of 1 to 500 characters');
  const amount = parseKopecks(payload.amount);
  if (!amount.ok) refuse('invalid_proposal', `amount: ${amount.error.message}`);
  const borrower = await borrowerForMoney(db, payload.borrower, lock);
  if (borrower.bik === null || borrower.account === null) refuse('no_bank_details', `borrower ${borrower.ref} has no bank details to refund to`);
  const today = await openBusinessDay(db, now);
  const needed = await neededFromSettlement(db, borrower.id, today);
  const kept = needed.dueNow + needed.nextInstalments;
  const refundable = borrower.settlement_kopecks > kept ? borrower.settlement_kopecks - kept : 0n;
  if (amount.value > refundable) {
    refuse('insufficient_funds', `${formatKopecks(amount.value)} RUB is more than can be refunded: the settlement account of ${borrower.ref} holds ${formatKopecks(borrower.settlement_kopecks)} RUB, of which ${formatKopecks(kept)} is due now or with the next instalments`, { refundable: formatKopecks(refundable) });
  }
  return { borrower, amount: amount.value };
}

/** Money on the settlement account no live loan needs, back to the borrower's bank details (treasury proposes, a second approves). */
export const settlementRefundAction: ApprovalAction<SettlementRefundPayload> = {
  type: 'settlement.refund',
  proposerRoles: ['treasury'],
  defaultApproverRoles: ['treasury'],
  prepare(db, raw) {
    return loanOutcome(async () => {
      const payload = raw as SettlementRefundPayload;
      const { borrower, amount } = await checkSettlementRefund(db, payload, new Date(), false);
      return { payload: { borrower: borrower.ref, amount: formatKopecks(amount), reason: payload.reason }, summary: `refund ${formatKopecks(amount)} RUB from the settlement account of ${borrower.ref} to BIK ${borrower.bik}, account ${borrower.account}: ${payload.reason}`, amounts: { RUB: amount }, target: `borrower:${borrower.ref}` };
    });
  },
  execute(tx, payload, context) {
    return loanOutcome(async () => {
      const { borrower, amount } = await checkSettlementRefund(tx, payload, context.now, true);
      const order = await refundOrder(tx, borrower, amount, 'settlement', payload.reason, context, `refund:approval-${context.approvalId}`);
      await auditApproved(tx, context, 'settlement.refund', `borrower:${borrower.ref}`, { amounts: { RUB: formatKopecks(amount) }, paymentOrderId: order.toString(), reason: payload.reason });
      return { borrower: borrower.ref, refunded: formatKopecks(amount), paymentOrderId: order.toString() };
    });
  },
};

export interface SuspenseRefundPayload { readonly item: string; readonly reason: string }

async function checkSuspenseRefund(db: Queryable, payload: SuspenseRefundPayload, lock: boolean) {
  if (typeof payload.item !== 'string' || !/^[1-9][0-9]{0,17}$/.test(payload.item) || typeof payload.reason !== 'string' || payload.reason.length < 1 || payload.reason.length > 500) refuse('invalid_proposal', 'a suspense item id and a reason of 1 to 500 characters');
  const [item] = await db.query<{ id: bigint; borrower_id: bigint; reference: string; amount_kopecks: bigint; status: string }>(`SELECT * FROM suspense_items WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [BigInt(payload.item)]);
  if (item === undefined) refuse('not_found', `no suspense item ${payload.item}`);
  if (item.status !== 'open') refuse('suspense_not_open', `suspense item ${item.id} was already ${item.status}`);
  const [ref] = await db.query<{ ref: string }>('SELECT ref FROM borrowers WHERE id = $1', [item.borrower_id]);
  const borrower = await borrowerForMoney(db, ref!.ref, lock);
  if (borrower.bik === null || borrower.account === null) refuse('no_bank_details', `borrower ${borrower.ref} has no bank details to refund to`);
  return { item, borrower };
}

/** A payment held in suspense back to the borrower's bank details (treasury proposes, a second approves). */
export const suspenseRefundAction: ApprovalAction<SuspenseRefundPayload> = {
  type: 'suspense.refund',
  proposerRoles: ['treasury'],
  defaultApproverRoles: ['treasury'],
  prepare(db, raw) {
    return loanOutcome(async () => {
      const payload = raw as SuspenseRefundPayload;
      const { item, borrower } = await checkSuspenseRefund(db, payload, false);
      return { payload: { item: item.id.toString(), reason: payload.reason }, summary: `refund payment ${item.reference} (${formatKopecks(item.amount_kopecks)} RUB, in suspense) to ${borrower.ref}, BIK ${borrower.bik}, account ${borrower.account}: ${payload.reason}`, amounts: { RUB: item.amount_kopecks }, target: `suspense_item:${item.id}` };
    });
  },
  execute(tx, payload, context) {
    return loanOutcome(async () => {
      const { item, borrower } = await checkSuspenseRefund(tx, payload, true);
      const order = await refundOrder(tx, borrower, item.amount_kopecks, 'suspense', `payment ${item.reference} returned: ${payload.reason}`, context, `refund:suspense-${item.id}`);
      await tx.query(`UPDATE suspense_items SET status = 'refunded', refund_order_id = $2 WHERE id = $1`, [item.id, order]);
      await auditApproved(tx, context, 'suspense.refund', `suspense_item:${item.id}`, { amounts: { RUB: formatKopecks(item.amount_kopecks) }, borrower: borrower.ref, paymentOrderId: order.toString(), reason: payload.reason });
      return { item: item.id.toString(), refunded: formatKopecks(item.amount_kopecks), paymentOrderId: order.toString() };
    });
  },
};
