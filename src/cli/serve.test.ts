import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../test-support/database.js';
import { PROCESS_TEST_TIMEOUT_MS } from '../test-support/process.js';

/**
 * The real service as a process: `zalog serve` on a data directory on disk, driven over HTTP.
 * Proves the embedded database keeps what was committed across a clean stop and a SIGKILL, and
 * that SIGTERM drains and exits 0. Runs on PGlite only (the PostgreSQL run covers the engine).
 */

const MAIN = path.resolve('src/cli/main.ts');
// One process: `node --import tsx`, not the tsx wrapper, which would run the service as a child
// of its own and take a SIGKILL itself while the service lived on.
const NODE_ARGS = ['--import', 'tsx', MAIN];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  output: string;
}

/**
 * Starts the service and waits for the event that says it listens (its log line), or for it to
 * exit: no fixed deadline, so a slow machine only makes the test slower (the test's own timeout,
 * sized for a loaded 2-core machine, is the limit).
 */
async function start(dataDir: string, env: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, [...NODE_ARGS, 'serve'], { env: { ...process.env, DATABASE_URL: '', ZALOG_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', ZALOG_PRICES_POLL: 'false', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const running: Running = { child, url: `http://127.0.0.1:${port}`, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))), output: '' };
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      running.output += String(chunk);
      if (running.output.includes('"msg":"Server listening at')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`service exited (${code}) before listening:\n${running.output}`)));
  });
  expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
  return running;
}

/** Waits for the service to log a line matching `pattern` (or to exit, which fails). */
function waitForLog(running: Running, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const look = () => {
      const match = pattern.exec(running.output);
      if (match === null) return false;
      running.child.stdout?.off('data', look);
      resolve(match);
      return true;
    };
    if (look()) return;
    running.child.stdout?.on('data', look);
    running.child.on('exit', () => reject(new Error(`service exited before logging ${pattern}:\n${running.output}`)));
  });
}

/** The setup token the service logged at its first start. */
async function setupTokenOf(running: Running): Promise<string> {
  return (await waitForLog(running, /"setupToken":"([A-Za-z0-9_-]+)"/))[1]!;
}

async function run(args: string[], env: Record<string, string>, input?: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], { env: { ...process.env, DATABASE_URL: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += String(chunk); });
  child.stderr.on('data', (chunk) => { output += String(chunk); });
  child.stdin.end(input ?? '');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output };
}

