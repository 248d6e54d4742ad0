import { prepared, type Queryable } from '../db/database.js';
import { formatFraction, type Fraction, type PriceKopecksPerBtc } from '../money/money.js';
import type { Pair } from './aggregate.js';
import type { DegradeReason, PriceStatus } from './breaker.js';
import type { CycleRecord } from './pipeline.js';

/** Price cycles, quotes, source health and imported history in SQL. Writes are batched. */

/** Quotes are stored as exact decimals; 12 places covers every source's precision. */
function decimal(value: Fraction): string {
  return formatFraction(value, 12).replace(/\.?0+$/, '');
}

/** Inserts cycles and their quotes in two statements, whatever the batch size; returns ids in order. */
export async function insertCycles(tx: Queryable, stream: string, records: readonly CycleRecord[]): Promise<bigint[]> {
  if (records.length === 0) return [];
  const rows = await tx.query<{ id: bigint; position: bigint }>(
    `INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, reasons, usd_rub, inputs, detail)
     SELECT $1, at, accepted, published, status, coalesce(string_to_array(reasons, ','), '{}'), usd_rub, inputs::jsonb, detail::jsonb
       FROM unnest($2::timestamptz[], $3::int8[], $4::int8[], $5::text[], $6::text[], $7::numeric[], $8::text[], $9::text[])
            WITH ORDINALITY AS c (at, accepted, published, status, reasons, usd_rub, inputs, detail, position)
      ORDER BY position
     RETURNING id`,
    [
      stream,
      records.map((r) => r.at),
      records.map((r) => r.acceptedKopecks),
      records.map((r) => r.published.priceKopecks),
      records.map((r) => r.published.status),
      records.map((r) => (r.published.reasons.length === 0 ? null : r.published.reasons.join(','))),
      records.map((r) => (r.usdRub === null ? null : decimal(r.usdRub))),
      records.map((r) => JSON.stringify(r.verdicts.map((v) => ({ source: v.source, pair: v.pair, priceKopecks: v.priceKopecks.toString(), observedAt: v.observedAt.toISOString(), status: v.status })))),
      records.map((r) => JSON.stringify(r.detail)),
    ],
  );
  const ids = rows.map((row) => row.id);
  const cycleIds: bigint[] = [];
  const sources: string[] = [];
  const pairs: string[] = [];
  const prices: string[] = [];
  const observed: Date[] = [];
  const received: Date[] = [];
  records.forEach((record, index) => {
    for (const quote of record.quotes) {
      cycleIds.push(ids[index]!);
      sources.push(quote.source);
      pairs.push(quote.pair);
      prices.push(decimal(quote.price));
      observed.push(quote.observedAt);
      received.push(quote.receivedAt);
    }
  });
  if (cycleIds.length > 0) {
    await tx.query(
      `INSERT INTO price_quotes (cycle_id, source, pair, price, observed_at, received_at)
       SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::numeric[], $5::timestamptz[], $6::timestamptz[])`,
      [cycleIds, sources, pairs, prices, observed, received],
    );
  }
  return ids;
}

export interface StoredCycle {
  readonly id: bigint;
  readonly stream: string;
  readonly at: Date;
  readonly acceptedKopecks: PriceKopecksPerBtc | null;
  readonly publishedKopecks: PriceKopecksPerBtc | null;
  readonly status: PriceStatus;
  readonly reasons: readonly DegradeReason[];
  readonly usdRub: string | null;
  readonly inputs: unknown;
  readonly detail: Readonly<Record<string, unknown>>;
}

interface CycleRow {
  id: bigint;
  stream: string;
  at: Date;
  accepted_kopecks: bigint | null;
  published_kopecks: bigint | null;
  status: PriceStatus;
  reasons: DegradeReason[];
  usd_rub: string | null;
  inputs: unknown;
  detail: Record<string, unknown>;
  [key: string]: unknown;
}

const CYCLE_COLUMNS = 'id, stream, at, accepted_kopecks, published_kopecks, status, reasons, usd_rub, inputs, detail';
const LATEST_CYCLE = prepared(`SELECT ${CYCLE_COLUMNS} FROM price_cycles WHERE stream = $1 ORDER BY at DESC, id DESC LIMIT 1`);
const CYCLE_AT = prepared(`SELECT ${CYCLE_COLUMNS} FROM price_cycles WHERE stream = $1 AND at <= $2 ORDER BY at DESC, id DESC LIMIT 1`);

