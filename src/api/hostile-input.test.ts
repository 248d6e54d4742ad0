import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp, type TestUserName } from '../test-support/app.js';
import type { Role } from '../identity/roles.js';

/**
 * Hostile values in every query parameter and every path parameter of every operation in the
 * OpenAPI document (issue 16, item 8), sent by a caller the route admits: each must be answered
 * with a coded 4xx (or a 2xx when the value happens to be acceptable), never a 5xx. Walking the
 * document means an operation added later is probed without anyone remembering to.
 */

const HOSTILE = [
  '1e309', '-1e309', '1e3', '0x10', ' 5', 'NaN', 'Infinity', '-1', '0', '99999999999999999999', '1.5', '',
  "1' OR '1'='1", '%00', '\u0000', 'a'.repeat(5_000), '[]', '{"a":1}', '2026-13-45', 'true', '../../etc/passwd', 'LN-0', 'LN-99999999999999999999', '-0',
];

const ROLE_USER: Record<Role, TestUserName> = {
  admin: 'admin', credit_officer: 'officer', risk_officer: 'risk', treasury: 'treasury', auditor: 'auditor', borrower: 'borrower1', system: 'admin',
};

interface Operation { method: string; path: string; query: string[]; params: string[] }

let t: TestApp;
let operations: Operation[];
beforeAll(async () => {
  t = await openTestApp();
  const doc = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>> };
  operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({
    method: method.toUpperCase(), path,
    query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
    params: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
  })));
});
afterAll(() => t.close());

/** Who may call it: the first role the route admits (staff before borrowers), so the value reaches validation. */
function callerFor(op: Operation): TestUserName | null {
  const rule = t.app.routeRules.find((r) => r.method === op.method && r.url === op.path.replace(/\{([^}]+)\}/g, ':$1'));
  if (rule === undefined) throw new Error(`no route rule for ${op.method} ${op.path}`);
  if ('public' in rule.access) return null;
  const roles = [...rule.access.roles].sort((a, b) => (a === 'borrower' ? 1 : b === 'borrower' ? -1 : 0));
  return ROLE_USER[roles[0]!];
}

const plausible = (name: string) => (name === 'ref' ? 'B-1' : name === 'address' ? 'cash_correspondent' : name === 'code' ? 'FIX' : name === 'effectiveFrom' ? '2026-11-24' : '1');

function urlOf(op: Operation, params: Record<string, string>, query: Record<string, string>): string {
  const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? plausible(name)));
  const search = new URLSearchParams(query).toString();
  return search === '' ? path : `${path}?${search}`;
}

async function send(op: Operation, url: string): Promise<{ status: number; body: string }> {
  const user = callerFor(op);
  const options = { method: op.method as 'GET', url, headers: { 'idempotency-key': `hostile-${Math.random()}` }, ...(op.method === 'GET' ? {} : { payload: {} }) };
  const response = user === null ? await t.app.inject(options) : await t.as(user).inject(options);
  return { status: response.statusCode, body: response.body };
}

describe('hostile input in URLs', () => {
  it('finds operations with query parameters to probe', () => {
    expect(operations.filter((op) => op.query.length > 0).length).toBeGreaterThan(15);
  });

  it('answers every hostile value of every query parameter with no 5xx', async () => {
    const failures: string[] = [];
    for (const op of operations) {
      for (const name of op.query) {
        for (const value of HOSTILE) {
          const url = urlOf(op, {}, { [name]: value });
          const { status, body } = await send(op, url);
          if (status >= 500) failures.push(`${op.method} ${url.slice(0, 120)} -> ${status} ${body.slice(0, 200)}`);
          else if (status >= 400) expect(JSON.parse(body).error.code, `${op.method} ${url}`).toMatch(/^[a-z_]+$/);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers every hostile value of every path parameter with no 5xx', async () => {
    const failures: string[] = [];
    for (const op of operations) {
      for (const name of op.params) {
        for (const value of HOSTILE.filter((v) => v !== '')) {
          const url = urlOf(op, { [name]: value }, {});
          const { status, body } = await send(op, url);
          if (status >= 500) failures.push(`${op.method} ${url.slice(0, 120)} -> ${status} ${body.slice(0, 200)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses numbers a URL does not write in plain digits', async () => {
    for (const value of ['1e309', '-1e309', '1e3', '0x10', ' 5']) {
      const response = await t.as('officer').get(`/api/v1/loans?limit=${encodeURIComponent(value)}`);
      expect([response.statusCode, response.json().error.code], value).toEqual([400, 'validation_failed']);
    }
    expect((await t.as('officer').get('/api/v1/loans?limit=5')).statusCode).toBe(200);
  });
});
