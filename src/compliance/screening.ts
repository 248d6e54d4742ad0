import { createHash } from 'node:crypto';
import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import type { Queryable } from '../db/database.js';
import { validateReason } from '../ledger/entry.js';
import type { ScreeningHit } from './rules.js';
import { raiseComplianceEvent } from './events.js';
import { normaliseName, parseList, type ListFormat } from './screening-lists.js';

/**
 * Screening in SQL: list imports, the screening of every borrower (or one) against the latest
 * version of each list in one statement, and the four-eyes clearing of a hit. A hit blocks the
 * borrower's applications (the `sanctions_screening` rule) until cleared; the first open hit of a
 * borrower raises a compliance event (a default review for a live loan), the last cleared one
 * another.
 */

export interface ScreeningSummary {
  readonly newHits: number;
  readonly borrowersNewlyHit: number;
}

const ENTRY_BATCH = 5_000;
const NAME_BATCH = 5_000;

/**
 * Fills the normalised name of borrowers recorded before screening existed (or by SQL); when one
 * borrower is screened, only its own (new borrowers get theirs when recorded).
 */
async function fillScreeningNames(tx: Queryable, borrowerId?: bigint): Promise<void> {
  for (;;) {
    const rows = await tx.query<{ id: bigint; name: string }>('SELECT id, name FROM borrowers WHERE screening_name IS NULL AND ($2::bigint IS NULL OR id = $2) ORDER BY id LIMIT $1', [NAME_BATCH, borrowerId ?? null]);
    if (rows.length === 0) return;
    await tx.query('UPDATE borrowers b SET screening_name = v.name FROM unnest($1::bigint[], $2::text[]) AS v(id, name) WHERE b.id = v.id',
      [rows.map((row) => row.id), rows.map((row) => normaliseName(row.name))]);
  }
}

/**
 * Screens every borrower (or one) against the latest import of each list. New matches become hits
 * (a match found before, even if cleared, is not raised again); a borrower with no open hit before
 * gets a `started_failing` event.
 */
export async function screen(tx: Queryable, now: Date, borrowerId?: bigint): Promise<ScreeningSummary> {
  await fillScreeningNames(tx, borrowerId);
  const [result] = await tx.query<{ hits: bigint; borrowers: bigint }>(
    `WITH latest AS (SELECT DISTINCT ON (name) id, name FROM screening_lists ORDER BY name, id DESC),
     vals AS (
       SELECT id AS borrower_id, 'name' AS field, screening_name AS matched FROM borrowers WHERE screening_name <> '' AND ($2::bigint IS NULL OR id = $2)
       UNION ALL SELECT id, 'inn', inn FROM borrowers WHERE $2::bigint IS NULL OR id = $2
       UNION ALL SELECT borrower_id, 'btc_address', address FROM borrower_btc_addresses WHERE $2::bigint IS NULL OR borrower_id = $2
     ),
     found AS (
       INSERT INTO screening_hits (borrower_id, field, matched, list_name, list_id, entry_display, program, found_at)
       SELECT v.borrower_id, v.field, v.matched, l.name, l.id, e.display, e.program, $1
         FROM vals v JOIN screening_entries e ON e.kind = v.field AND e.value = v.matched JOIN latest l ON l.id = e.list_id
        ORDER BY v.borrower_id, v.field, l.name -- hit ids in a stable order on both engines
       ON CONFLICT (borrower_id, field, matched, list_name) DO NOTHING
       RETURNING borrower_id, field, matched, list_name, entry_display
     ),
     events AS (
       INSERT INTO compliance_events (borrower_id, rule, kind, reason, raised_at)
       SELECT DISTINCT ON (f.borrower_id) f.borrower_id, 'sanctions_screening', 'started_failing',
              'screening hit: ' || f.field || ' matches ' || f.entry_display || ' on list ' || f.list_name, $1
         FROM found f
        WHERE NOT EXISTS (SELECT 1 FROM screening_hits h WHERE h.borrower_id = f.borrower_id AND h.status = 'open')
        ORDER BY f.borrower_id, f.field, f.matched
       RETURNING borrower_id
     )
     SELECT (SELECT count(*) FROM found) AS hits, (SELECT count(*) FROM events) AS borrowers`,
    [now, borrowerId ?? null],
  );
  return { newHits: Number(result!.hits), borrowersNewlyHit: Number(result!.borrowers) };
}

