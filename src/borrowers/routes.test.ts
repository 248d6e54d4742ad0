import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { accountProblem } from './identifiers.js';

let t: TestApp;
beforeAll(async () => { t = await openTestApp(); });
afterAll(() => t.close());

/** A settlement account at Sberbank that passes the key: the digit that makes it valid (there is one). */
function sberbankAccount(body19: string): string {
  for (let key = 0; key <= 9; key += 1) {
    const account = `${body19.slice(0, 8)}${key}${body19.slice(8)}`;
    if (accountProblem('044525225', account) === undefined) return account;
  }
  throw new Error('no key');
}

const company = { ref: 'B-1', kind: 'company', name: 'PAO Sberbank (published identifiers)', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001', regionCode: '77', address: 'Moscow, Vavilova 19', bik: '044525225', account: sberbankAccount('4070281038000000001') };
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
    const site = await t.as('officer').post('/api/v1/borrowers/B-2/sites', { name: 'Shed 1', regionCode: '38', municipality: 'Irkutsk', powerSource: 'own', capacityKw: 400, tariffRubPerKwh: '5.30', tariffFrom: '2026-01-01' });
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