function toCycle(row: CycleRow): StoredCycle {
  return { id: row.id, stream: row.stream, at: row.at, acceptedKopecks: row.accepted_kopecks as PriceKopecksPerBtc | null, publishedKopecks: row.published_kopecks as PriceKopecksPerBtc | null, status: row.status, reasons: row.reasons, usdRub: row.usd_rub, inputs: row.inputs, detail: row.detail };
}

export async function latestCycle(db: Queryable, stream: string): Promise<StoredCycle | undefined> {
  const [row] = await db.query<CycleRow>(LATEST_CYCLE, [stream]);
  return row === undefined ? undefined : toCycle(row);
}

/** The cycle in force at `time`: the last one at or before it. */
export async function cycleAt(db: Queryable, stream: string, time: Date): Promise<StoredCycle | undefined> {
  const [row] = await db.query<CycleRow>(CYCLE_AT, [stream, time]);
  return row === undefined ? undefined : toCycle(row);
}

export async function cycleById(db: Queryable, id: bigint): Promise<StoredCycle | undefined> {
  const [row] = await db.query<CycleRow>('SELECT * FROM price_cycles WHERE id = $1', [id]);
  return row === undefined ? undefined : toCycle(row);
}

export async function cyclesBetween(db: Queryable, stream: string, from: Date, to: Date, limit: number): Promise<StoredCycle[]> {
  const rows = await db.query<CycleRow>('SELECT * FROM price_cycles WHERE stream = $1 AND at >= $2 AND at < $3 ORDER BY at, id LIMIT $4', [stream, from, to, limit]);
  return rows.map(toCycle);
}

export async function quotesOfCycle(db: Queryable, cycleId: bigint): Promise<Array<{ source: string; pair: string; price: string; observedAt: Date; receivedAt: Date }>> {
  const rows = await db.query<{ source: string; pair: string; price: string; observed_at: Date; received_at: Date }>('SELECT source, pair, price, observed_at, received_at FROM price_quotes WHERE cycle_id = $1 ORDER BY source', [cycleId]);
  return rows.map((row) => ({ source: row.source, pair: row.pair, price: row.price, observedAt: row.observed_at, receivedAt: row.received_at }));
}

/** Accepted feed prices since `since`, oldest first: to rebuild the breaker's window at start. */
export async function acceptedSince(db: Queryable, stream: string, since: Date): Promise<Array<{ at: Date; priceKopecks: PriceKopecksPerBtc }>> {
  const rows = await db.query<{ at: Date; accepted_kopecks: bigint }>('SELECT at, accepted_kopecks FROM price_cycles WHERE stream = $1 AND at >= $2 AND accepted_kopecks IS NOT NULL ORDER BY at', [stream, since]);
  return rows.map((row) => ({ at: row.at, priceKopecks: row.accepted_kopecks as PriceKopecksPerBtc }));
}

export async function lastAccepted(db: Queryable, stream: string): Promise<{ at: Date; priceKopecks: PriceKopecksPerBtc } | undefined> {
  const [row] = await db.query<{ at: Date; accepted_kopecks: bigint }>('SELECT at, accepted_kopecks FROM price_cycles WHERE stream = $1 AND accepted_kopecks IS NOT NULL ORDER BY at DESC LIMIT 1', [stream]);
  return row === undefined ? undefined : { at: row.at, priceKopecks: row.accepted_kopecks as PriceKopecksPerBtc };
}

export interface Candle {
  readonly start: Date;
  readonly open: bigint;
  readonly high: bigint;
  readonly low: bigint;
  readonly close: bigint;
  readonly cycles: number;
}

/** OHLC of accepted prices in buckets of `intervalSeconds`, for charts. */
export async function ohlc(db: Queryable, stream: string, from: Date, to: Date, intervalSeconds: number): Promise<Candle[]> {
  const rows = await db.query<{ start: Date; open: bigint; high: bigint; low: bigint; close: bigint; cycles: bigint }>(
    `SELECT date_bin(make_interval(secs => $4), at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS start,
            (array_agg(accepted_kopecks ORDER BY at, id))[1] AS open,
            max(accepted_kopecks) AS high, min(accepted_kopecks) AS low,
            (array_agg(accepted_kopecks ORDER BY at DESC, id DESC))[1] AS close,
            count(*) AS cycles
       FROM price_cycles
      WHERE stream = $1 AND at >= $2 AND at < $3 AND accepted_kopecks IS NOT NULL
      GROUP BY 1 ORDER BY 1`,
    [stream, from, to, intervalSeconds],
  );
  return rows.map((row) => ({ start: row.start, open: row.open, high: row.high, low: row.low, close: row.close, cycles: Number(row.cycles) }));
}