export interface ImportedList {
  readonly listId: bigint;
  /** False when this exact file was imported under this name before (nothing changed). */
  readonly imported: boolean;
  readonly entries: number;
  readonly skipped: readonly string[];
  readonly screening: ScreeningSummary;
}

export class ListImportError extends Error {}

/** Imports a list file under a name and screens the whole book against it, in the caller's transaction. */
export async function importList(tx: Queryable, input: { name: string; format: ListFormat; version: string; text: string; importedBy: bigint; now: Date }): Promise<ImportedList> {
  const sha256 = createHash('sha256').update(input.text).digest('hex');
  const [existing] = await tx.query<{ id: bigint; entry_count: number }>('SELECT id, entry_count FROM screening_lists WHERE name = $1 AND sha256 = $2', [input.name, sha256]);
  if (existing !== undefined) return { listId: existing.id, imported: false, entries: existing.entry_count, skipped: [], screening: { newHits: 0, borrowersNewlyHit: 0 } };
  let parsed;
  try {
    parsed = parseList(input.format, input.text);
  } catch (error) {
    throw new ListImportError((error as Error).message);
  }
  const unique = new Map(parsed.entries.map((entry) => [`${entry.kind}\u0000${entry.value}`, entry]));
  if (unique.size === 0) throw new ListImportError(`the file has no usable entry${parsed.skipped.length > 0 ? ` (${parsed.skipped[0]})` : ''}`);
  const [list] = await tx.query<{ id: bigint }>(
    'INSERT INTO screening_lists (name, format, version, sha256, entry_count, imported_at, imported_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
    [input.name, input.format, input.version, sha256, unique.size, input.now, input.importedBy],
  );
  const entries = [...unique.values()];
  for (let start = 0; start < entries.length; start += ENTRY_BATCH) {
    const batch = entries.slice(start, start + ENTRY_BATCH);
    await tx.query('INSERT INTO screening_entries (list_id, kind, value, display, program) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])',
      [list!.id, batch.map((e) => e.kind), batch.map((e) => e.value), batch.map((e) => e.display), batch.map((e) => e.program)]);
  }
  const screening = await screen(tx, input.now);
  return { listId: list!.id, imported: true, entries: unique.size, skipped: parsed.skipped.slice(0, 100), screening };
}

export interface StoredHit {
  readonly id: bigint;
  readonly borrowerRef: string;
  readonly field: 'name' | 'inn' | 'btc_address';
  readonly matched: string;
  readonly listName: string;
  readonly entry: string;
  readonly program: string;
  readonly foundAt: Date;
  readonly status: 'open' | 'cleared';
  readonly clearedBy: string | null;
  readonly clearReason: string | null;
}

export async function listHits(db: Queryable, filter: { borrowerId?: bigint; status?: 'open' | 'cleared'; limit: number; afterId?: bigint }): Promise<StoredHit[]> {
  const rows = await db.query<{ id: bigint; ref: string; field: StoredHit['field']; matched: string; list_name: string; entry_display: string; program: string; found_at: Date; status: StoredHit['status']; cleared_by: string | null; clear_reason: string | null }>(
    `SELECT h.id, b.ref, h.field, h.matched, h.list_name, h.entry_display, h.program, h.found_at, h.status, u.username AS cleared_by, h.clear_reason
       FROM screening_hits h JOIN borrowers b ON b.id = h.borrower_id LEFT JOIN users u ON u.id = h.cleared_by
      WHERE ($1::bigint IS NULL OR h.borrower_id = $1) AND ($2::text IS NULL OR h.status = $2) AND h.id > $3
      ORDER BY h.id LIMIT $4`,
    [filter.borrowerId ?? null, filter.status ?? null, filter.afterId ?? 0n, filter.limit],
  );
  return rows.map((row) => ({
    id: row.id, borrowerRef: row.ref, field: row.field, matched: row.matched, listName: row.list_name, entry: row.entry_display, program: row.program,
    foundAt: row.found_at, status: row.status, clearedBy: row.cleared_by, clearReason: row.clear_reason,
  }));
}

