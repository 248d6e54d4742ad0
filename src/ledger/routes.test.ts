import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app.js';
import { openTestDatabase, testMigrations } from '../test-support/database.js';
import { freshKey, openTestApp, type TestApp } from '../test-support/app.js';

/**
 * The ledger over HTTP: manual entries are proposed by one officer and posted when a second
 * approves (four eyes); reads are for staff, and a borrower sees only its own settlement account.
 */

let t: TestApp;

beforeAll(async () => {
  t = await openTestApp();
  for (const address of ['loan_principal:LN-1', 'borrower_settlement:B-1', 'borrower_settlement:B-2', 'collateral_pledged:LN-1']) {
    const opened = await t.as('officer').post('/api/v1/ledger/accounts', { address });
    expect(opened.statusCode).toBe(201);
  }
});
afterAll(() => t.close());

/** Proposes an entry as the credit officer. */
function post(payload: unknown, key: string | null = freshKey()) {
  return t.as('officer').inject({ method: 'POST', url: '/api/v1/ledger/entries', headers: key === null ? {} : { 'idempotency-key': key }, payload: payload as object });
}

async function approve(approvalId: string, as: 'officer2' | 'risk' | 'treasury' = 'officer2') {
  return t.as(as).post(`/api/v1/approvals/${approvalId}/approve`);
}

/** Proposes and approves; returns the posted entry. */
async function postAndApprove(payload: unknown) {
  const proposed = await post(payload);
  expect(proposed.statusCode).toBe(202);
  const approved = await approve(proposed.json().id);
  expect(approved.statusCode).toBe(200);
  const entry = await t.as('officer').get(`/api/v1/ledger/entries/${approved.json().result.entryId}`);
  return entry.json();
}

const capital = {
  businessDate: '2026-11-24',
  valueTime: '2026-11-24T09:00:00Z',
  reason: 'capital injection',
  postings: [
    { account: 'cash_correspondent', currency: 'RUB', debit: '1000000.00' },
    { account: 'bank_equity', currency: 'RUB', credit: '1000000.00' },
  ],
};

/** Everything a client could observe; a refused request must leave it as it was. */
async function snapshot(): Promise<string> {
  const rows = await t.test.db.query(`SELECT (SELECT count(*) FROM ledger_entries)::text AS entries, (SELECT count(*) FROM ledger_postings)::text AS postings,
    (SELECT count(*) FROM ledger_accounts)::text AS accounts, (SELECT count(*) FROM approvals)::text AS approvals, (SELECT count(*) FROM idempotency_records)::text AS keys`);
  const trial = await t.as('auditor').get('/api/v1/ledger/trial-balance');
  return JSON.stringify([rows, trial.json()]);
}

describe('service endpoints', () => {
  it('answers /healthz with the engine and applied migrations', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ok', migrationsApplied: (await testMigrations()).length });
  });

  it('serves an OpenAPI 3 document listing the ledger routes', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/healthz', '/api/v1/ledger/entries', '/api/v1/ledger/entries/{id}', '/api/v1/ledger/entries/{id}/reversal',
      '/api/v1/ledger/accounts/{address}/balance', '/api/v1/ledger/accounts/{address}/statement', '/api/v1/ledger/trial-balance',
    ]));
    expect(doc.paths['/api/v1/ledger/entries'].post.requestBody.content['application/json'].schema.properties.postings.items.properties.debit.type).toBe('string');
  });

  it('answers unknown routes with a coded 404', async () => {
    const response = await t.as('officer').get('/api/v1/nothing');
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('route_not_found');
  });
});

