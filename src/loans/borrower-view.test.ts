import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCycle } from '../prices/price-repository.js';
import { RiskEngine } from '../risk/risk-engine.js';
import { PgRiskStore } from '../risk/risk-store.js';
import { bankCalendar } from '../calendar/load.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { originate, seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';
import { nextState } from '../risk/ladder.js';
import { reconcileLoans } from './views.js';

/**
 * The miner's own view (issue 16, item 15): a borrower reads its own loans through the staff routes
 * (anyone else's are 404), declares a top-up, is told what cures a call, and gets its money back:
 * an overpayment by a refund order under four eyes, a payment to a closed loan from suspense.
 */

let stub: HttpStub;
let t: TestApp;
let ref: string;
let other: string;
const kop = (text: string) => BigInt(text.replace('.', ''));

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp();
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
  ref = (await originate(t, { borrower: 'B-1', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25' })).ref;
  other = (await originate(t, { borrower: 'B-2', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25' })).ref;
}, 120_000);
afterAll(async () => {
  await t.close();
  await stub.close();
});

describe('a borrower reads its own loans', () => {
  it('through the same routes as staff; another borrower\'s are not there (404)', async () => {
    for (const path of ['', '/schedule', '/balances', '/statement', '/collateral', '/events']) {
      const own = await t.as('borrower1').get(`/api/v1/loans/${ref}${path}`);
      expect(own.statusCode, `${path}: ${own.body}`).toBe(200);
      expect((await t.as('borrower2').get(`/api/v1/loans/${ref}${path}`)).statusCode, path).toBe(404);
      expect((await t.as('borrower1').get(`/api/v1/loans/${other}${path}`)).statusCode, path).toBe(404);
    }
    expect((await t.as('borrower1').get(`/api/v1/loans/${ref}`)).json()).toMatchObject({ ref, status: 'active', balances: { principal: '1000000.00' }, defaultReview: null });
  });

  it('declares a top-up of its own loan, which treasury then confirms under four eyes', async () => {
    const declared = await t.as('borrower1').post(`/api/v1/loans/${ref}/collateral`, { btc: '0.05' });
    expect(declared.statusCode, declared.body).toBe(201);
    expect((await t.as('borrower1').post(`/api/v1/loans/${other}/collateral`, { btc: '0.05' })).statusCode).toBe(404);
    const positions = (await t.as('borrower1').get(`/api/v1/loans/${ref}/collateral`)).json().positions;
    expect(positions.find((p: { id: string }) => p.id === declared.json().positionId)).toMatchObject({ state: 'pending', btc: '0.05000000' });
    const [record] = (await t.as('auditor').get(`/api/v1/audit?requestId=${declared.headers['x-request-id']}`)).json().records;
    expect(record).toMatchObject({ actor: 'borrower1', action: 'collateral.declare', target: `loan:${ref}`, details: { amounts: { BTC: '0.05000000' } } });
  });
});

describe('a call says what cures it', () => {
  it('the BTC to add and the roubles to repay, to the target and out of the call, exactly', async () => {
    const engine = new RiskEngine(t.test.db, new PgRiskStore(t.test.db, await bankCalendar()));
    await engine.rebuild();
    // 1,000,000 against 0.25 BTC: 72% at 5,555,555.55 RUB/BTC (a margin call at 70%).
    await t.test.db.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, reasons, inputs) VALUES ('live', now(), 555555555, 555555555, 'normal', '{}', '[]')`);
    await engine.onCycle((await latestCycle(t.test.db, 'live'))!);
    const view = (await t.as('borrower2').get('/api/v1/borrowers/B-2/risk')).json();
    const loan = view.loans.find((l: { loan: string }) => l.loan === other);
    expect(loan.state).toBe('margin_call');
    expect(loan.cure).toMatchObject({ atPrice: '5555555.55', toTarget: { ltvPercent: '50' }, toLeaveCall: { belowLtvPercent: '65' } });
    const ladder = { warning: 600_000n, marginCall: 700_000n, acceleratedCall: 750_000n, liquidation: 800_000n, band: 50_000n, haircut: 0n };
    const debt = kop(loan.debt);
    const sats = kop(loan.collateral);
    const add = kop(loan.cure.toLeaveCall.addBtc);
    expect(nextState('margin_call', { debt, sats: sats + add }, 555_555_555n, ladder)).toBe('warning');
    expect(nextState('margin_call', { debt, sats: sats + add - 1n }, 555_555_555n, ladder)).toBe('margin_call');
    const repay = kop(loan.cure.toLeaveCall.repayRub);
    expect(nextState('margin_call', { debt: debt - repay, sats }, 555_555_555n, ladder)).toBe('warning');
    expect(kop(loan.cure.toTarget.addBtc)).toBeGreaterThan(add);
    await t.test.db.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, reasons, inputs) VALUES ('live', now(), 800000000, 800000000, 'normal', '{}', '[]')`);
    await engine.onCycle((await latestCycle(t.test.db, 'live'))!);
  });
});

describe('the borrower\'s money', () => {
  it('shows the settlement account and what may be refunded; an overpayment goes back by a refund order a second treasurer approves', async () => {
    const paid = await t.as('treasury').post(`/api/v1/loans/${ref}/repayments`, { reference: 'OVER-1', amount: '200000.00' });
    expect(paid.statusCode, paid.body).toBe(201);
    const money = (await t.as('borrower1').get('/api/v1/borrowers/B-1/money')).json();
    expect(money).toMatchObject({ settlement: '200000.00', dueNow: '0.00' });
    // The next instalment stays; the rest may be refunded.
    expect(kop(money.refundable)).toBe(20_000_000n - kop(money.nextInstalments));
    expect((await t.as('borrower2').get('/api/v1/borrowers/B-1/money')).statusCode).toBe(404);
    const tooMuch = await t.as('treasury').post('/api/v1/borrowers/B-1/refunds', { amount: '200000.00', reason: 'overpayment' });
    expect([tooMuch.statusCode, tooMuch.json().error.code]).toEqual([409, 'insufficient_funds']);
    const proposal = await t.as('treasury').post('/api/v1/borrowers/B-1/refunds', { amount: money.refundable, reason: 'overpayment returned at the borrower\'s request' });
    expect(proposal.statusCode, proposal.body).toBe(202);
    expect(proposal.json().amounts).toEqual({ RUB: money.refundable });
    expect((await t.as('treasury').post(`/api/v1/approvals/${proposal.json().id}/approve`)).json().error.code).toBe('approver_is_proposer');
    const approved = await t.as('treasury2').post(`/api/v1/approvals/${proposal.json().id}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    const after = (await t.as('borrower1').get('/api/v1/borrowers/B-1/money')).json();
    expect(after).toMatchObject({ settlement: money.nextInstalments, refundable: '0.00', refunds: [{ amount: money.refundable }] });
    expect(await reconcileLoans(t.test.db)).toEqual([]);
  });

  it('a payment to a closed loan is held in suspense with its reason, not refused, and returned from there under four eyes', async () => {
    const owed = (await t.as('officer').get(`/api/v1/loans/${other}`)).json().balances.total;
    expect((await t.as('treasury').post(`/api/v1/loans/${other}/repayments`, { reference: 'CLOSE-2', amount: owed })).statusCode).toBe(201);
    const closed = await t.as('officer').post(`/api/v1/loans/${other}/prepayments`, { mode: 'smaller_instalment' });
    expect(closed.statusCode, closed.body).toBe(201);
    // The repayment day's interest came on top: pay it in first if the account is short.
    if (closed.json().status !== 'closed') throw new Error(closed.body);
    const late = await t.as('treasury').post(`/api/v1/loans/${other}/repayments`, { reference: 'LATE-2', amount: '5000.00' });
    expect(late.statusCode, late.body).toBe(201);
    expect(late.json()).toMatchObject({ status: 'closed', heldInSuspense: { reason: expect.stringMatching(/was closed on/) } });
    const money = (await t.as('borrower2').get('/api/v1/borrowers/B-2/money')).json();
    const item = money.suspense.find((s: { reference: string }) => s.reference === 'LATE-2');
    expect(item).toMatchObject({ amount: '5000.00', status: 'open', loan: other });
    const proposal = await t.as('treasury').post(`/api/v1/suspense-items/${item.id}/refund`, { reason: 'paid after the loan closed' });
    expect(proposal.statusCode, proposal.body).toBe(202);
    expect((await t.as('treasury2').post(`/api/v1/approvals/${proposal.json().id}/approve`)).statusCode).toBe(200);
    expect((await t.as('borrower2').get('/api/v1/borrowers/B-2/money')).json().suspense.find((s: { reference: string }) => s.reference === 'LATE-2').status).toBe('refunded');
    const again = await t.as('treasury').post(`/api/v1/suspense-items/${item.id}/refund`, { reason: 'twice' });
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'suspense_not_open']);
    expect(await reconcileLoans(t.test.db)).toEqual([]);
  });
});
