/**
 * `npm run bench:eod [-- --loans N] [--engine pglite|postgres]` (default N = 1,000,000)
 *
 * One end of day over N live loans (issue 6; goal: 1,000,000 loans in <= 60 s on PostgreSQL and
 * <= 300 s on PGlite on the 2-core machine). The loans are seeded set-based (src/loans/seed.ts:
 * 10 loans a borrower, 1,000,000.00 RUB, 23.5%, 12-month annuities, disbursed on 2026-01-15 with
 * their ledger entries), end of day is run for 2026-01-16 to warm up, then timed for 2026-01-17:
 * every loan accrues, so every loan gets a posting in its batch's entry (one entry per 1,000 loans,
 * with one interest-income posting) and its balances change. The script then checks the books:
 * every loan's interest equals two days of accrual, one entry per batch, and (below 200,000 loans)
 * the full reconciliation of loans against the ledger is empty.
 */
import { loadCalendar } from '../src/calendar/load.js';
import { runEod } from '../src/loans/eod.js';
import { seedLoans } from '../src/loans/seed.js';
import { interestDayByDay } from '../src/loans/interest.js';
import { reconcileLoans } from '../src/loans/views.js';
import { benchEngines, integerOption, machine, openBenchDatabase, printBench } from './bench-support.js';

const argv = process.argv.slice(2);
const loans = integerOption(argv, 'loans', 1_000_000);
const chunk = integerOption(argv, 'chunk', 50_000);
// --profile: where the timed day's seconds go, statement by statement (issue 21), and the risk
// refresh the loans' trigger runs inside the loans' update, read from PostgreSQL's function timing.
const profiling = argv.includes('--profile');
const calendar = await loadCalendar();
console.log(`end-of-day benchmark on ${machine()}: ${loans} loans, ${chunk} a transaction`);

for (const engine of benchEngines(argv)) {
  const bench = await openBenchDatabase(engine);
  try {
    const seedStarted = performance.now();
    await seedLoans(bench.db, { count: loans, disbursedOn: '2026-01-15', calendar, chunk: 100_000, prefix: 'bench' });
    console.log(`${engine}: seeded ${loans} loans in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);
    const now = new Date('2026-02-01T00:00:00Z');
    await runEod(bench.db, '2026-01-16', { now, chunkSize: chunk });
    const profile = profiling ? new Map<string, number>() : undefined;
    const functionTimes = async () => new Map((await bench.db.query<{ funcname: string; total: number }>(
      `SELECT funcname, total_time AS total FROM pg_stat_user_functions`).catch(() => [])).map((r) => [r.funcname, Number(r.total)]));
    const functionsBefore = profiling ? await functionTimes() : new Map<string, number>();
    const started = performance.now();
    const report = await runEod(bench.db, '2026-01-17', { now, chunkSize: chunk, ...(profile === undefined ? {} : { profile }) });
    const seconds = (performance.now() - started) / 1000;
    if (profile !== undefined) {
      // Function statistics reach the view when a backend reports them (at most a second later).
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const functionsAfter = await functionTimes();
      const statements = [...profile.entries()].filter(([name]) => name !== 'whole chunk transaction');
      const inStatements = statements.reduce((sum, [, ms]) => sum + ms, 0);
      const chunks = profile.get('whole chunk transaction') ?? 0;
      console.log(`${engine}: profile of the timed day (${seconds.toFixed(1)} s in all):`);
      for (const [name, ms] of statements.sort((a, b) => b[1] - a[1])) console.log(`  ${name.padEnd(40)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${((ms / 1000 / seconds) * 100).toFixed(1).padStart(5)} %`);
      console.log(`  ${'begin, locks, temp tables, commit'.padEnd(40)} ${((chunks - inStatements) / 1000).toFixed(2).padStart(7)} s  ${(((chunks - inStatements) / 1000 / seconds) * 100).toFixed(1).padStart(5)} %`);
      console.log(`  ${'outside the chunks (day start, checks)'.padEnd(40)} ${(seconds - chunks / 1000).toFixed(2).padStart(7)} s`);
      // Triggers and the functions they call (total time, a caller's including its callees').
      for (const [name, after] of functionsAfter) {
        const spent = (after - (functionsBefore.get(name) ?? 0)) / 1000;
        if (spent >= 0.01) console.log(`  of which in function ${name}: ${spent.toFixed(2)} s`);
      }
    }
    const day = report.days[0]!;
    const [batches] = await bench.db.query<{ n: bigint }>(`SELECT count(DISTINCT l.id / d.entry_batch)::int8 AS n FROM loans l, eod_days d WHERE d.business_date = '2026-01-17'`);
    if (day.loans !== loans || BigInt(day.entries) !== batches!.n) throw new Error(`end of day touched ${day.loans} loans and wrote ${day.entries} entries, not ${loans} loans in ${batches!.n} batches`);
    const expected = interestDayByDay(100_000_000n, 235_000n, '2026-01-15', '2026-01-17').kopecks;
    const [check] = await bench.db.query<{ wrong: bigint }>(`SELECT count(*) FILTER (WHERE interest <> $1)::int8 AS wrong FROM loans WHERE product_code = 'SEED'`, [expected]);
    if (check!.wrong !== 0n) throw new Error(`${check!.wrong} loans do not hold two days of interest (${expected} kopecks)`);
    if (loans <= 200_000) {
      const mismatches = await reconcileLoans(bench.db);
      if (mismatches.length > 0) throw new Error(`the books disagree: ${JSON.stringify(mismatches.slice(0, 3))}`);
    }
    console.log(`${engine}: end of day 2026-01-17 over ${day.loans} loans, ${day.entries} entries in ${seconds.toFixed(1)} s: ${Math.round(loans / seconds)} loans/s`);
    printBench({ name: 'eod', metric: 'eod_loans_per_s', value: Math.round(loans / seconds), unit: 'loans/s', engine, goal: engine === 'postgres' ? '>= 16667 (1,000,000 in <= 60 s)' : '>= 3334 (1,000,000 in <= 300 s)' });
  } finally {
    await bench.dispose();
  }
}
