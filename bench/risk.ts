/**
 * `npm run bench:risk [-- --loans N]` (default N = 1,000,000)
 *
 * The risk engine's tick (issue 7). Goals: a price move that crosses 1% of 1,000,000 open loans
 * processed with p99 <= 50 ms in memory and <= 2 s end to end on PostgreSQL; a move that crosses
 * none in <= 1 ms; a full rebuild of the index from the database in <= 10 s.
 *
 * Printed so far (session 4): the in-memory figures. N loans of 1,000,000.00 RUB (+-20%) whose LTV
 * at 8,000,000.00 RUB/BTC is spread evenly from 20% to 58% (Ledn's 60/70/80 ladder with a 75%
 * accelerated call and 5 points of hysteresis) go into the index; then 200 ticks alternate between
 * the price that takes the 1% nearest their warning past it and a 10% higher price that clears
 * them again, each through `applyPrice` into the in-memory store (transitions and outbox
 * messages); then 1,000 moves of a kopeck that cross nothing. The end-to-end figure on PostgreSQL
 * and the rebuild from the database come with the engine's PostgreSQL store.
 */
import { applyPrice, MemoryRiskStore } from '../src/risk/engine.js';
import { triggerPrice, type Ladder } from '../src/risk/ladder.js';
import { RiskIndex } from '../src/risk/risk-index.js';
import type { PriceKopecksPerBtc } from '../src/money/money.js';
import { integerOption, machine, printBench } from './bench-support.js';

const argv = process.argv.slice(2);
const loans = integerOption(argv, 'loans', 1_000_000);
const M = 10_000n; // millionths per percent
const LADDER: Ladder = { warning: 60n * M, marginCall: 70n * M, acceleratedCall: 75n * M, liquidation: 80n * M, band: 5n * M, haircut: 0n };
const P0 = 800_000_000n as PriceKopecksPerBtc; // 8,000,000.00 RUB/BTC in kopecks

// A fixed-seed generator (mulberry32) so every run builds the same book.
let seed = 20_260_312;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

console.log(`risk benchmark on ${machine()}: ${loans} loans`);
const index = new RiskIndex(P0);
const warningAt: bigint[] = [];
let started = performance.now();
for (let i = 1; i <= loans; i += 1) {
  const debt = 100_000_000n + BigInt(Math.floor((random() - 0.5) * 40_000_000)); // kopecks
  const ltv = 200_000n + BigInt(Math.floor(random() * 380_000)); // 20% .. 58%, millionths
  // sats such that debt / (sats x P0 / 10^8) = ltv
  const sats = (debt * 100_000_000n * 1_000_000n) / (P0 * ltv);
  const exposure = { debt, sats };
  index.put({ id: BigInt(i), state: 'healthy', exposure, ladder: LADDER });
  warningAt.push(triggerPrice(exposure, LADDER.warning, 0n));
}
console.log(`memory: ${loans} loans indexed in ${((performance.now() - started) / 1000).toFixed(1)} s`);

// The price at which the 1% of loans nearest their warning are past it.
warningAt.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
const crossing = Math.max(1, Math.floor(loans / 100));
const down = warningAt[crossing - 1]! as PriceKopecksPerBtc;
const up = ((P0 * 11n) / 10n) as PriceKopecksPerBtc;
const store = new MemoryRiskStore();
const tickMs: number[] = [];
let moved = 0;
for (let tick = 0; tick < 200; tick += 1) {
  const price = tick % 2 === 0 ? down : up;
  started = performance.now();
  const { moves: transitions } = await applyPrice(index, store, { price, priceRef: `bench-${tick}`, at: new Date() });
  tickMs.push(performance.now() - started);
  moved += transitions.length;
  if (transitions.length < crossing) throw new Error(`tick ${tick} moved ${transitions.length} loans, expected at least ${crossing}`);
}
if (store.ticks.reduce((n, t) => n + t.moves.length, 0) !== moved) throw new Error('every move must be recorded');
console.log(`memory: 200 ticks moving ${moved / 200} loans each (1% = ${crossing}): p50 ${percentile(tickMs, 50).toFixed(2)} ms, p99 ${percentile(tickMs, 99).toFixed(2)} ms`);

// Moves of a kopeck around a price with no trigger near it.
const quiet = up;
const noneMs: number[] = [];
for (let tick = 0; tick < 1000; tick += 1) {
  const price = (quiet + BigInt(tick % 2)) as PriceKopecksPerBtc;
  started = performance.now();
  const { moves: transitions } = await applyPrice(index, store, { price, priceRef: `quiet-${tick}`, at: new Date() });
  noneMs.push(performance.now() - started);
  if (transitions.length !== 0) throw new Error(`a quiet tick moved ${transitions.length} loans`);
}
console.log(`memory: 1,000 ticks crossing nothing: p50 ${percentile(noneMs, 50).toFixed(4)} ms, p99 ${percentile(noneMs, 99).toFixed(4)} ms`);

printBench({ name: 'risk', metric: 'tick_p99_ms', value: Number(percentile(tickMs, 99).toFixed(2)), unit: 'ms', engine: 'memory', goal: '<= 50 (1% of 1,000,000 loans crossing)' });
printBench({ name: 'risk', metric: 'tick_none_ms', value: Number(percentile(noneMs, 99).toFixed(4)), unit: 'ms', engine: 'memory', goal: '<= 1' });
