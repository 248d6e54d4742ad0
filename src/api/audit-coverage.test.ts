import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, parseSigningKey } from '../audit/checkpoint.js';
import { bankCalendar } from '../calendar/load.js';
import { httpRegistryClient } from '../compliance/registry.js';
import type { Queryable } from '../db/database.js';
import { formatKopecks, formatSats } from '../money/money.js';
import { FIXED_PRODUCT, originate, seedLendingWorld, validAccount } from '../test-support/loans.js';
import { makeTransaction, signPsbt, testKey } from '../test-support/bitcoin.js';
import { startLocalChain, type LocalChain } from '../test-support/local-chain.js';
import { startTelegramServer, type TelegramTestServer } from '../test-support/telegram-server.js';
import { telegramBot } from '../notices/telegram.js';
import { AddressChain, parseDescriptor } from '../vaults/descriptor.js';
import { esploraBackend } from '../vaults/esplora.js';
import { VaultWatcher } from '../vaults/watcher.js';
import { address as addressCodec } from 'bitcoinjs-lib';
import { openTestApp, TEST_PASSWORD, type Caller, type TestApp, type TestUserName } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { fixedPriceService } from '../test-support/prices.js';
import type { PriceService } from '../prices/price-service.js';
import { latestCycle } from '../prices/price-repository.js';
import { runLiquidations } from '../risk/liquidations.js';
import { RiskEngine } from '../risk/risk-engine.js';
import { PgRiskStore } from '../risk/risk-store.js';
import { otcVenue, simulatedVenue } from '../risk/venues.js';

/**
 * Every state-changing operation of the OpenAPI document, made to succeed once through the API as
 * a client would, and its success found in the audit trail (issue 16, item 1): a record with the
 * request's id, outcome ok, a target, and `details.amounts` (decimal strings; the currencies moved
 * for the operations that move money, and for the approval that executes them). The list of
 * operations is read from the running app's OpenAPI document, so a new route without a success
 * here fails the test until it is added.
 */

interface Seen { readonly op: string; readonly status: number; readonly requestId: string; readonly db: Queryable }

const seen: Seen[] = [];
let stub: HttpStub;
let t: TestApp;
let prices: PriceService;
let dir: string;
let chain: LocalChain;
let telegram: TelegramTestServer;
let templates: Array<{ op: string; method: string; pattern: RegExp; params: number }> = [];
const calendar = await bankCalendar();

/** The OpenAPI operation a request went to: `POST /api/v1/loans/{ref}/repayments`. */
function opOf(method: string, url: string): string {
  const bare = url.split('?')[0]!;
  const match = templates.filter((x) => x.method === method && x.pattern.test(bare)).sort((a, b) => a.params - b.params)[0];
  return match?.op ?? `${method} ${bare}`;
}

function note(db: Queryable, method: string, url: string, response: LightMyRequestResponse): LightMyRequestResponse {
  if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) || response.statusCode >= 300) return response;
  seen.push({ op: opOf(method, url), status: response.statusCode, requestId: String(response.headers['x-request-id']), db });
  return response;
}

/** The test app, every caller's successful state-changing requests noted. */
function recording(app: TestApp): TestApp {
  return {
    ...app,
    as: (name: TestUserName): Caller => {
      const caller = app.as(name);
      return {
        ...caller,
        inject: async (options: InjectOptions) => note(app.test.db, String(options.method ?? 'GET').toUpperCase(), String(options.url), await caller.inject(options)),
        post: async (url, payload, headers) => note(app.test.db, 'POST', url, await caller.post(url, payload, headers)),
        get: caller.get,
      };
    },
  };
}

const kop = (rub: string) => BigInt(rub.replace('.', ''));

