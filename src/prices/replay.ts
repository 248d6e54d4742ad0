import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/database.js';
import type { PriceKopecksPerBtc } from '../money/money.js';
import type { Pair, Quote } from './aggregate.js';
import { INITIAL_BREAKER, type PriceStatus } from './breaker.js';
import { valueAt } from './history-files.js';
import { runCycle, type CycleRecord, type PipelineConfig } from './pipeline.js';
import { insertCycles, type Bar } from './price-repository.js';

/**
 * A replay source: a historical series fed through the same pipeline as the live feed, at a chosen
 * speed, into a stream of its own (`replay:<name>`), for demos, tests and backtests. Each bar's
 * close is observed at the bar's end. Cycles are written in batches (one transaction per batch):
 * a price tick is a batch trigger, not a transaction.
 */

export interface ReplayOptions {
  readonly name: string;
  readonly series: readonly Bar[];
  readonly pair: Pair;
  readonly intervalSeconds: number;
  /** The official USD/RUB rate as a step series (needed when `pair` is in USD). */
  readonly usdRub?: readonly Bar[];
  readonly from?: Date;
  readonly to?: Date;
  readonly config: PipelineConfig;
  /** x real time (3600: an hour a second), or 'max'. */
  readonly speed: number | 'max';
  readonly batchSize?: number;
  /** Called with each cycle, in order (e.g. to print it or feed a consumer). */
  readonly onCycle?: (record: CycleRecord) => void;
}

export interface StatusChange {
  readonly at: Date;
  readonly from: PriceStatus;
  readonly to: PriceStatus;
  readonly reasons: readonly string[];
  readonly priceKopecks: PriceKopecksPerBtc | null;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface ReplaySummary {
  readonly stream: string;
  readonly cycles: number;
  readonly accepted: number;
  readonly degradedCycles: number;
  readonly changes: readonly StatusChange[];
  readonly seconds: number;
}

/** The history's price cycles, in order: each bar's close, observed at the bar's end, through the pipeline (pure). */
export function* historyCycles(options: Pick<ReplayOptions, 'name' | 'series' | 'pair' | 'intervalSeconds' | 'usdRub' | 'from' | 'to' | 'config'>): Generator<CycleRecord> {
  let state = INITIAL_BREAKER;
  for (const bar of options.series) {
    const now = new Date(bar.start.getTime() + options.intervalSeconds * 1000);
    if ((options.from !== undefined && now < options.from) || (options.to !== undefined && now > options.to)) continue;
    const quote: Quote = { source: `history:${options.name}`, pair: options.pair, price: bar.close, observedAt: now, receivedAt: now };
    const usdRub = options.usdRub === undefined ? undefined : valueAt(options.usdRub, now);
    const result = runCycle(state, [quote], usdRub, now, options.config);
    state = result.state;
    yield result.record;
  }
}

/**
 * The pipeline for history: one source (quorum 1 unless given), and quotes and prices allowed to be
 * as old as two bars (a daily series is a day apart; the live limits are seconds).
 */
export function historyPipeline(base: PipelineConfig, intervalSeconds: number, quorum = 1): PipelineConfig {
  return {
    ...base,
    aggregation: { ...base.aggregation, quorum, maxQuoteAgeSeconds: Math.max(base.aggregation.maxQuoteAgeSeconds, intervalSeconds * 2) },
    breaker: { ...base.breaker, staleAfterSeconds: Math.max(base.breaker.staleAfterSeconds, intervalSeconds * 2) },
  };
}

export async function replay(db: Database, options: ReplayOptions): Promise<ReplaySummary> {
  const stream = `replay:${options.name}`;
  const batchSize = options.batchSize ?? 1_000;
  const started = performance.now();
  let status: PriceStatus | undefined;
  let batch: CycleRecord[] = [];
  let cycles = 0;
  let accepted = 0;
  let degradedCycles = 0;
  const changes: StatusChange[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    await db.transaction((tx) => insertCycles(tx, stream, records));
  };

  for (const record of historyCycles(options)) {
    const now = record.at;
    cycles += 1;
    if (record.acceptedKopecks !== null) accepted += 1;
    if (record.published.status !== 'normal') degradedCycles += 1;
    if (status !== undefined && record.published.status !== status) {
      changes.push({ at: now, from: status, to: record.published.status, reasons: record.published.reasons, priceKopecks: record.published.priceKopecks, detail: record.detail });
    }
    status = record.published.status;
    options.onCycle?.(record);
    batch.push(record);
    if (batch.length >= batchSize) await flush();
    if (options.speed !== 'max') await sleep((options.intervalSeconds * 1000) / options.speed);
  }
  await flush();
  return { stream, cycles, accepted, degradedCycles, changes, seconds: (performance.now() - started) / 1000 };
}
