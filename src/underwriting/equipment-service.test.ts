import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { fixedPriceService } from '../test-support/prices.js';
import { saveSnapshots } from './network-data.js';

let stub: HttpStub;
let t: TestApp;
const INDEX = { below19: '25.70', from19to25: '12.00', from25to38: '5.00', from38to68: '2.00', above68: '0.50', source: 'bank index after Luxor, Nov 2025' };
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp();
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB a BTC
  await saveSnapshots(t.test.db, [{ source: 'mempool', observedAt: new Date('2025-11-03T12:00:00Z'), height: 922_500n, difficulty: 155_000_000_000_000n, feesSatsPerBlock: 2_000_000n }]);
  const officer = t.as('officer');
  const borrower = async (ref: string, inn: string, ogrn: string, region: string, municipality: string, serials: string[]) => {
    expect((await officer.post('/api/v1/borrowers', { ref, kind: 'company', name: `Farm ${ref}`, inn, ogrn, kpp: '773601001', regionCode: '77', address: 'Moscow' })).statusCode).toBe(201);
    const site = await officer.post(`/api/v1/borrowers/${ref}/sites`, { name: 'Hangar', regionCode: region, municipality, powerSource: 'own', capacityKw: 100, tariffRubPerKwh: '3.00', tariffFrom: '2025-01-01' });
    expect((await officer.post(`/api/v1/borrowers/${ref}/sites/${site.json().siteId}/machines`, { model: 'Antminer S21 XP', count: 12, serials, installedOn: '2025-05-01' })).statusCode).toBe(201);
  };
  await borrower('B-1', '7707083893', '1027700132195', '77', 'Moscow', Array.from({ length: 10 }, (_, i) => `SN-${i}`));
  await officer.post('/api/v1/borrowers/B-1/registry-records', { number: 'M-1', includedOn: '2025-01-10', status: 'included', checkedOn: today });
  await borrower('B-2', '7736207543', '1027700229193', '05', 'Makhachkala', ['SN-X']);
  await officer.post('/api/v1/borrowers/B-2/registry-records', { number: 'M-2', includedOn: '2025-01-10', status: 'included', checkedOn: today });
});
afterAll(async () => {
  await t.close();
  await stub.close();
});

const kopecks = (rub: string) => BigInt(rub.replace('.', ''));

