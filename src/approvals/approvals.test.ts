import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactOutcome } from '../db/database.js';
import { testDatabaseUrl } from '../test-support/database.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { approve } from './approvals.js';

/** Four eyes, through the manual ledger entry as the action. */

let t: TestApp;
beforeAll(async () => { t = await openTestApp(); });
afterAll(() => t.close());

function entry(rub: string) {
  return { businessDate: '2026-11-24', reason: 'four eyes test', postings: [
    { account: 'cash_correspondent', currency: 'RUB', debit: rub },
    { account: 'suspense', currency: 'RUB', credit: rub },
  ] };
}

async function propose(rub = '100.00', as: 'officer' | 'officer2' = 'officer') {
  const response = await t.as(as).post('/api/v1/ledger/entries', entry(rub));
  expect(response.statusCode).toBe(202);
  return response.json().id as string;
}

const entries = async () => Number((await t.test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM ledger_entries'))[0]!.n);

describe('four eyes', () => {
  it('the proposer cannot approve its own proposal', async () => {
    const id = await propose();
    const response = await t.as('officer').post(`/api/v1/approvals/${id}/approve`);
    expect(response.statusCode).toBe(403);
    expect(response.json().error.code).toBe('approver_is_proposer');
    expect((await t.as('officer').get(`/api/v1/approvals/${id}`)).json().status).toBe('pending');
  });

  it('an expired proposal cannot be approved, and shows as expired', async () => {
    const id = await propose();
    t.advance(72 * 3_600 + 1);
    const before = await entries();
    const response = await t.as('officer2').post(`/api/v1/approvals/${id}/approve`);
    expect(response.statusCode).toBe(409);
    expect(response.json().error.code).toBe('approval_expired');
    expect((await t.as('auditor').get(`/api/v1/approvals/${id}`)).json().status).toBe('expired');
    expect((await t.as('auditor').get('/api/v1/approvals?status=expired')).json().approvals.map((a: { id: string }) => a.id)).toContain(id);
    expect(await entries()).toBe(before);
  });

  it('amounts above the credit officer\'s limit need a risk officer', async () => {
    const id = await propose('2000000.00');
    const officer = await t.as('officer2').post(`/api/v1/approvals/${id}/approve`);
    expect(officer.statusCode).toBe(403);
    expect(officer.json().error.code).toBe('approver_role_insufficient');
    expect(officer.json().error.details.eligibleRoles).toEqual(['risk_officer']);
    const risk = await t.as('risk').post(`/api/v1/approvals/${id}/approve`);
    expect(risk.statusCode).toBe(200);
  });

  it('exactly at the limit a credit officer may approve', async () => {
    const id = await propose('1000000.00');
    expect((await t.as('officer2').post(`/api/v1/approvals/${id}/approve`)).statusCode).toBe(200);
  });

  it('an admin can raise a limit; the change is audited and applies to pending proposals', async () => {
    const id = await propose('2500000.00');
    const set = await t.as('admin').inject({ method: 'PUT', url: '/api/v1/approvals/limits', payload: { actionType: 'ledger.manual_entry', currency: 'RUB', approverRole: 'credit_officer', upTo: '3000000.00' } });
    expect(set.statusCode).toBe(200);
    expect((await t.as('officer2').post(`/api/v1/approvals/${id}/approve`)).statusCode).toBe(200);
    const audit = (await t.as('auditor').get('/api/v1/audit?target=approval_limit:ledger.manual_entry:RUB:credit_officer')).json().records;
    expect(audit[0].details).toEqual({ amounts: {}, before: { upTo: '1000000.00' }, after: { upTo: '3000000.00' } });
    await t.as('admin').inject({ method: 'PUT', url: '/api/v1/approvals/limits', payload: { actionType: 'ledger.manual_entry', currency: 'RUB', approverRole: 'credit_officer', upTo: '1000000.00' } });
    expect((await t.as('admin').inject({ method: 'PUT', url: '/api/v1/approvals/limits', payload: { actionType: 'no.such.action', currency: 'RUB', approverRole: 'credit_officer', upTo: null } })).json().error.code).toBe('unknown_action_type');
  });

  it('a checker rejects (not the proposer); the proposer cancels (not a checker); decided proposals stay decided', async () => {
    const rejected = await propose();
    expect((await t.as('officer').post(`/api/v1/approvals/${rejected}/reject`, { reason: 'mine' })).json().error.code).toBe('approver_is_proposer');
    const rejection = await t.as('officer2').post(`/api/v1/approvals/${rejected}/reject`, { reason: 'no supporting document' });
    expect(rejection.json()).toMatchObject({ status: 'rejected', decisionReason: 'no supporting document' });
    expect((await t.as('risk').post(`/api/v1/approvals/${rejected}/approve`)).json().error.code).toBe('approval_not_pending');

    const cancelled = await propose();
    expect((await t.as('officer2').post(`/api/v1/approvals/${cancelled}/cancel`, { reason: 'not mine' })).json().error.code).toBe('not_proposer');
    expect((await t.as('officer').post(`/api/v1/approvals/${cancelled}/cancel`, { reason: 'typo' })).json().status).toBe('cancelled');
  });

  it('an approval retried with the same key replays; with a new key it is refused as decided', async () => {
    const id = await propose();
    const first = await t.as('officer2').inject({ method: 'POST', url: `/api/v1/approvals/${id}/approve`, headers: { 'idempotency-key': 'approve-once' } });
    const before = await entries();
    const retry = await t.as('officer2').inject({ method: 'POST', url: `/api/v1/approvals/${id}/approve`, headers: { 'idempotency-key': 'approve-once' } });
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual(first.json());
    const again = await t.as('officer2').post(`/api/v1/approvals/${id}/approve`);
    expect(again.statusCode).toBe(409);
    expect(await entries()).toBe(before);
  });

  it('two approvers at once: the action is applied exactly once', async () => {
    const id = await propose();
    const before = await entries();
    const [a, b] = await Promise.all([t.as('officer2').post(`/api/v1/approvals/${id}/approve`), t.as('risk').post(`/api/v1/approvals/${id}/approve`)]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    expect(await entries()).toBe(before + 1);
  });

  it.skipIf(testDatabaseUrl === undefined)('two approvers on separate connection pools racing on real PostgreSQL: applied exactly once', async () => {
    const other = await t.test.openAnother(); // closed with the test database
    for (let round = 0; round < 10; round += 1) {
      const id = BigInt(await propose());
      const before = await entries();
      const results = await Promise.all([
        transactOutcome(t.test.db, (tx) => approve(tx, t.app.context.approvals, id, { user: t.as('officer2').user }, new Date())),
        transactOutcome(other, (tx) => approve(tx, t.app.context.approvals, id, { user: t.as('risk').user }, new Date())),
      ]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      const loser = results.find((r) => !r.ok);
      expect(loser !== undefined && !loser.ok ? loser.error.code : 'none').toBe('approval_not_pending');
      expect(await entries()).toBe(before + 1);
      const posted = await t.test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM ledger_entries WHERE idempotency_key = $1', [`approval-${id}`]);
      expect(posted[0]?.n).toBe(1n);
    }
  });

  it('every step is in the audit trail: proposal, approval, the posting', async () => {
    const id = await propose();
    const approved = await t.as('officer2').post(`/api/v1/approvals/${id}/approve`);
    const records = (await t.as('auditor').get(`/api/v1/audit?target=approval:${id}`)).json().records;
    expect(records.map((r: { action: string; actor: string }) => [r.action, r.actor])).toEqual([
      ['ledger.entry.propose', 'officer'],
      ['approval.approve.ledger.manual_entry', 'officer2'],
    ]);
    const posting = (await t.as('auditor').get(`/api/v1/audit?target=ledger_entry:${approved.json().result.entryId}`)).json().records;
    expect(posting[0]).toMatchObject({ action: 'ledger.entry.post', actor: 'officer2', requestId: approved.headers['x-request-id'] });
  });
});
