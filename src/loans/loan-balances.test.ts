import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../db/migrate.js';
import { openTestDatabase, testMigrations, type TestDatabase } from '../test-support/database.js';

// Migration 0032 splits the loans table into loan_terms and loan_balances behind a view named
// loans; 0033 moves a due line's interest due out of the line into loan_line_dues. A bank's book
// migrates in place: a loan written before the split must read the same, column for column,
// afterwards, the view must refuse writes (a writer names its table), and dues must move over.

let opened: TestDatabase | undefined;
afterEach(async () => {
  await opened?.close();
  opened = undefined;
});

const COLUMNS = `SELECT column_name AS name, data_type AS type FROM information_schema.columns
                  WHERE table_schema = current_schema() AND table_name = 'loans' ORDER BY ordinal_position`;

// Every column set, most to a value no default would give, so a column copied to the wrong place
// or lost shows. The foreign keys are switched off for the insert (replica role): the row stands
// alone, without an application, an offer or a borrower.
const OLD_LOAN = `INSERT INTO loans (id, ref, application_id, offer_id, approval_id, borrower_id, borrower_kind, product_code, product_version,
    amount_kopecks, months, repayment_type, interest_only_through, balloon_kopecks, rate_kind, rate_millionths, margin_millionths, rate_reset_months,
    penalty_millionths_per_day, fee_kopecks, wf_penalty, wf_interest_overdue, wf_principal_overdue, wf_interest, wf_principal, wf_fee,
    status, approved_at, disbursed_on, maturity_on, closed_on, accrued_through, schedule_version,
    principal, principal_overdue, interest, interest_overdue, penalty, fee, interest_remainder, penalty_remainder,
    overdue_since, default_review, default_review_reason,
    acc_principal, acc_principal_overdue, acc_interest, acc_interest_overdue, acc_penalty, acc_fee, acc_settlement,
    interest_day_done, equipment_cap_kopecks)
  VALUES ($1::int8, 'LN-' || $1::int8, $1::int8 + 100, 7, 8, 9, 'company', 'P', 2,
    100000000, 12, 'annuity', 3, 4000, 'floating', 215000 + $1::int8, 20000, 3,
    1000, 5000, 1, 2, 3, 4, 5, 6,
    $2::text, '2026-01-05T09:00:00Z', '2026-01-06', '2027-01-06', $3::date, '2026-03-01', 2,
    90000000 + $1::int8, 1000000, 150000, 200000, 3300, 700, 123456789, 654321,
    $4::date, true, 'registry: removed',
    11, 12, 13, 14, 15, 16, 17,
    '2026-02-06', 25000000)`;