/** The borrower's hits in the form the `sanctions_screening` rule reads. */
export async function hitsForRule(db: Queryable, borrowerId: bigint): Promise<ScreeningHit[]> {
  const hits = await listHits(db, { borrowerId, limit: 10_000 });
  return hits.map((hit) => ({ list: hit.listName, matched: hit.matched, field: hit.field, clearedBy: hit.clearedBy }));
}

export interface ClearHitPayload {
  readonly hitId: string;
  readonly reason: string;
}

/**
 * Clearing a hit as a false positive (or as accepted by the bank's AML officer): a risk officer
 * proposes with a reason, a second one approves. The hit stays, marked cleared with who and why.
 */
export const clearScreeningHitAction: ApprovalAction<ClearHitPayload> = {
  type: 'compliance.clear_screening_hit',
  proposerRoles: ['risk_officer'],
  defaultApproverRoles: ['risk_officer'],
  async prepare(db, payload) {
    const request = payload as ClearHitPayload;
    if (typeof request.hitId !== 'string' || !/^[1-9][0-9]{0,17}$/.test(request.hitId)) return { ok: false, error: { code: 'invalid_proposal', message: 'hitId is a screening hit id' } };
    const reason = validateReason(request.reason);
    if (!reason.ok) return reason;
    const [hit] = await db.query<{ status: string; ref: string; field: string; matched: string; list_name: string }>(
      'SELECT h.status, b.ref, h.field, h.matched, h.list_name FROM screening_hits h JOIN borrowers b ON b.id = h.borrower_id WHERE h.id = $1', [BigInt(request.hitId)]);
    if (hit === undefined) return { ok: false, error: { code: 'not_found', message: `no screening hit ${request.hitId}` } };
    if (hit.status !== 'open') return { ok: false, error: { code: 'hit_not_open', message: `screening hit ${request.hitId} is already cleared` } };
    return { ok: true, value: { payload: { hitId: request.hitId, reason: request.reason }, summary: `clear screening hit ${request.hitId} of ${hit.ref} (${hit.field} "${hit.matched}" on ${hit.list_name}): ${request.reason}`, amounts: {}, target: `borrower:${hit.ref}` } };
  },
  async execute(tx, payload, context) {
    const [hit] = await tx.query<{ borrower_id: bigint }>(
      `UPDATE screening_hits SET status = 'cleared', cleared_at = $2, cleared_by = $3, cleared_approval_id = $4, clear_reason = $5
        WHERE id = $1 AND status = 'open' RETURNING borrower_id`,
      [BigInt(payload.hitId), context.now, context.approver.id, context.approvalId, payload.reason],
    );
    if (hit === undefined) return { ok: false, error: { code: 'hit_not_open', message: `screening hit ${payload.hitId} is not open` } };
    const [open] = await tx.query<{ n: bigint }>('SELECT count(*) AS n FROM screening_hits WHERE borrower_id = $1 AND status = \'open\'', [hit.borrower_id]);
    if (open!.n === 0n) {
      await raiseComplianceEvent(tx, { borrowerId: hit.borrower_id, rule: 'sanctions_screening', kind: 'stopped_failing', reason: `the last open screening hit was cleared by two officers: ${payload.reason}`, at: context.now });
    }
    await auditApproved(tx, context, 'compliance.screening_hit.clear', `screening_hit:${payload.hitId}`, { reason: payload.reason });
    return { ok: true, value: { hitId: payload.hitId, status: 'cleared' } };
  },
};
