import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import { migrate } from '../db/migrate.js';
import { openPglite } from '../db/pglite.js';
import { seedLoans } from '../loans/seed.js';
import { reconcileLoans } from '../loans/views.js';
import { latestCycle } from '../prices/price-repository.js';
import { testDatabaseUrl } from '../test-support/database.js';
import { RiskEngine } from './risk-engine.js';
import { PgRiskStore } from './risk-store.js';
import { PROCESS_TEST_TIMEOUT_MS } from '../test-support/process.js';

/**
 * A liquidation killed after the sale and before the booking: 12 loans under water, the job's
 * process SIGKILLed the moment its first sale commits. Restarted, the job sells the rest and books
 * every sale exactly once: each liquidation's four ledger entries, its fills once, the loans and
 * the ledger in agreement; a third run does nothing.
 */

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function runJob(dir: string, mode: 'kill-after-sale' | 'run'): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/test-support/liquidation-child.ts'), dir, mode], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => { stderr += data.toString(); });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe.skipIf(testDatabaseUrl !== undefined)('liquidation killed after the sale', () => {
  it('kill-after-sale-then-restart-books-each-sale-once', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zalog-liquidation-crash-'));
    dirs.push(dir);
    const calendar = await loadCalendar();
    const setup = await openPglite({ dataDir: dir });
    await migrate(setup);
    // 1,000,000.00 RUB against 0.25 BTC each: 80% at 5,000,000; a price of 4,500,000 puts all in liquidation.
    await seedLoans(setup, { count: 12, loansPerBorrower: 3, disbursedOn: '2026-11-02', calendar, prefix: 'crash' });
    await setup.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, inputs) VALUES ('live', now(), 450000000, 450000000, 'normal', '[]')`);
    const engine = new RiskEngine(setup, new PgRiskStore(setup, calendar));
    await engine.rebuild();
    await engine.onCycle((await latestCycle(setup, 'live'))!);
    const [inLiquidation] = await setup.query<{ n: bigint }>(`SELECT count(*)::int8 AS n FROM loan_risk WHERE state = 'liquidation'`);
    expect(inLiquidation!.n).toBe(12n);
    await setup.close();

    const killed = await runJob(dir, 'kill-after-sale');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(killed.stderr).toMatch(/^sold \d+\n$/);

    const between = await openPglite({ dataDir: dir });
    const statuses = await between.query<{ status: string; n: bigint }>('SELECT status, count(*)::int8 AS n FROM liquidations GROUP BY status ORDER BY status');
    expect(statuses).toEqual([{ status: 'selling', n: 11n }, { status: 'sold', n: 1n }]);
    const early = await between.query(`SELECT idempotency_key FROM ledger_entries WHERE idempotency_key LIKE 'liquidation:%'`);
    expect(early).toEqual([]);
    await between.close();

    const restarted = await runJob(dir, 'run');
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stderr).toContain('"booked":12');
    const again = await runJob(dir, 'run');
    expect(again.stderr).toContain('{"queued":0,"admitted":0,"cancelled":0,"sold":0,"booked":0}');

    const after = await openPglite({ dataDir: dir });
    try {
      const liquidations = await after.query<{ id: bigint; status: string; planned_sats: bigint }>('SELECT id, status, planned_sats FROM liquidations ORDER BY id');
      expect(liquidations.every((q) => q.status === 'booked')).toBe(true);
      const keys = await after.query<{ idempotency_key: string }>(`SELECT idempotency_key FROM ledger_entries WHERE idempotency_key LIKE 'liquidation:%' ORDER BY idempotency_key`);
      expect(keys.map((k) => k.idempotency_key)).toEqual(liquidations.flatMap((q) => ['allocation', 'collateral', 'fee', 'proceeds'].map((s) => `liquidation:${q.id}:${s}`)).sort());
      const fills = await after.query<{ liquidation_id: bigint; sats: bigint }>('SELECT liquidation_id, sum(sats)::int8 AS sats FROM liquidation_fills GROUP BY liquidation_id ORDER BY liquidation_id');
      expect(fills).toEqual(liquidations.map((q) => ({ liquidation_id: q.id, sats: q.planned_sats })));
      const transitions = await after.query<{ n: bigint }>(`SELECT count(*)::int8 AS n FROM risk_transitions WHERE cause = 'liquidation'`);
      expect(transitions[0]!.n).toBe(12n);
      expect(await reconcileLoans(after)).toEqual([]);
    } finally {
      await after.close();
    }
  }, PROCESS_TEST_TIMEOUT_MS);
});