describe('pledged machines as second-layer collateral', () => {
  it('needs the bank\'s price index first', async () => {
    const response = await t.as('risk').post('/api/v1/borrowers/B-1/equipment/revalue', {});
    expect(response.statusCode).toBe(409);
    expect(response.json().error.code).toBe('no_price_index');
  });

  it('values pledged machines at the lower of the index and the cash flow, depreciated and cut by the haircut', async () => {
    expect((await t.as('risk').inject({ method: 'PUT', url: '/api/v1/equipment/price-index/2025-11-01', payload: INDEX })).statusCode).toBe(200);
    const response = await t.as('risk').post('/api/v1/borrowers/B-1/equipment/revalue', {});
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ groups: 1, breaches: 0, defaultEvents: 0 });
    const [valuation] = (await t.as('auditor').get('/api/v1/borrowers/B-1/equipment')).json().valuations;
    // Ten pledged S21 XP (13.5 J/TH, the <19 tier): 2,700 TH/s x 25.70 USD x 80 RUB = 5,551,200.00.
    expect(valuation).toMatchObject({ pledgedCount: 10, indexValue: '5551200.00', breach: null });
    const lower = [kopecks(valuation.indexValue), kopecks(valuation.cashFlowValue)].reduce((a, b) => (a < b ? a : b));
    expect(valuation.method).toBe(lower === kopecks(valuation.indexValue) ? 'index' : 'cash_flow');
    const age = valuation.inputs.ageMonths as number;
    const depreciated = (lower * BigInt(60 - age)) / 60n;
    expect(kopecks(valuation.value)).toBe((depreciated * 7_000n) / 10_000n);
    expect(kopecks(valuation.weighted)).toBe((kopecks(valuation.value) * 5_000n) / 10_000n);
    expect(valuation.inputs).toMatchObject({ priceIndex: { effectiveFrom: '2025-11-01' }, usdRub: expect.stringMatching(/^80/), serials: expect.arrayContaining(['SN-0']) });
  });

  it('zeroes machines in a banned area and raises one default event, not one per revaluation', async () => {
    for (let round = 0; round < 2; round += 1) {
      const response = await t.as('risk').post('/api/v1/borrowers/B-2/equipment/revalue', {});
      expect(response.json()).toMatchObject({ groups: 1, total: '0.00', breaches: 1, defaultEvents: round === 0 ? 1 : 0 });
    }
    const [valuation] = (await t.as('auditor').get('/api/v1/borrowers/B-2/equipment')).json().valuations;
    expect(valuation).toMatchObject({ value: '0.00', breach: expect.stringMatching(/banned area \(year-round-05\)/) });
    const events = (await t.as('risk').get('/api/v1/compliance/events')).json().events.filter((e: { rule: string }) => e.rule === 'equipment_collateral');
    expect(events).toEqual([expect.objectContaining({ borrowerRef: 'B-2', kind: 'started_failing', reason: expect.stringMatching(/worth nothing as collateral.*default event/) })]);
  });

  it('zeroes them when the borrower leaves the registry', async () => {
    await t.as('officer').post('/api/v1/borrowers/B-1/registry-records', { number: 'M-1', includedOn: '2025-01-10', status: 'excluded', excludedOn: today, exclusionReason: 'false data', checkedOn: today });
    const response = await t.as('risk').post('/api/v1/borrowers/B-1/equipment/revalue', {});
    expect(response.json()).toMatchObject({ total: '0.00', breaches: 1, defaultEvents: 1 });
  });

  it.each<[string, string, object, string]>([
    ['an index date that is not one', '/api/v1/equipment/price-index/2025-13-01', INDEX, 'invalid_date'],
    ['an index missing a tier', '/api/v1/equipment/price-index/2025-12-01', { ...INDEX, above68: undefined }, 'validation_failed'],
    ['an index price as a number', '/api/v1/equipment/price-index/2025-12-01', { ...INDEX, below19: 25.7 }, 'validation_failed'],
  ])('refuses %s and stores nothing', async (_name, url, body, code) => {
    const count = async () => (await t.test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM equipment_price_index'))[0]!.n;
    const before = await count();
    const response = await t.as('risk').inject({ method: 'PUT', url, payload: JSON.parse(JSON.stringify(body)) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe(code);
    expect(await count()).toBe(before);
  });

  it('refuses a haircut above 100% and a machine installed in the future', async () => {
    expect((await t.as('risk').post('/api/v1/borrowers/B-1/equipment/revalue', { haircutPercent: '120' })).json().error.code).toBe('invalid_percent');
    // Machines count toward loans' cover: one person may value them more cautiously, never less.
    const count = async () => (await t.test.db.query<{ n: bigint }>('SELECT count(*)::int8 AS n FROM equipment_valuations'))[0]!.n;
    const before = await count();
    for (const body of [{ haircutPercent: '10' }, { weightPercent: '80' }]) {
      const lenient = await t.as('risk').post('/api/v1/borrowers/B-1/equipment/revalue', body);
      expect([lenient.statusCode, lenient.json().error.code]).toEqual([422, 'policy_less_cautious']);
    }
    expect(await count()).toBe(before);
    expect((await t.as('risk').post('/api/v1/borrowers/B-1/equipment/revalue', { haircutPercent: '40', weightPercent: '30' })).statusCode).toBe(200);
    const sites = (await t.as('officer').get('/api/v1/borrowers/B-1/sites')).json().sites;
    expect((await t.as('officer').post(`/api/v1/borrowers/B-1/sites/${sites[0].id}/machines`, { model: 'Antminer S21', count: 1, installedOn: '2999-01-01' })).json().error.code).toBe('invalid_date');
  });
});
