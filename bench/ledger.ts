/**
 * `npm run bench:ledger [-- --entries N --batch B --concurrency C --engine pglite|postgres]`
 *
 * Journal entries per second through the ledger's real write path (validation, content hash,
 * account and idempotency look-ups, set-based inserts, and every database trigger that guards the
 * invariants), 2 postings each, B entries per transaction, C transactions in flight (PostgreSQL
 * only: PGlite has one connection). At the end it checks the books: the trial balance must be
 * zero-sum and hold exactly the entries written, or the figure does not count.
 *
 * Goals (issue 2): >= 5,000 entries/s on PGlite, >= 20,000 entries/s on PostgreSQL.
 */
import { transactOutcome, type Engine } from '../src/db/database.js';
import type { EntryDraft } from '../src/ledger/entry.js';
import { openAccount, postEntries, trialBalance } from '../src/ledger/ledger-repository.js';
import { benchEngines, integerOption, machine, openBenchDatabase, printBench } from './bench-support.js';

const argv = process.argv.slice(2);
const GOAL: Record<Engine, number> = { pglite: 5_000, postgres: 20_000 };
const LOANS = 1_000;

function draft(index: number): EntryDraft {
  // A disbursement-shaped entry: principal receivable of one of 1,000 loans against the
  // correspondent account, 1.00 to 10,000.00 RUB.
  const loan = `LN-${index % LOANS}`;
  const amount = 100n + BigInt((index * 7_919) % 1_000_000);
  return {
    idempotencyKey: `bench-${index}`,
    kind: 'disbursement',
    businessDate: '2026-11-24',
    valueTime: undefined,
    reason: 'benchmark disbursement',
    postings: [
      { account: { chartCode: 'loan_principal', subledgerKey: loan }, currency: 'RUB', amount },
      { account: { chartCode: 'cash_correspondent', subledgerKey: '' }, currency: 'RUB', amount: -amount },
    ],
  };
}

async function run(engine: Engine): Promise<number> {
  const entries = integerOption(argv, 'entries', engine === 'pglite' ? 50_000 : 200_000);
  const batch = integerOption(argv, 'batch', 1_000);
  const concurrency = engine === 'pglite' ? 1 : integerOption(argv, 'concurrency', 4);
  const bench = await openBenchDatabase(engine, concurrency + 1);
  try {
    for (let loan = 0; loan < LOANS; loan += 1) {
      const opened = await transactOutcome(bench.db, (tx) => openAccount(tx, { chartCode: 'loan_principal', subledgerKey: `LN-${loan}` }));
      if (!opened.ok) throw new Error(opened.error.message);
    }
    const batches: number[] = [];
    for (let start = 0; start < entries; start += batch) batches.push(start);
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < batches.length) {
        const start = batches[next]!;
        next += 1;
        const drafts = Array.from({ length: Math.min(batch, entries - start) }, (_, i) => draft(start + i));
        const result = await transactOutcome(bench.db, (tx) => postEntries(tx, drafts));
        if (!result.ok) throw new Error(`batch at ${start} refused: ${result.error.message}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;

    const trial = await trialBalance(bench.db, undefined);
    const rub = trial.totals.RUB;
    const [count] = await bench.db.query<{ n: bigint }>('SELECT count(*) AS n FROM ledger_entries');
    if (rub === undefined || rub.debits !== rub.credits || count?.n !== BigInt(entries)) {
      throw new Error(`books do not check out after the run: ${count?.n} entries, RUB ${rub?.debits} / ${rub?.credits}`);
    }
    const perSecond = Math.round(entries / seconds);
    console.log(`${engine}: ${entries} entries (2 postings each) in ${seconds.toFixed(2)} s, batches of ${batch}, ${concurrency} in flight: ${perSecond} entries/s; books balanced`);
    return perSecond;
  } finally {
    await bench.dispose();
  }
}

console.log(`ledger benchmark on ${machine()}`);
const results: Array<[Engine, number]> = [];
for (const engine of benchEngines(argv)) results.push([engine, await run(engine)]);
for (const [engine, value] of results) {
  printBench({ name: 'ledger', metric: 'entries_per_s', value, unit: 'entries/s', engine, goal: `>= ${GOAL[engine]}` });
}
