import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';

/** A change to the banned-area table re-screens every borrower and raises events for those it changes. */

let t: TestApp;
beforeAll(async () => {
  t = await openTestApp({ now: () => new Date('2026-11-24T10:00:00Z') });
  // The seeded seasonal ban of Irkutsk region covers the whole region until a compliance officer
  // enters the municipalities the decree names; this test's sites are in other ones.
  expect((await t.as('risk').inject({ method: 'PUT', url: '/api/v1/compliance/bans/seasonal-38', payload: { regionCode: '38', municipalities: ['Slyudyansky district'], kind: 'seasonal', seasonStart: '11-15', seasonEnd: '03-15', effectiveFrom: '2025-01-01', effectiveTo: '2031-03-15', legalBasis: 'the decree\'s named part, as the test enters it' } })).statusCode).toBe(200);
  await t.as('officer').post('/api/v1/borrowers', { ref: 'B-7', kind: 'entrepreneur', name: 'IE South', inn: '500100732259', ogrn: '304500116000157', regionCode: '38', address: 'Irkutsk region' });
  await t.as('officer').post('/api/v1/borrowers/B-7/sites', { name: 'South farm', regionCode: '38', municipality: 'Irkutsky district', powerSource: 'own', capacityKw: 300, tariffRubPerKwh: '3.10', tariffFrom: '2026-01-01' });
  await t.as('officer').post('/api/v1/borrowers', { ref: 'B-8', kind: 'company', name: 'North LLC', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001', regionCode: '77', address: 'Moscow' });
  await t.as('officer').post('/api/v1/borrowers/B-8/sites', { name: 'North farm', regionCode: '38', municipality: 'Bratsk', powerSource: 'own', capacityKw: 300, tariffRubPerKwh: '3.10', tariffFrom: '2026-01-01' });
});
afterAll(() => t.close());

const southernIrkutsk = { regionCode: '38', municipalities: ['Irkutsky district'], kind: 'year_round', effectiveFrom: '2025-04-07', effectiveTo: '2031-03-15', legalBasis: 'decree amending 1869, complete ban in southern Irkutsk region from 07.04.2025' };

describe('re-screening after a change to the banned-area table', () => {
  it('finds the borrower whose site the new entry bans, and raises one event', async () => {
    const response = await t.as('risk').inject({ method: 'PUT', url: '/api/v1/compliance/bans/irkutsk-south', payload: southernIrkutsk });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ borrowers: 2, banned: 1, startedFailing: 1, stoppedFailing: 0 });
    const events = (await t.as('auditor').get('/api/v1/compliance/events')).json().events;
    expect(events).toEqual([expect.objectContaining({ borrowerRef: 'B-7', rule: 'banned_area', kind: 'started_failing', reason: expect.stringContaining('irkutsk-south') })]);
  });

  it('raises nothing new when re-screening changes nothing, and a stopped-failing event when the ban is lifted', async () => {
    const same = await t.as('risk').inject({ method: 'PUT', url: '/api/v1/compliance/bans/irkutsk-south', payload: southernIrkutsk });
    expect(same.json()).toMatchObject({ startedFailing: 0, stoppedFailing: 0 });
    const lifted = await t.as('risk').inject({ method: 'PUT', url: '/api/v1/compliance/bans/irkutsk-south', payload: { ...southernIrkutsk, effectiveTo: '2026-01-01' } });
    expect(lifted.json()).toMatchObject({ banned: 0, stoppedFailing: 1 });
  });

  it('applies a seasonal ban across New Year, on the day re-screened', async () => {
    const seasonal = await t.as('risk').inject({ method: 'PUT', url: '/api/v1/compliance/bans/bratsk-winter', payload: { regionCode: '38', municipalities: ['Bratsk'], kind: 'seasonal', seasonStart: '11-15', seasonEnd: '03-15', effectiveFrom: '2025-01-01', effectiveTo: null, legalBasis: 'test seasonal entry' } });
    expect(seasonal.json()).toMatchObject({ banned: 1, startedFailing: 1 }); // 24 November is in season
  });

  it.each<[string, object, string]>([
    ['a seasonal ban without a season', { ...southernIrkutsk, kind: 'seasonal' }, 'invalid_ban'],
    ['an end before the start', { ...southernIrkutsk, effectiveTo: '2025-01-01' }, 'invalid_date'],
    ['a bad month-day', { ...southernIrkutsk, kind: 'seasonal', seasonStart: '13-01', seasonEnd: '03-15' }, 'validation_failed'],
  ])('refuses %s', async (_name, payload, code) => {
    const response = await t.as('risk').inject({ method: 'PUT', url: '/api/v1/compliance/bans/x-test', payload });
    expect(response.json().error.code).toBe(code);
  });

  it('is for risk officers only', async () => {
    expect((await t.as('officer').inject({ method: 'PUT', url: '/api/v1/compliance/bans/irkutsk-south', payload: southernIrkutsk })).statusCode).toBe(403);
  });
});
