import { createHash } from 'node:crypto';

/**
 * The audit chain, pure: how a record is hashed. Each record's hash covers its own fields and the
 * previous record's hash, so changing, removing or reordering any record breaks every hash after
 * it. The serialisation is canonical (object keys sorted, no whitespace) so that what PostgreSQL
 * gives back from `jsonb` hashes the same as what was written.
 *
 * Two versions exist. Version 1 (records written before migration 0017) hashed the timestamp at
 * millisecond precision, so a sub-millisecond edit of `at` went unseen. Version 2 hashes the stored
 * timestamp as PostgreSQL prints it at full (microsecond) precision, and the client's request id.
 *
 * What the chain alone cannot show is the removal of its newest records (nothing after them links
 * to them) or a chain whose every hash a superuser recomputed: `checkpoint.ts` anchors the head
 * outside the database for that.
 */

export const GENESIS_HASH = '0'.repeat(64);
export const HASH_VERSION = 2;

export interface AuditFields {
  readonly id: bigint;
  /** The stored timestamp, `YYYY-MM-DDTHH:MM:SS.uuuuuuZ` (microseconds), as PostgreSQL keeps it. */
  readonly at: string;
  readonly actorUserId: bigint | null;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly outcome: 'ok' | 'refused';
  readonly requestId: string | null;
  readonly clientRequestId: string | null;
  readonly ip: string | null;
  readonly details: unknown;
  readonly prevHash: string;
  readonly hashVersion: 1 | 2;
}

/** JSON with sorted keys; bigint as decimal strings; NUL (which jsonb refuses) as U+FFFD. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalise(value));
}

/** The value as it will come back from jsonb: plain, sorted, bigint-free. */
export function normalise(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD');
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, normalise(v)]));
  }
  return String(value);
}

/** A JS instant (milliseconds) as the microsecond text PostgreSQL prints for it. */
export function microsecondText(at: Date): string {
  return `${at.toISOString().slice(0, -1)}000Z`;
}

export function auditHash(fields: AuditFields): string {
  const common = [fields.actorUserId?.toString() ?? null, fields.actor, fields.action, fields.target, fields.outcome, fields.requestId];
  const canonical = fields.hashVersion === 1
    // Version 1: the millisecond ISO form of the timestamp, no client request id.
    ? canonicalJson([fields.id.toString(), `${fields.at.slice(0, 23)}Z`, ...common, fields.ip, fields.details, fields.prevHash])
    : canonicalJson(['v2', fields.id.toString(), fields.at, ...common, fields.clientRequestId, fields.ip, fields.details, fields.prevHash]);
  return createHash('sha256').update(canonical).digest('hex');
}

export type ChainBreak = { readonly id: bigint; readonly problem: string };

export interface PageCheck {
  /** Records checked intact before the first break (all of them when there is none). */
  readonly intact: number;
  /** Ids skipped between records (a rolled-back append, or deleted records the links do not show). */
  readonly skippedIds: bigint;
  readonly firstBreak: ChainBreak | undefined;
}

/**
 * Checks records in id order, continuing from `previous` (the last record of the page before, or
 * undefined at the start). Ids come from a sequence, so they rise but may skip (a rolled-back
 * append); each record must link to the hash of the record before it and match its own hash.
 */
export function verifyRecords(records: ReadonlyArray<AuditFields & { readonly hash: string }>, previous: { id: bigint; hash: string } | undefined): PageCheck {
  let lastId = previous?.id ?? 0n;
  let expectedPrev = previous?.hash ?? GENESIS_HASH;
  let skippedIds = 0n;
  for (const [index, record] of records.entries()) {
    const broken = (problem: string): PageCheck => ({ intact: index, skippedIds, firstBreak: { id: record.id, problem } });
    if (record.id <= lastId) return broken(`record ${record.id} comes after record ${lastId}: records are reordered`);
    if (record.prevHash !== expectedPrev) return broken('its previous-hash does not match the record before it (a record was removed or changed)');
    if (auditHash(record) !== record.hash) return broken('its content does not match its hash (the record was edited)');
    skippedIds += record.id - lastId - 1n;
    lastId = record.id;
    expectedPrev = record.hash;
  }
  return { intact: records.length, skippedIds, firstBreak: undefined };
}
