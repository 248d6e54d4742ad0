import { afterAll, describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import { openTestDatabase, testDatabaseUrl, type TestDatabase } from '../test-support/database.js';
import { runEod } from './eod.js';
import { seedLoans } from './seed.js';

/**
 * End of day locks only a loan's balances row (migration 0032 split the loan in two), yet must
 * book each loan on the terms a writer left it with. A writer (servicing) holds a loan, as a
 * restructuring does, and gives it a new schedule version with a line due today; end of day
 * starts meanwhile and waits for the loan. When the writer commits, end of day must see the new
 * version and move the line's principal to overdue. Reading the terms in the same statement that
 * waited for the lock would use the row from before the wait (PostgreSQL re-reads only the locked
 * row), the old version with nothing due, and this test fails. Two connections: PostgreSQL only.
 */

let opened: TestDatabase | undefined;
afterAll(async () => {
  await opened?.close();
});

describe.skipIf(testDatabaseUrl === undefined)('end of day and a loan a writer holds', () => {
  it('books the loan on the schedule the writer committed, not the one it saw before waiting', async () => {
    opened = await openTestDatabase();
    const { db } = opened;
    const now = new Date('2026-02-01T00:00:00Z');
    await seedLoans(db, { count: 4, disbursedOn: '2026-01-15', calendar: await loadCalendar(), prefix: 'pick' });
    await runEod(db, '2026-01-19', { now });
    const [loan] = await db.query<{ id: bigint; principal: bigint }>('SELECT id, principal FROM loans ORDER BY id LIMIT 1');
    // Both of this book's pools connect under one application name, unlike other test files' books.
    const [session] = await db.query<{ name: string }>(`SELECT current_setting('application_name') AS name`);

    const writer = await opened.openAnother();
    let day: ReturnType<typeof runEod> | undefined;
    await writer.transaction(async (tx) => {
      await tx.query('SELECT id FROM loans WHERE id = $1 FOR UPDATE', [loan!.id]);
      await tx.query(`INSERT INTO loan_schedule_versions (loan_id, version, kind, reason, business_date, created_at) VALUES ($1, 2, 'restructuring', 'test', '2026-01-19', $2)`, [loan!.id, now]);
      await tx.query(`INSERT INTO loan_schedule_lines (loan_id, version, number, due_date, days, principal, interest, balance) VALUES ($1, 2, 1, '2026-01-20', 5, 100000, 0, $2)`,
        [loan!.id, loan!.principal - 100_000n]);
      await tx.query('UPDATE loan_terms SET schedule_version = 2 WHERE id = $1', [loan!.id]);
      day = runEod(db, '2026-01-20', { now });
      day.catch(() => undefined);
      // Commit only once end of day waits for the loan (an event, not a fixed time).
      await expect.poll(async () => {
        const [waiting] = await writer.query<{ n: bigint }>(`SELECT count(*)::int8 AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [session!.name]);
        return waiting!.n;
      }).toBeGreaterThan(0n);
    });
    await day;
    const loans = await db.query<{ id: bigint; status: string; principal_overdue: bigint }>('SELECT id, status, principal_overdue FROM loans ORDER BY id');
    expect(loans[0]).toMatchObject({ status: 'overdue', principal_overdue: 100000n });
    expect(loans.slice(1).map((l) => l.principal_overdue)).toEqual([0n, 0n, 0n]);
  });
});
