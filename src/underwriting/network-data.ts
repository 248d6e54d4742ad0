import { parse } from 'csv-parse/sync';
import { Type } from 'typebox';
import { expectShape, getJson, SourceError } from '../adapters/http.js';
import type { Queryable } from '../db/database.js';
import { daysBetween } from '../calendar/days.js';
import { isCalendarDate } from '../ledger/entry.js';
import type { NetworkState } from './mining.js';

/**
 * Network data for underwriting: the difficulty, the height and the fees miners earn, from a public
 * block-explorer API (mempool.space's REST API, or a self-hosted instance of it) and from imported
 * daily history (blockchain.com's chart export, as in ../shared/data). Stored as snapshots; the
 * underwriting reads the latest one at or before its date.
 *
 * mempool.space, GET {base}/api/v1/blocks: the 15 newest blocks, newest first, each
 *   { "id", "height": 871234, "timestamp": 1731..., "difficulty": 102289407543323.8,
 *     "extras": { "totalFees": 1634567 (sats), "reward": 314134567, ... }, ... }
 * Difficulty is a float in JSON; at 1e14 a double is exact to a hundredth, so its whole part is
 * exact. Fees are the mean of the blocks' total fees.
 */

export interface NetworkSnapshot {
  readonly source: string;
  readonly observedAt: Date;
  readonly height: bigint | null;
  readonly difficulty: bigint;
  readonly feesSatsPerBlock: bigint | null;
}

const Block = Type.Object({
  height: Type.Integer({ minimum: 0 }),
  timestamp: Type.Integer({ minimum: 1_230_768_000 }),
  difficulty: Type.Number({ exclusiveMinimum: 0 }),
  extras: Type.Object({ totalFees: Type.Integer({ minimum: 0 }) }),
});
const Blocks = Type.Array(Block, { minItems: 1, maxItems: 100 });

export async function fetchMempoolSnapshot(options: { baseUrl: string; timeoutMs?: number }): Promise<NetworkSnapshot> {
  const body = await getJson(`${options.baseUrl.replace(/\/+$/, '')}/api/v1/blocks`, { timeoutMs: options.timeoutMs ?? 10_000, maxBytes: 1_048_576 });
  const blocks = expectShape<Array<{ height: number; timestamp: number; difficulty: number; extras: { totalFees: number } }>>(Blocks, body, 'mempool blocks');
  const newest = blocks.reduce((a, b) => (b.height > a.height ? b : a));
  if (!Number.isSafeInteger(newest.height) || newest.difficulty >= 2 ** 53) throw new SourceError('malformed', 'mempool blocks: height or difficulty out of range');
  let fees = 0n;
  for (const block of blocks) {
    if (!Number.isSafeInteger(block.extras.totalFees)) throw new SourceError('malformed', 'mempool blocks: totalFees out of range');
    fees += BigInt(block.extras.totalFees);
  }
  return {
    source: 'mempool',
    observedAt: new Date(newest.timestamp * 1000),
    height: BigInt(newest.height),
    difficulty: BigInt(Math.floor(newest.difficulty)),
    feesSatsPerBlock: fees / BigInt(blocks.length),
  };
}

/**
 * Reads blockchain.com's daily chart export as in ../shared/data: `date,difficulty,hash_rate_ths,
 * miners_revenue_usd`. Days without a difficulty are skipped; heights and fees are unknown.
 */
