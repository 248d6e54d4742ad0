/**
 * `npm run bench:prices [-- --repeat N --batch B --engine pglite|postgres]`
 *
 * Accepted prices per second through the full price pipeline in replay mode: every hourly Bitstamp
 * BTC/USD bar from May 2018 to February 2023 (41,587 bars, from ../shared/data), crossed with the
 * Bank of Russia's USD/RUB rate, aggregated, run through the circuit breaker, and stored (cycles and
 * quotes) in batches. The whole series is replayed N times (default 3) into separate streams.
 *
 * Goal (issue 4): >= 10,000 accepted prices/s, so a year of minute data replays in about a minute.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../src/db/database.js';
import { readBarsCsv, readRateCsv } from '../src/prices/history-files.js';
import { replay } from '../src/prices/replay.js';
import { benchEngines, integerOption, machine, openBenchDatabase, printBench } from './bench-support.js';

const argv = process.argv.slice(2);
const DATA = path.resolve(import.meta.dirname ?? '.', '../../shared/data');
const dataDir = (await readFile(path.join(DATA, 'SOURCES.md')).then(() => DATA, () => path.resolve('../shared/data')));

const series = readBarsCsv(await readFile(path.join(dataDir, 'btc_usd_hourly_bitstamp_2018-05-15_2023-02-11.csv'), 'utf8'));
const usdRub = readRateCsv(await readFile(path.join(dataDir, 'usd_rub_cbr_daily_1992-07-01_2024-05-31.csv'), 'utf8'), 'usd_rub');
const config = {
  aggregation: { maxQuoteAgeSeconds: 7_200, outlierBps: 500n, quorum: 1 },
  breaker: { maxMoveBps: 1_000n, moveWindowSeconds: 3_600, staleAfterSeconds: 7_200 },
  weights: {},
};

async function run(engine: Engine): Promise<number> {
  const repeat = integerOption(argv, 'repeat', 3);
  const batchSize = integerOption(argv, 'batch', 2_000);
  const bench = await openBenchDatabase(engine);
  try {
    let accepted = 0;
    let seconds = 0;
    let degraded = 0;
    for (let round = 0; round < repeat; round += 1) {
      const summary = await replay(bench.db, { name: `bench-${round}`, series, pair: 'BTC/USD', intervalSeconds: 3_600, usdRub, config, speed: 'max', batchSize });
      accepted += summary.accepted;
      seconds += summary.seconds;
      degraded += summary.changes.filter((change) => change.to === 'degraded').length;
    }
    const [stored] = await bench.db.query<{ n: bigint }>("SELECT count(*) AS n FROM price_cycles WHERE accepted_kopecks IS NOT NULL AND stream LIKE 'replay:bench-%'");
    if (stored?.n !== BigInt(accepted)) throw new Error(`stored ${stored?.n} accepted prices, expected ${accepted}`);
    const perSecond = Math.round(accepted / seconds);
    console.log(`${engine}: ${accepted} accepted prices (${repeat} x ${series.length} hourly bars) in ${seconds.toFixed(2)} s, batches of ${batchSize}: ${perSecond}/s; ${degraded / repeat} breaker trips per pass`);
    return perSecond;
  } finally {
    await bench.dispose();
  }
}

console.log(`prices benchmark on ${machine()}`);
const results: Array<[Engine, number]> = [];
for (const engine of benchEngines(argv)) results.push([engine, await run(engine)]);
for (const [engine, value] of results) printBench({ name: 'prices', metric: 'accepted_prices_per_s', value, unit: 'prices/s', engine, goal: '>= 10000' });
