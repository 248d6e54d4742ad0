import type { Queryable } from '../db/database.js';
import { auditHash, GENESIS_HASH, HASH_VERSION, microsecondText, normalise, verifyRecords, type AuditFields, type ChainBreak } from './audit-chain.js';

/** Appending to and reading the audit chain. */

export interface AuditEvent {
  readonly actorUserId: bigint | null;
  readonly actor: string;
  readonly action: string;
  readonly target?: string | null;
  readonly outcome?: 'ok' | 'refused';
  readonly requestId?: string | null;
  /** The X-Request-Id the client sent, kept beside the service's own id. */
  readonly clientRequestId?: string | null;
  readonly ip?: string | null;
  /** before/after of what changed, or the inputs of a decision; `amounts` for what moved. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** Arbitrary but fixed: the advisory lock that makes appends to the chain one at a time. */
const AUDIT_LOCK_KEY = 7_263_552_111;

/** The stored timestamp at full precision, as the hash covers it. */
const AT_TEXT = `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * Appends one record inside the caller's transaction, so the record commits or rolls back with
 * the change it describes. Appends are serialised by a transaction-scoped advisory lock held to
 * commit: the chain is a sequence, so two writers must not both link to the same predecessor, and
 * the newest record by id is the one the next must link to. The id comes from a sequence.
 */
export async function appendAudit(tx: Queryable, event: AuditEvent, now: Date = new Date()): Promise<{ id: bigint; hash: string }> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK_KEY]);
  const [last] = await tx.query<{ id: bigint; hash: string }>('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1');
  const [next] = await tx.query<{ id: bigint }>(`SELECT nextval('audit_log_id_seq') AS id`);
  // Milliseconds: what a JS Date holds is what timestamptz keeps; the hash covers it as stored.
  const at = new Date(Math.floor(now.getTime()));
  const fields: AuditFields = {
    id: next!.id,
    at: microsecondText(at),
    actorUserId: event.actorUserId,
    actor: event.actor,
    action: event.action,
    target: event.target ?? null,
    outcome: event.outcome ?? 'ok',
    requestId: event.requestId ?? null,
    clientRequestId: event.clientRequestId ?? null,
    ip: event.ip ?? null,
    details: normalise(event.details),
    prevHash: last?.hash ?? GENESIS_HASH,
    hashVersion: HASH_VERSION,
  };
  const hash = auditHash(fields);
  await tx.query(
    `INSERT INTO audit_log (id, at, actor_user_id, actor, action, target, outcome, request_id, client_request_id, ip, details, prev_hash, hash, hash_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14)`,
    [fields.id, at, fields.actorUserId, fields.actor, fields.action, fields.target, fields.outcome, fields.requestId, fields.clientRequestId, fields.ip, JSON.stringify(fields.details), fields.prevHash, hash, HASH_VERSION],
  );
  return { id: fields.id, hash };
}

interface AuditRow {
  id: bigint;
  at_text: string;
  actor_user_id: bigint | null;
  actor: string;
  action: string;
  target: string | null;
  outcome: 'ok' | 'refused';
  request_id: string | null;
  client_request_id: string | null;
  ip: string | null;
  details: unknown;
  prev_hash: string;
  hash: string;
  hash_version: number;
  [key: string]: unknown;
}

const COLUMNS = `id, ${AT_TEXT} AS at_text, actor_user_id, actor, action, target, outcome, request_id, client_request_id, ip, details, prev_hash, hash, hash_version`;

export interface AuditRecord extends AuditFields {
  readonly hash: string;
}

function toRecord(row: AuditRow): AuditRecord {
  return {
    id: row.id, at: row.at_text, actorUserId: row.actor_user_id, actor: row.actor, action: row.action, target: row.target, outcome: row.outcome,
    requestId: row.request_id, clientRequestId: row.client_request_id, ip: row.ip, details: row.details, prevHash: row.prev_hash, hash: row.hash,
    hashVersion: row.hash_version === 1 ? 1 : 2,
  };
}

export async function readAudit(db: Queryable, options: { afterId?: bigint; limit: number; requestId?: string; target?: string; action?: string }): Promise<AuditRecord[]> {
  const rows = await db.query<AuditRow>(
    `SELECT ${COLUMNS} FROM audit_log WHERE id > $1 AND ($2::text IS NULL OR request_id = $2) AND ($3::text IS NULL OR target = $3) AND ($4::text IS NULL OR action = $4) ORDER BY id LIMIT $5`,
    [options.afterId ?? 0n, options.requestId ?? null, options.target ?? null, options.action ?? null, options.limit],
  );
  return rows.map(toRecord);
}

export interface ChainHead {
  readonly id: bigint;
  readonly hash: string;
}

export interface VerifyReport {
  /** Records checked intact, from the first up to the first broken one (all of them when intact). */
  readonly records: bigint;
  readonly firstBreak: ChainBreak | undefined;
  /** The last intact record (undefined for an empty chain or a break at the first record). */
  readonly head: ChainHead | undefined;
  /** Ids the sequence skipped between records: rolled-back appends, or deleted records. */
  readonly skippedIds: bigint;
  /** Each intact record's id and hash, when asked for (to check checkpoints against). */
  readonly heads?: ReadonlyMap<bigint, { hash: string; count: bigint }>;
}

/**
 * Re-computes the whole chain, a page at a time; names the first broken record and counts the
 * records before it. `anchors` are the ids whose hash and position the caller wants back (the
 * heads of checkpoints), so a checkpoint can be checked in the same pass.
 */
export async function verifyAudit(db: Queryable, options: { pageSize?: number; anchors?: ReadonlySet<bigint> } = {}): Promise<VerifyReport> {
  const pageSize = options.pageSize ?? 5_000;
  const heads = new Map<bigint, { hash: string; count: bigint }>();
  let previous: ChainHead | undefined;
  let count = 0n;
  let skippedIds = 0n;
  for (;;) {
    const page = await db.query<AuditRow>(`SELECT ${COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2`, [previous?.id ?? 0n, pageSize]);
    const records = page.map(toRecord);
    const checked = verifyRecords(records, previous);
    for (const record of records.slice(0, checked.intact)) {
      count += 1n;
      if (options.anchors?.has(record.id)) heads.set(record.id, { hash: record.hash, count });
    }
    skippedIds += checked.skippedIds;
    if (checked.intact > 0) previous = { id: records[checked.intact - 1]!.id, hash: records[checked.intact - 1]!.hash };
    if (checked.firstBreak !== undefined || page.length < pageSize) {
      return { records: count, firstBreak: checked.firstBreak, head: previous, skippedIds, ...(options.anchors !== undefined ? { heads } : {}) };
    }
  }
}
