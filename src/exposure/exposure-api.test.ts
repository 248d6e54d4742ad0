import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';
import { MARKET_PRODUCT_2026 } from '../loans/product.js';
import { wholeMonthsBetween } from '../loans/origination.js';

/**
 * The exposure check before every loan (issue 20), through the API: the offer shows each limit
 * before and after, a loan above a soft limit needs a risk officer, one above a hard limit is
 * refused with the reason even when its offer was within (the book moved), and rules changed
 * later leave the record of a past decision as it was.
 *
 * Tier 1 capital here is 100,000,000.00 RUB: the crypto book's default limits are 1% soft
 * (1,000,000.00) and 2% hard (2,000,000.00); each loan's commitment is its amount plus the 1% fee.
 */

let stub: HttpStub;
let t: TestApp;

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp();
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'], tier1: '100000000.00' });
  // Both borrowers are in Moscow (77): a region limit wider than the book's, so the book's binds.
  await approveRule('/api/v1/exposure/limits', { effectiveFrom: '2025-01-01', kind: 'region', softPercent: '5', hardPercent: '10', legalBasis: 'credit policy 2025', reason: 'test: regions wide' });
}, 120_000);
afterAll(async () => {
  await t.close();
  await stub.close();
});

async function approveRule(url: string, body: Record<string, unknown>) {
  const proposal = await t.as('risk').post(url, body);
  expect(proposal.statusCode, proposal.body).toBe(202);
  const approved = await t.as('risk2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
  expect(approved.statusCode, approved.body).toBe(200);
  return approved.json();
}

async function apply(borrower: string, amount: string) {
  const applied = await t.as('officer').post(`/api/v1/borrowers/${borrower}/loan-applications`, { product: 'FIX', amount, months: 12, repaymentType: 'annuity', collateral: '0.5' });
  expect(applied.statusCode, applied.body).toBe(201);
  return applied.json() as { applicationId: string; offer: { offerId: string; approvable: boolean; blockingReasons: string[]; exposure: { decision: string; lines: { kind: string; before: string; after: string; beforePercent: string; afterPercent: string; judgement: string }[]; reasons: string[] } } };
}

async function propose(applicationId: string, offerId: string) {
  const proposal = await t.as('officer').post(`/api/v1/loan-applications/${applicationId}/approval`, { offerId });
  expect(proposal.statusCode, proposal.body).toBe(202);
  return proposal.json().id as string;
}

let first: string;
const put = (url: string, payload: unknown) => t.as('risk').inject({ method: 'PUT', url, payload: payload as object });

describe('the exposure check before a loan', () => {
  it('shows the book and each limit before and after the loan in the offer, and a loan within every limit is approved as before', async () => {
    const { applicationId, offer } = await apply('B-1', '800000.00');
    first = applicationId;
    expect(offer.exposure.decision).toBe('within');
    expect(offer.exposure.lines.find((l) => l.kind === 'crypto_book')).toMatchObject({ before: '0.00', after: '808000.00', beforePercent: '0.00', afterPercent: '0.81', judgement: 'within' });
    expect(offer.exposure.lines.find((l) => l.kind === 'borrower')).toMatchObject({ after: '808000.00', judgement: 'within' });
    expect(offer.exposure.lines.find((l) => l.kind === 'region')).toMatchObject({ afterPercent: '0.81' });
    expect(offer.exposure.lines.some((l) => l.kind === 'group')).toBe(false); // B-1 is in no group
    const approved = await t.as('officer2').post(`/api/v1/approvals/${await propose(applicationId, offer.offerId)}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
  });

  it('above a soft limit needs a risk officer: a second credit officer is refused, a risk officer approves', async () => {
    const { applicationId, offer } = await apply('B-1', '300000.00');
    expect(offer.exposure.decision).toBe('soft');
    expect(offer.approvable).toBe(true);
    expect(offer.exposure.reasons[0]).toContain('the crypto book would be 1.12% of Tier 1 capital, above its soft limit of 1.00%');
    const id = await propose(applicationId, offer.offerId);
    const refused = await t.as('officer2').post(`/api/v1/approvals/${id}/approve`, {});
    expect(refused.statusCode, refused.body).toBe(403);
    expect(refused.json().error.code, refused.body).toBe('exposure_needs_risk_officer');
    const approved = await t.as('risk').post(`/api/v1/approvals/${id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    const checks = (await t.as('auditor').get(`/api/v1/loan-applications/${applicationId}/exposure-checks`)).json().checks;
    expect(checks.map((c: { stage: string; decision: string; by: string }) => [c.stage, c.decision, c.by])).toEqual([['offer', 'soft', 'officer'], ['approval', 'soft', 'risk']]);
  });

  it('refuses at approval a loan that would cross a hard limit, with the reason, though its offer was within when made', async () => {
    // The book holds 1,111,000.00; this one adds 858,500.00 (1.97%), under the hard 2%.
    const late = await apply('B-2', '850000.00');
    expect(late.offer.exposure.decision).toBe('soft');
    const lateProposal = await propose(late.applicationId, late.offer.offerId);
    // Meanwhile another loan is approved (101,000.00): the book is 1,212,000.00.
    const small = await apply('B-1', '100000.00');
    expect((await t.as('risk').post(`/api/v1/approvals/${await propose(small.applicationId, small.offer.offerId)}/approve`, {})).statusCode).toBe(200);
    const refused = await t.as('risk').post(`/api/v1/approvals/${lateProposal}/approve`, {});
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().error.code).toBe('exposure_limit_exceeded');
    expect(refused.json().error.message).toContain('the crypto book would be 2.08% of Tier 1 capital, above its hard limit of 2.00%');
    // Nothing changed: the application is still open and no loan was made for it.
    expect((await t.test.db.query<{ status: string }>('SELECT status FROM loan_applications WHERE id = $1', [BigInt(late.applicationId)]))[0]!.status).toBe('offered');
    // A new offer now says so and cannot be approved.
    const again = await apply('B-2', '850000.00');
    expect(again.offer.exposure.decision).toBe('hard');
    expect(again.offer.approvable).toBe(false);
    expect(again.offer.blockingReasons.join()).toContain('above its hard limit of 2.00%');
  });

  it('keeps a past decision\'s record as it was when the limits change later', async () => {
    const before = (await t.as('auditor').get(`/api/v1/loan-applications/${first}/exposure-checks`)).json().checks;
    expect(before).toHaveLength(2);
    await approveRule('/api/v1/exposure/limits', { effectiveFrom: '2025-03-17', kind: 'crypto_book', softPercent: '0.5', hardPercent: '3', legalBasis: 'Bank of Russia letter (test)', reason: 'tighter soft, wider hard' });
    expect((await t.as('auditor').get(`/api/v1/loan-applications/${first}/exposure-checks`)).json().checks).toEqual(before);
    expect(before[1].figures.lines.find((l: { kind: string }) => l.kind === 'crypto_book')).toMatchObject({ softBps: 100, hardBps: 200 });
    const rules = (await t.as('risk').get('/api/v1/exposure/rules')).json();
    expect(rules.inForce.limits.find((l: { kind: string }) => l.kind === 'crypto_book')).toMatchObject({ softPercent: '0.50', hardPercent: '3.00', effectiveFrom: '2025-03-17' });
    expect(rules.history.limits.filter((l: { kind: string }) => l.kind === 'crypto_book').map((l: { softBps: number; hardBps: number }) => [l.softBps, l.hardBps])).toEqual([[50, 300], [100, 200]]);
    // On the day before the change, the old limit is the one in force.
    expect((await t.as('risk').get('/api/v1/exposure/rules?day=2025-03-16')).json().inForce.limits.find((l: { kind: string }) => l.kind === 'crypto_book')).toMatchObject({ softPercent: '1.00' });
    // The new rule applies to new offers: B-2's loan now fits under the hard 3%.
    expect((await apply('B-2', '850000.00')).offer.exposure.decision).toBe('soft');
  });

  it('measures a group of connected borrowers together', async () => {
    expect((await t.as('risk').post('/api/v1/borrower-groups', { ref: 'FARMS', name: 'Farms of one owner', basis: 'one beneficial owner (test)' })).statusCode).toBe(201);
    for (const ref of ['B-1', 'B-2']) expect((await put(`/api/v1/borrowers/${ref}/group`, { group: 'FARMS', reason: 'common owner' })).statusCode).toBe(200);
    const { offer } = await apply('B-2', '100000.00');
    // B-2 has nothing out; the group has B-1's 1,212,000.00.
    expect(offer.exposure.lines.find((l) => l.kind === 'borrower')).toMatchObject({ before: '0.00' });
    expect(offer.exposure.lines.find((l) => l.kind === 'group')).toMatchObject({ before: '1212000.00', after: '1313000.00', afterPercent: '1.32' });
    expect((await put('/api/v1/borrowers/B-2/group', { group: 'NOPE', reason: 'x' })).statusCode).toBe(404);
  });

  it('shows the book against every limit, computed now and by day, with the stress figures', async () => {
    const computed = await t.as('risk').post('/api/v1/exposure/snapshots', {});
    expect(computed.statusCode, computed.body).toBe(201);
    const snapshot = computed.json();
    expect(snapshot).toMatchObject({ book: '1212000.00', bookPercent: '1.22', loans: 3, borrowers: 1, capital: { tier1: '100000000.00' } });
    // 1,250% on the whole book: 15,150,000.00.
    expect(snapshot.riskWeighted).toBe('15150000.00');
    expect(snapshot.limits.find((l: { kind: string }) => l.kind === 'crypto_book')).toMatchObject({ softPercent: '0.50', hardPercent: '3.00', judgement: 'soft' });
    expect(snapshot.limits.find((l: { kind: string }) => l.kind === 'group')).toMatchObject({ largest: { key: 'FARMS', amount: '1212000.00' }, overSoft: 0 });
    expect(snapshot.stress.map((s: { shockPercent: string }) => s.shockPercent)).toEqual(['20', '35', '50', '70']);
    expect((await t.as('auditor').get('/api/v1/exposure')).json().snapshot.id).toBe(snapshot.id);
    const history = (await t.as('auditor').get('/api/v1/exposure/history?from=2025-03-01&to=2025-03-31')).json().days;
    expect(history.at(-1)).toMatchObject({ businessDate: '2025-03-17', book: '1212000.00' });
    expect((await t.as('borrower1').get('/api/v1/exposure')).statusCode).toBe(403);
    expect((await t.as('officer').post('/api/v1/exposure/limits', { effectiveFrom: '2025-01-01', kind: 'borrower', softPercent: '1', hardPercent: '2', legalBasis: 'x y z', reason: 'r' })).statusCode).toBe(403);
    const wrong = await t.as('risk').post('/api/v1/exposure/limits', { effectiveFrom: '2025-01-01', kind: 'borrower', softPercent: '3', hardPercent: '2', legalBasis: 'x y z', reason: 'r' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.code).toBe('invalid_rule');
  });
});

describe('the market\'s product rules', () => {
  it('lends under the published product only to a company registered at least a year, at the key rate + 7, with half the BTC discounted', async () => {
    expect((await t.as('admin').post('/api/v1/loan-products', { code: 'KEY7', terms: MARKET_PRODUCT_2026 })).statusCode).toBe(201);
    const rate = await t.as('risk').inject({ method: 'PUT', url: '/api/v1/key-rates/2025-02-14', payload: { percent: '21', source: 'Bank of Russia' } });
    expect(rate.statusCode, rate.body).toBe(200);
    const apply = () => t.as('officer').post('/api/v1/borrowers/B-1/loan-applications', { product: 'KEY7', amount: '100000.00', months: 24, repaymentType: 'annuity', collateral: '0.5' });
    const unknown = await apply();
    expect(unknown.statusCode, unknown.body).toBe(422);
    expect(unknown.json().error.code).toBe('borrower_age_unknown');
    const today = new Date().toISOString().slice(0, 10);
    const monthsAgo = (n: number) => { const d = new Date(`${today}T00:00:00Z`); d.setUTCMonth(d.getUTCMonth() - n); return d.toISOString().slice(0, 10); };
    await t.test.db.query(`UPDATE borrowers SET registered_on = $1 WHERE ref = 'B-1'`, [monthsAgo(11)]);
    const young = await apply();
    expect(young.statusCode, young.body).toBe(422);
    expect(young.json().error).toMatchObject({ code: 'borrower_too_young', details: { months: 11, required: 12 } });
    await t.test.db.query(`UPDATE borrowers SET registered_on = $1 WHERE ref = 'B-1'`, [monthsAgo(12)]);
    const made = await apply();
    expect(made.statusCode, made.body).toBe(201);
    const offer = made.json().offer;
    expect(offer).toMatchObject({ ratePercent: '28', keyRatePercent: '21' });
    // 100,000.00 at origination LTV 50% on BTC discounted by half, at 8,000,000.00 RUB/BTC: 0.05 BTC.
    expect(offer.collateralRequired).toBe('0.05000000');
    const long = await t.as('officer').post('/api/v1/borrowers/B-1/loan-applications', { product: 'KEY7', amount: '100000.00', months: 25, repaymentType: 'annuity', collateral: '0.5' });
    expect(long.json().error.code).toBe('term_out_of_range');
    expect((await t.as('admin').post('/api/v1/loan-products', { code: 'BAD-AGE', terms: { ...MARKET_PRODUCT_2026, borrowerMinAgeMonths: 0 } })).statusCode).toBe(400);
  });

  it('counts whole months from registration to the day', () => {
    expect(wholeMonthsBetween('2025-01-15', '2026-01-14')).toBe(11);
    expect(wholeMonthsBetween('2025-01-15', '2026-01-15')).toBe(12);
    expect(wholeMonthsBetween('2025-01-31', '2025-02-28')).toBe(0);
    expect(wholeMonthsBetween('2026-03-01', '2026-02-01')).toBe(-1);
  });
});
