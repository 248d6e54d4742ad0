import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import { accountProblem, bikProblem } from './identifiers.js';

/**
 * Changing where a borrower's money is paid (BIK and settlement account) takes four eyes: a
 * changed payout account is the classic way to steal a disbursement. A credit officer proposes,
 * a second approves; the record is updated and the audit keeps before and after.
 */

export interface BankDetailsPayload {
  readonly ref: string;
  readonly bik: string;
  readonly account: string;
  readonly reason: string;
}

export const bankDetailsAction: ApprovalAction<BankDetailsPayload> = {
  type: 'borrowers.bank_details',
  proposerRoles: ['credit_officer'],
  defaultApproverRoles: ['credit_officer'],
  async prepare(db, payload) {
    const request = payload as BankDetailsPayload;
    const problem = bikProblem(request.bik) ?? accountProblem(request.bik, request.account);
    if (problem !== undefined) return { ok: false, error: { code: 'invalid_bank_details', message: problem } };
    const [borrower] = await db.query<{ bik: string | null; account: string | null }>('SELECT bik, account FROM borrowers WHERE ref = $1', [request.ref]);
    if (borrower === undefined) return { ok: false, error: { code: 'not_found', message: 'no such record' } };
    if (borrower.bik === request.bik && borrower.account === request.account) return { ok: false, error: { code: 'invalid_proposal', message: 'these are already the borrower\'s bank details' } };
    return { ok: true, value: { payload: { ref: request.ref, bik: request.bik, account: request.account, reason: request.reason }, summary: `bank details of ${request.ref}: BIK ${request.bik}, account ${request.account} (${request.reason})`, amounts: {}, target: `borrower:${request.ref}` } };
  },
  async execute(tx, payload, context) {
    const [before] = await tx.query<{ bik: string | null; account: string | null }>('SELECT bik, account FROM borrowers WHERE ref = $1 FOR UPDATE', [payload.ref]);
    if (before === undefined) return { ok: false, error: { code: 'not_found', message: 'no such record' } };
    await tx.query('UPDATE borrowers SET bik = $2, account = $3 WHERE ref = $1', [payload.ref, payload.bik, payload.account]);
    await auditApproved(tx, context, 'borrowers.bank_details.set', `borrower:${payload.ref}`, { before, after: { bik: payload.bik, account: payload.account }, reason: payload.reason });
    return { ok: true, value: { ref: payload.ref, bik: payload.bik, account: payload.account } };
  },
};