export function readNetworkHistoryCsv(text: string, source: string): NetworkSnapshot[] {
  const rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Array<Record<string, string | undefined>>;
  const snapshots: NetworkSnapshot[] = [];
  for (const [index, row] of rows.entries()) {
    const date = row['date'] ?? '';
    if (!isCalendarDate(date)) throw new SyntaxError(`line ${index + 2}: "${String(date).slice(0, 20)}" is not a date YYYY-MM-DD`);
    const difficulty = row['difficulty'] ?? '';
    if (difficulty === '') continue;
    const whole = /^([0-9]+)(\.[0-9]*)?(e\+?([0-9]+))?$/i.exec(difficulty);
    if (whole === null) throw new SyntaxError(`line ${index + 2}: difficulty "${difficulty.slice(0, 30)}" is not a number`);
    // Exact decimal to whole part: shift by the exponent if any, without going through a float.
    const digits = `${whole[1]}${(whole[2] ?? '.').slice(1)}`;
    const exponent = Number(whole[4] ?? '0') - ((whole[2] ?? '.').length - 1);
    const value = exponent >= 0 ? BigInt(digits) * 10n ** BigInt(exponent) : BigInt(digits) / 10n ** BigInt(-exponent);
    if (value <= 0n) continue; // the first days of the chain round to zero
    snapshots.push({ source, observedAt: new Date(`${date}T00:00:00Z`), height: null, difficulty: value, feesSatsPerBlock: null });
  }
  return snapshots;
}

export async function saveSnapshots(tx: Queryable, snapshots: readonly NetworkSnapshot[]): Promise<number> {
  let written = 0;
  for (let start = 0; start < snapshots.length; start += 5_000) {
    const batch = snapshots.slice(start, start + 5_000);
    const rows = await tx.query(
      `INSERT INTO network_snapshots (source, observed_at, height, difficulty, fees_sats_per_block)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int8[], $4::int8[], $5::int8[])
       ON CONFLICT (source, observed_at) DO NOTHING RETURNING 1`,
      [batch.map((s) => s.source), batch.map((s) => s.observedAt), batch.map((s) => s.height), batch.map((s) => s.difficulty), batch.map((s) => s.feesSatsPerBlock)],
    );
    written += rows.length;
  }
  return written;
}

/**
 * The fourth halving (block 840,000) was mined on 20 April 2024; heights of history without one are
 * estimated from it at 144 blocks a day (the target rate; actual blocks ran a little faster).
 */
const HEIGHT_ANCHOR = { day: '2024-04-20', height: 840_000n };

export function estimatedHeight(day: string): bigint {
  return HEIGHT_ANCHOR.height + BigInt(daysBetween(HEIGHT_ANCHOR.day, day)) * 144n;
}

export interface NetworkBasis {
  readonly state: NetworkState;
  readonly source: string;
  readonly observedAt: Date;
  /** What was estimated or assumed because the snapshot lacked it. */
  readonly notes: readonly string[];
}

/** The network state underwriting uses on a day: the latest snapshot at or before it, gaps filled and said. */
export async function networkOn(db: Queryable, day: string): Promise<NetworkBasis | undefined> {
  const [row] = await db.query<{ source: string; observed_at: Date; height: bigint | null; difficulty: bigint; fees_sats_per_block: bigint | null }>(
    `SELECT source, observed_at, height, difficulty, fees_sats_per_block FROM network_snapshots
      WHERE observed_at < ($1::date + 1) ORDER BY observed_at DESC, height DESC NULLS LAST LIMIT 1`, [day]);
  if (row === undefined) return undefined;
  const notes: string[] = [];
  const observedDay = row.observed_at.toISOString().slice(0, 10);
  if (daysBetween(observedDay, day) > 14) notes.push(`the latest network data is from ${observedDay}, ${daysBetween(observedDay, day)} days before ${day}`);
  let height = row.height;
  if (height === null) {
    height = estimatedHeight(day);
    notes.push(`height estimated at ${height} from block 840,000 on 2024-04-20 at 144 blocks a day`);
  } else if (observedDay < day) {
    height += BigInt(daysBetween(observedDay, day)) * 144n;
  }
  const fees = row.fees_sats_per_block ?? 0n;
  if (row.fees_sats_per_block === null) notes.push('fees unknown in this source: counted as zero (conservative)');
  return { state: { asOf: day, height, difficulty: row.difficulty, feesSatsPerBlock: fees }, source: row.source, observedAt: row.observed_at, notes };
}
