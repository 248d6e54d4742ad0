import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PriceService } from '../prices/price-service.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { fileLatestFnsReport } from '../test-support/loans.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { fixedPriceService } from '../test-support/prices.js';
import { SourceError } from '../adapters/http.js';
import type { BanEntry } from '../compliance/rules.js';
import { estimatedHeight, fetchMempoolSnapshot, networkOn, readNetworkHistoryCsv, saveSnapshots } from './network-data.js';
import { bannedMonthsOf } from './underwriting-service.js';

let stub: HttpStub;
let t: TestApp;
let prices: PriceService;

// The mempool.space /api/v1/blocks format, newest first (two blocks of the 3 November 2025 network).
// Their times are a few minutes ago: underwriting decides only on fresh network data.
const newestBlockAt = Math.floor(Date.now() / 1000) - 600;
const blocks = [
  { id: '00…b', height: 922_501, timestamp: newestBlockAt, difficulty: 155_000_000_000_000.4, tx_count: 3000, extras: { totalFees: 2_100_000, reward: 314_600_000 } },
  { id: '00…a', height: 922_500, timestamp: newestBlockAt - 600, difficulty: 155_000_000_000_000.4, tx_count: 2800, extras: { totalFees: 1_900_000, reward: 314_400_000 } },
];

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp();
  prices = await fixedPriceService(t.test.db, stub, '100000.00');
  expect(await prices.cycle()).toMatchObject({ publishedKopecks: 800_000_000n }); // 100,000 USD x 80 RUB
  stub.set('/mempool/api/v1/blocks', { body: JSON.stringify(blocks) });
  await saveSnapshots(t.test.db, [await fetchMempoolSnapshot({ baseUrl: stub.url('/mempool') })]);

  const officer = t.as('officer');
  expect((await officer.post('/api/v1/borrowers', { ref: 'B-1', kind: 'company', name: 'Farm', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001', regionCode: '77', address: 'Moscow' })).statusCode).toBe(201);
  const site = await officer.post('/api/v1/borrowers/B-1/sites', { name: 'Hangar', regionCode: '77', municipality: 'Moscow', powerSource: 'own', capacityKw: 100, tariffRubPerKwh: '3.00', tariffFrom: '2025-01-01' });
  expect((await officer.post(`/api/v1/borrowers/B-1/sites/${site.json().siteId}/machines`, { model: 'Antminer S21 XP', count: 20 })).statusCode).toBe(201);
  const today = new Date().toISOString().slice(0, 10);
  expect((await officer.post('/api/v1/borrowers/B-1/registry-records', { number: 'M-1', includedOn: '2025-01-10', status: 'included', checkedOn: today })).statusCode).toBe(201);
  for (const kind of ['no_economic_crime_record', 'owns_pledged_btc', 'no_tax_debt']) await officer.post('/api/v1/borrowers/B-1/attestations', { kind, value: true });
  await fileLatestFnsReport(t, 'B-1');
  expect((await officer.post('/api/v1/borrowers', { ref: 'B-2', kind: 'entrepreneur', name: 'IE', inn: '500100732259', ogrn: '304500116000157', regionCode: '38', address: 'Irkutsk' })).statusCode).toBe(201);
});
afterAll(async () => {
  await t.close();
  await stub.close();
});

describe('network data', () => {
  it('reads mempool.space blocks: the newest height and difficulty, the mean fees', async () => {
    expect(await fetchMempoolSnapshot({ baseUrl: stub.url('/mempool') })).toEqual({ source: 'mempool', observedAt: new Date(newestBlockAt * 1000), height: 922_501n, difficulty: 155_000_000_000_000n, feesSatsPerBlock: 2_000_000n });
    stub.set('/bad/api/v1/blocks', { body: JSON.stringify([{ height: 1 }]) });
    await expect(fetchMempoolSnapshot({ baseUrl: stub.url('/bad') })).rejects.toBeInstanceOf(SourceError);
  });

  it('imports blockchain.com daily history exactly, and estimates the height it lacks', async () => {
    const history = readNetworkHistoryCsv(await readFile('../shared/data/btc_network_daily_blockchaincom_2010-01-01_2024-08-23.csv', 'utf8'), 'blockchain.com');
    const day = (d: string) => history.find((s) => s.observedAt.toISOString().startsWith(d));
    expect(day('2022-11-09')?.difficulty).toBe(36_762_198_818_467n);
    expect(day('2024-04-20')?.difficulty).toBe(86_388_558_925_171n);
    expect(day('2024-08-20')).toBeUndefined(); // no difficulty in the last 15 days of the file
    expect(readNetworkHistoryCsv('date,difficulty\n2020-01-01,1.5e13\n', 'x')[0]!.difficulty).toBe(15_000_000_000_000n);
    expect(() => readNetworkHistoryCsv('date,difficulty\n01.01.2020,1\n', 'x')).toThrow(/not a date/);
    await saveSnapshots(t.test.db, history);
    const basis = await networkOn(t.test.db, '2024-05-01');
    expect(basis).toMatchObject({ source: 'blockchain.com', state: { difficulty: 88_104_191_118_792n, height: estimatedHeight('2024-05-01'), feesSatsPerBlock: 0n } });
    expect(basis!.notes.join(' ')).toMatch(/height estimated .* fees unknown/);
    expect(estimatedHeight('2024-05-01')).toBe(840_000n + 11n * 144n);
  });

  it('counts a month lost to a seasonal ban if any day of it is banned', () => {
    const irkutsk: BanEntry = { id: 's', regionCode: '38', municipalities: ['Bratsk'], kind: 'seasonal', seasonStart: '11-15', seasonEnd: '03-15', effectiveFrom: '2025-01-01', effectiveTo: '2031-03-15', legalBasis: 'x' };
    expect(bannedMonthsOf([irkutsk], { siteId: '1', regionCode: '38', municipality: 'Bratsk' }, '2026-06-10')).toEqual([1, 2, 3, 11, 12]);
    expect(bannedMonthsOf([irkutsk], { siteId: '1', regionCode: '38', municipality: 'Irkutsk' }, '2026-06-10')).toEqual([]);
  });
});

describe('the underwriting report', () => {
  const count = async () => (await t.test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM underwriting_reports'))[0]!.n;
  const run = (ref: string, body: object) => t.as('officer').post(`/api/v1/borrowers/${ref}/underwriting`, body);

  it('recommends approval within the cover, explains every figure, and stores the report', async () => {
    const response = await run('B-1', { amount: '500000.00', months: 12, annualRatePercent: '23.5', repayment: 'annuity' });
    expect(response.statusCode).toBe(201);
    const { reportId, recommendation, reasons, report } = response.json();
    expect(recommendation).toBe('approve');
    expect(reasons[0]).toMatch(/every compliance rule passes; the cash flow covers up to [0-9.]+ at DSCR 1.25/);
    expect(report.inputs).toMatchObject({ network: { source: 'mempool', height: expect.any(String), difficulty: '155000000000000', feesSatsPerBlock: '2000000' }, price: { price: '8000000.00' }, fleet: { machines: [{ model: 'Antminer S21 XP', count: 20 }] } });
    expect(report.figures.fleet).toEqual({ hashrateThs: '5400.000', powerKw: '72.900', efficiencyJPerTh: '13.50' });
    expect(report.figures.scenarios).toHaveLength(5);
    expect(report.figures.scenarios[0].months).toHaveLength(12);
    expect(report.compliance.blocking).toBe(false);
    const stored = (await t.as('auditor').get(`/api/v1/underwriting-reports/${reportId}`)).json();
    expect(stored).toMatchObject({ borrowerRef: 'B-1', createdBy: 'officer', recommendation: 'approve', report: { figures: { maxPrincipal: report.figures.maxPrincipal } } });
  });

  it('refuses to decide on network data more than 2 days older than its date, and says why', async () => {
    const before = await count();
    const stale = await run('B-1', { amount: '500000.00', months: 12, annualRatePercent: '23.5', repayment: 'annuity', asOf: '2025-03-15' });
    expect([stale.statusCode, stale.json().error.code]).toEqual([409, 'stale_network_data']);
    expect(stale.json().error.message).toMatch(/is \d+ days older than 2025-03-15; underwriting decides only on data at most 2 days old/);
    expect(await count()).toBe(before);
  });

  it('refers an amount above the cover, naming the binding scenario and month', async () => {
    const response = await run('B-1', { amount: '900000000.00', months: 12, annualRatePercent: '23.5', repayment: 'annuity' });
    expect(response.json().recommendation).toBe('refer');
    expect(response.json().reasons[0]).toMatch(/above the [0-9.]+ the cash flow covers at DSCR 1.25 in scenario ".+" \(month \d+\)/);
  });

  it('refers a farm whose margin vanishes under stress, and declines one that cannot pay today', async () => {
    await t.as('officer').post('/api/v1/borrowers', { ref: 'B-4', kind: 'company', name: 'Dear power', inn: '7736207543', ogrn: '1027700229193', kpp: '773601001', regionCode: '77', address: 'Moscow' });
    const site = await t.as('officer').post('/api/v1/borrowers/B-4/sites', { name: 'Hall', regionCode: '77', municipality: 'Moscow', powerSource: 'hosting', hostingOperator: 'Host', capacityKw: 100, tariffRubPerKwh: '5.30', tariffFrom: '2025-01-01' });
    await t.as('officer').post(`/api/v1/borrowers/B-4/sites/${site.json().siteId}/machines`, { model: 'Antminer S21 XP', count: 20 });
    await t.as('officer').post('/api/v1/borrowers/B-4/registry-records', { number: 'M-4', includedOn: '2025-01-10', status: 'included', checkedOn: new Date().toISOString().slice(0, 10) });
    for (const kind of ['no_economic_crime_record', 'owns_pledged_btc', 'no_tax_debt']) await t.as('officer').post('/api/v1/borrowers/B-4/attestations', { kind, value: true });
    await fileLatestFnsReport(t, 'B-4');
    // At 5.30 RUB/kWh an S21 XP earns a little today and loses money at half the price.
    const stressed = await run('B-4', { months: 12, annualRatePercent: '23.5', repayment: 'annuity' });
    expect(stressed.json()).toMatchObject({ recommendation: 'refer', reasons: [expect.stringMatching(/covers no debt service in the stress scenario "price -50%/)] });
    const expensive = await t.as('officer').post('/api/v1/borrowers/B-4/sites', { name: 'City', regionCode: '77', municipality: 'Moscow', powerSource: 'own', capacityKw: 100, tariffRubPerKwh: '9.00', tariffFrom: '2025-01-01' });
    await t.as('officer').post(`/api/v1/borrowers/B-4/sites/${expensive.json().siteId}/machines`, { model: 'Antminer S19 Pro', count: 40 });
    const losing = await run('B-4', { months: 12, annualRatePercent: '23.5', repayment: 'annuity' });
    expect(losing.json()).toMatchObject({ recommendation: 'decline', reasons: [expect.stringMatching(/does not cover any debt service even in scenario "flat price/)] });
  });

  it('declines a borrower that fails compliance, saying which rule', async () => {
    const site = await t.as('officer').post('/api/v1/borrowers/B-2/sites', { name: 'Shed', regionCode: '38', municipality: 'Irkutsk', powerSource: 'own', capacityKw: 20, tariffRubPerKwh: '1.30', tariffFrom: '2025-01-01' });
    await t.as('officer').post(`/api/v1/borrowers/B-2/sites/${site.json().siteId}/machines`, { model: 'Antminer S21', count: 3 });
    const response = await run('B-2', { months: 12, annualRatePercent: '23.5', repayment: 'interest_only' });
    expect(response.json().recommendation).toBe('decline');
    expect(response.json().reasons).toContainEqual(expect.stringMatching(/^compliance: miners_registry fails/));
  });

  it.each<[string, string, object, number, string]>([
    ['a borrower without a fleet', 'B-9', { months: 12, annualRatePercent: '23.5', repayment: 'annuity' }, 404, 'not_found'],
    ['a zero-month term', 'B-1', { months: 0, annualRatePercent: '23.5', repayment: 'annuity' }, 400, 'validation_failed'],
    ['a rate with a percent sign', 'B-1', { months: 12, annualRatePercent: '23.5%', repayment: 'annuity' }, 400, 'validation_failed'],
    ['a cover below one', 'B-1', { months: 12, annualRatePercent: '23.5', repayment: 'annuity', dscrMin: '0.90' }, 400, 'invalid_dscr'],
    ['an amount as a number', 'B-1', { amount: 1000000, months: 12, annualRatePercent: '23.5', repayment: 'annuity' }, 400, 'validation_failed'],
    ['a bullet repayment (not offered for underwriting)', 'B-1', { months: 12, annualRatePercent: '23.5', repayment: 'bullet' }, 400, 'validation_failed'],
    ['a date that is not one', 'B-1', { months: 12, annualRatePercent: '23.5', repayment: 'annuity', asOf: '2026-02-30' }, 400, 'invalid_date'],
  ])('refuses %s and stores nothing', async (_name, ref, body, status, code) => {
    const before = await count();
    const response = await run(ref, body);
    expect(response.statusCode).toBe(status);
    expect(response.json().error.code).toBe(code);
    expect(await count()).toBe(before);
  });

  it('says what is missing when the borrower has no fleet yet', async () => {
    await t.as('officer').post('/api/v1/borrowers', { ref: 'B-3', kind: 'individual', name: 'Empty', inn: '773173084809', regionCode: '77', address: 'Moscow' });
    const response = await run('B-3', { months: 12, annualRatePercent: '23.5', repayment: 'annuity' });
    expect(response.statusCode).toBe(409);
    expect(response.json().error.code).toBe('no_fleet');
  });
});

describe('hold or sell', () => {
  it('shows the end price above which borrowing wins and the liquidation price on the way', async () => {
    const response = await t.as('borrower1').post('/api/v1/hold-or-sell', { holdings: '1.00000000', need: '1000000.00', months: 12, annualRatePercent: '20' });
    expect(response.statusCode).toBe(200);
    const result = response.json();
    // 1,000,000 at 8,000,000 a BTC: selling gives up 0.125 BTC; borrowing costs 200,000 of interest.
    expect(result).toMatchObject({ price: '8000000.00', sellNow: '0.12500000', breakEvenPrice: '9600000.00', loan: { interest: '200000.00', pledged: '0.25000000' }, liquidationPrice: '6000000.00' });
    expect(result.outcomes.map((o: { name: string; better: string }) => `${o.name}:${o.better}`)).toEqual(['50% of today:sell', '75% of today:sell', '100% of today:sell', '125% of today:borrow', '150% of today:borrow', '200% of today:borrow']);
  });

  it.each<[string, object, string]>([
    ['holdings below the pledge', { holdings: '0.10000000', need: '1000000.00', months: 12, annualRatePercent: '20' }, 'insufficient_holdings'],
    ['an LTV above the liquidation LTV', { holdings: '1.00000000', need: '1000000.00', months: 12, annualRatePercent: '20', ltvPercent: '85' }, 'invalid_percent'],
    ['a float', { holdings: 1, need: '1000000.00', months: 12, annualRatePercent: '20' }, 'validation_failed'],
  ])('refuses %s', async (_name, body, code) => {
    const response = await t.as('borrower1').post('/api/v1/hold-or-sell', body);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe(code);
  });
});