describe('posting entries through four eyes', () => {
  it('proposes a balanced entry (202, nothing posted) and posts it on a second officer\'s approval', async () => {
    const before = await snapshot();
    const proposed = await post(capital, 'capital-1');
    expect(proposed.statusCode).toBe(202);
    expect(proposed.json()).toMatchObject({ actionType: 'ledger.manual_entry', status: 'pending', amounts: { RUB: '1000000.00' } });
    const trialBefore = JSON.parse(before)[1];
    expect((await t.as('auditor').get('/api/v1/ledger/trial-balance')).json()).toEqual(trialBefore);

    const approved = await approve(proposed.json().id);
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'approved', decidedBy: t.as('officer2').user.id.toString() });
    const entry = (await t.as('officer').get(`/api/v1/ledger/entries/${approved.json().result.entryId}`)).json();
    expect(entry).toMatchObject({ idempotencyKey: `approval-${proposed.json().id}`, kind: 'manual', businessDate: '2026-11-24', valueTime: '2026-11-24T09:00:00.000Z', reversesEntryId: null });
    expect(entry.postings).toEqual([
      { line: 0, account: 'cash_correspondent', currency: 'RUB', debit: '1000000.00' },
      { line: 1, account: 'bank_equity', currency: 'RUB', credit: '1000000.00' },
    ]);
  });

  it('replays the same key and body: same proposal, nothing written', async () => {
    const first = await post(capital, 'capital-replay');
    const before = await snapshot();
    const again = await post(capital, 'capital-replay');
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await snapshot()).toBe(before);
  });

  it('refuses the same key with another body (422) and writes nothing', async () => {
    await post(capital, 'capital-reuse');
    const before = await snapshot();
    const response = await post({ ...capital, reason: 'another reason' }, 'capital-reuse');
    expect(response.statusCode).toBe(422);
    expect(response.json().error.code).toBe('idempotency_key_reused');
    expect(await snapshot()).toBe(before);
  });

  it('posts BTC collateral as memo entries in satoshis (treasury approves up to 1 BTC)', async () => {
    const proposed = await post({
      businessDate: '2026-11-24',
      reason: 'custodian confirmed deposit',
      postings: [
        { account: 'collateral_held', currency: 'BTC', debit: '0.50000000' },
        { account: 'collateral_pledged:LN-1', currency: 'BTC', credit: '0.5' },
      ],
    });
    expect((await approve(proposed.json().id, 'officer2')).json().error.code).toBe('approver_role_insufficient');
    const approved = await approve(proposed.json().id, 'treasury');
    expect(approved.statusCode).toBe(200);
    const entry = (await t.as('treasury').get(`/api/v1/ledger/entries/${approved.json().result.entryId}`)).json();
    expect(entry.postings[1].credit).toBe('0.50000000');
  });

  const posting = (account: string, currency: string, side: 'debit' | 'credit', amount: unknown) => ({ account, currency, [side]: amount });
  const pair = (debit: unknown, credit: unknown = debit) => ({ ...capital, postings: [posting('cash_correspondent', 'RUB', 'debit', debit), posting('bank_equity', 'RUB', 'credit', credit)] });

  it.each<[string, unknown, number, string]>([
    ['a float amount', pair(1000.5), 400, 'validation_failed'],
    ['an integer JSON number', pair(1000), 400, 'validation_failed'],
    ['an exponent string "1e3"', pair('1e3'), 400, 'invalid_amount'],
    ['"-0"', pair('-0'), 400, 'invalid_amount'],
    ['"0.001" RUB', pair('0.001'), 400, 'invalid_amount'],
    ['a 40-digit number', pair('1234567890123456789012345678901234567890'), 400, 'invalid_amount'],
    ['NaN', pair('NaN'), 400, 'invalid_amount'],
    ['a negative amount', pair('-10.00'), 400, 'invalid_amount'],
    ['zero', pair('0.00'), 400, 'invalid_amount'],
    ['null amount', pair(null), 400, 'validation_failed'],
    ['an unbalanced entry', pair('10.00', '9.99'), 400, 'entry_unbalanced'],
    ['mixed currencies in one posting pair', { ...capital, postings: [posting('cash_correspondent', 'RUB', 'debit', '1.00'), posting('collateral_held', 'BTC', 'credit', '1.00')] }, 400, 'entry_unbalanced'],
    ['a currency the account is not kept in', { ...capital, postings: [posting('collateral_held', 'RUB', 'debit', '1.00'), posting('bank_equity', 'RUB', 'credit', '1.00')] }, 400, 'currency_mismatch'],
    ['an unknown account', { ...capital, postings: [posting('cash_correspondent', 'RUB', 'debit', '1.00'), posting('loan_principal:LN-404', 'RUB', 'credit', '1.00')] }, 404, 'account_not_found'],
    ['an account not in the chart', { ...capital, postings: [posting('cash_correspondent', 'RUB', 'debit', '1.00'), posting('petty_cash', 'RUB', 'credit', '1.00')] }, 404, 'account_not_found'],
    ['a malformed account', { ...capital, postings: [posting('cash_correspondent', 'RUB', 'debit', '1.00'), posting('DROP TABLE', 'RUB', 'credit', '1.00')] }, 400, 'invalid_account'],
    ['a currency that is not RUB or BTC', { ...capital, postings: [posting('cash_correspondent', 'USD', 'debit', '1.00'), posting('bank_equity', 'USD', 'credit', '1.00')] }, 400, 'validation_failed'],
    ['a single posting', { ...capital, postings: [posting('cash_correspondent', 'RUB', 'debit', '1.00')] }, 400, 'entry_too_few_postings'],
    ['an unknown property', { ...capital, approvedBy: 'me' }, 400, 'validation_failed'],
    ['an impossible business date', { ...capital, businessDate: '2026-02-30' }, 400, 'invalid_business_date'],
    ['a value time without offset', { ...capital, valueTime: '2026-11-24T09:00:00' }, 400, 'invalid_value_time'],
    ['a missing reason', { businessDate: capital.businessDate, postings: capital.postings }, 400, 'validation_failed'],
    ['a reason that is not valid Unicode', { ...capital, reason: 'broken \ud800 text' }, 400, 'invalid_text'],
  ])('refuses to propose %s with a coded 4xx and changes nothing', async (_name, payload, status, code) => {
    const before = await snapshot();
    const response = await post(payload);
    expect(response.statusCode).toBe(status);
    const body = response.json();
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.message.length).toBeGreaterThan(5);
    expect(await snapshot()).toBe(before);
  });

  it('refuses a missing Idempotency-Key and changes nothing', async () => {
    const before = await snapshot();
    const response = await post(capital, null);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('idempotency_key_required');
    expect(await snapshot()).toBe(before);
  });

  it('refuses malformed JSON, other media types and oversized bodies', async () => {
    const before = await snapshot();
    const broken = await t.as('officer').inject({ method: 'POST', url: '/api/v1/ledger/entries', headers: { 'idempotency-key': freshKey(), 'content-type': 'application/json' }, payload: '{"businessDate": ' });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('invalid_json');
    const text = await t.as('officer').inject({ method: 'POST', url: '/api/v1/ledger/entries', headers: { 'idempotency-key': freshKey(), 'content-type': 'text/plain' }, payload: 'hello' });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('unsupported_media_type');
    const large = await post({ ...capital, reason: 'x'.repeat(20_000) });
    expect(large.statusCode).toBe(413);
    expect(large.json().error.code).toBe('body_too_large');
    expect(await snapshot()).toBe(before);
  });

  it('accepts exactly one of many concurrent proposals with the same key', async () => {
    const count = async () => Number((await t.test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM approvals'))[0]!.n);
    const before = await count();
    const responses = await Promise.all(Array.from({ length: 8 }, () => post(capital, 'concurrent-key')));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(8).fill(202));
    expect(responses.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(7);
    expect(new Set(responses.map((r) => r.json().id)).size).toBe(1);
    expect((await count()) - before).toBe(1);
  });
});

