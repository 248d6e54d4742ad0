import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { miningSinceOf } from './rules.js';

/**
 * Compliance data (issue 16, item 16): the banned-area table read whole, the seasonal bans seeded
 * from the decree, the FNS monthly reports counted from when mining began, and the catalogue and
 * fleet corrected through the API, audited, with their history kept.
 */

let t: TestApp;
beforeAll(async () => { t = await openTestApp(); });
afterAll(() => t.close());

const evaluate = async (ref: string, asOf: string) => {
  const response = await t.as('officer').post(`/api/v1/borrowers/${ref}/compliance/evaluate`, { asOf });
  expect(response.statusCode, response.body).toBe(200);
  return Object.fromEntries((response.json().results as Array<{ rule: string; outcome: string; reason: string }>).map((r) => [r.rule, r])) as Record<string, { rule: string; outcome: string; reason: string }>;
};

describe('banned areas', () => {
  it('reads the table whole, the seasonal bans of Irkutsk region, Buryatia and Zabaykalsky krai among them', async () => {
    const bans = (await t.as('auditor').get('/api/v1/compliance/bans')).json().bans;
    const seasonal = bans.filter((b: { kind: string }) => b.kind === 'seasonal');
    expect(seasonal.map((b: { regionCode: string }) => b.regionCode).sort()).toEqual(['03', '38', '75']);
    expect(seasonal[0]).toMatchObject({ seasonStart: '11-15', seasonEnd: '03-15', effectiveFrom: '2025-01-01', effectiveTo: '2031-03-15', legalBasis: expect.stringMatching(/23\.12\.2024.*221-FZ/) });
    expect(bans.find((b: { id: string }) => b.id === 'year-round-05')).toMatchObject({ regionCode: '05', kind: 'year_round', municipalities: null, legalBasis: expect.any(String) });
  });

  it('a site in Irkutsk fails on 27 November and passes in July', async () => {
    expect((await t.as('officer').post('/api/v1/borrowers', { ref: 'IRK-1', kind: 'individual', name: 'Ivan Sidorov', inn: '500100732259', regionCode: '38', address: 'Irkutsk' })).statusCode).toBe(201);
    expect((await t.as('officer').post('/api/v1/borrowers/IRK-1/sites', { name: 'Shed', regionCode: '38', municipality: 'Irkutsk', powerSource: 'own', capacityKw: 10, tariffRubPerKwh: '1.30', tariffFrom: '2025-01-01' })).statusCode).toBe(201);
    expect((await evaluate('IRK-1', '2026-11-27')).banned_area).toMatchObject({ outcome: 'fail', reason: expect.stringMatching(/banned seasonally \(11-15 to 03-15\) on 2026-11-27/), legalBasis: expect.stringMatching(/23\.12\.2024/) });
    expect((await evaluate('IRK-1', '2026-07-01')).banned_area!.outcome).toBe('pass');
  });
});

