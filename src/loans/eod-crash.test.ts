import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { openPglite } from '../db/pglite.js';
import { testDatabaseUrl } from '../test-support/database.js';
import { seedLoans } from './seed.js';
import { reconcileLoans } from './views.js';
import { PROCESS_TEST_TIMEOUT_MS } from '../test-support/process.js';

/**
 * End of day killed mid-run: two identical books (300 loans, 3 a borrower, disbursed 15 January
 * 2026, never repaid, so the run crosses two due dates, moves instalments to overdue and charges
 * penalties). One is closed through 20 March in one go; the other's run is SIGKILLed after some
 * committed chunks and run again. The ledgers (every entry's key and content, every account's
 * balance) and the loans must be the same, and the books must reconcile.
 */

const THROUGH = '2026-03-20';
const dirs: string[] = [];

function runEod(dir: string, options: { killAfterChunks?: number } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; chunks: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/cli/main.ts'), 'eod', '--date', THROUGH, '--chunk', '50', '--progress'],
      { env: { ...process.env, DATABASE_URL: '', ZALOG_DATA_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let chunks = 0;
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => {
      stderr += data.toString();
      chunks = (stderr.match(/loans committed/g) ?? []).length;
      if (options.killAfterChunks !== undefined && chunks >= options.killAfterChunks && child.exitCode === null) child.kill('SIGKILL');
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, chunks, stderr }));
  });
}

async function book(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zalog-eod-crash-'));
  dirs.push(dir);
  const db = await openPglite({ dataDir: path.join(dir, 'pglite') }); // where ZALOG_DATA_DIR keeps it
  await migrate(db);
  await seedLoans(db, { count: 300, loansPerBorrower: 3, disbursedOn: '2026-01-15', calendar: await loadCalendar(), prefix: 'crash' });
  await db.close();
  return dir;
}

async function snapshot(db: Database) {
  const entries = await db.query<{ idempotency_key: string; content_hash: string; business_date: string }>('SELECT idempotency_key, content_hash, business_date::text FROM ledger_entries ORDER BY idempotency_key');
  const balances = await db.query<{ chart_code: string; subledger_key: string; balance: bigint }>(
    'SELECT a.chart_code, a.subledger_key, coalesce(sum(p.amount), 0)::int8 AS balance FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id GROUP BY a.chart_code, a.subledger_key ORDER BY 1, 2');
  const loans = await db.query('SELECT ref, status, accrued_through::text, principal, principal_overdue, interest, interest_overdue, penalty, interest_remainder, penalty_remainder, overdue_since::text FROM loans ORDER BY id');
  return { entries, balances, loans };
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(testDatabaseUrl !== undefined)('end of day killed mid-run', () => {
  it('kill-eod-mid-run-then-rerun-equals-uninterrupted: same entries, same balances, nothing doubled', async () => {
    const [whole, killed] = await Promise.all([book(), book()]);
    const uninterrupted = await runEod(whole);
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
    const chunksInAll = uninterrupted.chunks;
    // Loans 1 to 300 in aligned chunks of 50 ids (0-49, 50-99, ..., 300-349), 16 January to 20 March.
    expect(chunksInAll).toBe(7 * 64);

    const first = await runEod(killed, { killAfterChunks: 100 });
    expect(first.signal).toBe('SIGKILL');
    expect(first.chunks).toBeLessThan(chunksInAll);
    const second = await runEod(killed);
    expect(second.code, second.stderr).toBe(0);
    expect(first.chunks + second.chunks).toBeGreaterThanOrEqual(chunksInAll);

    const a = await openPglite({ dataDir: path.join(whole, 'pglite') });
    const b = await openPglite({ dataDir: path.join(killed, 'pglite') });
    try {
      const [left, right] = await Promise.all([snapshot(a), snapshot(b)]);
      expect(right.entries.length).toBe(left.entries.length);
      expect(right.entries).toEqual(left.entries);
      // One entry per batch of loans and day (the batch is the chunk size here, 50).
      const eod = left.entries.filter((e) => e.idempotency_key.startsWith('eod:'));
      expect(eod).toHaveLength(7 * 64);
      expect(eod.filter((e) => e.business_date === '2026-02-16').map((e) => e.idempotency_key).sort())
        .toEqual(['0-49', '100-149', '150-199', '200-249', '250-299', '300-349', '50-99'].map((range) => `eod:2026-02-16:${range}`));
      expect(right.balances).toEqual(left.balances);
      expect(right.loans).toEqual(left.loans);
      expect(left.loans.every((loan) => loan.status === 'overdue' && loan.accrued_through === THROUGH)).toBe(true);
      expect(await reconcileLoans(b)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  }, 2 * PROCESS_TEST_TIMEOUT_MS);
});
