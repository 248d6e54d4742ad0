import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import { SQLSTATE, sqlState, type Database } from '../db/database.js';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { runEod } from './eod.js';
import { buildSchedule } from './schedule.js';
import { seedLoans } from './seed.js';
import { reconcileLoans } from './views.js';

/**
 * End of day with chunks side by side (issue 21) books what one chunk after another books. Two
 * identical books: 60 loans, 3 a borrower, so chunks of 10 ids cut borrowers in two; every second
 * borrower holds money for one and a half instalments, so on the due date its first loan is paid,
 * its second partly and its third not, which only holds if its money goes to its loans in id
 * order. One book is closed through the due date and two overdue weeks by one worker, the other by
 * three: every loan, every account and every borrower's money must end the same, the books must
 * reconcile, and the side-by-side run must have left loans to its in-order pass (the case tested).
 */

const THROUGH = '2026-03-03';
const books: TestDatabase[] = [];

afterAll(async () => {
  for (const book of books) await book.close();
});

async function book(): Promise<Database> {
  const opened = await openTestDatabase();
  books.push(opened);
  const calendar = await loadCalendar();
  const first = buildSchedule({ principal: 100_000_000n, rateMillionths: 235_000n, start: '2026-01-15', months: 12, type: 'annuity' }, calendar).lines[0]!;
  await seedLoans(opened.db, { count: 60, loansPerBorrower: 3, disbursedOn: '2026-01-15', calendar, prefix: 'workers',
    funded: { kopecks: ((first.principal + first.interest) * 3n) / 2n, every: 2 } });
  return opened.db;
}

async function state(db: Database) {
  const loans = await db.query('SELECT ref, status, accrued_through::text, principal, principal_overdue, interest, interest_overdue, penalty, fee, interest_remainder, penalty_remainder, overdue_since::text FROM loans ORDER BY id');
  const accounts = await db.query('SELECT a.chart_code, a.subledger_key, coalesce(sum(p.amount), 0)::int8 AS balance FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id GROUP BY 1, 2 ORDER BY 1, 2');
  const money = await db.query('SELECT ref, settlement_kopecks FROM borrowers ORDER BY ref');
  return { loans, accounts, money };
}

describe('end of day with chunks side by side', () => {
  let serial: Database;
  let parallel: Database;
  beforeAll(async () => {
    [serial, parallel] = [await book(), await book()];
  });

  it('eod-side-by-side-equals-one-after-another: same loans, accounts and money; borrowers paid in id order', async () => {
    const now = new Date('2026-04-01T00:00:00Z');
    await runEod(serial, THROUGH, { now, chunkSize: 10, workers: 1 });
    await runEod(parallel, THROUGH, { now, chunkSize: 10, workers: 3 });
    const [a, b] = [await state(serial), await state(parallel)];
    expect(b.loans).toEqual(a.loans);
    expect(b.accounts).toEqual(a.accounts);
    expect(b.money).toEqual(a.money);
    expect(await reconcileLoans(serial)).toEqual([]);
    expect(await reconcileLoans(parallel)).toEqual([]);

    // The case is there: a funded borrower's three loans ended paid, part paid and unpaid, in id
    // order (loans 28 and 29 in one chunk, 30 in the next), and loans that straddled two chunks were left to the in-order pass.
    const [straddling] = await parallel.query<{ n: bigint }>(`SELECT count(*)::int8 AS n FROM ledger_entries WHERE idempotency_key LIKE 'eod:%:deferred'`);
    expect(straddling!.n).toBeGreaterThan(0n);
    const [plain] = await serial.query<{ n: bigint }>(`SELECT count(*)::int8 AS n FROM ledger_entries WHERE idempotency_key LIKE 'eod:%:deferred'`);
    expect(plain!.n).toBe(0n);
    const funded = await parallel.query<{ ref: string; overdue: bigint }>(
      `SELECT l.ref, l.principal_overdue + l.interest_overdue AS overdue FROM loans l JOIN borrowers b ON b.id = l.borrower_id WHERE b.ref = 'SB-workers-10' ORDER BY l.id`);
    expect(funded.map((l) => l.overdue > 0n)).toEqual([false, true, true]);
    const [firstOverdue, secondOverdue] = [funded[1]!.overdue, funded[2]!.overdue];
    expect(firstOverdue).toBeLessThan(secondOverdue);
  });

  it('schedule-lines-refer-to-their-version: a line of a version that does not exist is refused, per statement, and a line keeps its loan and version', async () => {
    const insert = (version: number) => serial.query(`INSERT INTO loan_schedule_lines (loan_id, version, number, due_date, days, principal, interest, balance)
                                                      VALUES (1, 1, 99, '2027-06-15', 30, 0, 0, 0), (1, $1, 100, '2027-07-15', 30, 0, 0, 0)`, [version]);
    const refused = await insert(7).then(() => undefined, (e: unknown) => e);
    expect(String(refused)).toMatch(/schedule lines of loan 1 refer to version 7, which does not exist/);
    expect(sqlState(refused)).toBe(SQLSTATE.foreignKeyViolation);
    const moved = await serial.query('UPDATE loan_schedule_lines SET version = 2 WHERE loan_id = 1 AND number = 1').then(() => undefined, (e: unknown) => e);
    expect(String(moved)).toMatch(/keeps its loan and version/);
    const [lines] = await serial.query<{ n: bigint }>('SELECT count(*)::int8 AS n FROM loan_schedule_lines WHERE loan_id = 1 AND (number > 12 OR version <> 1)');
    expect(lines!.n).toBe(0n);
  });
});
