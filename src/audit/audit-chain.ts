import { createHash } from 'node:crypto';

/**
 * The audit chain, pure: how a record is hashed. Each record's hash covers its own fields and the
 * previous record's hash, so changing, removing or reordering any record breaks every hash after
 * it. The serialisation is canonical (object keys sorted, no whitespace) so that what PostgreSQL
 * gives back from `jsonb` hashes the same as what was written.
 */

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditFields {
  readonly id: bigint;
  readonly at: Date;
  readonly actorUserId: bigint | null;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly outcome: 'ok' | 'refused';
  readonly requestId: string | null;
  readonly ip: string | null;
  readonly details: unknown;
  readonly prevHash: string;
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

export function auditHash(fields: AuditFields): string {
  const canonical = canonicalJson([
    fields.id.toString(),
    fields.at.toISOString(),
    fields.actorUserId?.toString() ?? null,
    fields.actor,
    fields.action,
    fields.target,
    fields.outcome,
    fields.requestId,
    fields.ip,
    fields.details,
    fields.prevHash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export type ChainBreak = { readonly id: bigint; readonly problem: string };

/**
 * Checks records in id order, continuing from `previous` (the last record of the page before,
 * or undefined at the start). Returns the first break, if any.
 */
export function verifyRecords(records: ReadonlyArray<AuditFields & { readonly hash: string }>, previous: { id: bigint; hash: string } | undefined): ChainBreak | undefined {
  let expectedId = (previous?.id ?? 0n) + 1n;
  let expectedPrev = previous?.hash ?? GENESIS_HASH;
  for (const record of records) {
    if (record.id !== expectedId) return { id: record.id, problem: `expected record ${expectedId} next; records are missing or reordered` };
    if (record.prevHash !== expectedPrev) return { id: record.id, problem: 'its previous-hash does not match the record before it' };
    if (auditHash(record) !== record.hash) return { id: record.id, problem: 'its content does not match its hash (the record was edited)' };
    expectedId += 1n;
    expectedPrev = record.hash;
  }
  return undefined;
}
