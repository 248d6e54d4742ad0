import type { Queryable } from '../db/database.js';
import { auditHash, GENESIS_HASH, normalise, verifyRecords, type AuditFields, type ChainBreak } from './audit-chain.js';

/** Appending to and reading the audit chain. */

export interface AuditEvent {
  readonly actorUserId: bigint | null;
  readonly actor: string;
  readonly action: string;
  readonly target?: string | null;
  readonly outcome?: 'ok' | 'refused';
  readonly requestId?: string | null;
  readonly ip?: string | null;
  /** before/after of what changed, or the inputs of a decision. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** Arbitrary but fixed: the advisory lock that makes appends to the chain one at a time. */
const AUDIT_LOCK_KEY = 7_263_552_111;

/**
 * Appends one record inside the caller's transaction, so the record commits or rolls back with
 * the change it describes. Appends are serialised by a transaction-scoped advisory lock: the
 * chain is a sequence, so two writers must not both link to the same predecessor.
 */
export async function appendAudit(tx: Queryable, event: AuditEvent, now: Date = new Date()): Promise<{ id: bigint; hash: string }> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK_KEY]);
  const [last] = await tx.query<{ id: bigint; hash: string }>('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1');
  const fields: AuditFields = {
    id: (last?.id ?? 0n) + 1n,
    // Millisecond precision: what a JS Date holds is exactly what timestamptz keeps and returns.
    at: new Date(Math.floor(now.getTime())),
    actorUserId: event.actorUserId,
    actor: event.actor,
    action: event.action,
    target: event.target ?? null,
    outcome: event.outcome ?? 'ok',
    requestId: event.requestId ?? null,
    ip: event.ip ?? null,
    details: normalise(event.details),
    prevHash: last?.hash ?? GENESIS_HASH,
  };
  const hash = auditHash(fields);
  await tx.query(
    `INSERT INTO audit_log (id, at, actor_user_id, actor, action, target, outcome, request_id, ip, details, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12)`,
    [fields.id, fields.at, fields.actorUserId, fields.actor, fields.action, fields.target, fields.outcome, fields.requestId, fields.ip, JSON.stringify(fields.details), fields.prevHash, hash],
  );
  return { id: fields.id, hash };
}

interface AuditRow {
  id: bigint;
  at: Date;
  actor_user_id: bigint | null;
  actor: string;
  action: string;
  target: string | null;
  outcome: 'ok' | 'refused';
  request_id: string | null;
  ip: string | null;
  details: unknown;
  prev_hash: string;
  hash: string;
  [key: string]: unknown;
}

export interface AuditRecord extends AuditFields {
  readonly hash: string;
}

function toRecord(row: AuditRow): AuditRecord {
  return { id: row.id, at: row.at, actorUserId: row.actor_user_id, actor: row.actor, action: row.action, target: row.target, outcome: row.outcome, requestId: row.request_id, ip: row.ip, details: row.details, prevHash: row.prev_hash, hash: row.hash };
}

export async function readAudit(db: Queryable, options: { afterId?: bigint; limit: number; requestId?: string; target?: string }): Promise<AuditRecord[]> {
  const rows = await db.query<AuditRow>(
    `SELECT * FROM audit_log WHERE id > $1 AND ($2::text IS NULL OR request_id = $2) AND ($3::text IS NULL OR target = $3) ORDER BY id LIMIT $4`,
    [options.afterId ?? 0n, options.requestId ?? null, options.target ?? null, options.limit],
  );
  return rows.map(toRecord);
}

export interface VerifyReport {
  readonly records: bigint;
  readonly firstBreak: ChainBreak | undefined;
}

/** Re-computes the whole chain, a page at a time; names the first broken record. */
export async function verifyAudit(db: Queryable, pageSize = 5_000): Promise<VerifyReport> {
  let previous: { id: bigint; hash: string } | undefined;
  let count = 0n;
  for (;;) {
    const page = await db.query<AuditRow>('SELECT * FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2', [previous?.id ?? 0n, pageSize]);
    if (page.length === 0) return { records: count, firstBreak: undefined };
    const records = page.map(toRecord);
    const broken = verifyRecords(records, previous);
    if (broken !== undefined) return { records: count, firstBreak: broken };
    count += BigInt(records.length);
    const last = records.at(-1)!;
    previous = { id: last.id, hash: last.hash };
  }
}