beforeAll(async () => {
  stub = await startHttpStub();
  dir = await mkdtemp(path.join(tmpdir(), 'zalog-audit-coverage-'));
  chain = await startLocalChain();
  telegram = await startTelegramServer();
  const raw = await openTestApp({
    telegram: { bot: telegramBot({ token: telegram.token, apiUrl: telegram.url }), username: 'zalog_test_bot' },
    chain: { backend: esploraBackend({ baseUrl: chain.url }), feeFloorKvb: 1_000, feeCapKvb: 100_000, feeTargetBlocks: 6, deskAddress: undefined },
    registry: httpRegistryClient({ baseUrl: stub.url('/fns/'), token: 'registry-token', timeoutMs: 2_000 }),
    audit: { key: parseSigningKey(generateSigningKey().privatePem, 'test key'), file: path.join(dir, 'checkpoints.jsonl'), auditorsEmail: 'auditors@bank.example' },
  });
  const doc = (await raw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  for (const [route, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      const upper = method.toUpperCase();
      if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(upper)) continue;
      const pattern = new RegExp(`^${route.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      templates.push({ op: `${upper} ${route}`, method: upper, pattern, params: (route.match(/\{/g) ?? []).length });
    }
  }
  t = recording(raw);
  prices = await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
}, 120_000);

afterAll(async () => {
  await t.close();
  await chain.close();
  await telegram.close();
  await stub.close();
  await rm(dir, { recursive: true, force: true });
});

/** A session for a user logged in with its password (the login itself is noted). */
async function login(username: string, password: string): Promise<{ cookie: string; csrf: string; response: LightMyRequestResponse }> {
  const response = note(t.test.db, 'POST', '/api/v1/auth/login', await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } }));
  expect(response.statusCode, response.body).toBe(200);
  const setCookie = response.headers['set-cookie'];
  const raw = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  return { cookie: raw!.split(';')[0]!, csrf: response.json().csrfToken as string, response };
}

async function ok(response: Promise<LightMyRequestResponse>, status?: number): Promise<LightMyRequestResponse> {
  const answer = await response;
  if (status === undefined) expect(answer.statusCode, answer.body).toBeLessThan(300);
  else expect(answer.statusCode, answer.body).toBe(status);
  return answer;
}

const approve = (id: string, by: TestUserName) => ok(t.as(by).post(`/api/v1/approvals/${id}/approve`, {}), 200);
const put = (by: TestUserName, url: string, payload: object) => t.as(by).inject({ method: 'PUT', url, payload, headers: { 'idempotency-key': `put-${url}-${Date.now()}` } });

describe('every state-changing operation, once, through the API', () => {
  it('the first admins, logging in and out, passwords, tokens and users', async () => {
    // A new bank: its admins disabled, the setup token makes the first one (a second app on its own database).
    const fresh = await openTestApp({ setupToken: 'printed-at-start' });
    try {
      await fresh.test.db.query(`UPDATE users SET disabled_at = now() WHERE 'admin' = ANY (roles)`);
      note(fresh.test.db, 'POST', '/api/v1/setup', await ok(fresh.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token: 'printed-at-start', username: 'boss', password: 'first admin long password' } }), 201));
      await checkAudited(seen.filter((s) => s.db === fresh.test.db));
    } finally {
      await fresh.close();
    }
    const created = await ok(t.as('admin').post('/api/v1/users', { username: 'newbie', displayName: 'New auditor', password: TEST_PASSWORD, roles: ['auditor'] }), 201);
    const userId = created.json().id as string;
    const first = await login('newbie', TEST_PASSWORD);
    const own = 'newbie chose this one 7!';
    note(t.test.db, 'POST', '/api/v1/auth/password', await ok(t.app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: { cookie: first.cookie, 'x-csrf-token': first.csrf }, payload: { currentPassword: TEST_PASSWORD, newPassword: own } }), 200));
    const again = await login('newbie', own);
    note(t.test.db, 'POST', '/api/v1/auth/logout', await ok(t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: again.cookie, 'x-csrf-token': again.csrf } })));
    const token = await ok(t.as('officer').post('/api/v1/auth/tokens', { name: 'scripts', expiresInDays: 30 }), 201);
    await ok(t.as('officer').post(`/api/v1/auth/tokens/${token.json().token.id}/revoke`, {}));
    await ok(t.as('admin').inject({ method: 'PATCH', url: `/api/v1/users/${userId}`, payload: { displayName: 'New auditor (audit dept.)' } }), 200);
    const reset = await ok(t.as('admin').post(`/api/v1/users/${userId}/password`, { password: 'a temporary one for newbie 42' }), 202);
    await approve(reset.json().id, 'admin2');
  });

  it('approvals, the audit checkpoint, the ledger', async () => {
    await ok(put('admin', '/api/v1/approvals/limits', { actionType: 'ledger.manual_entry', currency: 'RUB', approverRole: 'credit_officer', upTo: '3000000.00' }), 200);
    const entry = (reason: string) => t.as('officer').post('/api/v1/ledger/entries', { businessDate: '2025-03-17', reason, postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '1000.00' }, { account: 'bank_equity', currency: 'RUB', credit: '1000.00' }] });
    const posted = await ok(entry('capital injection'), 202);
    const executed = await approve(posted.json().id, 'officer2');
    await ok(t.as('officer').post(`/api/v1/ledger/entries/${executed.json().result.entryId}/reversal`, { businessDate: '2025-03-17', reason: 'booked twice' }), 202);
    await ok(t.as('officer2').post(`/api/v1/approvals/${(await ok(entry('to be rejected'), 202)).json().id}/reject`, { reason: 'no supporting document' }), 200);
    await ok(t.as('officer').post(`/api/v1/approvals/${(await ok(entry('to be withdrawn'), 202)).json().id}/cancel`, { reason: 'typo' }), 200);
    await ok(t.as('officer').post('/api/v1/ledger/accounts', { address: 'borrower_settlement:B-2' }));
    await ok(t.as('auditor').post('/api/v1/audit/checkpoints', {}), 201);
  });

  it('borrowers, their fleet, compliance and the catalogue', async () => {
    const officer = t.as('officer');
    const site = (await officer.get('/api/v1/borrowers/B-2/sites')).json().sites[0];
    const added = await ok(officer.post(`/api/v1/borrowers/B-2/sites/${site.id}/machines`, { model: 'Antminer S21 XP', count: 3, installedOn: '2025-05-01' }), 201);
    const group = added.json().machinesId as string;
    await ok(officer.inject({ method: 'PATCH', url: `/api/v1/borrowers/B-2/sites/${site.id}/machines/${group}`, payload: { count: 2, reason: 'two machines, not three: the site visit counted them' } }), 200);
    await ok(officer.post(`/api/v1/borrowers/B-2/sites/${site.id}/machines/${group}/retire`, { retiredOn: '2026-06-30', reason: 'sold' }));
    stub.set('/fns/miners/7707083893', { body: JSON.stringify({ inn: '7707083893', number: 'M-1', includedOn: '2025-01-10', status: 'included', excludedOn: null, exclusionReason: null }) });
    await ok(officer.post('/api/v1/borrowers/B-1/registry-check', {}), 200);
    await ok(officer.post('/api/v1/borrowers/B-1/compliance/evaluate', {}));
    await ok(put('officer', '/api/v1/borrowers/B-2/bank-details', { bik: '044525225', account: validAccount('4070281038000000007'), reason: 'the borrower moved its account' }), 202);
    await ok(t.as('borrower1').post('/api/v1/borrowers/B-1/btc-addresses', { address: '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', purpose: 'reported' }), 201);
    await ok(t.as('admin').post('/api/v1/asic-models', { model: 'Antminer S23', maker: 'Bitmain', hashrateThs: '318', powerWatts: 3498, released: '2025-12', source: 'maker\'s specification sheet' }), 201);
    await ok(put('risk', '/api/v1/compliance/bans/audit-test', { regionCode: '04', municipalities: null, kind: 'year_round', effectiveFrom: '2025-01-01', effectiveTo: null, legalBasis: 'test entry' }), 200);
    await ok(t.as('risk').post('/api/v1/compliance/registry-extracts', { asOf: '2026-11-01', complete: false, content: 'inn;number;Included_On;Status;Excluded_On;Exclusion_Reason\n7707083893;M-1;10.01.2025;включен;;\n' }), 200);
    await ok(officer.post('/api/v1/borrowers', { ref: 'B-3', kind: 'individual', name: 'Петров Пётр', inn: '773173084809', regionCode: '77', address: 'Moscow' }), 201);
    await ok(t.as('risk').post('/api/v1/compliance/screening-lists', { name: 'stop-list', format: 'zalog_csv', version: '2026-11-24', content: 'kind,value,name,program\ninn,773173084809,,internal stop list\n' }), 200);
    const [hit] = (await t.as('risk').get('/api/v1/compliance/screening-hits?status=open')).json().hits;
    const clear = await ok(t.as('risk').post(`/api/v1/compliance/screening-hits/${hit.id}/clear`, { reason: 'a namesake: another date of birth' }), 202);
    await approve(clear.json().id, 'risk2');
  });

  it('underwriting, equipment, products and rates', async () => {
    await ok(put('risk', '/api/v1/equipment/price-index/2025-11-01', { below19: '25.70', from19to25: '12.00', from25to38: '5.00', from38to68: '2.00', above68: '0.50', source: 'bank index' }), 200);
    await ok(t.as('risk').post('/api/v1/borrowers/B-1/equipment/revalue', {}), 200);
    await ok(t.as('borrower1').post('/api/v1/hold-or-sell', { holdings: '1.00000000', need: '1000000.00', months: 12, annualRatePercent: '20' }), 200);
    await ok(t.as('admin').post('/api/v1/loan-products/FIX/versions', { terms: { ...FIXED_PRODUCT, originationFeePercent: '0.5' } }), 201);
    await ok(put('risk', '/api/v1/key-rates/2025-10-27', { percent: '16.5', source: 'Bank of Russia press release of 24.10.2025' }), 200);
    await ok(put('admin', '/api/v1/calendar/years/2031', { source: 'test decree for 2031', holidays: ['2031-01-01', '2031-01-02', '2031-01-03', '2031-01-06', '2031-01-07', '2031-01-08', '2031-01-09'], workingWeekends: [], reason: 'the decree is published' }), 200);
  });

  it('a loan\'s life: applied, offered again, approved, collateralised, disbursed, repaid, closed, released; money back', async () => {
    const applied = await ok(t.as('officer').post('/api/v1/borrowers/B-1/loan-applications', { product: 'FIX', amount: '500000.00', months: 12, repaymentType: 'annuity', collateral: '0.20000000' }), 201);
    await ok(t.as('officer').post(`/api/v1/loan-applications/${applied.json().applicationId}/offer`, {}), 201);
    const { ref } = await originate(t, { borrower: 'B-1', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25000000' });
    // Its top-ups go to a vault of its own (on-chain custody), made by four eyes.
    const vaultKeys = [testKey(41), testKey(42), testKey(43)].map((key, i) => ({ role: ['borrower', 'bank', 'agent'][i], xpub: key.xpub, fingerprint: key.fingerprint, originPath: key.originPath }));
    const vaultKeyPairs = [testKey(41), testKey(42), testKey(43)];
    const made = await approve((await ok(t.as('treasury').post(`/api/v1/loans/${ref}/vault`, { mode: 'collaborative', network: 'regtest', threshold: 2, keys: vaultKeys, confirmations: 1 }), 202)).json().id, 'treasury2');
    // A top-up of 0.01 BTC to the vault, counted at its one confirmation.
    const vaultScript = new AddressChain(parseDescriptor(made.json().result.descriptor, 'regtest')).at(0).scriptPubKey;
    chain.mine([makeTransaction([{ txid: 'c1'.repeat(32), vout: 0 }], [{ script: Buffer.from(vaultScript, 'hex'), sats: 1_000_000n }])]);
    const watcher = new VaultWatcher({ db: t.test.db, backend: esploraBackend({ baseUrl: chain.url }), now: () => new Date(), startHeight: 1 });
    await watcher.sync();
    const challenge = (await t.as('borrower1').get(`/api/v1/loans/${ref}/vault/key-challenge`)).json().psbt as string;
    await ok(t.as('borrower1').post(`/api/v1/loans/${ref}/vault/key-proof`, { psbt: signPsbt(challenge, vaultKeyPairs[0]!) }), 200);
    await ok(t.as('borrower1').post(`/api/v1/loans/${ref}/vault/release-address`, { address: addressCodec.toBech32(Buffer.alloc(20, 9), 0, 'bcrt') }), 200);
    const owed = (await t.as('officer').get(`/api/v1/loans/${ref}`)).json().balances.total as string;
    await ok(t.as('treasury').post(`/api/v1/loans/${ref}/repayments`, { reference: 'PAY-1', amount: formatKopecks(kop(owed) + 100_000n) }), 201);
    const closed = await ok(t.as('officer').post(`/api/v1/loans/${ref}/prepayments`, { mode: 'smaller_instalment' }), 201);
    expect(closed.json().status, closed.body).toBe('closed');
    // The custodian's part released by the custodial release; the vault's by a spend (one cancelled first).
    await approve((await ok(t.as('treasury').post(`/api/v1/loans/${ref}/collateral-release`, {}), 202)).json().id, 'treasury2');
    const cancelled = await approve((await ok(t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends`, { purpose: 'release' }), 202)).json().id, 'treasury2');
    await ok(t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends/${cancelled.json().result.spendId}/cancel`, {}), 200);
    const spendId = (await approve((await ok(t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends`, { purpose: 'release' }), 202)).json().id, 'treasury2')).json().result.spendId as string;
    const unsigned = (await t.as('treasury').get(`/api/v1/loans/${ref}/vault/spends/${spendId}/psbt`)).json().psbt as string;
    for (const [caller, key] of [['borrower1', vaultKeyPairs[0]!], ['treasury', vaultKeyPairs[1]!]] as const) {
      await ok(t.as(caller).post(`/api/v1/loans/${ref}/vault/spends/${spendId}/signatures`, { psbt: signPsbt(unsigned, key) }), 201);
    }
    await approve((await ok(t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends/${spendId}/finalise`, {}), 202)).json().id, 'treasury2');
    await ok(t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends/${spendId}/broadcast`, {}), 200);
    chain.mine();
    await watcher.sync();
    expect((await t.as('officer').get(`/api/v1/loans/${ref}/collateral`)).json().release.status).toBe('executed');
    // Money after the loan closed: what was left on the settlement account, refunded; a payment after, held in suspense and returned.
    const money = (await t.as('treasury').get('/api/v1/borrowers/B-1/money')).json();
    expect(kop(money.refundable)).toBeGreaterThan(0n);
    await approve((await ok(t.as('treasury').post('/api/v1/borrowers/B-1/refunds', { amount: money.refundable, reason: 'left after the loan closed' }), 202)).json().id, 'treasury2');
    await ok(t.as('treasury').post(`/api/v1/loans/${ref}/repayments`, { reference: 'LATE-1', amount: '5000.00' }), 201);
    const item = (await t.as('treasury').get('/api/v1/borrowers/B-1/money')).json().suspense.find((s: { reference: string }) => s.reference === 'LATE-1');
    await approve((await ok(t.as('treasury').post(`/api/v1/suspense-items/${item.id}/refund`, { reason: 'paid after the loan closed' }), 202)).json().id, 'treasury2');
    // Another loan: a term extension, a top-up declared, where its notices go.
    const other = (await originate(t, { borrower: 'B-2', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.50000000' })).ref;
    await approve((await ok(t.as('officer').post(`/api/v1/loans/${other}/restructuring`, { extraMonths: 6, reason: 'seasonal ban on mining in the region' }), 202)).json().id, 'officer2');
    await ok(put('officer', '/api/v1/borrowers/B-2/risk-contacts', { email: 'ops@farm.example', webhookUrl: null }), 200);
  });

  it('risk: a liquidation sold by the OTC desk, one with a shortfall written off, an acknowledgement, a sharp move confirmed', async () => {
    const engine = new RiskEngine(t.test.db, new PgRiskStore(t.test.db, calendar));
    await engine.rebuild();
    const publish = async (price: bigint) => {
      await t.test.db.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, reasons, inputs) VALUES ('live', now(), $1, $1, 'normal', '{}', '[]')`, [price]);
      await engine.onCycle((await latestCycle(t.test.db, 'live'))!);
    };
    const options = { capSats: 100n * 100_000_000n, staleAfterSeconds: 3_600, calendar, now: () => new Date() };
    const { ref: sold } = await originate(t, { borrower: 'B-2', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25000000' });
    await publish(460_000_000n);
    await runLiquidations(t.test.db, { ...options, venue: otcVenue });
    const [liq] = await t.test.db.query<{ id: bigint; planned_sats: bigint }>(`SELECT q.id, q.planned_sats FROM liquidations q JOIN loans l ON l.id = q.loan_id WHERE l.ref = $1 AND q.status = 'selling'`, [sold]);
    const fills = await ok(t.as('treasury').post(`/api/v1/liquidations/${liq!.id}/fills`, { fills: [{ venueFillId: 'OTC-1', btc: formatSats(liq!.planned_sats), price: '4560000.00', feeRub: '150.00' }], done: true, channel: { channel: 'experimental_regime', venue: 'OTC desk', counterparty: 'Gulf Digital OTC', jurisdiction: 'AE' } }), 202);
    await approve(fills.json().id, 'treasury2');
    await publish(800_000_000n);
    const { ref: short } = await originate(t, { borrower: 'B-2', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25000000' });
    await publish(300_000_000n);
    await runLiquidations(t.test.db, { ...options, venue: simulatedVenue() });
    await approve((await ok(t.as('risk').post(`/api/v1/loans/${short}/write-off`, { reason: 'shortfall after liquidation' }), 202)).json().id, 'risk2');
    const transition = (await t.as('borrower2').get('/api/v1/borrowers/B-2/risk')).json().transitions[0];
    await ok(t.as('borrower2').post('/api/v1/borrowers/B-2/risk-acknowledgements', { transitionId: transition.id }));
    // The miner's notice settings and its Telegram link (a code for the bank's bot), then unlinking.
    await ok(put('borrower2', '/api/v1/me/notices', { language: 'en', email: true, telegram: false }));
    await ok(t.as('borrower2').post('/api/v1/me/notices/telegram-code', {}), 201);
    await ok(t.as('borrower2').inject({ method: 'DELETE', url: '/api/v1/me/notices/telegram' }));
    // A manual price proposed (and withdrawn: the feed is back); a sharp move of the feed confirmed by a risk officer.
    await ok(t.as('risk').post('/api/v1/prices/manual', { price: '4700000.00', validMinutes: 30, reason: 'two exchanges frozen' }), 202);
    for (const name of ['ex-a', 'ex-b', 'ex-c']) stub.set(`/${name}`, () => ({ body: JSON.stringify({ price: '50000.00', time: new Date().toISOString() }) }));
    const crashed = await prices.cycle();
    expect(crashed.reasons).toContain('sharp_move');
    await ok(t.as('risk').post('/api/v1/prices/confirm', { cycleId: crashed.id.toString(), reason: 'checked with two OTC desks' }), 200);
  });

  it('the bank\'s side of the book: limits and weights by four eyes, the book computed, a group of connected borrowers', async () => {
    await approve((await ok(t.as('risk').post('/api/v1/exposure/limits', { effectiveFrom: '2025-01-01', kind: 'region', regionCode: '38', softPercent: '0.5', hardPercent: '1', legalBasis: 'credit policy', reason: 'seasonal bans in Irkutsk region' }), 202)).json().id, 'risk2');
    await approve((await ok(t.as('risk').post('/api/v1/exposure/risk-weights', { effectiveFrom: '2025-01-01', borrowerKind: 'individual', collateral: 'btc', weightPercent: '1250', legalBasis: 'SCO60', reason: 'stated for individuals too' }), 202)).json().id, 'risk2');
    await ok(t.as('risk').post('/api/v1/exposure/snapshots', {}), 201);
    await ok(t.as('officer').post('/api/v1/borrower-groups', { ref: 'ONE-OWNER', name: 'One owner', basis: 'common beneficial owner' }), 201);
    await ok(put('officer', '/api/v1/borrowers/B-1/group', { group: 'ONE-OWNER', reason: 'registry extract shows one owner' }));
    await approve((await ok(t.as('risk').post('/api/v1/sale-channels', { effectiveFrom: '2026-01-01', channel: 'otc_abroad', allowed: false, legalBasis: 'legal opinion of the bank', reason: 'not until the regulator says' }), 202)).json().id, 'risk2');
  });

  it('machines as a second layer: pledged with a loan, enforced on after its default by four eyes, the proceeds recorded', async () => {
    const engine = new RiskEngine(t.test.db, new PgRiskStore(t.test.db, calendar));
    await engine.rebuild();
    const publish = async (price: bigint) => {
      await t.test.db.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, usd_rub, status, reasons, inputs) VALUES ('live', now(), $1, $1, '80', 'normal', '{}', '[]')`, [price]);
      await engine.onCycle((await latestCycle(t.test.db, 'live'))!);
    };
    await publish(800_000_000n);
    await ok(t.as('admin').post('/api/v1/loan-products', { code: 'EQ', terms: { ...FIXED_PRODUCT, collateral: { ...FIXED_PRODUCT.collateral, equipment: { maxSharePercent: '20' } } } }), 201);
    const site = (await t.as('officer').get('/api/v1/borrowers/B-2/sites')).json().sites[0].id;
    const machines = (await ok(t.as('officer').post(`/api/v1/borrowers/B-2/sites/${site}/machines`, { model: 'Antminer S21 XP', count: 15, serials: Array.from({ length: 15 }, (_, i) => `AC-${i}`), installedOn: '2025-05-01' }), 201)).json();
    await ok(t.as('risk').post('/api/v1/borrowers/B-2/equipment/revalue', {}), 200);
    await ok(t.as('officer').post(`/api/v1/borrowers/B-2/sites/${site}/tariffs`, { rubPerKwh: '3.40', from: '2031-01-01', reason: 'the grid company\'s tariff from 2031' }), 201);
    const { ref } = await originate(t, { borrower: 'B-2', product: 'EQ', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.20000000', equipmentMachines: [machines.machinesId] });
    await publish(300_000_000n);
    const enforce = await approve((await ok(t.as('officer').post(`/api/v1/loans/${ref}/equipment-enforcements`, { reason: 'its BTC no longer covers the debt' }), 202)).json().id, 'risk');
    await ok(t.as('treasury').post(`/api/v1/equipment-enforcements/${enforce.json().result.enforcementId}/proceeds`, { amount: '250000.00' }), 200);
  });
});

