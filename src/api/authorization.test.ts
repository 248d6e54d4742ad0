import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, TEST_USERS, type TestApp, type TestUserName } from '../test-support/app.js';
import { checkRouteRule, type RouteRule } from './access.js';
import { makeTransaction, testKey } from '../test-support/bitcoin.js';
import { AddressChain, parseDescriptor, vaultDescriptor } from '../vaults/descriptor.js';
import { buildSpend } from '../vaults/psbt.js';
import { createVault } from '../vaults/vault-store.js';
import { seedLoans } from '../loans/seed.js';
import { FIXED_PRODUCT } from '../test-support/loans.js';
import { bankCalendar } from '../calendar/load.js';

/**
 * Authorisation, proven by walking the app's own route list: a route added later is checked
 * without anyone remembering to add it here, and a route open to borrowers that takes an id fails
 * the suite until it has an IDOR probe below.
 */

let t: TestApp;
beforeAll(async () => {
  t = await openTestApp();
  expect((await t.as('officer').post('/api/v1/ledger/accounts', { address: 'borrower_settlement:B-1' })).statusCode).toBe(201);
});
afterAll(() => t.close());

const key = (rule: RouteRule) => `${rule.method} ${rule.url}`;

/** A URL for a route with placeholder parameters (the record need not exist: access comes first). */
function sampleUrl(url: string): string {
  return url.replace(':address', 'cash_correspondent').replace(/:[a-zA-Z]+/g, '1');
}

/**
 * For every route a borrower may call that names a record: how to get a URL to a record of
 * borrower1's. borrower2 must get 404 for it, borrower1 must not.
 */
