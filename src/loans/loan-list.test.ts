import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankCalendar } from '../calendar/load.js';
import { latestCycle } from '../prices/price-repository.js';
import { RiskEngine } from '../risk/risk-engine.js';
import { PgRiskStore } from '../risk/risk-store.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { originate, seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';

/**
 * The staff's loan list (GET /loans, issue 17): what a row carries, newest first, paged by the
 * last id seen, and every filter alone and combined (each combination is its own prepared
 * statement, so each is tried).
 */

let stub: HttpStub;
let t: TestApp;
let first: string;
let second: string;

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp();
  await fixedPriceService(t.test.db, stub, '100000.00');
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
  first = (await originate(t, { borrower: 'B-1', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25' })).ref;
  second = (await originate(t, { borrower: 'B-2', amount: '500000.00', months: 6, type: 'bullet', collateral: '0.25' })).ref;
  const engine = new RiskEngine(t.test.db, new PgRiskStore(t.test.db, await bankCalendar()));
  await engine.rebuild();
  await engine.onCycle((await latestCycle(t.test.db, 'live'))!);
}, 120_000);
afterAll(async () => {
  await t.close();
  await stub.close();
});

const list = async (query: string) => {
  const answer = await t.as('officer').get(`/api/v1/loans?${query}`);
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json() as { loans: Array<Record<string, unknown> & { ref: string }>; nextAfterId: string | null };
};

describe('the loan list', () => {
  it('shows each loan with its borrower, terms, what is owed and its place on the ladder', async () => {
    const { loans } = await list('limit=10');
    expect(loans.map((l) => l.ref)).toEqual([second, first]);
    const detail = (await t.as('officer').get(`/api/v1/loans/${first}`)).json();
    expect(loans[1]).toEqual({
      ref: first, status: 'active', borrower: { ref: 'B-1', name: 'Farm B-1' }, product: { code: 'FIX', version: 1 },
      amount: '1000000.00', months: 12, ratePercent: '23.5', disbursedOn: '2025-03-17', maturityOn: detail.maturityOn, overdueSince: null,
      balances: { total: detail.balances.total, overdue: '0.00' },
      risk: { state: 'healthy', debt: expect.stringMatching(/^\d+\.\d{2}$/), collateral: '0.25000000', equipment: '0.00', callDeadline: null },
    });
  });

  it('pages newest first by the last id seen', async () => {
    const page1 = await list('limit=1');
    expect(page1.loans.map((l) => l.ref)).toEqual([second]);
    expect(page1.nextAfterId).not.toBeNull();
    const page2 = await list(`limit=1&afterId=${page1.nextAfterId}`);
    expect(page2.loans.map((l) => l.ref)).toEqual([first]);
    expect(page2.nextAfterId).toBeNull();
  });

  it('filters by status, borrower, risk state and a search, alone and together', async () => {
    const refs = async (query: string) => (await list(query)).loans.map((l) => l.ref);
    expect(await refs('status=active')).toEqual([second, first]);
    expect(await refs('status=closed')).toEqual([]);
    expect(await refs('borrower=B-2')).toEqual([second]);
    expect(await refs('state=healthy')).toEqual([second, first]);
    expect(await refs('state=margin_call')).toEqual([]);
    expect(await refs('q=B-1')).toEqual([first]);
    expect(await refs(`q=${first}`)).toEqual([first]);
    expect(await refs('status=active&borrower=B-1&state=healthy&q=B-1')).toEqual([first]);
    expect(await refs('status=active&borrower=B-2&q=B-1')).toEqual([]);
    const page1 = await list('status=active&limit=1');
    expect((await list(`status=active&limit=1&afterId=${page1.nextAfterId}`)).loans.map((l) => l.ref)).toEqual([first]);
  });

  it('is for staff only', async () => {
    expect((await t.as('borrower1').get('/api/v1/loans')).statusCode).toBe(403);
  });
});