/** Operations that move money or collateral, and the currencies their record must name. */
const MONEY: Record<string, readonly string[]> = {
  'POST /api/v1/ledger/entries': ['RUB'],
  'POST /api/v1/ledger/entries/{id}/reversal': ['RUB'],
  'POST /api/v1/borrowers/{ref}/loan-applications': ['RUB', 'BTC'],
  'POST /api/v1/loan-applications/{id}/offer': ['RUB'],
  'POST /api/v1/loan-applications/{id}/approval': ['RUB'],
  'POST /api/v1/loans/{ref}/collateral': ['BTC'],
  'POST /api/v1/collateral-positions/{id}/confirmation': ['BTC'],
  'POST /api/v1/loans/{ref}/disbursement': ['RUB'],
  'POST /api/v1/loans/{ref}/repayments': ['RUB'],
  'POST /api/v1/loans/{ref}/prepayments': ['RUB'],
  'POST /api/v1/loans/{ref}/restructuring': ['RUB'],
  'POST /api/v1/loans/{ref}/collateral-release': ['BTC'],
  'POST /api/v1/borrowers/{ref}/refunds': ['RUB'],
  'POST /api/v1/suspense-items/{id}/refund': ['RUB'],
  // A proposal of fills names the BTC (what the limits apply to); their approval also the roubles raised.
  'POST /api/v1/liquidations/{id}/fills': ['BTC'],
  'POST /api/v1/loans/{ref}/write-off': ['RUB'],
  'POST /api/v1/loans/{ref}/equipment-enforcements': ['RUB'],
  'POST /api/v1/equipment-enforcements/{id}/proceeds': ['RUB'],
  'POST /api/v1/loans/{ref}/vault/spends': ['BTC'],
  'POST /api/v1/loans/{ref}/vault/spends/{id}/finalise': ['BTC'],
  'POST /api/v1/loans/{ref}/vault/spends/{id}/broadcast': ['BTC'],
};

