/**
 * `npm run bench:eod [-- --loans N] [--engine pglite|postgres] [--profile] [--no-due-day]`
 * (default N = 1,000,000)
 *
 * End of day over N live loans (issue 6; headroom, issue 21: 1,000,000 loans in <= 30 s on
 * PostgreSQL, >= 10,000 loans/s on PGlite, seeding 1,000,000 in < 120 s on PostgreSQL, a due day
 * within 2x an ordinary day, on the 2-core machine).
 *
 * An ordinary day: the loans are seeded set-based (src/loans/seed.ts: 10 loans a borrower,
 * 1,000,000.00 RUB, 23.5%, 12-month annuities, disbursed on 2026-01-15 with their ledger entries)
 * and timed (`seed_s`); end of day runs for 2026-01-16 to warm up, then three days are timed in
 * the same database: today's path (`eod_loans_per_s`: chunks side by side on PostgreSQL), one
 * chunk at a time (`eod_one_worker_loans_per_s`), and the old path as far as it can still be run
 * (one chunk at a time, with the loans' risk trigger as it was before issue 21, which looked every
 * updated loan up again through risk_refresh: `eod_old_path_loans_per_s`; `eod_speedup` is today's
 * over it). What it cannot replay is the seeding before issue 21 (seed_s only) and the wide loan
 * row of before migration 0032 (the balances' own table): those are run at the older commit.
 * Every loan accrues, so every loan gets a posting in its batch's entry and its balances change.
 *
 * A due day (`due_day_ratio`, its seconds over the ordinary day's): as many loans, seeded as if
 * migrated mid-life (disbursed on 2025-12-15, interest accrued through two days before their first
 * due date), every second borrower's settlement account holding enough for its ten instalments.
 * End of day runs for the day before the due date, then the due date is timed: every loan falls
 * due, half are paid by the waterfall and half move to overdue.
 *
 * The script checks the books after each: every loan's interest equals its days of accrual, one
 * entry per batch, the due day's split, and (at 200,000 loans or fewer) the full reconciliation of
 * loans against the ledger is empty. --profile prints each timed day's seconds statement by
 * statement, the functions the triggers run inside them (PostgreSQL's function timing), and where
 * seeding's seconds go.
 */
import { loadCalendar } from '../src/calendar/load.js';
import type { Database } from '../src/db/database.js';
import { runEod, type EodDay } from '../src/loans/eod.js';
import { seedLoans } from '../src/loans/seed.js';
import { buildSchedule } from '../src/loans/schedule.js';
import { interestDayByDay } from '../src/loans/interest.js';
import { addDays } from '../src/calendar/business.js';
import { reconcileLoans } from '../src/loans/views.js';
import { benchEngines, integerOption, machine, openBenchDatabase, printBench } from './bench-support.js';

const argv = process.argv.slice(2);
const loans = integerOption(argv, 'loans', 1_000_000);
const chunk = integerOption(argv, 'chunk', 50_000);
const profiling = argv.includes('--profile');
const dueDay = !argv.includes('--no-due-day');
const calendar = await loadCalendar();
const now = new Date('2026-02-01T00:00:00Z');
const AMOUNT = 100_000_000n;
const RATE = 235_000n;
console.log(`end-of-day benchmark on ${machine()}: ${loans} loans, ${chunk} a transaction`);

// The loans' risk trigger before issue 21 (migration 0015's body), for the old path's day. Since
// migration 0032 it sits on the narrow loan_balances (whose rows name their loan loan_id): the wide
// loan row of before cannot be run in the same database any more, and its figures come from the
// commit before (docs/BENCHMARKS.md).
const OLD_RISK_TRIGGER = `CREATE OR REPLACE FUNCTION risk_after_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7207101);
  PERFORM risk_refresh(ARRAY(SELECT n.loan_id FROM changed n), false);
  PERFORM pg_notify('zalog_risk', '');
  RETURN NULL;
END $$`;

const seconds = (started: number) => (performance.now() - started) / 1000;