describe('monthly FNS reports', () => {
  it('fall due from the registry date (companies) or the machines\' installation (individuals), not the day the site was typed in', () => {
    expect(miningSinceOf({ kind: 'company', registryIncludedOn: '2025-03-01', installedOn: ['2024-12-01'], sitesRecordedOn: ['2026-11-20'] }, '2026-11-27')).toBe('2025-03-01');
    expect(miningSinceOf({ kind: 'individual', registryIncludedOn: null, installedOn: [null, '2025-06-10', '2025-05-01'], sitesRecordedOn: ['2026-11-20'] }, '2026-11-27')).toBe('2025-05-01');
    expect(miningSinceOf({ kind: 'entrepreneur', registryIncludedOn: null, installedOn: [null], sitesRecordedOn: ['2026-11-20'] }, '2026-11-27')).toBe('2026-11-20');
    expect(miningSinceOf({ kind: 'company', registryIncludedOn: null, installedOn: [], sitesRecordedOn: [] }, '2026-11-27')).toBe('2026-11-27');
  });

  it('a company in the registry since March 2025 whose site was recorded today owes last month\'s report', async () => {
    expect((await t.as('officer').post('/api/v1/borrowers', { ref: 'CO-1', kind: 'company', name: 'Farm', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001', regionCode: '77', address: 'Moscow' })).statusCode).toBe(201);
    await t.as('officer').post('/api/v1/borrowers/CO-1/sites', { name: 'Hall', regionCode: '77', municipality: 'Moscow', powerSource: 'own', capacityKw: 100, tariffRubPerKwh: '3.00', tariffFrom: '2025-01-01' });
    await t.as('officer').post('/api/v1/borrowers/CO-1/registry-records', { number: 'M-9', includedOn: '2025-03-01', status: 'included', checkedOn: '2026-11-26' });
    const due = await evaluate('CO-1', '2026-11-27');
    expect(due.fns_monthly_report).toMatchObject({ outcome: 'fail', reason: 'no FNS report for 2026-10, due by 2026-11-20' });
    await t.as('officer').post('/api/v1/borrowers/CO-1/fns-reports', { period: '2026-10', filedOn: '2026-11-18', receipt: 'R-1' });
    expect((await evaluate('CO-1', '2026-11-27')).fns_monthly_report!.outcome).toBe('pass');
  });
});

describe('the catalogue and the fleet, corrected', () => {
  it('an admin adds an ASIC model, audited; the same model twice is refused', async () => {
    const body = { model: 'Antminer S23', maker: 'Bitmain', hashrateThs: '318', powerWatts: 3498, released: '2025-12', source: 'maker\'s specification sheet' };
    expect((await t.as('officer').post('/api/v1/asic-models', body)).statusCode).toBe(403);
    const added = await t.as('admin').post('/api/v1/asic-models', body);
    expect(added.statusCode, added.body).toBe(201);
    expect((await t.as('admin').post('/api/v1/asic-models', body)).json().error.code).toBe('model_exists');
    const models = (await t.as('officer').get('/api/v1/asic-models')).json().models;
    expect(models.find((m: { model: string }) => m.model === 'Antminer S23')).toMatchObject({ hashrateThs: '318.000', powerWatts: 3498, efficiencyJPerTh: '11.00' });
    const [record] = (await t.as('auditor').get('/api/v1/audit?action=borrowers.asic_model.add')).json().records.filter((r: { outcome: string }) => r.outcome === 'ok');
    expect(record).toMatchObject({ actor: 'admin', target: 'asic_model:Antminer S23' });
  });

  it('an individual pushed over 6,000 kWh by a mistaken count passes again once it is corrected or retired, and the history is kept', async () => {
    expect((await t.as('officer').post('/api/v1/borrowers', { ref: 'IND-2', kind: 'individual', name: 'Petr Ivanov', inn: '772407537501', regionCode: '50', address: 'Moscow region' })).statusCode).toBe(201);
    const site = await t.as('officer').post('/api/v1/borrowers/IND-2/sites', { name: 'Garage', regionCode: '50', municipality: 'Podolsk', powerSource: 'own', capacityKw: 15, tariffRubPerKwh: '5.00', tariffFrom: '2025-01-01' });
    const siteId = site.json().siteId;
    const wrong = await t.as('officer').post(`/api/v1/borrowers/IND-2/sites/${siteId}/machines`, { model: 'Antminer S21 XP', count: 3 });
    const id = wrong.json().machinesId;
    expect((await evaluate('IND-2', '2026-07-01')).household_energy_limit!.outcome).toBe('fail');
    const corrected = await t.as('officer').inject({ method: 'PATCH', url: `/api/v1/borrowers/IND-2/sites/${siteId}/machines/${id}`, payload: { count: 2, installedOn: '2025-05-01', reason: 'two machines, not three: the site visit counted them' } });
    expect(corrected.statusCode, corrected.body).toBe(200);
    expect(corrected.json()).toMatchObject({ before: { count: 3, installedOn: null }, after: { count: 2, installedOn: '2025-05-01' } });
    expect((await evaluate('IND-2', '2026-07-01')).household_energy_limit!.outcome).toBe('pass');
    const extra = await t.as('officer').post(`/api/v1/borrowers/IND-2/sites/${siteId}/machines`, { model: 'Antminer S21 XP', count: 1 });
    expect((await evaluate('IND-2', '2026-07-01')).household_energy_limit!.outcome).toBe('fail');
    const retired = await t.as('officer').post(`/api/v1/borrowers/IND-2/sites/${siteId}/machines/${extra.json().machinesId}/retire`, { retiredOn: '2026-06-30', reason: 'sold' });
    expect(retired.statusCode, retired.body).toBe(200);
    expect((await evaluate('IND-2', '2026-07-01')).household_energy_limit!.outcome).toBe('pass');
    expect((await t.as('officer').post(`/api/v1/borrowers/IND-2/sites/${siteId}/machines/${extra.json().machinesId}/retire`, { retiredOn: '2026-06-30', reason: 'again' })).json().error.code).toBe('machines_retired');
    const history = (await t.as('auditor').get(`/api/v1/borrowers/IND-2/sites/${siteId}/machines/${id}/history`)).json().changes;
    expect(history).toEqual([expect.objectContaining({ kind: 'correct', before: expect.objectContaining({ count: 3 }), after: expect.objectContaining({ count: 2 }), by: 'officer' })]);
    const sites = (await t.as('officer').get('/api/v1/borrowers/IND-2/sites')).json().sites;
    expect(sites[0].machines.map((m: { count: number; retiredOn: string | null }) => [m.count, m.retiredOn])).toEqual([[2, null], [1, '2026-06-30']]);
    // Nothing changes on a refusal.
    expect((await t.as('officer').inject({ method: 'PATCH', url: `/api/v1/borrowers/IND-2/sites/${siteId}/machines/${id}`, payload: { model: 'No Such Miner', reason: 'typo' } })).json().error.code).toBe('unknown_model');
    expect((await t.as('auditor').get(`/api/v1/borrowers/IND-2/sites/${siteId}/machines/${id}/history`)).json().changes).toHaveLength(1);
  });
});
