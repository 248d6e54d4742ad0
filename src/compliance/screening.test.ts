import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await openTestApp();
  expect((await t.as('officer').post('/api/v1/borrowers', { ref: 'B-1', kind: 'company', name: 'ООО «Майнинг Юг»', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001', regionCode: '77', address: 'Moscow' })).statusCode).toBe(201);
  expect((await t.as('officer').post('/api/v1/borrowers', { ref: 'B-2', kind: 'entrepreneur', name: 'Иванов Иван Иванович', inn: '500100732259', ogrn: '304500116000157', regionCode: '38', address: 'Irkutsk' })).statusCode).toBe(201);
});
afterAll(() => t.close());

const GENESIS = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa';
const BECH32 = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';
const counts = async () => (await t.test.db.query<{ lists: bigint; entries: bigint; hits: bigint; events: bigint; addresses: bigint }>(
  'SELECT (SELECT count(*) FROM screening_lists) AS lists, (SELECT count(*) FROM screening_entries) AS entries, (SELECT count(*) FROM screening_hits) AS hits, (SELECT count(*) FROM compliance_events) AS events, (SELECT count(*) FROM borrower_btc_addresses) AS addresses'))[0]!;
const evaluate = async (ref: string) => (await t.as('officer').post(`/api/v1/borrowers/${ref}/compliance/evaluate`, { asOf: '2026-11-24' })).json();
const screeningResult = (evaluation: { results: Array<{ rule: string }> }) => evaluation.results.find((r) => r.rule === 'sanctions_screening');

describe('screening against imported lists', () => {
  it('screens the whole book when a list is imported: a name in another script and an INN hit', async () => {
    const imported = await t.as('risk').post('/api/v1/compliance/screening-lists', {
      name: 'stop-list', format: 'zalog_csv', version: '2026-11-24',
      content: 'kind,value,name,program\nname,"IVANOV, Ivan Ivanovich",,Rosfinmonitoring list\ninn,7707083893,,internal stop list\n',
    });
    expect(imported.statusCode).toBe(200);
    expect(imported.json()).toMatchObject({ imported: true, entries: 2, newHits: 2, borrowersNewlyHit: 2 });
    const hits = (await t.as('risk').get('/api/v1/compliance/screening-hits?status=open')).json().hits;
    expect(hits.map((h: { borrowerRef: string; field: string }) => `${h.borrowerRef}:${h.field}`)).toEqual(['B-1:inn', 'B-2:name']);
    const events = (await t.as('risk').get('/api/v1/compliance/events')).json().events.filter((e: { rule: string }) => e.rule === 'sanctions_screening');
    expect(events).toHaveLength(2);
    expect(events.find((e: { borrowerRef: string }) => e.borrowerRef === 'B-2')).toMatchObject({ kind: 'started_failing', reason: 'screening hit: name matches IVANOV, Ivan Ivanovich on list stop-list' });
    const evaluation = await evaluate('B-2');
    expect(evaluation.blocking).toBe(true);
    expect(screeningResult(evaluation)).toMatchObject({ outcome: 'fail', reason: expect.stringMatching(/unresolved screening hit: name "IVAN IVANOV IVANOVICH" on list stop-list/) });
  });

  it('does not import the same file twice, and a new version raises no hit found before', async () => {
    const before = await counts();
    const again = await t.as('risk').post('/api/v1/compliance/screening-lists', { name: 'stop-list', format: 'zalog_csv', version: 'again', content: 'kind,value,name,program\nname,"IVANOV, Ivan Ivanovich",,Rosfinmonitoring list\ninn,7707083893,,internal stop list\n' });
    expect(again.json()).toMatchObject({ imported: false, newHits: 0 });
    const newer = await t.as('risk').post('/api/v1/compliance/screening-lists', { name: 'stop-list', format: 'zalog_csv', version: '2026-11-25', content: 'kind,value,name,program\ninn,7707083893,,internal stop list\n' });
    expect(newer.json()).toMatchObject({ imported: true, newHits: 0 });
    expect((await counts()).hits).toBe(before.hits);
  });

  it('screens an address when it is recorded, and a new borrower when it is created', async () => {
    await t.as('risk').post('/api/v1/compliance/screening-lists', { name: 'ofac-sdn', format: 'ofac_sdn_csv', version: '2026-11-20', content: `25001,"PETROV, Petr","individual","CYBER2",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"Digital Currency Address - XBT ${BECH32}."\n` });
    expect((await t.as('borrower1').post('/api/v1/borrowers/B-1/btc-addresses', { address: GENESIS, purpose: 'reported' })).statusCode).toBe(201);
    expect((await t.as('borrower1').post('/api/v1/borrowers/B-1/btc-addresses', { address: BECH32.toUpperCase(), purpose: 'pledge' })).statusCode).toBe(201);
    expect((await t.as('borrower1').post('/api/v1/borrowers/B-1/btc-addresses', { address: BECH32, purpose: 'pledge' })).json().error.code).toBe('address_exists');
    const created = await t.as('officer').post('/api/v1/borrowers', { ref: 'B-3', kind: 'individual', name: 'Петров Пётр', inn: '773173084809', regionCode: '77', address: 'Moscow' });
    expect(created.statusCode).toBe(201);
    const open = (await t.as('auditor').get('/api/v1/compliance/screening-hits?status=open')).json().hits;
    expect(open.map((h: { borrowerRef: string; field: string; listName: string }) => `${h.borrowerRef}:${h.field}:${h.listName}`)).toEqual(['B-1:inn:stop-list', 'B-2:name:stop-list', 'B-1:btc_address:ofac-sdn', 'B-3:name:ofac-sdn']);
    // The borrower sees its addresses but never a hit (no tipping off).
    expect((await t.as('borrower1').get('/api/v1/borrowers/B-1/btc-addresses')).json().addresses).toHaveLength(2);
    expect((await t.as('borrower1').get('/api/v1/compliance/screening-hits')).statusCode).toBe(403);
  });

  it('clears a hit only with a second risk officer, then the rule passes', async () => {
    const [hit] = (await t.as('risk').get('/api/v1/compliance/screening-hits?status=open')).json().hits.filter((h: { borrowerRef: string }) => h.borrowerRef === 'B-2');
    const proposed = await t.as('risk').post(`/api/v1/compliance/screening-hits/${hit.id}/clear`, { reason: 'different date of birth and passport: a namesake' });
    expect(proposed.statusCode).toBe(202);
    expect((await t.as('officer').post(`/api/v1/compliance/screening-hits/${hit.id}/clear`, { reason: 'x' })).statusCode).toBe(403);
    expect((await t.as('risk').post(`/api/v1/approvals/${proposed.json().id}/approve`)).json().error.code).toBe('approver_is_proposer');
    expect(screeningResult(await evaluate('B-2'))).toMatchObject({ outcome: 'fail' });
    const approved = await t.as('risk2').post(`/api/v1/approvals/${proposed.json().id}/approve`);
    expect(approved.statusCode).toBe(200);
    expect(screeningResult(await evaluate('B-2'))).toMatchObject({ outcome: 'pass', reason: '1 hit(s), all cleared by two officers' });
    const cleared = (await t.as('auditor').get('/api/v1/compliance/screening-hits?status=cleared')).json().hits;
    expect(cleared).toEqual([expect.objectContaining({ id: hit.id, clearedBy: 'risk2', clearReason: 'different date of birth and passport: a namesake' })]);
    const events = (await t.as('risk').get('/api/v1/compliance/events')).json().events;
    expect(events.at(-1)).toMatchObject({ borrowerRef: 'B-2', rule: 'sanctions_screening', kind: 'stopped_failing' });
    // Clearing twice is refused.
    expect((await t.as('risk').post(`/api/v1/compliance/screening-hits/${hit.id}/clear`, { reason: 'again' })).json().error.code).toBe('hit_not_open');
  });

  it.each<[string, string, object, string]>([
    ['a list without usable entries', '/api/v1/compliance/screening-lists', { name: 'empty', format: 'zalog_csv', version: '1', content: 'kind,value\ninn,123\n' }, 'invalid_list'],
    ['a list that is not CSV', '/api/v1/compliance/screening-lists', { name: 'broken', format: 'zalog_csv', version: '1', content: 'kind,value\n"open' }, 'invalid_list'],
    ['an unknown format', '/api/v1/compliance/screening-lists', { name: 'x', format: 'xml', version: '1', content: 'x' }, 'validation_failed'],
    ['a bad list name', '/api/v1/compliance/screening-lists', { name: 'Bad Name', format: 'zalog_csv', version: '1', content: 'x' }, 'validation_failed'],
    ['a testnet address', '/api/v1/borrowers/B-1/btc-addresses', { address: 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx', purpose: 'pledge' }, 'invalid_btc_address'],
    ['a broken checksum', '/api/v1/borrowers/B-1/btc-addresses', { address: `${GENESIS.slice(0, -1)}b`, purpose: 'pledge' }, 'invalid_btc_address'],
    ['an unknown purpose', '/api/v1/borrowers/B-1/btc-addresses', { address: GENESIS, purpose: 'gift' }, 'validation_failed'],
    ['clearing an absent hit', '/api/v1/compliance/screening-hits/999999/clear', { reason: 'x' }, 'not_found'],
  ])('refuses %s and stores nothing', async (_name, url, body, code) => {
    const before = await counts();
    const response = await t.as(url.includes('btc-addresses') ? 'officer' : 'risk').post(url, body);
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(response.json().error.code).toBe(code);
    expect(await counts()).toEqual(before);
  });
});