function printProfile(label: string, profile: Map<string, number>, total: number) {
  // With chunks side by side the chunks' seconds add up to more than the wall clock's: shares
  // are of the chunks' summed time.
  const chunks = profile.get('whole chunk transaction');
  const whole = chunks === undefined ? total * 1000 : chunks;
  console.log(`${label} (${total.toFixed(1)} s in all${chunks === undefined ? '' : `; its chunk transactions ${(chunks / 1000).toFixed(1)} s summed`}):`);
  const statements = [...profile.entries()].filter(([name]) => name !== 'whole chunk transaction');
  for (const [name, ms] of statements.sort((a, b) => b[1] - a[1])) console.log(`  ${name.padEnd(40)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${((ms / whole) * 100).toFixed(1).padStart(5)} %`);
  if (chunks === undefined) return;
  const inStatements = statements.reduce((sum, [, ms]) => sum + ms, 0);
  console.log(`  ${'begin, locks, temp tables, commit'.padEnd(40)} ${((chunks - inStatements) / 1000).toFixed(2).padStart(7)} s  ${(((chunks - inStatements) / whole) * 100).toFixed(1).padStart(5)} %`);
}

/** Closes `day` (timed), with the statement and function profile when asked. */
async function timedDay(db: Database, engine: string, day: string, label: string, workers?: number): Promise<{ day: EodDay; seconds: number }> {
  const profile = profiling ? new Map<string, number>() : undefined;
  const functionTimes = async () => new Map((await db.query<{ funcname: string; total: number }>(
    `SELECT funcname, total_time AS total FROM pg_stat_user_functions`).catch(() => [])).map((r) => [r.funcname, Number(r.total)]));
  const before = profiling ? await functionTimes() : new Map<string, number>();
  const started = performance.now();
  const report = await runEod(db, day, { now, chunkSize: chunk, ...(profile === undefined ? {} : { profile }), ...(workers === undefined ? {} : { workers }) });
  const took = seconds(started);
  if (profile !== undefined) {
    printProfile(`${engine}: profile of ${label}, ${day}`, profile, took);
    // Function statistics reach the view when a backend reports them (at most a second later).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const [name, after] of await functionTimes()) {
      const spent = (after - (before.get(name) ?? 0)) / 1000;
      if (spent >= 0.01) console.log(`  of which in function ${name}: ${spent.toFixed(2)} s`);
    }
  }
  const closed = report.days[0]!;
  const [batches] = await db.query<{ n: bigint }>(`SELECT count(DISTINCT l.id / d.entry_batch)::int8 AS n FROM loans l, eod_days d WHERE d.business_date = $1 AND l.status IN ('active', 'overdue')`, [day]);
  // A batch is one entry, or two when chunks side by side left some of its loans to the in-order pass.
  if (closed.loans !== loans || BigInt(closed.entries) < batches!.n || BigInt(closed.entries) > 2n * batches!.n) throw new Error(`end of day ${day} touched ${closed.loans} loans and wrote ${closed.entries} entries, not ${loans} loans in ${batches!.n} batches`);
  console.log(`${engine}: ${label}, ${day}: ${closed.loans} loans, ${closed.entries} entries in ${took.toFixed(1)} s: ${Math.round(loans / took)} loans/s`);
  return { day: closed, seconds: took };
}

async function seed(db: Database, engine: string, label: string, options: Omit<Parameters<typeof seedLoans>[1], 'count' | 'calendar'>): Promise<number> {
  const profile = profiling ? new Map<string, number>() : undefined;
  const started = performance.now();
  await seedLoans(db, { count: loans, calendar, chunk: 100_000, ...options, ...(profile === undefined ? {} : { profile }) });
  const took = seconds(started);
  console.log(`${engine}: seeded ${loans} loans (${label}) in ${took.toFixed(1)} s`);
  if (profile !== undefined) printProfile(`${engine}: where seeding's seconds go`, profile, took);
  return took;
}

async function checkBooks(db: Database, what: string) {
  if (loans > 200_000) return;
  const mismatches = await reconcileLoans(db);
  if (mismatches.length > 0) throw new Error(`${what}: the books disagree: ${JSON.stringify(mismatches.slice(0, 3))}`);
}

