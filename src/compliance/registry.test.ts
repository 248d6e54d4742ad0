import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../adapters/http.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { systemUser } from '../identity/identity-repository.js';
import { httpRegistryClient, parseRegistryExtract, recheckDue, type RegistryClient } from './registry.js';

let stub: HttpStub;
let t: TestApp;
let client: RegistryClient;
let authorization: string | undefined;
const record = (inn: string, extra: object = {}) => ({ body: JSON.stringify({ inn, number: `M-${inn.slice(0, 4)}`, includedOn: '2024-11-15', status: 'included', excludedOn: null, exclusionReason: null, ...extra }) });

const COMPANY = { ref: 'B-1', kind: 'company', name: 'Company', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001', regionCode: '77', address: 'Moscow' };
const ENTREPRENEUR = { ref: 'B-2', kind: 'entrepreneur', name: 'IE Miner', inn: '500100732259', ogrn: '304500116000157', regionCode: '38', address: 'Irkutsk region' };

beforeAll(async () => {
  stub = await startHttpStub();
  client = httpRegistryClient({ baseUrl: stub.url('/fns/'), token: 'secret-token', timeoutMs: 2_000 });
  t = await openTestApp({ registry: client });
  stub.set(`/fns/miners/${COMPANY.inn}`, (_count, _url, headers) => { authorization = headers.authorization; return record(COMPANY.inn); });
  for (const borrower of [COMPANY, ENTREPRENEUR]) expect((await t.as('officer').post('/api/v1/borrowers', borrower)).statusCode).toBe(201);
});
afterAll(async () => {
  await t.close();
  await stub.close();
});

const evaluateRegistry = async (ref: string) => (await t.as('officer').post(`/api/v1/borrowers/${ref}/compliance/evaluate`, {})).json().results.find((r: { rule: string }) => r.rule === 'miners_registry');

describe('the registry service client', () => {
  it('reads a record in the documented format, sending the configured token', async () => {
    expect(await client.lookup(COMPANY.inn)).toEqual({ status: 'included', number: 'M-7707', includedOn: '2024-11-15', excludedOn: null, exclusionReason: null });
    expect(authorization).toBe('Bearer secret-token');
  });

  it('reads 404 as not in the registry', async () => {
    expect(await client.lookup('770708389300')).toMatchObject({ status: 'not_found', number: null });
  });

  it.each<[string, { status?: number; body: string }, string]>([
    ['a server error', { status: 500, body: 'oops' }, 'http'],
    ['a body of another shape', { body: '{"inn":"7736207543","status":"maybe"}' }, 'malformed'],
    ['an answer for another INN', record('7707083893'), 'malformed'],
    ['an exclusion without a date', record('7736207543', { status: 'excluded' }), 'malformed'],
    ['a date that is not one', record('7736207543', { includedOn: '15.11.2024' }), 'malformed'],
    ['not JSON', { body: '<html>' }, 'malformed'],
  ])('turns %s into a SourceError', async (_name, answer, kind) => {
    stub.set('/fns/miners/7736207543', answer);
    const error = await client.lookup('7736207543').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).kind).toBe(kind);
  });
});