describe('reading balances, statements and the trial balance', () => {
  const account = 'borrower_settlement:B-1';

  beforeAll(async () => {
    // Three movements on the borrower's settlement account at known value times.
    const moves: Array<[string, string, 'credit' | 'debit']> = [['2026-10-01T10:00:00Z', '300.00', 'credit'], ['2026-10-02T10:00:00Z', '50.25', 'debit'], ['2026-10-03T10:00:00Z', '10.00', 'credit']];
    for (const [valueTime, amount, side] of moves) {
      const other = side === 'credit' ? 'debit' : 'credit';
      await postAndApprove({ businessDate: valueTime.slice(0, 10), valueTime, reason: `settlement ${side}`, postings: [{ account, currency: 'RUB', [side]: amount }, { account: 'cash_correspondent', currency: 'RUB', [other]: amount }] });
    }
  });

  it('gives the balance on the normal side, now and as of a time', async () => {
    const now = await t.as('officer').get(`/api/v1/ledger/accounts/${account}/balance`);
    expect(now.json()).toMatchObject({ debits: '50.25', credits: '310.00', balance: '259.75', account: { normalSide: 'credit', currency: 'RUB' } });
    const asOf = await t.as('officer').get(`/api/v1/ledger/accounts/${account}/balance?asOf=2026-10-02T10:00:00Z`);
    expect(asOf.json()).toMatchObject({ balance: '249.75', asOf: '2026-10-02T10:00:00.000Z' });
  });

  it('pages a statement with a running balance that carries across pages', async () => {
    const first = await t.as('officer').get(`/api/v1/ledger/accounts/${account}/statement?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z&limit=2`);
    expect(first.statusCode).toBe(200);
    const page1 = first.json();
    expect(page1.openingBalance).toBe('0.00');
    expect(page1.lines.map((l: { balanceAfter: string }) => l.balanceAfter)).toEqual(['300.00', '249.75']);
    expect(page1.closingBalance).toBeNull();
    const second = await t.as('officer').get(`/api/v1/ledger/accounts/${account}/statement?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z&limit=2&after=${page1.nextCursor}`);
    const page2 = second.json();
    expect(page2.openingBalance).toBe('249.75');
    expect(page2.lines).toHaveLength(1);
    expect(page2.lines[0]).toMatchObject({ credit: '10.00', balanceAfter: '259.75' });
    expect(page2.closingBalance).toBe('259.75');
    expect(page2.nextCursor).toBeNull();
  });

  it('pages entries recorded without a value time (microseconds on PostgreSQL) without repeating or looping', async () => {
    for (const amount of ['1.00', '2.00', '3.00']) {
      await postAndApprove({ businessDate: '2026-11-24', reason: 'paging', postings: [{ account: 'borrower_settlement:B-2', currency: 'RUB', credit: amount }, { account: 'cash_correspondent', currency: 'RUB', debit: amount }] });
    }
    const seen: string[] = [];
    let cursor: string | null = '';
    for (let page = 0; page < 10 && cursor !== null; page += 1) {
      const response = await t.as('officer').get(`/api/v1/ledger/accounts/borrower_settlement:B-2/statement?limit=1${cursor ? `&after=${cursor}` : ''}`);
      const body = response.json();
      seen.push(...body.lines.map((l: { credit: string }) => l.credit));
      cursor = body.nextCursor;
    }
    expect(cursor).toBeNull();
    expect(seen).toEqual(['1.00', '2.00', '3.00']);
  });

  it('opens a statement range with the balance before it', async () => {
    const response = await t.as('officer').get(`/api/v1/ledger/accounts/${account}/statement?from=2026-10-02T00:00:00Z&to=2026-10-03T00:00:00Z`);
    expect(response.json()).toMatchObject({ openingBalance: '300.00', closingBalance: '249.75' });
  });

  it('lets a borrower read its own settlement account, and no one else\'s (404)', async () => {
    const own = await t.as('borrower1').get(`/api/v1/ledger/accounts/${account}/balance`);
    expect(own.statusCode).toBe(200);
    expect(own.json().balance).toBe('259.75');
    const other = await t.as('borrower2').get(`/api/v1/ledger/accounts/${account}/balance`);
    expect(other.statusCode).toBe(404);
    const statement = await t.as('borrower2').get(`/api/v1/ledger/accounts/${account}/statement`);
    expect(statement.statusCode).toBe(404);
    const bankWide = await t.as('borrower1').get('/api/v1/ledger/accounts/cash_correspondent/balance');
    expect(bankWide.statusCode).toBe(404);
  });

  it('keeps every currency of the trial balance at zero sum, on-balance and off-balance (memo) accounts in their own sections', async () => {
    const response = await t.as('auditor').get('/api/v1/ledger/trial-balance');
    const body = response.json();
    expect(body.balanced).toBe(true);
    expect(Object.keys(body.currencies).sort()).toEqual(['BTC', 'RUB']);
    for (const total of Object.values(body.currencies) as Array<{ debits: string; credits: string; balanced: boolean }>) {
      expect(total.balanced).toBe(true);
      expect(total.debits).toBe(total.credits);
    }
    expect(body.sections.map((s: { section: string; currency: string; balanced: boolean }) => [s.section, s.currency, s.balanced])).toEqual([['on_balance', 'RUB', true], ['off_balance', 'BTC', true]]);
    expect(body.accounts.find((a: { account: string }) => a.account === 'collateral_held')).toMatchObject({ section: 'off_balance' });
  });

  it.each([
    ['/api/v1/ledger/accounts/loan_principal:LN-404/balance', 404, 'account_not_found'],
    ['/api/v1/ledger/accounts/Bad%20Address/balance', 400, 'invalid_account'],
    ['/api/v1/ledger/accounts/cash_correspondent/balance?asOf=yesterday', 400, 'invalid_time'],
    ['/api/v1/ledger/accounts/cash_correspondent/balance?extra=1', 400, 'validation_failed'],
    ['/api/v1/ledger/accounts/cash_correspondent/statement?limit=5000', 400, 'validation_failed'],
    ['/api/v1/ledger/accounts/cash_correspondent/statement?after=garbage', 400, 'invalid_cursor'],
    ['/api/v1/ledger/accounts/cash_correspondent/statement?from=2026-10-02T00:00:00Z&to=2026-10-01T00:00:00Z', 400, 'invalid_range'],
    ['/api/v1/ledger/entries/0', 400, 'validation_failed'],
    ['/api/v1/ledger/entries/abc', 400, 'validation_failed'],
    ['/api/v1/ledger/entries/99999999', 404, 'entry_not_found'],
    ['/api/v1/ledger/entries/9999999999999999999', 400, 'validation_failed'],
  ])('GET %s -> %i %s', async (url, status, code) => {
    const response = await t.as('officer').get(url);
    expect(response.statusCode).toBe(status);
    expect(response.json().error.code).toBe(code);
  });
});

