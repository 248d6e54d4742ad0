import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../test-support/database.js';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';

/**
 * `zalog demo` as a process (what `npm run demo` starts): it prints its users with random
 * passwords, and within a couple of minutes of a fast clock the June 2022 crash warns, calls,
 * sees the entrepreneur cure its call with a top-up, and liquidates the loan lent at the limit.
 * The demo runs on its own embedded database; the PostgreSQL run of the suite skips it.
 */
describe.skipIf(testDatabaseUrl !== undefined)('zalog demo', () => {
  it('refuses a DATABASE_URL it has not been told is a demo\'s', async () => {
    const run = await runZalog(['demo'], { env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', ZALOG_DEMO_DATABASE: '' } });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('ZALOG_DEMO_DATABASE=yes');
  }, PROCESS_TEST_TIMEOUT_MS);

  it('tells the crash: warnings, a call cured by a top-up, a liquidation with its fills', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'zalog-demo-'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/cli/main.ts'), 'demo'], {
      env: { ...process.env, DATABASE_URL: '', ZALOG_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', ZALOG_DEMO_SPEED: '14400' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => { stdout += String(chunk); });
    child.stderr.on('data', () => {});
    try {
      const started = Date.now();
      const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
        while (Date.now() - started < PROCESS_TEST_TIMEOUT_MS - 10_000) {
          const found = await probe().catch(() => undefined);
          if (found !== undefined) return found;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        throw new Error(`the demo did not show ${what}; it printed:\n${stdout}`);
      };
      const url = await waitFor('its address', async () => (/zalog demo bank: (http:\/\/\S+)/.exec(stdout)?.[1]));
      await waitFor('its loans', async () => (stdout.includes('Loans:') ? true : undefined));
      const passwords = new Map([...stdout.matchAll(/^ {4}(\S+)\s+(\S+)\s{3}/gm)].map((m) => [m[1]!, m[2]!]));
      expect([...passwords.keys()]).toEqual(expect.arrayContaining(['admin', 'officer', 'officer2', 'risk', 'treasury', 'treasury2', 'auditor', 'miner-ivanov', 'miner-petrov', 'miner-sever']));
      // Random, and different for every user.
      expect(new Set(passwords.values()).size).toBe(passwords.size);
      const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'risk', password: passwords.get('risk') }) });
      expect(login.status).toBe(200);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      const get = async <T>(p: string): Promise<T> => (await fetch(`${url}${p}`, { headers: { cookie } })).json() as Promise<T>;
      const loans = Object.fromEntries([...(/Loans: (.*)/.exec(stdout)?.[1] ?? '').matchAll(/(LN-\d+) \((\w+)\)/g)].map((m) => [m[2]!, m[1]!]));
      const demo = await get<{ demo: { speed: number } }>('/api/v1/demo');
      expect(demo.demo.speed).toBe(14_400);

      // The entrepreneur's loan is called, then cured by its top-up (confirmed by two treasurers).
      const cured = await waitFor('a cured call', async () => {
        const risk = await get<{ transitions: Array<{ loan: string; from: string; to: string; cause: string }> }>('/api/v1/borrowers/IP-PETROV/risk');
        const mine = risk.transitions.filter((t) => t.loan === loans.cured);
        const called = mine.some((t) => t.to === 'margin_call' || t.to === 'accelerated_call');
        const out = mine.find((t) => (t.from === 'margin_call' || t.from === 'accelerated_call') && (t.to === 'warning' || t.to === 'healthy'));
        return called && out !== undefined ? out : undefined;
      });
      expect(cured.cause).toBe('exposure');
      const collateral = await get<{ positions: Array<{ custodianRef: string; state: string }> }>(`/api/v1/loans/${loans.cured}/collateral`);
      expect(collateral.positions.some((p) => p.custodianRef.endsWith('-TOPUP') && p.state !== 'pending')).toBe(true);

      // The loan lent at the limit is liquidated: queued, sold at the simulated venue, booked with its report.
      const booked = await waitFor('a booked liquidation', async () => {
        const list = await get<{ liquidations: Array<{ loan: string; filledBtc: string; report: unknown }> }>('/api/v1/liquidations?status=booked');
        return list.liquidations.find((q) => q.loan === loans.liquidated);
      });
      expect(booked.filledBtc).not.toBe('0.00000000');
      expect(booked.report).not.toBeNull();
      // The company's loan with its 40 machines pledged: they count beside its BTC, up to a quarter of the cover.
      const layered = await get<{ equipment: { cap: string; counted: string; pledges: Array<{ count: number }> } | null }>(`/api/v1/loans/${loans.layered}/collateral`);
      expect(layered.equipment).toMatchObject({ cap: '1500000.00', pledges: [{ count: 40 }] });
      expect(layered.equipment!.counted).not.toBe('0.00');
      const inbox = await get<{ applications: unknown[] }>('/api/v1/inbox');
      expect(inbox.applications.length).toBeGreaterThan(0);
      const trial = await get<{ balanced: boolean }>('/api/v1/ledger/trial-balance');
      expect(trial.balanced).toBe(true);
      // The bank's side of the book: today's limits and weight applied to the demo's 2022.
      const exposure = await get<{ snapshot: { bookPercent: string; riskWeighted: string; limits: Array<{ kind: string; hardPercent: string | null }> } | null }>('/api/v1/exposure');
      expect(exposure.snapshot?.limits.map((l) => [l.kind, l.hardPercent])).toEqual([['crypto_book', '2.00'], ['borrower', '25.00'], ['group', '25.00'], ['region', '1.50']]);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('close', resolve));
      await rm(dataDir, { recursive: true, force: true });
    }
  }, PROCESS_TEST_TIMEOUT_MS);
});