async function call(url: string, method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Logs in (setting its own password first when an admin set a temporary one) and makes an API token for the rest of the test. */
async function tokenFor(url: string, username: string, password: string): Promise<string> {
  let login = await call(url, 'POST', '/api/v1/auth/login', null, { username, password });
  expect(login.status).toBe(200);
  let cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  let { csrfToken, passwordChangeRequired } = (await login.json()) as { csrfToken: string; passwordChangeRequired: boolean };
  if (passwordChangeRequired) {
    const own = `${password} of my own`;
    expect((await call(url, 'POST', '/api/v1/auth/password', null, { currentPassword: password, newPassword: own }, { cookie, 'x-csrf-token': csrfToken })).status).toBe(200);
    login = await call(url, 'POST', '/api/v1/auth/login', null, { username, password: own });
    cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    ({ csrfToken, passwordChangeRequired } = (await login.json()) as { csrfToken: string; passwordChangeRequired: boolean });
  }
  const made = await call(url, 'POST', '/api/v1/auth/tokens', null, { name: 'process test', expiresInDays: 1 }, { cookie, 'x-csrf-token': csrfToken });
  expect(made.status).toBe(201);
  return ((await made.json()) as { secret: string }).secret;
}

const PASSWORD = 'process test password';

/** Officer proposes, second officer approves: one manual entry of 10.00 RUB. */
async function postEntry(url: string, tokens: { maker: string; checker: string }, key: string): Promise<number> {
  const proposed = await call(url, 'POST', '/api/v1/ledger/entries', tokens.maker, { businessDate: '2026-11-24', reason: 'process test', postings: [
    { account: 'cash_correspondent', currency: 'RUB', debit: '10.00' },
    { account: 'bank_equity', currency: 'RUB', credit: '10.00' },
  ] }, { 'idempotency-key': key });
  if (proposed.status !== 202) return proposed.status;
  const { id } = (await proposed.json()) as { id: string };
  const approved = await call(url, 'POST', `/api/v1/approvals/${id}/approve`, tokens.checker, undefined, { 'idempotency-key': `approve-${key}` });
  return approved.status;
}

async function cashBalance(url: string, token: string): Promise<string> {
  const response = await call(url, 'GET', '/api/v1/ledger/accounts/cash_correspondent/balance', token);
  return ((await response.json()) as { balance: string }).balance;
}

describe.skipIf(testDatabaseUrl !== undefined)('zalog serve as a process', () => {
  let dataDir: string;
  beforeAll(async () => { dataDir = await mkdtemp(path.join(tmpdir(), 'zalog-serve-')); });
  afterAll(async () => { await rm(dataDir, { recursive: true, force: true }); });

  // A loaded 2-core machine (the smallest README promises) takes minutes for the three starts and
  // the commands; the test waits for events, and this is only its upper bound.
  it('first steps with the service running: setup token, create-admin and audit verify through it; keeps committed entries across SIGTERM (exit 0) and SIGKILL, and replays keys after restart', async () => {
    const first = await start(dataDir);
    // A new bank: the first admin from the setup token the service printed, the second from the CLI
    // while the service holds the embedded database (the command runs inside the service).
    const setup = await call(first.url, 'POST', '/api/v1/setup', null, { token: await setupTokenOf(first), username: 'boss', password: PASSWORD });
    expect(setup.status, await setup.clone().text()).toBe(201);
    const created = await run(['users', 'create-admin', '--username', 'boss2', '--password-stdin'], { ZALOG_DATA_DIR: dataDir }, `${PASSWORD}\n`);
    expect(created.output).toContain('created admin boss2');
    expect(created.code).toBe(0);

    const admin = await tokenFor(first.url, 'boss', PASSWORD);
    const secondAdmin = await tokenFor(first.url, 'boss2', PASSWORD);
    for (const username of ['maker', 'checker']) {
      const made = await call(first.url, 'POST', '/api/v1/users', admin, { username, displayName: username, password: PASSWORD, roles: ['credit_officer'] });
      expect(made.status).toBe(201);
      // Officers take effect when a second admin approves them.
      const { activationApprovalId } = (await made.json()) as { activationApprovalId: string };
      expect((await call(first.url, 'POST', `/api/v1/approvals/${activationApprovalId}/approve`, secondAdmin, undefined, { 'idempotency-key': `activate-${username}` })).status).toBe(200);
    }
    const tokens = { maker: await tokenFor(first.url, 'maker', PASSWORD), checker: await tokenFor(first.url, 'checker', PASSWORD) };
    // Commands reach the embedded database through the running service.
    const meanwhile = await run(['audit', 'verify'], { ZALOG_DATA_DIR: dataDir });
    expect(meanwhile.output).toMatch(/audit chain intact: \d+ records/);
    expect(meanwhile.code).toBe(0);
    const usage = await run(['eod'], { ZALOG_DATA_DIR: dataDir });
    expect(usage.code).toBe(2);
    expect(usage.output).toContain("required option '--date <date>'");
    expect(await postEntry(first.url, tokens, 'p-1')).toBe(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output).toContain('stopped');

    const second = await start(dataDir);
    expect(await cashBalance(second.url, tokens.maker)).toBe('10.00');
    expect(await postEntry(second.url, tokens, 'p-1')).toBe(200); // both steps replay: nothing doubles
    expect(await cashBalance(second.url, tokens.maker)).toBe('10.00');
    expect(await postEntry(second.url, tokens, 'p-2')).toBe(200);
    second.child.kill('SIGKILL');
    await second.exited;

    const third = await start(dataDir);
    expect(await cashBalance(third.url, tokens.maker)).toBe('20.00');
    const trial = (await (await call(third.url, 'GET', '/api/v1/ledger/trial-balance', tokens.maker)).json()) as { currencies: Record<string, { balanced: boolean }> };
    expect(trial.currencies.RUB?.balanced).toBe(true);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);

    const verified = await run(['audit', 'verify'], { ZALOG_DATA_DIR: dataDir });
    expect(verified.output).toMatch(/audit chain intact: \d+ records/);
    expect(verified.code).toBe(0);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('refuses to start on a bad configuration, naming the variable', async () => {
    const child = spawn(process.execPath, [...NODE_ARGS, 'serve'], { env: { ...process.env, PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (chunk) => { output += String(chunk); });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(output).toContain('PORT must be a whole number');
  });
});