describe('reversals through four eyes', () => {
  it('reverse an entry once; a second reversal or a reversal of the reversal is refused', async () => {
    const original = await postAndApprove(capital);
    const propose = (body: object, id = original.id) => t.as('officer').post(`/api/v1/ledger/entries/${id}/reversal`, body);
    const proposed = await propose({ businessDate: '2026-11-25', reason: 'posted twice by mistake' });
    expect(proposed.statusCode).toBe(202);
    expect(proposed.json()).toMatchObject({ actionType: 'ledger.reversal', amounts: { RUB: '1000000.00' } });
    const approved = await approve(proposed.json().id);
    expect(approved.statusCode).toBe(200);
    const reversal = (await t.as('officer').get(`/api/v1/ledger/entries/${approved.json().result.entryId}`)).json();
    expect(reversal).toMatchObject({ kind: 'reversal', reversesEntryId: original.id });
    expect(reversal.postings).toEqual([
      { line: 0, account: 'cash_correspondent', currency: 'RUB', credit: '1000000.00' },
      { line: 1, account: 'bank_equity', currency: 'RUB', debit: '1000000.00' },
    ]);
    const before = await snapshot();
    const second = await propose({ businessDate: '2026-11-25', reason: 'again' });
    expect(second.statusCode).toBe(409);
    expect(second.json().error.code).toBe('entry_already_reversed');
    expect(await snapshot()).toBe(before);
    const readBack = await t.as('officer').get(`/api/v1/ledger/entries/${original.id}`);
    expect(readBack.json().reversedByEntryId).toBe(reversal.id);
    const ofReversal = await propose({ businessDate: '2026-11-25', reason: 'undo the undo' }, reversal.id);
    expect(ofReversal.json().error.code).toBe('reversal_of_reversal');
  });

  it('two pending reversals of one entry: the second approval is refused, nothing doubles', async () => {
    const original = await postAndApprove(capital);
    const first = await t.as('officer').post(`/api/v1/ledger/entries/${original.id}/reversal`, { businessDate: '2026-11-25', reason: 'one' });
    const second = await t.as('officer').post(`/api/v1/ledger/entries/${original.id}/reversal`, { businessDate: '2026-11-25', reason: 'two' });
    expect((await approve(first.json().id)).statusCode).toBe(200);
    const before = await snapshot();
    const late = await approve(second.json().id);
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('entry_already_reversed');
    expect(await snapshot()).toBe(before);
  });

  it('two reversals of one entry approved at once: one posts, the other is a 409, nothing doubles', async () => {
    const original = await postAndApprove(capital);
    const first = await t.as('officer').post(`/api/v1/ledger/entries/${original.id}/reversal`, { businessDate: '2026-11-25', reason: 'race one' });
    const second = await t.as('officer').post(`/api/v1/ledger/entries/${original.id}/reversal`, { businessDate: '2026-11-25', reason: 'race two' });
    const [a, b] = await Promise.all([approve(first.json().id, 'officer2'), approve(second.json().id, 'risk')]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    expect([a, b].find((r) => r.statusCode === 409)!.json().error.code).toBe('entry_already_reversed');
    const reversals = await t.test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM ledger_entries WHERE reverses_entry_id = $1', [BigInt(original.id)]);
    expect(reversals[0]?.n).toBe(1n);
  });

  it('refuses to reverse an entry that does not exist', async () => {
    const response = await t.as('officer').post('/api/v1/ledger/entries/99999999/reversal', { businessDate: '2026-11-25', reason: 'x' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('entry_not_found');
  });
});

describe('accounts', () => {
  it('opens subledger accounts idempotently and refuses bank-wide or unknown ones', async () => {
    const again = await t.as('officer').post('/api/v1/ledger/accounts', { address: 'loan_principal:LN-1' });
    expect(again.statusCode).toBe(200);
    const bankWide = await t.as('officer').post('/api/v1/ledger/accounts', { address: 'cash_correspondent:X' });
    expect(bankWide.json().error.code).toBe('invalid_account');
    const keyless = await t.as('officer').post('/api/v1/ledger/accounts', { address: 'loan_principal' });
    expect(keyless.json().error.code).toBe('invalid_account');
    const unknown = await t.as('officer').post('/api/v1/ledger/accounts', { address: 'petty_cash:X' });
    expect(unknown.statusCode).toBe(404);
  });

  it('lists accounts by chart code', async () => {
    const response = await t.as('officer').get('/api/v1/ledger/accounts?chart=loan_principal');
    expect(response.json().accounts.map((a: { address: string }) => a.address)).toEqual(['loan_principal:LN-1']);
  });
});

describe('when the database is gone', () => {
  it('reports 503 on /healthz and a 500 without internals elsewhere', async () => {
    const broken = await openTestDatabase();
    const brokenApp = await buildApp({ db: broken.db, migrations: await testMigrations(), logger: false });
    await broken.close();
    const health = await brokenApp.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(503);
    const response = await brokenApp.inject({ method: 'GET', url: '/api/v1/ledger/trial-balance', headers: { authorization: `Bearer ${t.as('auditor').token}` } });
    expect(response.statusCode).toBe(500);
    const body = response.json();
    expect(body.error.code).toBe('internal');
    expect(JSON.stringify(body)).not.toMatch(/\bat .*\.(js|ts):\d+/);
    await brokenApp.close();
  });
});