for (const engine of benchEngines(argv)) {
  let ordinary: number;
  {
    const bench = await openBenchDatabase(engine);
    try {
      const seedSeconds = await seed(bench.db, engine, 'ordinary', { disbursedOn: '2026-01-15', prefix: 'bench' });
      await runEod(bench.db, '2026-01-16', { now, chunkSize: chunk });
      const today = await timedDay(bench.db, engine, '2026-01-17', "today's path");
      // Each change on its own, in the same database: one chunk at a time with today's risk
      // trigger, then the old path (one chunk at a time, the trigger's body before issue 21).
      const oneWorker = await timedDay(bench.db, engine, '2026-01-18', 'one chunk at a time', 1);
      await bench.db.query(OLD_RISK_TRIGGER);
      const old = await timedDay(bench.db, engine, '2026-01-19', 'the old path (one chunk at a time, the risk trigger before issue 21)', 1);
      const expected = interestDayByDay(AMOUNT, RATE, '2026-01-15', '2026-01-19').kopecks;
      const [check] = await bench.db.query<{ wrong: bigint }>(`SELECT count(*) FILTER (WHERE interest <> $1)::int8 AS wrong FROM loans WHERE product_code = 'SEED'`, [expected]);
      if (check!.wrong !== 0n) throw new Error(`${check!.wrong} loans do not hold four days of interest (${expected} kopecks)`);
      await checkBooks(bench.db, 'ordinary days');
      ordinary = today.seconds;
      printBench({ name: 'eod', metric: 'seed_s', value: Number(seedSeconds.toFixed(1)), unit: 's', engine, goal: engine === 'postgres' ? '< 120 (1,000,000 loans)' : 'none' });
      printBench({ name: 'eod', metric: 'eod_loans_per_s', value: Math.round(loans / today.seconds), unit: 'loans/s', engine, goal: engine === 'postgres' ? '>= 33334 (1,000,000 in <= 30 s)' : '>= 10000' });
      printBench({ name: 'eod', metric: 'eod_one_worker_loans_per_s', value: Math.round(loans / oneWorker.seconds), unit: 'loans/s', engine, goal: 'none (one chunk at a time, today\'s risk trigger)' });
      printBench({ name: 'eod', metric: 'eod_old_path_loans_per_s', value: Math.round(loans / old.seconds), unit: 'loans/s', engine, goal: 'none (the same run, before issue 21)' });
      printBench({ name: 'eod', metric: 'eod_speedup', value: Number((old.seconds / today.seconds).toFixed(2)), unit: 'x', engine, goal: '> 1' });
    } finally {
      await bench.dispose();
    }
  }
  if (!dueDay) continue;
  const bench = await openBenchDatabase(engine);
  try {
    const disbursedOn = '2025-12-15';
    const firstDue = buildSchedule({ principal: AMOUNT, rateMillionths: RATE, start: disbursedOn, months: 12, type: 'annuity' }, calendar).lines[0]!;
    // Ten instalments (a borrower's ten loans) with room to spare, for every second borrower.
    const funded = { kopecks: ((firstDue.principal + firstDue.interest) * 11n), every: 2 };
    await seed(bench.db, engine, 'due', { disbursedOn, accruedThrough: addDays(firstDue.dueDate, -2), funded, prefix: 'due' });
    await runEod(bench.db, addDays(firstDue.dueDate, -1), { now, chunkSize: chunk });
    const due = await timedDay(bench.db, engine, firstDue.dueDate, 'a due day');
    const [split] = await bench.db.query<{ overdue: bigint; paid: bigint }>(
      `SELECT count(*) FILTER (WHERE status = 'overdue')::int8 AS overdue, count(*) FILTER (WHERE status = 'active' AND principal_overdue = 0 AND interest = 0)::int8 AS paid FROM loans WHERE product_code = 'SEED'`);
    if (split!.overdue !== BigInt(loans / 2) || split!.paid !== BigInt(loans / 2)) throw new Error(`the due day left ${split!.overdue} loans overdue and ${split!.paid} paid, not half and half`);
    if (due.day.collected === 0n || due.day.movedToOverdue === 0n) throw new Error('the due day collected nothing or moved nothing to overdue');
    await checkBooks(bench.db, 'the due day');
    printBench({ name: 'eod', metric: 'due_day_ratio', value: Number((due.seconds / ordinary).toFixed(2)), unit: 'x an ordinary day', engine, goal: '<= 2' });
  } finally {
    await bench.dispose();
  }
}
