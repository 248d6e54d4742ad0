import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { validAccount } from '../test-support/loans.js';

let t: TestApp;
beforeAll(async () => { t = await openTestApp(); });
afterAll(() => t.close());

const company = { ref: 'B-1', kind: 'company', name: 'PAO Sberbank (published identifiers)', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001', regionCode: '77', address: 'Moscow, Vavilova 19', bik: '044525225', account: validAccount('4070281038000000001') };
const entrepreneur = { ref: 'B-2', kind: 'entrepreneur', name: 'IE Miner', inn: '500100732259', ogrn: '304500116000157', regionCode: '38', address: 'Irkutsk region' };

describe('recording borrowers', () => {
  it('records a company and an entrepreneur with valid identifiers, audited', async () => {
    const created = await t.as('officer').post('/api/v1/borrowers', company);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ ref: 'B-1', kind: 'company', inn: '7707083893' });
    expect((await t.as('officer').post('/api/v1/borrowers', entrepreneur)).statusCode).toBe(201);
    const audit = (await t.as('auditor').get('/api/v1/audit?target=borrower:B-1')).json().records;
    expect(audit[0]).toMatchObject({ action: 'borrowers.create', actor: 'officer' });
  });

  it.each<[string, object, number, string, RegExp]>([
    ['a wrong INN check digit', { ...company, ref: 'X-1', inn: '7707083894' }, 400, 'invalid_borrower', /inn: the INN's control digit is wrong/],
    ['a 12-digit INN for a company', { ...company, ref: 'X-2', inn: '500100732259' }, 400, 'invalid_borrower', /10 digits/],
    ['a wrong OGRN', { ...company, ref: 'X-3', inn: '7736207543', ogrn: '1027700132196' }, 400, 'invalid_borrower', /OGRN's control digit/],
    ['an entrepreneur with a company OGRN', { ...entrepreneur, ref: 'X-4', ogrn: '1027700132195' }, 400, 'invalid_borrower', /OGRNIP is 15 digits/],
    ['an account that does not match the BIK', { ...company, ref: 'X-5', inn: '7736207543', ogrn: '1027700229193', account: '40702810000000000001' }, 400, 'invalid_borrower', /control key/],
    ['a company without a KPP', { ...company, ref: 'X-6', inn: '7736207543', ogrn: '1027700229193', kpp: undefined }, 400, 'invalid_borrower', /KPP/],
    ['a taken INN', { ...company, ref: 'X-7' }, 409, 'borrower_inn_taken', /7707083893/],
    ['a taken reference', { ...company, inn: '7736207543', ogrn: '1027700229193' }, 409, 'borrower_ref_taken', /B-1/],
    ['a number for the INN', { ...company, ref: 'X-8', inn: 7707083893 }, 400, 'validation_failed', /must be string/],
  ])('refuses %s and stores nothing', async (_name, body, status, code, message) => {
    const count = async () => (await t.test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM borrowers'))[0]!.n;
    const before = await count();
    const response = await t.as('officer').post('/api/v1/borrowers', JSON.parse(JSON.stringify(body)));
    expect(response.statusCode).toBe(status);
    expect(response.json().error.code).toBe(code);
    expect(response.json().error.message).toMatch(message);
    expect(await count()).toBe(before);
  });

  it('lets a representative read its own record only, and staff read all', async () => {
    expect((await t.as('borrower1').get('/api/v1/borrowers/B-1')).statusCode).toBe(200);
    expect((await t.as('borrower2').get('/api/v1/borrowers/B-1')).statusCode).toBe(404);
    expect((await t.as('borrower1').get('/api/v1/borrowers')).statusCode).toBe(403);
    expect((await t.as('auditor').get('/api/v1/borrowers')).json().borrowers.map((b: { ref: string }) => b.ref)).toEqual(['B-1', 'B-2']);
  });

  it('serves the ASIC catalogue with efficiencies', async () => {
    const models = (await t.as('borrower1').get('/api/v1/asic-models')).json().models;
    expect(models).toContainEqual(expect.objectContaining({ model: 'Antminer S21 XP', hashrateThs: '270.000', powerWatts: 3645, efficiencyJPerTh: '13.50' }));
  });
});

describe('sites and fleet', () => {
  let siteId: string;
  it('records a site with its tariff and machines from the catalogue', async () => {
    const site = await t.as('officer').post('/api/v1/borrowers/B-2/sites', { name: 'Shed 1', regionCode: '24', municipality: 'Krasnoyarsk', powerSource: 'own', capacityKw: 400, tariffRubPerKwh: '5.30', tariffFrom: '2026-01-01' });
    expect(site.statusCode).toBe(201);
    siteId = site.json().siteId;
    expect((await t.as('officer').post(`/api/v1/borrowers/B-2/sites/${siteId}/machines`, { model: 'Antminer S21 XP', count: 20, serials: ['SN-1', 'SN-2'] })).statusCode).toBe(201);
    const sites = (await t.as('borrower2').get('/api/v1/borrowers/B-2/sites')).json().sites;
    expect(sites).toEqual([expect.objectContaining({ name: 'Shed 1', tariffs: [{ from: '2026-01-01', rubPerKwh: '5.3000' }], machines: [expect.objectContaining({ model: 'Antminer S21 XP', count: 20, serials: ['SN-1', 'SN-2'] })] })]);
    expect((await t.as('borrower1').get('/api/v1/borrowers/B-2/sites')).statusCode).toBe(404);
  });

  it.each<[string, string, object, number, string]>([
    ['a zero tariff', '/api/v1/borrowers/B-2/sites', { name: 'x', regionCode: '38', municipality: 'm', powerSource: 'own', capacityKw: 1, tariffRubPerKwh: '0', tariffFrom: '2026-01-01' }, 400, 'invalid_tariff'],
    ['a float tariff', '/api/v1/borrowers/B-2/sites', { name: 'x', regionCode: '38', municipality: 'm', powerSource: 'own', capacityKw: 1, tariffRubPerKwh: 5.3, tariffFrom: '2026-01-01' }, 400, 'validation_failed'],
    ['hosting without an operator', '/api/v1/borrowers/B-2/sites', { name: 'x', regionCode: '38', municipality: 'm', powerSource: 'hosting', capacityKw: 1, tariffRubPerKwh: '6', tariffFrom: '2026-01-01' }, 400, 'invalid_site'],
    ['an impossible date', '/api/v1/borrowers/B-2/sites', { name: 'x', regionCode: '38', municipality: 'm', powerSource: 'own', capacityKw: 1, tariffRubPerKwh: '6', tariffFrom: '2026-02-30' }, 400, 'invalid_date'],
    ['an unknown borrower', '/api/v1/borrowers/B-404/sites', { name: 'x', regionCode: '38', municipality: 'm', powerSource: 'own', capacityKw: 1, tariffRubPerKwh: '6', tariffFrom: '2026-01-01' }, 404, 'not_found'],
  ])('refuses a site with %s, storing nothing', async (_name, url, body, status, code) => {
    const count = async () => (await t.test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM mining_sites'))[0]!.n;
    const before = await count();
    const response = await t.as('officer').post(url, body);
    expect(response.statusCode).toBe(status);
    expect(response.json().error.code).toBe(code);
    expect(await count()).toBe(before);
  });

  it('refuses machines of an unknown model, on another borrower\'s site, or with too many serials', async () => {
    expect((await t.as('officer').post(`/api/v1/borrowers/B-2/sites/${siteId}/machines`, { model: 'Antminer S99', count: 1 })).json().error.code).toBe('unknown_model');
    expect((await t.as('officer').post(`/api/v1/borrowers/B-1/sites/${siteId}/machines`, { model: 'Antminer S21', count: 1 })).statusCode).toBe(404);
    expect((await t.as('officer').post(`/api/v1/borrowers/B-2/sites/${siteId}/machines`, { model: 'Antminer S21', count: 1, serials: ['a', 'b'] })).json().error.code).toBe('invalid_machines');
  });
});

/** A valid 12-digit INN from 10 digits (the two control digits computed): a fixture, not a published one. */
function inn12(first10: string): string {
  const d = [...first10].map(Number);
  const w1 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
  const c1 = (w1.reduce((s, w, i) => s + w * d[i]!, 0) % 11) % 10;
  const w2 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
  const e = [...d, c1];
  const c2 = (w2.reduce((s, w, i) => s + w * e[i]!, 0) % 11) % 10;
  return `${first10}${c1}${c2}`;
}

describe('compliance evaluations', () => {
  const evaluate = (ref: string, asOf: string) => t.as('officer').post(`/api/v1/borrowers/${ref}/compliance/evaluate`, { asOf });

  it('blocks an entrepreneur without a registry record or a filed report, and passes it once they are recorded', async () => {
    const before = await evaluate('B-2', '2026-11-24');
    expect(before.json().blocking).toBe(true);
    const outcome = (rule: string, response = before) => response.json().results.find((r: { rule: string }) => r.rule === rule);
    expect(outcome('miners_registry')).toMatchObject({ outcome: 'fail', reason: 'no record in the FNS miners\' registry' });
    expect(outcome('banned_area').outcome).toBe('pass');
    expect(outcome('household_energy_limit').outcome).toBe('not_applicable');

    expect((await t.as('officer').post('/api/v1/borrowers/B-2/registry-records', { number: 'FNS-2025-0042', includedOn: '2025-03-01', status: 'included', checkedOn: '2026-11-20' })).statusCode).toBe(201);
    expect((await t.as('borrower2').post('/api/v1/borrowers/B-2/fns-reports', { period: '2026-10', filedOn: '2026-11-15', receipt: 'FNS-R-77' })).statusCode).toBe(201);
    expect((await t.as('borrower2').post('/api/v1/borrowers/B-2/fns-reports', { period: '2026-10', filedOn: '2026-11-15', receipt: 'again' })).json().error.code).toBe('report_exists');
    expect((await t.as('borrower1').post('/api/v1/borrowers/B-2/fns-reports', { period: '2026-09', filedOn: '2026-10-15', receipt: 'x' })).statusCode).toBe(404);
    for (const kind of ['no_economic_crime_record', 'owns_pledged_btc', 'no_tax_debt']) {
      expect((await t.as('borrower2').post('/api/v1/borrowers/B-2/attestations', { kind, value: true, document: `stmt-${kind}` })).statusCode).toBe(201);
    }

    const after = await evaluate('B-2', '2026-11-24');
    expect(after.json().blocking).toBe(false);
    expect(outcome('miners_registry', after).reason).toMatch(/FNS-2025-0042/);
    const stored = await t.test.db.query<{ inputs: { registry: { number: string } }; blocking: boolean }>('SELECT inputs, blocking FROM compliance_evaluations ORDER BY id DESC LIMIT 1');
    expect(stored[0]).toMatchObject({ blocking: false, inputs: { registry: { number: 'FNS-2025-0042' } } });
  });

  it('fails an individual over 6,000 kWh, and a site in a year-round banned region', async () => {
    const ref = 'B-3';
    expect((await t.as('officer').post('/api/v1/borrowers', { ref, kind: 'individual', name: 'Home miner', inn: inn12('7712345678'), regionCode: '05', address: 'Makhachkala' })).statusCode).toBe(201);
    const site = await t.as('officer').post(`/api/v1/borrowers/${ref}/sites`, { name: 'Garage', regionCode: '05', municipality: 'Makhachkala', powerSource: 'own', capacityKw: 15, tariffRubPerKwh: '4.50', tariffFrom: '2026-01-01' });
    await t.as('officer').post(`/api/v1/borrowers/${ref}/sites/${site.json().siteId}/machines`, { model: 'Antminer S21', count: 3 });
    const result = await evaluate(ref, '2026-11-24');
    const byRule = Object.fromEntries(result.json().results.map((r: { rule: string; outcome: string; reason: string }) => [r.rule, r]));
    expect(byRule.household_energy_limit).toMatchObject({ outcome: 'fail', reason: expect.stringContaining('7812 kWh') });
    expect(byRule.banned_area).toMatchObject({ outcome: 'fail', reason: expect.stringContaining('banned all year') });
    expect(byRule.miners_registry.outcome).toBe('not_applicable');
    expect(result.json().blocking).toBe(true);
  });

  it('refuses bad dates and records nothing', async () => {
    expect((await t.as('officer').post('/api/v1/borrowers/B-2/registry-records', { number: 'X', includedOn: '2025-03-01', status: 'included', checkedOn: '2099-01-01' })).json().error.code).toBe('invalid_date');
    expect((await t.as('officer').post('/api/v1/borrowers/B-2/fns-reports', { period: '2026-11', filedOn: '2026-10-01', receipt: 'x' })).json().error.code).toBe('invalid_date');
    expect((await t.as('officer').post('/api/v1/borrowers/B-2/compliance/evaluate', { asOf: '2026-13-01' })).json().error.code).toBe('invalid_date');
  });
});

describe('attestations and bank details', () => {
  const attestationsResult = async (ref = 'B-2') => (await t.as('officer').post(`/api/v1/borrowers/${ref}/compliance/evaluate`, {})).json().results.find((r: { rule: string }) => r.rule === 'attestations');

  it('records attestations with who recorded them; the rule needs every one, the latest of each kind counting', async () => {
    expect(await attestationsResult('B-1')).toMatchObject({ outcome: 'fail', reason: 'not attested yet: no_economic_crime_record, owns_pledged_btc, no_tax_debt' });
    // B-2 attested all three in the evaluation test above.
    expect(await attestationsResult()).toMatchObject({ outcome: 'pass' });
    expect((await t.as('officer').post('/api/v1/borrowers/B-2/attestations', { kind: 'no_tax_debt', value: false })).statusCode).toBe(201);
    expect(await attestationsResult()).toMatchObject({ outcome: 'fail', reason: 'attested against: no_tax_debt' });
    const listed = (await t.as('auditor').get('/api/v1/borrowers/B-2/attestations')).json().attestations;
    expect(listed.map((a: { recordedBy: string; kind: string }) => `${a.recordedBy}:${a.kind}`)).toEqual(['borrower2:no_economic_crime_record', 'borrower2:owns_pledged_btc', 'borrower2:no_tax_debt', 'officer:no_tax_debt']);
    expect((await t.as('borrower1').post('/api/v1/borrowers/B-2/attestations', { kind: 'no_tax_debt', value: true })).statusCode).toBe(404);
    expect((await t.as('officer').post('/api/v1/borrowers/B-2/attestations', { kind: 'no_debts', value: true })).statusCode).toBe(400);
  });

  it('changes bank details only with a second credit officer, and refuses a bad account key', async () => {
    const account = validAccount('4070281038000000777');
    expect((await t.as('officer').inject({ method: 'PUT', url: '/api/v1/borrowers/B-2/bank-details', payload: { bik: '044525225', account: `${account.slice(0, 19)}${(Number(account[19]) + 1) % 10}`, reason: 'new account' }, headers: { 'idempotency-key': 'bad-account' } })).json().error.code).toBe('invalid_bank_details');
    const proposed = await t.as('officer').inject({ method: 'PUT', url: '/api/v1/borrowers/B-2/bank-details', payload: { bik: '044525225', account, reason: 'the borrower moved its account' }, headers: { 'idempotency-key': 'bank-details-1' } });
    expect(proposed.statusCode).toBe(202);
    expect((await t.as('officer').get('/api/v1/borrowers/B-2')).json().account).toBeUndefined();
    expect((await t.as('officer').post(`/api/v1/approvals/${proposed.json().id}/approve`)).json().error.code).toBe('approver_is_proposer');
    expect((await t.as('officer2').post(`/api/v1/approvals/${proposed.json().id}/approve`)).statusCode).toBe(200);
    expect((await t.as('officer').get('/api/v1/borrowers/B-2')).json()).toMatchObject({ bik: '044525225', account });
    const audit = (await t.as('auditor').get('/api/v1/audit?target=borrower:B-2')).json().records.map((r: { action: string }) => r.action);
    expect(audit).toContain('borrowers.bank_details.set');
  });
});