// ---------------------------------------------------------------------------------------------
// Source health.

export interface SourceHealth {
  readonly source: string;
  readonly pair: Pair;
  readonly healthy: boolean;
  readonly lastOkAt: Date | null;
  readonly lastErrorAt: Date | null;
  readonly lastError: string | null;
  readonly consecutiveFailures: number;
}

export async function saveHealth(tx: Queryable, health: readonly SourceHealth[], now: Date): Promise<void> {
  if (health.length === 0) return;
  await tx.query(
    `INSERT INTO price_source_health (source, pair, healthy, last_ok_at, last_error_at, last_error, consecutive_failures, updated_at)
     SELECT s, p, h, ok, err_at, err, n, $8 FROM unnest($1::text[], $2::text[], $3::bool[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::int[]) AS t (s, p, h, ok, err_at, err, n)
     ON CONFLICT (source) DO UPDATE SET pair = EXCLUDED.pair, healthy = EXCLUDED.healthy, last_ok_at = EXCLUDED.last_ok_at, last_error_at = EXCLUDED.last_error_at,
       last_error = EXCLUDED.last_error, consecutive_failures = EXCLUDED.consecutive_failures, updated_at = EXCLUDED.updated_at`,
    [health.map((h) => h.source), health.map((h) => h.pair), health.map((h) => h.healthy), health.map((h) => h.lastOkAt), health.map((h) => h.lastErrorAt), health.map((h) => h.lastError), health.map((h) => h.consecutiveFailures), now],
  );
}

export async function readHealth(db: Queryable): Promise<SourceHealth[]> {
  const rows = await db.query<{ source: string; pair: Pair; healthy: boolean; last_ok_at: Date | null; last_error_at: Date | null; last_error: string | null; consecutive_failures: number }>('SELECT * FROM price_source_health ORDER BY source');
  return rows.map((row) => ({ source: row.source, pair: row.pair, healthy: row.healthy, lastOkAt: row.last_ok_at, lastErrorAt: row.last_error_at, lastError: row.last_error, consecutiveFailures: row.consecutive_failures }));
}

// ---------------------------------------------------------------------------------------------
// Imported history.

export interface Bar {
  readonly start: Date;
  readonly open: Fraction;
  readonly high: Fraction;
  readonly low: Fraction;
  readonly close: Fraction;
}

/** Upserts bars (a re-import of the same bucket replaces it); returns how many were written. */
export async function saveHistory(tx: Queryable, source: string, pair: Pair, intervalSeconds: number, bars: readonly Bar[]): Promise<number> {
  let written = 0;
  for (let start = 0; start < bars.length; start += 5_000) {
    const chunk = bars.slice(start, start + 5_000);
    await tx.query(
      `INSERT INTO market_history (source, pair, interval_seconds, bucket_start, open, high, low, close)
       SELECT $1, $2, $3, t, o, h, l, c FROM unnest($4::timestamptz[], $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[]) AS b (t, o, h, l, c)
       ON CONFLICT (source, pair, interval_seconds, bucket_start) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, imported_at = now()`,
      [source, pair, intervalSeconds, chunk.map((b) => b.start), chunk.map((b) => decimal(b.open)), chunk.map((b) => decimal(b.high)), chunk.map((b) => decimal(b.low)), chunk.map((b) => decimal(b.close))],
    );
    written += chunk.length;
  }
  return written;
}

export async function readHistory(db: Queryable, filter: { source?: string; pair: Pair; intervalSeconds?: number; from: Date; to: Date; limit: number }): Promise<Array<{ source: string; intervalSeconds: number; start: Date; open: string; high: string; low: string; close: string }>> {
  const rows = await db.query<{ source: string; interval_seconds: number; bucket_start: Date; open: string; high: string; low: string; close: string }>(
    `SELECT source, interval_seconds, bucket_start, open, high, low, close FROM market_history
      WHERE pair = $1 AND ($2::text IS NULL OR source = $2) AND ($3::int IS NULL OR interval_seconds = $3) AND bucket_start >= $4 AND bucket_start < $5
      ORDER BY bucket_start, source LIMIT $6`,
    [filter.pair, filter.source ?? null, filter.intervalSeconds ?? null, filter.from, filter.to, filter.limit],
  );
  return rows.map((row) => ({ source: row.source, intervalSeconds: row.interval_seconds, start: row.bucket_start, open: row.open, high: row.high, low: row.low, close: row.close }));
}