/** The approvals whose execution moves money: their approve record names the amounts too. */
const MONEY_ACTIONS: Record<string, readonly string[]> = {
  'ledger.manual_entry': ['RUB'], 'ledger.reversal': ['RUB'], 'loans.approve': ['RUB'], 'collateral.confirm': ['BTC'], 'collateral.release': ['BTC'], 'loans.restructure': ['RUB'],
  'settlement.refund': ['RUB'], 'suspense.refund': ['RUB'], 'liquidation.fills': ['BTC', 'RUB'], 'loans.write_off': ['RUB'], 'equipment.enforce': ['RUB'],
  'vault.spend': ['BTC'], 'vault.spend.finalise': ['BTC'],
};

async function checkAudited(successes: readonly Seen[]): Promise<void> {
  for (const s of successes) {
    const records = await s.db.query<{ action: string; outcome: string; target: string | null; details: Record<string, unknown> }>('SELECT action, outcome, target, details FROM audit_log WHERE request_id = $1 ORDER BY id', [s.requestId]);
    const where = `${s.op} (request ${s.requestId}, ${s.status})`;
    expect(records.length, `${where}: no audit record`).toBeGreaterThan(0);
    // Every record the request wrote (the route's, and what an approved action wrote) is whole.
    for (const r of records) {
      expect(r.outcome, `${where}: ${r.action}`).toBe('ok');
      expect(r.details.unaudited, `${where}: recorded only by the safety net`).toBeUndefined();
      expect(r.target, `${where}: ${r.action} names no target`).toMatch(/^[a-z_]+:./);
      const amounts = r.details.amounts as Record<string, string> | undefined;
      expect(amounts, `${where}: ${r.action} has no amounts`).toBeTypeOf('object');
      for (const value of Object.values(amounts!)) expect(value, `${where}: ${r.action}`).toMatch(/^-?\d+\.\d{2}(\d{6})?$/);
    }
    const executed = records.map((r) => /^approval\.approve\.(.+)$/.exec(r.action)?.[1]).find((x) => x !== undefined);
    const expected = MONEY[s.op] ?? (executed !== undefined ? MONEY_ACTIONS[executed] ?? [] : []);
    for (const currency of expected) {
      const present = records.some((r) => (r.details.amounts as Record<string, string>)[currency] !== undefined);
      expect(present, `${where}: should name the ${currency} it moved; has ${JSON.stringify(records.map((r) => [r.action, r.details.amounts]))}`).toBe(true);
    }
  }
}

describe('the audit trail of those successes', () => {
  it('has every state-changing operation of the OpenAPI document succeeded at least once', () => {
    const succeeded = new Set(seen.map((s) => s.op));
    expect(templates.map((x) => x.op).filter((op) => !succeeded.has(op))).toEqual([]);
  });

  it('records each success with its request id, outcome ok, a target and the amounts it moved', async () => {
    await checkAudited(seen.filter((s) => s.db === t.test.db));
  });
});