describe('loans as terms, balances and a view (migration 0032)', () => {
  it('a loan written before the split reads the same afterwards, column for column, and the view refuses writes', async () => {
    opened = await openTestDatabase({ migrated: false });
    const { db } = opened;
    const files = await testMigrations();
    const split = files.findIndex((file) => file.name === '0032_loan_balances.sql');
    expect(split).toBeGreaterThan(0);
    await migrate(db, files.slice(0, split));
    const columnsBefore = await db.query(COLUMNS);
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(OLD_LOAN, [1, 'overdue', null, '2026-02-10']);
      await tx.query(OLD_LOAN, [2, 'closed', '2026-02-20', null]);
    });
    const before = await db.query('SELECT * FROM loans ORDER BY id');

    await migrate(db, files);
    expect(await db.query(COLUMNS)).toEqual(columnsBefore);
    expect(await db.query('SELECT * FROM loans ORDER BY id')).toEqual(before);
    const balances = await db.query<{ loan_id: bigint; status: string; principal: bigint; rate_millionths: bigint }>(
      'SELECT loan_id, status, principal, rate_millionths FROM loan_balances ORDER BY loan_id');
    expect(balances).toEqual([
      { loan_id: 1n, status: 'overdue', principal: 90000001n, rate_millionths: 215001n },
      { loan_id: 2n, status: 'closed', principal: 90000002n, rate_millionths: 215002n },
    ]);
    // What moved is gone from the terms (end of day no longer rewrites the wide row).
    const terms = await db.query<{ name: string }>(`SELECT column_name AS name FROM information_schema.columns
                                                     WHERE table_schema = current_schema() AND table_name = 'loan_terms'`);
    expect(terms.map((c) => c.name)).not.toContain('principal');
    expect(terms.map((c) => c.name)).not.toContain('status');
    expect(terms.map((c) => c.name)).toContain('equipment_cap_kopecks');

    // The view is read-only; a forgotten writer fails loudly instead of writing somewhere else.
    await expect(db.query(`UPDATE loans SET interest = 1 WHERE id = 1`)).rejects.toThrow(/cannot update view|not automatically updatable/);
    // The balances' checks came along.
    await expect(db.query('UPDATE loan_balances SET principal = -1 WHERE loan_id = 1')).rejects.toThrow(/check constraint/);
    // A balances row needs its loan.
    await expect(db.query(`INSERT INTO loan_balances (loan_id, status, rate_millionths) VALUES (99, 'approved', 0)`)).rejects.toThrow(/foreign key/);
    // The foreign keys that pointed at the loans table point at the terms now.
    const [fk] = await db.query<{ target: string }>(`SELECT t.relname AS target FROM pg_constraint k JOIN pg_class t ON t.oid = k.confrelid
                                                                WHERE k.conname = 'loan_risk_loan_id_fkey' AND k.connamespace = current_schema()::regnamespace`);
    expect(fk!.target).toBe('loan_terms');
  });

  it('a due line\'s interest due moves to loan_line_dues, whose key must be a schedule line', async () => {
    opened = await openTestDatabase({ migrated: false });
    const { db } = opened;
    const files = await testMigrations();
    const dues = files.findIndex((file) => file.name === '0033_line_dues.sql');
    expect(dues).toBeGreaterThan(0);
    await migrate(db, files.slice(0, dues));
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`INSERT INTO loan_schedule_lines (loan_id, version, number, due_date, days, principal, interest, balance, interest_due)
                      VALUES (5, 1, 1, '2026-02-16', 32, 1000, 200, 9000, 213), (5, 1, 2, '2026-03-16', 28, 1000, 180, 8000, NULL)`);
    });
    await migrate(db, files);
    expect(await db.query('SELECT loan_id, version, number, interest_due FROM loan_line_dues')).toEqual([{ loan_id: 5n, version: 1, number: 1, interest_due: 213n }]);
    const lines = await db.query<{ name: string }>(`SELECT column_name AS name FROM information_schema.columns
                                                     WHERE table_schema = current_schema() AND table_name = 'loan_schedule_lines'`);
    expect(lines.map((c) => c.name)).not.toContain('interest_due');
    // A due for a line that exists is taken; one for a line that does not is refused, even when
    // it comes after a good one in the same statement.
    await expect(db.query('INSERT INTO loan_line_dues (loan_id, version, number, interest_due) VALUES (5, 1, 2, 181), (5, 1, 3, 1)'))
      .rejects.toThrow(/loan 5: line 3 of schedule version 1 does not exist/);
    await db.query('INSERT INTO loan_line_dues (loan_id, version, number, interest_due) VALUES (5, 1, 2, 181)');
    await expect(db.query('INSERT INTO loan_line_dues (loan_id, version, number, interest_due) VALUES (5, 2, 2, 1)')).rejects.toThrow(/line 2 of schedule version 2 does not exist/);
    await expect(db.query('INSERT INTO loan_line_dues (loan_id, version, number, interest_due) VALUES (6, 1, 1, 1)')).rejects.toThrow(/loan 6: line 1 of schedule version 1 does not exist/);
    expect(await db.query<{ n: bigint }>('SELECT count(*)::int8 AS n FROM loan_line_dues')).toEqual([{ n: 2n }]);
  });
});
