/**
 * `npm run bench:exposure [-- --loans N] [-- --checks M] [-- --engine pglite|postgres]`
 * (default N = 1,000,000, M = 500)
 *
 * Issue 20: the bank's exposure against its capital and limits.
 *
 * N loans are seeded set-based (1,000,000.00 RUB against 0.25 BTC, ten per borrower), the
 * borrowers spread over 85 regions and one in five put into one of 2,000 groups of connected
 * borrowers; Tier 1 capital is recorded.
 *
 * exposure_book_s: the book against every limit, as `POST /exposure/snapshots` and end of day
 * compute it (exposure-store.ts takeSnapshot): one statement aggregating every live loan by
 * borrower, group, region and kind, with the uncovered debt under four price shocks, then the
 * figures and their row. Seconds, median of three. Goal <= 2 on PostgreSQL at 1,000,000 loans.
 *
 * approval_check_ms: the check before one approval (checkNewLoan with the exposure lock, as
 * loans.approve runs it), for M random borrowers, each in its own transaction, on a current
 * snapshot. Milliseconds, the 95th percentile. Goal <= 20.
 */
import { loadCalendar } from '../src/calendar/load.js';
import { checkNewLoan, takeSnapshot } from '../src/exposure/exposure-store.js';
import { systemUser } from '../src/identity/identity-repository.js';
import { seedLoans } from '../src/loans/seed.js';
import { benchEngines, integerOption, machine, openBenchDatabase, printBench } from './bench-support.js';

const argv = process.argv.slice(2);
const loans = integerOption(argv, 'loans', 1_000_000);
const checks = integerOption(argv, 'checks', 500);
const calendar = await loadCalendar();

console.log(`exposure benchmark on ${machine()}: ${loans} loans, ${checks} approval checks`);

for (const engine of benchEngines(argv)) {
  const bench = await openBenchDatabase(engine);
  const { db } = bench;
  try {
    let started = performance.now();
    await seedLoans(db, { count: loans, disbursedOn: '2026-01-15', calendar, prefix: 'exp', loansPerBorrower: 10 });
    const user = await systemUser(db);
    await db.query(`INSERT INTO borrower_groups (ref, name, basis, created_at, created_by) SELECT 'G-' || g, 'Group ' || g, 'bench', now(), $1 FROM generate_series(1, 2000) g`, [user.id]);
    await db.query(`UPDATE borrowers SET region_code = lpad((1 + id % 85)::text, 2, '0'), group_ref = CASE WHEN id % 5 = 0 THEN 'G-' || (1 + id % 2000) END`);
    await db.query(`INSERT INTO bank_capital (effective_from, tier1_kopecks, legal_basis, reason, recorded_at) VALUES ('2025-01-01', 50000000000000, 'bench', 'bench', now())`);
    // A live price for the stress figures (8,000,000.00 RUB/BTC).
    await db.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, inputs) VALUES ('live', now(), 800000000, 800000000, 'normal', '[]')`);
    await db.query('ANALYZE');
    console.log(`${engine}: seeded ${loans} loans in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const book: number[] = [];
    let last;
    for (let run = 0; run < 3; run += 1) {
      started = performance.now();
      last = await db.transaction((tx) => takeSnapshot(tx, new Date()));
      book.push((performance.now() - started) / 1000);
    }
    book.sort((a, b) => a - b);
    console.log(`${engine}: book ${last!.figures.book} RUB (${last!.figures.bookPercent}% of Tier 1), ${last!.figures.borrowers} borrowers, ${last!.figures.regions.length} regions, stress ${last!.figures.stress.map((s) => `${s.shockPercent}%: ${s.uncovered}`).join(', ') || 'none (no live price)'}; runs ${book.map((s) => s.toFixed(2)).join(', ')} s`);

    const [{ n }] = (await db.query<{ n: bigint }>('SELECT count(*) AS n FROM borrowers')) as [{ n: bigint }];
    const [{ first }] = (await db.query<{ first: bigint }>('SELECT min(id) AS first FROM borrowers')) as [{ first: bigint }];
    const times: number[] = [];
    let decisions = new Map<string, number>();
    for (let i = 0; i < checks; i += 1) {
      const borrowerId = first + BigInt(Math.floor(Math.random() * Number(n)));
      started = performance.now();
      const check = await db.transaction((tx) => checkNewLoan(tx, { borrowerId, amount: 101_000_000n }, new Date(), { lock: true }));
      times.push(performance.now() - started);
      decisions = decisions.set(check.decision, (decisions.get(check.decision) ?? 0) + 1);
    }
    times.sort((a, b) => a - b);
    const p95 = times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)]!;
    console.log(`${engine}: approval checks median ${times[Math.floor(times.length / 2)]!.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms; decisions ${JSON.stringify(Object.fromEntries(decisions))}`);
    printBench({ name: 'exposure', metric: 'exposure_book_s', value: Number(book[1]!.toFixed(3)), unit: 's', engine, goal: '<= 2 (1,000,000 loans, PostgreSQL)' });
    printBench({ name: 'exposure', metric: 'approval_check_ms', value: Number(p95.toFixed(2)), unit: 'ms', engine, goal: '<= 20' });
  } finally {
    await bench.dispose();
  }
}
