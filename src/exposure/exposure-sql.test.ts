import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import { systemUser } from '../identity/identity-repository.js';
import { seedLoans } from '../loans/seed.js';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { aggregate, type Limit, type Rules } from './exposure.js';
import { bookAggregates, bookLoans } from './exposure-store.js';

let t: TestDatabase;
beforeAll(async () => { t = await openTestDatabase(); }, 60_000);
afterAll(async () => { await t.close(); });

describe('the book in SQL', () => {
  it('equals the brute-force recomputation over random books, rules and prices (property)', async () => {
    const calendar = await loadCalendar();
    const user = await systemUser(t.db);
    const regions = ['38', '77', '03', '24'];
    await t.db.query(`INSERT INTO borrower_groups (ref, name, basis, created_at, created_by) SELECT 'G' || g, 'Group ' || g, 'common owner', now(), $1 FROM generate_series(1, 4) g`, [user.id]);
    const books = fc.sample(fc.record({
      batches: fc.array(fc.record({ count: fc.integer({ min: 1, max: 40 }), perBorrower: fc.integer({ min: 1, max: 7 }), amount: fc.bigInt({ min: 10_000_000n, max: 3_000_000_000n }) }), { minLength: 1, maxLength: 3 }),
      seed: fc.integer({ min: 1, max: 1_000_000 }),
      tier1: fc.option(fc.bigInt({ min: 1_000_000_00n, max: 10n ** 13n }), { nil: null }),
      limits: fc.array(fc.tuple(fc.constantFrom<Limit['kind']>('borrower', 'group', 'region', 'crypto_book'), fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 1, max: 5_000 })), { maxLength: 4 }),
      price: fc.option(fc.bigInt({ min: 100_000_00n, max: 20_000_000_00n }), { nil: null }),
    }), 12);
    for (const [n, book] of books.entries()) {
      let offset = 0;
      for (const [b, batch] of book.batches.entries()) {
        await seedLoans(t.db, { count: batch.count, loansPerBorrower: batch.perBorrower, amountKopecks: batch.amount, disbursedOn: '2026-03-02', calendar, prefix: `p${n}-${b}`, borrowerOffset: offset, satsRange: { min: 1_000_000n, max: 90_000_000n } });
        offset += Math.ceil(batch.count / batch.perBorrower);
      }
      // Scatter the borrowers over regions and groups, and vary the loans' states and balances.
      const s = book.seed;
      await t.db.query(`UPDATE borrowers SET region_code = ($1::text[])[1 + (id * $2) % 4], group_ref = CASE WHEN (id * $2) % 3 = 0 THEN NULL ELSE 'G' || (1 + (id + $2) % 4) END`, [regions, s]);
      await t.db.query(`UPDATE loan_balances SET status = CASE (loan_id * $1) % 7 WHEN 0 THEN 'approved' WHEN 1 THEN 'closed' WHEN 2 THEN 'overdue' ELSE status END WHERE status <> 'cancelled'`, [s]);
      await t.db.query(`UPDATE loan_balances SET interest = (loan_id * $1) % 50000, penalty = (loan_id * $1) % 777, principal_overdue = CASE WHEN status = 'overdue' THEN (loan_id * $1) % 90000 ELSE 0 END`, [s]);
      await t.db.query(`UPDATE loan_risk SET sats = (loan_id * $1) % 80000000, debt_kopecks = (loan_id * $1 * 7) % 3000000000, live = (loan_id + $1) % 5 <> 0`, [s]);
      const rules: Rules = {
        day: '2026-12-07',
        capital: book.tier1 === null ? null : { id: 1n, tier1: book.tier1, effectiveFrom: '2025-01-01', legalBasis: 'test' },
        limits: book.limits.map(([kind, a, b], i) => ({ id: BigInt(i + 1), kind, regionCode: null, softBps: Math.min(a, b), hardBps: Math.max(a, b), effectiveFrom: '2025-01-01', legalBasis: 'test' })),
        weights: [],
      };
      const reference = await bookLoans(t.db);
      const expected = aggregate(reference.loans, rules, book.price, reference.positions);
      expect(expected.loans).toBeGreaterThan(0);
      expect(await bookAggregates(t.db, rules, book.price), `book ${n}: ${JSON.stringify(book, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`).toEqual(expected);
    }
  }, 300_000);
});
