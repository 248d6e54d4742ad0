import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { fixedPriceService } from '../test-support/prices.js';
import { originate, seedLendingWorld } from '../test-support/loans.js';
import { DEFAULT_PRODUCT } from './product.js';
import { runEod } from './eod.js';
import { reconcileLoans } from './views.js';
import { raiseComplianceEvent } from '../compliance/events.js';

let stub: HttpStub;
let t: TestApp;

const kop = (text: string) => BigInt(text.replace('.', ''));
const rub = (k: bigint) => `${k / 100n}.${(k % 100n).toString().padStart(2, '0')}`;
const eod = (day: string) => runEod(t.test.db, day, { now: new Date() });
const loan = async (ref: string) => (await t.as('officer').get(`/api/v1/loans/${ref}`)).json();
const schedule = async (ref: string) => (await t.as('officer').get(`/api/v1/loans/${ref}/schedule`)).json();
const repay = (ref: string, reference: string, amount: string) => t.as('treasury').post(`/api/v1/loans/${ref}/repayments`, { reference, amount });
const expectBooksAgree = async () => expect(await reconcileLoans(t.test.db)).toEqual([]);

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp();
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
}, 60_000);
afterAll(async () => {
  await t.close();
  await stub.close();
});

describe('application and offer', () => {
  it('offers the schedule, the cost, and the collateral the origination LTV asks at the current price', async () => {
    const applied = await t.as('borrower1').post('/api/v1/borrowers/B-1/loan-applications', { product: 'FIX', amount: '1000000.00', months: 12, repaymentType: 'annuity', collateral: '0.25000000' });
    expect(applied.statusCode, applied.body).toBe(201);
    const { offer } = applied.json();
    // 1,000,000 RUB at 50% of 8,000,000 RUB/BTC: 0.25 BTC.
    expect(offer).toMatchObject({ plannedStart: '2025-03-17', ratePercent: '23.5', fee: '10000.00', price: '8000000.00', collateralRequired: '0.25000000', blockingReasons: [], approvable: true, fullCostOfCredit: null });
    expect(offer.schedule.lines).toHaveLength(12);
    expect(offer.schedule.totals.principal).toBe('1000000.00');
    expect(kop(offer.totalCost)).toBe(kop(offer.totalInterest) + 1_000_000n);
    expect(offer.compliance.blocking).toBe(false);
    expect(offer.underwriting.recommendation).toBe('approve');
  });

  it('blocks an offer whose stated pledge is short, and refuses amounts and terms outside the product', async () => {
    const short = await t.as('officer').post('/api/v1/borrowers/B-1/loan-applications', { product: 'FIX', amount: '1000000.00', months: 12, repaymentType: 'annuity', collateral: '0.24999999' });
    expect(short.json().offer.blockingReasons.join(' ')).toMatch(/0\.24999999, is below the 0\.25000000 the origination LTV/);
    const proposal = await t.as('officer').post(`/api/v1/loan-applications/${short.json().applicationId}/approval`, { offerId: short.json().offer.offerId });
    expect(proposal.statusCode).toBe(409);
    expect(proposal.json().error.code).toBe('offer_blocked');
    const tooBig = await t.as('officer').post('/api/v1/borrowers/B-1/loan-applications', { product: 'FIX', amount: '30000000.01', months: 12, repaymentType: 'annuity', collateral: '10' });
    expect([tooBig.statusCode, tooBig.json().error.code]).toEqual([400, 'amount_out_of_range']);
    const tooLong = await t.as('officer').post('/api/v1/borrowers/B-1/loan-applications', { product: 'FIX', amount: '1000000.00', months: 25, repaymentType: 'annuity', collateral: '1' });
    expect(tooLong.json().error.code).toBe('term_out_of_range');
    for (const amount of ['1000000.001', 1000000.5, '-1000000.00', 'NaN', '1e6']) {
      const bad = await t.as('officer').post('/api/v1/borrowers/B-1/loan-applications', { product: 'FIX', amount, months: 12, repaymentType: 'annuity', collateral: '1' });
      expect(bad.statusCode, String(amount)).toBe(400);
    }
    const [count] = await t.test.db.query<{ n: bigint }>('SELECT count(*)::int8 AS n FROM loan_applications WHERE amount_kopecks > 3000000000');
    expect(count!.n).toBe(0n); // refusals changed nothing
  });

  it('gives an individual the full cost of credit (353-FZ art. 6) with three decimals', async () => {
    expect((await t.as('admin').post('/api/v1/loan-products', { code: 'PERSONAL', terms: { ...DEFAULT_PRODUCT, borrowerKinds: ['individual'], rate: { kind: 'fixed', percent: '20' }, waterfall: ['interest_overdue', 'principal_overdue', 'penalty', 'interest', 'principal', 'fee'] } })).statusCode).toBe(201);
    expect((await t.as('officer').post('/api/v1/borrowers', { ref: 'P-1', kind: 'individual', name: 'Ivan Petrov', inn: '500100732259', regionCode: '50', address: 'Moscow region' })).statusCode).toBe(201);
    const applied = await t.as('officer').post('/api/v1/borrowers/P-1/loan-applications', { product: 'PERSONAL', amount: '500000.00', months: 12, repaymentType: 'annuity', collateral: '0.125' });
    expect(applied.statusCode, applied.body).toBe(201);
    const { offer } = applied.json();
    // 20% nominal, monthly instalments, 1% fee withheld: above 20%, and shown with three decimals.
    expect(offer.fullCostOfCredit.percent).toMatch(/^2[1-2]\.\d{3}$/);
    expect(offer.fullCostOfCredit.money).toBe(offer.totalCost);
    // P-1 has no machines: the offer's own underwriting cannot decide, says why, and blocks approval.
    expect(offer.blockingReasons.join(' ')).toMatch(/underwriting could not decide: the borrower has no machines recorded/);
  });

  it('an individual\'s loan settles debts in the law\'s order whatever its product says (353-FZ art. 5 part 20)', async () => {
    // A product for individuals that puts its fees before current interest: allowed as a product...
    const order = ['interest_overdue', 'principal_overdue', 'penalty', 'fee', 'interest', 'principal'];
    expect((await t.as('admin').post('/api/v1/loan-products', { code: 'PERSONAL-FEE', terms: { ...DEFAULT_PRODUCT, borrowerKinds: ['individual'], rate: { kind: 'fixed', percent: '20' }, waterfall: order } })).statusCode).toBe(201);
    const officer = t.as('officer');
    const site = await officer.post('/api/v1/borrowers/P-1/sites', { name: 'Garage', regionCode: '50', municipality: 'Podolsk', powerSource: 'own', capacityKw: 10, tariffRubPerKwh: '5.00', tariffFrom: '2025-01-01' });
    expect(site.statusCode, site.body).toBe(201);
    expect((await officer.post(`/api/v1/borrowers/P-1/sites/${site.json().siteId}/machines`, { model: 'Antminer S21 XP', count: 2 })).statusCode).toBe(201);
    for (const kind of ['owns_pledged_btc', 'no_tax_debt']) await officer.post('/api/v1/borrowers/P-1/attestations', { kind, value: true });
    const report = await officer.post('/api/v1/borrowers/P-1/underwriting', { amount: '100000.00', months: 6, annualRatePercent: '20', repayment: 'annuity' });
    expect(report.json().recommendation, JSON.stringify(report.json().reasons)).not.toBe('decline');
    const applied = await officer.post('/api/v1/borrowers/P-1/loan-applications', { product: 'PERSONAL-FEE', amount: '100000.00', months: 6, repaymentType: 'annuity', collateral: '0.025' });
    expect(applied.statusCode, applied.body).toBe(201);
    expect(applied.json().offer.blockingReasons).toEqual([]);
    const proposal = await officer.post(`/api/v1/loan-applications/${applied.json().applicationId}/approval`, { offerId: applied.json().offer.offerId });
    const approved = await t.as('officer2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    // ... but the loan takes the statutory order: fees last.
    const [loan] = await t.test.db.query<Record<string, number>>('SELECT wf_interest_overdue, wf_principal_overdue, wf_penalty, wf_interest, wf_principal, wf_fee FROM loans WHERE ref = $1', [approved.json().result.loan]);
    expect(loan).toEqual({ wf_interest_overdue: 1, wf_principal_overdue: 2, wf_penalty: 3, wf_interest: 4, wf_principal: 5, wf_fee: 6 });
  });
});

describe('approval, collateral and disbursement', () => {
  it('approval takes a second officer, and a risk officer above 10,000,000.00 RUB', async () => {
    // A report made earlier for another amount (30,000,000.00) says nothing about this application:
    // the offer is underwritten for its own amount and term, now.
    expect((await t.as('officer').post('/api/v1/borrowers/B-2/underwriting', { amount: '30000000.00', months: 24, annualRatePercent: '23.5', repayment: 'annuity' })).statusCode).toBe(201);
    const applied = await t.as('officer').post('/api/v1/borrowers/B-2/loan-applications', { product: 'FIX', amount: '12000000.00', months: 12, repaymentType: 'bullet', collateral: '3' });
    const { applicationId, offer } = applied.json();
    expect(offer.blockingReasons).toEqual([]);
    expect(offer.underwriting).toMatchObject({ amount: '12000000.00', months: 12, asOf: expect.any(String), figures: { maxPrincipal: expect.any(String), crossesHalving: expect.any(Boolean) } });
    expect(JSON.stringify(offer.underwriting)).not.toContain('30000000.00');
    const report = (await t.as('auditor').get(`/api/v1/underwriting-reports/${offer.underwriting.reportId}`)).json();
    expect(report.report.inputs.terms).toMatchObject({ amount: '12000000.00', months: 12 });
    const proposal = await t.as('officer').post(`/api/v1/loan-applications/${applicationId}/approval`, { offerId: offer.offerId });
    expect(proposal.statusCode, proposal.body).toBe(202);
    expect((await t.as('officer').post(`/api/v1/approvals/${proposal.json().id}/approve`, {})).json().error.code).toBe('approver_is_proposer');
    expect((await t.as('officer2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {})).json().error.code).toBe('approver_role_insufficient');
    const approved = await t.as('risk').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    const ref = approved.json().result.loan;
    expect(await loan(ref)).toMatchObject({ status: 'approved', product: { code: 'FIX', version: 1 }, amount: '12000000.00' });
    // No collateral yet: no disbursement.
    const early = await t.as('officer').post(`/api/v1/loans/${ref}/disbursement`, {});
    expect([early.statusCode, early.json().error.code]).toEqual([409, 'collateral_insufficient']);
    // A pending deposit does not count until two treasurers confirm it with the custodian's reference.
    const declared = await t.as('treasury').post(`/api/v1/loans/${ref}/collateral`, { btc: '3' });
    expect((await t.as('officer').post(`/api/v1/loans/${ref}/disbursement`, {})).json().error.code).toBe('collateral_insufficient');
    const confirm = await t.as('treasury').post(`/api/v1/collateral-positions/${declared.json().positionId}/confirmation`, { custodianRef: 'BITGO-777' });
    expect((await t.as('treasury').post(`/api/v1/approvals/${confirm.json().id}/approve`, {})).json().error.code).toBe('approver_is_proposer');
    expect((await t.as('treasury2').post(`/api/v1/approvals/${confirm.json().id}/approve`, {})).statusCode).toBe(200);
    const disbursed = await t.as('officer').post(`/api/v1/loans/${ref}/disbursement`, {});
    expect(disbursed.statusCode, disbursed.body).toBe(201);
    expect(disbursed.json()).toMatchObject({ disbursedOn: '2025-03-17', fee: '120000.00', payout: '11880000.00', price: '8000000.00' });
    // The payment order carries the borrower's BIK and account; the settlement account is empty again.
    const [order] = await t.test.db.query<{ bik: string; amount_kopecks: bigint }>('SELECT bik, amount_kopecks FROM payment_orders WHERE loan_id = (SELECT id FROM loans WHERE ref = $1)', [ref]);
    expect(order).toMatchObject({ bik: '044525225', amount_kopecks: 1_188_000_000n });
    const balances = (await t.as('officer').get(`/api/v1/loans/${ref}/balances?asOf=2025-03-17`)).json();
    expect(balances).toMatchObject({ principal: '12000000.00', interest: '0.00', fee: '0.00', collateral: '3.00000000' });
    const collateral = (await t.as('officer').get(`/api/v1/loans/${ref}/collateral`)).json();
    expect(collateral.positions[0]).toMatchObject({ state: 'pledged', custodianRef: 'BITGO-777' });
    await expectBooksAgree();
  });
});

describe('end of day, repayments and the waterfall', () => {
  let ref: string;
  beforeAll(async () => {
    ref = (await originate(t, { amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25' })).ref;
  });

  it('paid-early-instalment-waits-then-is-collected-on-the-due-date: interest accrued daily equals the line\'s', async () => {
    const lines = (await schedule(ref)).lines;
    expect(lines[0]).toMatchObject({ dueDate: '2025-04-17', status: 'future' });
    const paid = await repay(ref, 'PP-0001', lines[0].payment);
    expect(paid.statusCode, paid.body).toBe(201);
    expect(paid.json()).toMatchObject({ leftOnSettlement: lines[0].payment, allocated: { interest: '0.00', principal: '0.00' } });
    // The same reference again is the same payment.
    const again = await repay(ref, 'PP-0001', lines[0].payment);
    expect([again.statusCode, again.json().replayed]).toEqual([200, true]);
    expect((await repay(ref, 'PP-0001', '1.00')).json().error.code).toBe('reference_reused');

    await eod('2025-04-16');
    const before = await loan(ref);
    expect(before.accruedThrough).toBe('2025-04-16');
    // 30 days of 31: a little under the line's interest
    expect(kop(before.balances.interest)).toBeLessThan(kop(lines[0].interest));
    await eod('2025-04-17');
    const after = await loan(ref);
    expect(after).toMatchObject({ status: 'active', balances: { interest: '0.00', principalOverdue: '0.00', principal: lines[0].balance } });
    const line = (await schedule(ref)).lines[0];
    expect(line).toMatchObject({ status: 'paid', interestDue: lines[0].interest });
    await expectBooksAgree();
  });

  it('overdue-then-partial-repayment-waterfall: the unpaid instalment moves to overdue the day after, bears a penalty, and a payment settles penalties, overdue interest, then overdue principal', async () => {
    const lines = (await schedule(ref)).lines;
    expect(lines[1].dueDate).toBe('2025-05-19'); // 17 May is a Saturday
    await eod('2025-05-19');
    const overdue = await loan(ref);
    expect(overdue).toMatchObject({ status: 'overdue', overdueSince: '2025-05-20', balances: { principalOverdue: lines[1].principal, interestOverdue: lines[1].interest, penalty: '0.00' } });
    await eod('2025-05-21');
    const owed = kop(lines[1].principal) + kop(lines[1].interest);
    // 0.1% a day of the overdue amount, two days, the sub-kopeck carried.
    const penalty = (owed * 1_000n * 2n) / 1_000_000n;
    const withPenalty = await loan(ref);
    expect(kop(withPenalty.balances.penalty)).toBe(penalty);

    const partial = kop(lines[1].interest) + penalty + 10_000n; // 100.00 RUB of principal
    const paid = await repay(ref, 'PP-0002', rub(partial));
    expect(paid.json()).toMatchObject({ allocated: { penalty: rub(penalty), interest_overdue: lines[1].interest, principal_overdue: '100.00', interest: '0.00', principal: '0.00' }, leftOnSettlement: '0.00', status: 'overdue' });
    const view = (await schedule(ref)).lines[1];
    expect(view).toMatchObject({ status: 'overdue', overdue: { principal: rub(kop(lines[1].principal) - 10_000n), interest: '0.00' } });
    const rest = await repay(ref, 'PP-0003', rub(kop(lines[1].principal) - 10_000n + 5_000n));
    expect(rest.json()).toMatchObject({ status: 'active', leftOnSettlement: '50.00' });
    expect((await schedule(ref)).lines[1].status).toBe('paid');
    await expectBooksAgree();
  });

  it('balances as of a past day come from the ledger, with the accounts behind them', async () => {
    const then = (await t.as('officer').get(`/api/v1/loans/${ref}/balances?asOf=2025-05-20`)).json();
    const lines = (await schedule(ref)).lines;
    expect(then).toMatchObject({ principalOverdue: lines[1].principal, interestOverdue: lines[1].interest, accounts: { principal: `loan_principal:${ref}` } });
    const statement = (await t.as('officer').get(`/api/v1/loans/${ref}/statement?account=penalty_receivable`)).json();
    expect(statement.entries.map((e: { kind: string }) => e.kind)).toEqual(['eod', 'eod', 'repayment_allocation']);
  });

  it('prepayment-shorter-term: the instalment stays and the loan ends sooner; smaller-instalment keeps the dates', async () => {
    await eod('2025-06-02');
    const before = (await schedule(ref)).lines;
    await repay(ref, 'PP-0004', '300000.00');
    const shorter = await t.as('officer').post(`/api/v1/loans/${ref}/prepayments`, { amount: '250000.00', mode: 'shorter_term' });
    expect(shorter.statusCode, shorter.body).toBe(201);
    const after = await schedule(ref);
    expect(after.version).toBe(2);
    expect(after.lines.length).toBeLessThan(before.length);
    expect(after.lines[2].payment).toBe(before[2].payment);
    expect(after.lines.slice(0, 2)).toEqual(before.slice(0, 2)); // the past is kept
    const smaller = await t.as('officer').post(`/api/v1/loans/${ref}/prepayments`, { amount: '50000.00', mode: 'smaller_instalment' });
    expect(smaller.statusCode, smaller.body).toBe(201);
    const last = await schedule(ref);
    expect(last.lines.length).toBe(after.lines.length);
    expect(kop(last.lines[3].payment)).toBeLessThan(kop(after.lines[3].payment));
    const l = await loan(ref);
    expect(kop(l.balances.principal)).toBe(kop(last.lines[2].balance) + last.lines.slice(2).reduce((s: bigint, x: { principal: string }) => s + kop(x.principal), 0n) - kop(last.lines[2].balance));
    // Settlement holds what was not used; a prepayment larger than it is refused.
    const tooMuch = await t.as('officer').post(`/api/v1/loans/${ref}/prepayments`, { amount: '1000.00', mode: 'smaller_instalment' });
    expect(tooMuch.json().error.code).toBe('insufficient_funds');
    await expectBooksAgree();
  });

  it('full-repayment-closes-and-releases-collateral-by-four-eyes', async () => {
    const l = await loan(ref);
    await repay(ref, 'PP-0005', l.balances.total);
    const full = await t.as('officer').post(`/api/v1/loans/${ref}/prepayments`, { mode: 'smaller_instalment' });
    expect(full.statusCode, full.body).toBe(201);
    expect(full.json().status).toBe('closed');
    expect(await loan(ref)).toMatchObject({ status: 'closed', closedOn: '2025-06-03', balances: { total: '0.00' } });
    // The repayment day bore interest on its opening balance (39-P): the balance the day began with,
    // before this day's earlier prepayment; accrued once, and collected with the rest.
    const opening = (await t.as('officer').get(`/api/v1/loans/${ref}/balances?asOf=2025-06-02`)).json();
    const events = (await t.as('officer').get(`/api/v1/loans/${ref}/events`)).json().events;
    const dayInterest = events.findLast((e: { kind: string }) => e.kind === 'interest_repayment_day');
    expect(dayInterest).toMatchObject({ businessDate: '2025-06-03', details: { day: '2025-06-03', on: rub(kop(opening.principal) + kop(opening.principalOverdue)) } });
    expect(events.filter((e: { kind: string; businessDate: string }) => e.kind === 'interest_repayment_day' && e.businessDate === '2025-06-03')).toHaveLength(1);
    expect(kop(dayInterest.details.interest)).toBeGreaterThan(0n);
    const collateral = (await t.as('officer').get(`/api/v1/loans/${ref}/collateral`)).json();
    expect(collateral.release).toMatchObject({ status: 'open', btc: '0.25000000' });
    const proposal = await t.as('treasury').post(`/api/v1/loans/${ref}/collateral-release`, {});
    expect(proposal.statusCode, proposal.body).toBe(202);
    expect((await t.as('treasury2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {})).statusCode).toBe(200);
    const released = (await t.as('officer').get(`/api/v1/loans/${ref}/collateral`)).json();
    expect(released).toMatchObject({ held: '0.00000000', release: { status: 'executed' } });
    expect(released.positions[0].state).toBe('released');
    await expectBooksAgree();
  });
});

describe('restructuring, compliance events and the end-of-day rules', () => {
  it('restructuring-extends-term-as-new-schedule-version with the old versions kept', async () => {
    const { ref } = await originate(t, { borrower: 'B-2', amount: '2000000.00', months: 6, type: 'annuity', collateral: '0.5' });
    await eod('2025-07-04'); // the first due date (3 July) passed unpaid
    expect((await loan(ref)).status).toBe('overdue');
    const proposal = await t.as('officer').post(`/api/v1/loans/${ref}/restructuring`, { extraMonths: 6, reason: 'seasonal ban on mining in the region' });
    expect(proposal.statusCode, proposal.body).toBe(202);
    const approved = await t.as('officer2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    const s = await schedule(ref);
    expect([s.version, s.versions, s.lines.length]).toEqual([2, 2, 12]);
    const l = await loan(ref);
    // Overdue principal went back into principal; the overdue interest stays due.
    expect(l.balances.principalOverdue).toBe('0.00');
    expect(l.status).toBe('overdue');
    expect(l.months).toBe(12);
    await expectBooksAgree();
  });

  it('a rule that starts failing for a borrower with a live loan puts the loan under default review at end of day', async () => {
    await eod('2025-07-06'); // open on Monday 7 July
    const { ref } = await originate(t, { borrower: 'B-2', amount: '500000.00', months: 3, type: 'bullet', collateral: '0.2' });
    const [b] = await t.test.db.query<{ id: bigint }>(`SELECT id FROM borrowers WHERE ref = 'B-2'`);
    await raiseComplianceEvent(t.test.db, { borrowerId: b!.id, rule: 'banned_area', kind: 'started_failing', reason: 'the site\'s region banned mining', at: new Date() });
    expect((await loan(ref)).defaultReview).toBeNull();
    await eod('2025-07-07');
    expect((await loan(ref)).defaultReview).toEqual({ reason: 'banned_area: the site\'s region banned mining' });
  });

  it('is idempotent per date, refuses a day not yet begun, and catches up missed days in order', async () => {
    const again = await eod('2025-07-07');
    expect(again).toMatchObject({ alreadyClosed: true, days: [] });
    await expect(eod('2099-01-01')).rejects.toMatchObject({ code: 'eod_future_date' });
    const caught = await eod('2025-07-10');
    expect(caught.days.map((d) => d.businessDate)).toEqual(['2025-07-08', '2025-07-09', '2025-07-10']);
    const days = (await t.as('officer').get('/api/v1/eod/days')).json();
    expect(days.openDay).toBe('2025-07-11');
    await expectBooksAgree();
  });

  it('books one entry per batch of loans and day: each loan\'s postings on its own accounts, the batch\'s income in one posting', async () => {
    const db = t.test.db;
    const live = await db.query<{ id: bigint; ref: string }>(`SELECT id, ref FROM loans WHERE status IN ('active', 'overdue') ORDER BY id`);
    expect(live.length).toBeGreaterThan(1);
    const entries = await db.query<{ id: bigint; idempotency_key: string; reason: string }>(`SELECT id, idempotency_key, reason FROM ledger_entries WHERE kind = 'eod' AND business_date = '2025-07-10'`);
    // The test world's loans all have ids below 1,000: one batch.
    expect(entries).toHaveLength(1);
    expect(entries[0]!.idempotency_key).toBe('eod:2025-07-10:0-999');
    expect(entries[0]!.reason).toBe(`End of day 2025-07-10 for ${live.length} loans with ids 0 to 999`);
    const postings = await db.query<{ line: number; chart_code: string; subledger_key: string; amount: bigint }>(
      `SELECT p.line, a.chart_code, a.subledger_key, p.amount FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE p.entry_id = $1 ORDER BY p.line`, [entries[0]!.id]);
    const accrued = postings.filter((p) => p.chart_code === 'interest_receivable' && p.amount > 0n);
    expect(accrued.map((p) => p.subledger_key)).toEqual(live.map((l) => l.ref));
    // Each loan's lines sit in its own block of 16: line = 16 x (id mod 1000) + k.
    for (const p of accrued) expect(Math.floor(p.line / 16)).toBe(Number(live.find((l) => l.ref === p.subledger_key)!.id % 1000n));
    const income = postings.filter((p) => p.chart_code === 'interest_income');
    expect(income).toEqual([{ line: 16_000, chart_code: 'interest_income', subledger_key: '', amount: -accrued.reduce((sum, p) => sum + p.amount, 0n) }]);
    // A loan's statement shows the batch entry with that loan's postings only.
    const statement = (await t.as('officer').get(`/api/v1/loans/${live[0]!.ref}/statement`)).json();
    const last = statement.entries.find((e: { entryId: string }) => e.entryId === entries[0]!.id.toString());
    expect(last.postings.every((p: { account: string }) => p.account.endsWith(`:${live[0]!.ref}`))).toBe(true);
  });
});

describe('a payment reference sent to two loans at once', () => {
  it('records it once; the other is refused as reference_reused (409), never a 500', async () => {
    const live = await t.test.db.query<{ ref: string }>(`SELECT ref FROM loans WHERE status IN ('active', 'overdue') ORDER BY id LIMIT 2`);
    expect(live).toHaveLength(2);
    for (let trial = 0; trial < 10; trial += 1) {
      const reference = `RACE-${trial}`;
      const answers = await Promise.all(live.map((l) => repay(l.ref, reference, '10.00')));
      expect(answers.map((a) => a.statusCode).sort(), answers.map((a) => a.body).join('\n')).toEqual([201, 409]);
      expect(answers.find((a) => a.statusCode === 409)!.json().error.code).toBe('reference_reused');
    }
    await expectBooksAgree();
  });
});