const OWNED_BY_BORROWER1: Record<string, (t: TestApp) => Promise<string>> = {
  'GET /api/v1/ledger/accounts/:address/balance': async () => '/api/v1/ledger/accounts/borrower_settlement:B-1/balance',
  'GET /api/v1/ledger/accounts/:address/statement': async () => '/api/v1/ledger/accounts/borrower_settlement:B-1/statement',
  'GET /api/v1/borrowers/:ref': async (app) => {
    const created = await app.as('officer').post('/api/v1/borrowers', { ref: 'B-1', kind: 'company', name: 'Probe', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001', regionCode: '77', address: 'Moscow' });
    expect([201, 409]).toContain(created.statusCode);
    return '/api/v1/borrowers/B-1';
  },
  'GET /api/v1/borrowers/:ref/sites': borrower1Path('sites'),
  'POST /api/v1/borrowers/:ref/fns-reports': borrower1Path('fns-reports'),
  'POST /api/v1/borrowers/:ref/btc-addresses': borrower1Path('btc-addresses'),
  'GET /api/v1/borrowers/:ref/btc-addresses': borrower1Path('btc-addresses'),
  'POST /api/v1/borrowers/:ref/attestations': borrower1Path('attestations'),
  'GET /api/v1/borrowers/:ref/attestations': borrower1Path('attestations'),
  'POST /api/v1/borrowers/:ref/loan-applications': borrower1Path('loan-applications'),
  'GET /api/v1/borrowers/:ref/loan-applications': borrower1Path('loan-applications'),
  'GET /api/v1/borrowers/:ref/loans': borrower1Path('loans'),
  'GET /api/v1/borrowers/:ref/risk': borrower1Path('risk'),
  'GET /api/v1/borrowers/:ref/liquidations': borrower1Path('liquidations'),
  'POST /api/v1/borrowers/:ref/risk-acknowledgements': borrower1Path('risk-acknowledgements'),
  'GET /api/v1/borrowers/:ref/money': borrower1Path('money'),
  'GET /api/v1/borrowers/:ref/loan-quote': async (app) => {
    // A product to quote: an unknown one would be a 404 for the owner too.
    expect([201, 409]).toContain((await app.as('admin').post('/api/v1/loan-products', { code: 'PROBE', terms: FIXED_PRODUCT })).statusCode);
    return borrower1Path('loan-quote?product=PROBE&amount=100000.00&months=12&repaymentType=annuity&collateral=0.1')(app);
  },
  'GET /api/v1/loans/:ref': borrower1Loan(''),
  'GET /api/v1/loans/:ref/schedule': borrower1Loan('/schedule'),
  'GET /api/v1/loans/:ref/balances': borrower1Loan('/balances'),
  'GET /api/v1/loans/:ref/statement': borrower1Loan('/statement'),
  'GET /api/v1/loans/:ref/collateral': borrower1Loan('/collateral'),
  'GET /api/v1/loans/:ref/events': borrower1Loan('/events'),
  'GET /api/v1/loans/:ref/documents/:document': borrower1Loan('/documents/statement?format=csv'),
  'GET /api/v1/loans/:ref/vault': async (app) => {
    // The loan needs a vault for its owner to see one (without, the answer is 404 for everyone).
    const url = await borrower1Loan('')(app);
    const ref = url.split('/').pop()!;
    const [loan] = await app.test.db.query<{ id: bigint }>('SELECT l.id FROM loans l WHERE l.ref = $1 AND NOT EXISTS (SELECT 1 FROM vaults v WHERE v.loan_id = l.id)', [ref]);
    if (loan !== undefined) await createVault(app.test.db, { loanId: loan.id, mode: 'collaborative', parsed: vaultDescriptor({ network: 'regtest', threshold: 2, chain: 900, keys: [testKey(51), testKey(52), testKey(53)] }), chainIndex: 900, confirmations: 3, at: new Date(), lookahead: 2 });
    return `${url}/vault`;
  },
  'POST /api/v1/loans/:ref/vault/release-address': async (app) => `${await OWNED_BY_BORROWER1['GET /api/v1/loans/:ref/vault']!(app)}/release-address`,
  'GET /api/v1/loans/:ref/vault/spends/:id/psbt': borrower1Spend('/psbt'),
  'GET /api/v1/loans/:ref/vault/key-challenge': async (app) => `${await OWNED_BY_BORROWER1['GET /api/v1/loans/:ref/vault']!(app)}/key-challenge`,
  'POST /api/v1/loans/:ref/vault/key-proof': async (app) => `${await OWNED_BY_BORROWER1['GET /api/v1/loans/:ref/vault']!(app)}/key-proof`,
  'POST /api/v1/loans/:ref/vault/spends/:id/signatures': borrower1Spend('/signatures'),
  'POST /api/v1/loans/:ref/collateral': borrower1Loan('/collateral'),
  'POST /api/v1/auth/tokens/:id/revoke': async (app) => {
    const made = await app.as('borrower1').post('/api/v1/auth/tokens', { name: 'probe', expiresInDays: 1 });
    return `/api/v1/auth/tokens/${made.json().token.id}/revoke`;
  },
};

/** A probe for a route under a loan of borrower1's: one seeded loan, made borrower1's. */
function borrower1Loan(suffix: string): (t: TestApp) => Promise<string> {
  return async (app) => {
    await OWNED_BY_BORROWER1['GET /api/v1/borrowers/:ref']!(app);
    let [loan] = await app.test.db.query<{ ref: string }>(`SELECT l.ref FROM loans l JOIN borrowers b ON b.id = l.borrower_id WHERE b.ref = 'B-1' LIMIT 1`);
    if (loan === undefined) {
      await seedLoans(app.test.db, { count: 1, disbursedOn: '2026-11-02', calendar: await bankCalendar(), prefix: 'authz' });
      [loan] = await app.test.db.query<{ ref: string }>(`UPDATE loan_terms SET borrower_id = (SELECT id FROM borrowers WHERE ref = 'B-1') WHERE id = (SELECT max(id) FROM loan_terms) RETURNING ref`);
    }
    return `/api/v1/loans/${loan!.ref}${suffix}`;
  };
}

/** A probe for a route under a spend of borrower1's vault: a coin of the vault and a spend of it being signed. */
function borrower1Spend(suffix: string): (t: TestApp) => Promise<string> {
  return async (app) => {
    const vaultUrl = await OWNED_BY_BORROWER1['GET /api/v1/loans/:ref/vault']!(app);
    const ref = vaultUrl.split('/')[4]!;
    const [vault] = await app.test.db.query<{ id: bigint; descriptor: string }>('SELECT v.id, v.descriptor FROM vaults v JOIN loans l ON l.id = v.loan_id WHERE l.ref = $1', [ref]);
    const [existing] = await app.test.db.query<{ id: bigint }>(`SELECT id FROM vault_spends WHERE vault_id = $1 AND state = 'signing'`, [vault!.id]);
    if (existing !== undefined) return `${vaultUrl}/spends/${existing.id}${suffix}`;
    const parsed = parseDescriptor(vault!.descriptor, 'regtest');
    const funding = makeTransaction([{ txid: 'd0'.repeat(32), vout: 0 }], [{ script: Buffer.from(new AddressChain(parsed).at(0).scriptPubKey, 'hex'), sats: 1_000_000n }]);
    const spend = buildSpend({ vault: parsed, coins: [{ txid: funding.getId(), vout: 0, sats: 1_000_000n, index: 0, txHex: funding.toHex() }], to: { address: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080' }, changeIndex: 2, feeRate: 1 });
    await app.test.db.query(`INSERT INTO vault_coins (txid, vout, vault_id, address_index, sats, tx_hex, first_seen_at) VALUES ($1, 0, $2, 0, 1000000, $3, now())`, [funding.getId(), vault!.id, funding.toHex()]);
    const [row] = await app.test.db.query<{ id: bigint }>(`INSERT INTO vault_spends (vault_id, purpose, state, to_address, sats, change_sats, fee_sats, fee_rate_kvb, vsize, psbt, unsigned_txid, inputs, outputs, created_at)
      VALUES ($1, 'release', 'signing', $2, $3, 0, $4, 1000, $5, $6, $7, $8::jsonb, $9::jsonb, now()) RETURNING id`,
    [vault!.id, spend.outputs[0]!.address, spend.outputs[0]!.sats, spend.fee, spend.vsize, spend.psbt, spend.unsignedTxid,
      JSON.stringify(spend.inputs.map((i) => ({ txid: i.txid, vout: i.vout, sats: i.sats.toString(), index: i.index }))), JSON.stringify(spend.outputs.map((o) => ({ address: o.address, sats: o.sats.toString(), change: o.change })))]);
    return `${vaultUrl}/spends/${row!.id}${suffix}`;
  };
}

/** A probe for a route under borrower1's own record: the record is made first. */
function borrower1Path(suffix: string): (t: TestApp) => Promise<string> {
  return async (app) => {
    await OWNED_BY_BORROWER1['GET /api/v1/borrowers/:ref']!(app);
    return `/api/v1/borrowers/B-1/${suffix}`;
  };
}

/** POSTs that move money or change a loan: they must be idempotent. */
const MUST_BE_IDEMPOTENT = ['POST /api/v1/ledger/entries', 'POST /api/v1/ledger/entries/:id/reversal', 'POST /api/v1/approvals/:id/approve'];

function methodOf(rule: RouteRule): 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' {
  return rule.method.split(',')[0] as 'GET';
}

describe('the route table', () => {
  it('refuses to register a route without an access rule (deny by default)', async () => {
    const app = Fastify();
    app.addHook('onRoute', (route) => { checkRouteRule(route); });
    expect(() => app.get('/open', async () => 'ok')).toThrow(/declares no access rule/);
    await app.close();
  });

  it('refuses a borrower route with an id but no ownership check, and a state change without audit', () => {
    expect(() => checkRouteRule({ method: 'GET', url: '/x/:id', handler: async () => 'ok', config: { access: { roles: ['borrower'] } } } as never)).toThrow(/borrowerOwns/);
    expect(() => checkRouteRule({ method: 'POST', url: '/x', handler: async () => 'ok', config: { access: { roles: ['admin'] } } } as never)).toThrow(/audit/);
  });

  it('lists every route of the app with its rule', () => {
    const urls = t.app.routeRules.map(key);
    expect(urls).toEqual(expect.arrayContaining(['GET /healthz', 'POST /api/v1/ledger/entries', 'POST /api/v1/approvals/:id/approve', 'GET /api/v1/audit/verify', 'POST /api/v1/auth/login']));
    expect(new Set(urls).size).toBe(urls.length);
  });

  it('makes every money-moving POST idempotent', () => {
    for (const route of MUST_BE_IDEMPOTENT) expect(t.app.routeRules.find((rule) => key(rule) === route)?.idempotent, route).toBe(true);
  });
});

describe('every protected route', () => {
  it('answers 401 to a caller who is not logged in', async () => {
    for (const rule of t.app.routeRules.filter((r) => !('public' in r.access))) {
      const response = await t.app.inject({ method: methodOf(rule), url: sampleUrl(rule.url), payload: methodOf(rule) === 'GET' ? undefined : {} });
      expect(response.statusCode, key(rule)).toBe(401);
      expect(response.json().error.code, key(rule)).toBe('unauthenticated');
    }
  });

  it('refuses every role it does not name: 403 for staff, 404 for borrowers where it names a record', async () => {
    for (const rule of t.app.routeRules) {
      if ('public' in rule.access) continue;
      const allowed = rule.access.roles;
      for (const name of Object.keys(TEST_USERS) as TestUserName[]) {
        const roles = TEST_USERS[name].roles as readonly string[];
        if (roles.some((role) => allowed.includes(role as never))) continue;
        const response = await t.as(name).inject({ method: methodOf(rule), url: sampleUrl(rule.url), payload: methodOf(rule) === 'GET' ? undefined : {}, headers: { 'idempotency-key': `deny-${name}` } });
        const expected = name.startsWith('borrower') && rule.url.includes(':') ? 404 : 403;
        expect(response.statusCode, `${name} on ${key(rule)}`).toBe(expected);
      }
    }
  });

  it('lets no borrower reach another borrower\'s record (404, as if absent); every such route has a probe', async () => {
    const borrowerRoutes = t.app.routeRules.filter((rule) => 'roles' in rule.access && rule.access.roles.includes('borrower') && rule.url.includes(':'));
    expect(borrowerRoutes.length).toBeGreaterThan(0);
    for (const rule of borrowerRoutes) {
      const probe = OWNED_BY_BORROWER1[key(rule)];
      expect(probe, `${key(rule)} is open to borrowers and names a record: add an IDOR probe to OWNED_BY_BORROWER1`).toBeDefined();
      const url = await probe!(t);
      const other = await t.as('borrower2').inject({ method: methodOf(rule), url, payload: methodOf(rule) === 'GET' ? undefined : {} });
      expect(other.statusCode, `borrower2 on ${url}`).toBe(404);
      const own = await t.as('borrower1').inject({ method: methodOf(rule), url, payload: methodOf(rule) === 'GET' ? undefined : {} });
      // The owner gets past authorisation (an empty body may still be refused as invalid).
      expect([401, 403, 404], `borrower1 on ${url}: ${own.statusCode}`).not.toContain(own.statusCode);
    }
  });

  it('refuses bad input on every state-changing route with a coded 4xx and writes nothing', async () => {
    const counts = async () => JSON.stringify(await t.test.db.query(`SELECT
      (SELECT count(*) FROM users)::text AS users, (SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL)::text AS tokens,
      (SELECT count(*) FROM approvals)::text AS approvals, (SELECT count(*) FROM approvals WHERE status <> 'pending')::text AS decided,
      (SELECT count(*) FROM ledger_entries)::text AS entries, (SELECT count(*) FROM ledger_accounts)::text AS accounts,
      (SELECT count(*) FROM approval_limits)::text AS limits, (SELECT count(*) FROM idempotency_records)::text AS keys`));
    for (const rule of t.app.routeRules) {
      if (methodOf(rule) === 'GET' || 'public' in rule.access) continue;
      const caller = (['admin', 'officer', 'treasury', 'risk', 'borrower1'] as const).find((name) => (TEST_USERS[name].roles as readonly string[]).some((role) => (rule.access as { roles: readonly string[] }).roles.includes(role)))!;
      const probes: Array<{ url: string; payload: unknown }> = [];
      if (rule.url.includes(':id')) probes.push({ url: rule.url.replace(':id', 'not-a-number'), payload: {} });
      if (rule.hasBody) probes.push({ url: sampleUrl(rule.url), payload: { unexpected: 1.5 } });
      for (const probe of probes) {
        const before = await counts();
        const response = await t.as(caller).inject({ method: methodOf(rule), url: probe.url, payload: probe.payload as object, headers: { 'idempotency-key': `bad-${Math.random()}` } });
        expect(response.statusCode, `${key(rule)} with ${JSON.stringify(probe)}`).toBeGreaterThanOrEqual(400);
        expect(response.statusCode, key(rule)).toBeLessThan(500);
        expect(typeof response.json().error.code, key(rule)).toBe('string');
        expect(await counts(), key(rule)).toBe(before);
      }
    }
  });
});
