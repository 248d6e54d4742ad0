import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import { migrate } from '../db/migrate.js';
import { openPglite } from '../db/pglite.js';
import { seedLoans } from '../loans/seed.js';
import { testDatabaseUrl } from '../test-support/database.js';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';

/** `zalog exposure` as the real process on a PGlite data directory: the book now, then by day. */
describe.skipIf(testDatabaseUrl !== undefined)('zalog exposure', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'zalog-exposure-cli-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });
  const zalog = (args: string[]) => runZalog(args, { dataDir: path.join(dir, 'data') });

  it('prints the book against every limit, says when no capital is recorded, and keeps the day\'s figure', async () => {
    // 20 loans of 1,000,000.00 RUB (ten per borrower) against 0.25 BTC; the price 8,000,000.00.
    await mkdir(path.join(dir, 'data'), { recursive: true });
    const db = await openPglite({ dataDir: path.join(dir, 'data', 'pglite') });
    await migrate(db);
    await seedLoans(db, { count: 20, disbursedOn: '2026-01-15', calendar: await loadCalendar() });
    await db.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, inputs) VALUES ('live', now(), 800000000, 800000000, 'normal', '[]')`);
    await db.close();
    const bare = await zalog(['exposure']);
    expect(bare.code, bare.output).toBe(0);
    expect(bare.stdout).toMatch(/Tier 1 capital NOT RECORDED \(no loan can be approved\)/);
    const db2 = await openPglite({ dataDir: path.join(dir, 'data', 'pglite') });
    await db2.query(`INSERT INTO bank_capital (effective_from, tier1_kopecks, legal_basis, reason, recorded_at) VALUES ('2025-01-01', 100000000000, 'test', 'test', now())`);
    await db2.close();
    const run = await zalog(['exposure', '--json']);
    expect(run.code, run.output).toBe(0);
    const book = JSON.parse(run.stdout);
    // 20,000,000.00 RUB (plus the seeded loans' accrued nothing yet) of 1,000,000,000.00: 2%, at the hard limit.
    expect(book).toMatchObject({ book: '20000000.00', bookPercent: '2.00', loans: 20, borrowers: 2, capital: { tier1: '1000000000.00' } });
    expect(book.limits.find((l: { kind: string }) => l.kind === 'crypto_book')).toMatchObject({ judgement: 'soft', overSoft: 1, overHard: 0 });
    // At 70% down (2,400,000.00 RUB/BTC) 0.25 BTC covers 600,000.00 of each 1,000,000.00.
    expect(book.stress.find((s: { shockPercent: string }) => s.shockPercent === '70')).toMatchObject({ uncovered: '8000000.00', percentOfCapital: '0.80' });
    const text = await zalog(['exposure']);
    expect(text.stdout).toMatch(/book 20000000\.00 RUB \(2\.00% of Tier 1\)/);
    const day = book.day as string;
    const history = await zalog(['exposure', '--from', day, '--to', day]);
    expect(history.code, history.output).toBe(0);
    expect(history.stdout.split('\n').filter((l) => l.startsWith(day))).toHaveLength(1);
    expect((await zalog(['exposure', '--from', day])).code).toBe(2);
  }, PROCESS_TEST_TIMEOUT_MS);
});
