import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../test-support/database.js';

/**
 * The real service as a process: `zalog serve` on a data directory on disk, driven over HTTP.
 * Proves the embedded database keeps what was committed across a clean stop and a SIGKILL, and
 * that SIGTERM drains and exits 0. Runs on PGlite only (the PostgreSQL run covers the engine).
 */

const MAIN = path.resolve('src/cli/main.ts');
const TSX = path.resolve('node_modules/.bin/tsx');

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

async function start(dataDir: string, env: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const child = spawn(TSX, [MAIN, 'serve'], { env: { ...process.env, DATABASE_URL: '', ZALOG_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const running: Running = { child, url: `http://127.0.0.1:${port}`, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))), output: '' };
  child.stdout?.on('data', (chunk) => { running.output += String(chunk); });
  child.stderr?.on('data', (chunk) => { running.output += String(chunk); });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`service exited early:\n${running.output}`);
    try {
      const response = await fetch(`${running.url}/healthz`);
      if (response.ok) return running;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`service did not become healthy:\n${running.output}`);
}

async function postEntry(url: string, key: string): Promise<Response> {
  return fetch(`${url}/api/v1/ledger/entries`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ businessDate: '2026-11-24', reason: 'process test', postings: [
      { account: 'cash_correspondent', currency: 'RUB', debit: '10.00' },
      { account: 'bank_equity', currency: 'RUB', credit: '10.00' },
    ] }),
  });
}

async function cashBalance(url: string): Promise<string> {
  const response = await fetch(`${url}/api/v1/ledger/accounts/cash_correspondent/balance`);
  return ((await response.json()) as { balance: string }).balance;
}

describe.skipIf(testDatabaseUrl !== undefined)('zalog serve as a process', () => {
  let dataDir: string;
  beforeAll(async () => { dataDir = await mkdtemp(path.join(tmpdir(), 'zalog-serve-')); });
  afterAll(async () => { await rm(dataDir, { recursive: true, force: true }); });

  it('keeps committed entries across SIGTERM (exit 0) and SIGKILL, and replays keys after restart', async () => {
    const first = await start(dataDir);
    expect((await postEntry(first.url, 'p-1')).status).toBe(201);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output).toContain('stopped');

    const second = await start(dataDir);
    expect(await cashBalance(second.url)).toBe('10.00');
    expect((await postEntry(second.url, 'p-1')).status).toBe(200); // replay, not a second entry
    expect((await postEntry(second.url, 'p-2')).status).toBe(201);
    second.child.kill('SIGKILL');
    await second.exited;

    const third = await start(dataDir);
    expect(await cashBalance(third.url)).toBe('20.00');
    const trial = (await (await fetch(`${third.url}/api/v1/ledger/trial-balance`)).json()) as { currencies: Record<string, { balanced: boolean }> };
    expect(trial.currencies.RUB?.balanced).toBe(true);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  });

  it('refuses to start on a bad configuration, naming the variable', async () => {
    const child = spawn(TSX, [MAIN, 'serve'], { env: { ...process.env, PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (chunk) => { output += String(chunk); });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(output).toContain('PORT must be a whole number');
  });
});