describe('checking borrowers in the registry', () => {
  it('checks one borrower on request and the rule passes on it', async () => {
    const checked = await t.as('officer').post('/api/v1/borrowers/B-1/registry-check');
    expect(checked.statusCode).toBe(200);
    expect(checked.json()).toMatchObject({ status: 'included', number: 'M-7707', changed: false });
    expect(await evaluateRegistry('B-1')).toMatchObject({ outcome: 'pass' });
  });

  it('answers 502 and records the failure when the service fails, storing no check', async () => {
    stub.set(`/fns/miners/${ENTREPRENEUR.inn}`, { status: 503, body: 'maintenance' });
    const response = await t.as('officer').post('/api/v1/borrowers/B-2/registry-check');
    expect(response.statusCode).toBe(502);
    expect(response.json().error.code).toBe('registry_unavailable');
    const history = (await t.as('auditor').get('/api/v1/borrowers/B-2/registry-records')).json();
    expect(history.checks).toEqual([]);
    expect(history.failures[0].error).toMatch(/HTTP 503/);
  });

  it('re-checks those due monthly; an exclusion raises a default event and fails the rule', async () => {
    stub.set(`/fns/miners/${ENTREPRENEUR.inn}`, record(ENTREPRENEUR.inn));
    const system = await systemUser(t.test.db);
    // B-1 was checked today: not due. B-2 never was.
    expect(await recheckDue(t.test.db, client, { now: new Date(), recordedBy: system.id })).toEqual({ due: 1, checked: 1, changed: 0, failed: 0 });
    expect(await recheckDue(t.test.db, client, { now: new Date(), recordedBy: system.id })).toEqual({ due: 0, checked: 0, changed: 0, failed: 0 });
    // A month on, both are due; the FNS has excluded the entrepreneur meanwhile.
    stub.set(`/fns/miners/${ENTREPRENEUR.inn}`, record(ENTREPRENEUR.inn, { status: 'excluded', excludedOn: '2026-12-10', exclusionReason: 'mining in a banned area' }));
    const later = new Date(Date.now() + 29 * 86_400_000);
    expect(await recheckDue(t.test.db, client, { now: later, recordedBy: system.id })).toEqual({ due: 2, checked: 2, changed: 1, failed: 0 });
    const events = (await t.as('risk').get('/api/v1/compliance/events')).json().events.filter((e: { rule: string }) => e.rule === 'miners_registry');
    expect(events).toEqual([expect.objectContaining({ borrowerRef: 'B-2', kind: 'started_failing', reason: expect.stringMatching(/excluded from the FNS miners' registry on 2026-12-10 .*mining in a banned area.*default event/) })]);
    expect(await evaluateRegistry('B-2')).toMatchObject({ outcome: 'fail', reason: expect.stringMatching(/excluded/) });
  });
});

describe('registry extracts', () => {
  const extract = ['inn;number;Included_On;Status;Excluded_On;Exclusion_Reason', `${COMPANY.inn};M-7707;15.11.2024;включен;;`, '7736207543;M-7736;2024-12-01;included;;', 'bad;x;2024-12-01;included;;'].join('\n');

  it('parses semicolons, Russian dates and status words, and says which rows it skipped', () => {
    const parsed = parseRegistryExtract(extract);
    expect(parsed.rows.map((r) => `${r.inn}:${r.status}:${r.includedOn}`)).toEqual([`${COMPANY.inn}:included:2024-11-15`, '7736207543:included:2024-12-01']);
    expect(parsed.skipped).toEqual(['line 4: INN "bad" is not 10 or 12 digits']);
  });

  it('imports a complete extract: found borrowers get a check from it, missing miners a not_found', async () => {
    const asOf = new Date().toISOString().slice(0, 10);
    const imported = await t.as('risk').post('/api/v1/compliance/registry-extracts', { asOf, complete: true, content: extract });
    expect(imported.statusCode).toBe(200);
    expect(imported.json()).toMatchObject({ imported: true, rows: 2, matched: 1, notFound: 1, skipped: ['line 4: INN "bad" is not 10 or 12 digits'] });
    expect((await t.as('risk').post('/api/v1/compliance/registry-extracts', { asOf, complete: true, content: extract })).json()).toMatchObject({ imported: false });
    // (The re-check above, a month ahead, stays the latest check.)
    const checks = (await t.as('auditor').get('/api/v1/borrowers/B-2/registry-records')).json().checks;
    expect(checks.filter((c: { source: string }) => c.source === 'extract_import')).toEqual([expect.objectContaining({ status: 'not_found', checkedOn: asOf })]);
  });

  it.each<[string, object, string]>([
    ['no usable row', { asOf: '2026-11-01', complete: false, content: 'inn,number\nx,y\n' }, 'invalid_extract'],
    ['a future date', { asOf: '2999-01-01', complete: false, content: extract }, 'invalid_date'],
    ['a missing flag', { asOf: '2026-11-01', content: extract }, 'validation_failed'],
  ])('refuses %s and stores nothing', async (_name, body, code) => {
    const count = async () => (await t.test.db.query<{ n: bigint }>('SELECT (SELECT count(*) FROM registry_records) + (SELECT count(*) FROM registry_extracts) AS n'))[0]!.n;
    const before = await count();
    const response = await t.as('risk').post('/api/v1/compliance/registry-extracts', body);
    expect(response.json().error.code).toBe(code);
    expect(await count()).toBe(before);
  });

  it('answers 503 for a check when no service is configured', async () => {
    const bare = await openTestApp();
    try {
      await bare.as('officer').post('/api/v1/borrowers', COMPANY);
      const response = await bare.as('officer').post('/api/v1/borrowers/B-1/registry-check');
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('registry_not_configured');
    } finally {
      await bare.close();
    }
  });
});
