import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SQLSTATE, sqlState, transactOutcome, type Database, type Queryable } from '../db/database.js';
import { canonicalJson } from '../audit/audit-chain.js';
import { validateIdempotencyKey } from '../ledger/entry.js';
import { ApiError, rejection } from './errors.js';

/**
 * Idempotent POSTs. The caller sends an Idempotency-Key; the response is stored with the key in
 * the same transaction as the request's effect, so:
 * - the same key and body again replays the stored response (status and body), writing nothing;
 * - the same key with another body is refused (422 idempotency_key_reused);
 * - two identical requests at once: the second waits on the first's key (unique index), then
 *   replays its response;
 * - a crash before commit leaves neither effect nor key, so the retry runs afresh.
 * Keys are per user. Refusals (4xx) are not stored: a retry is judged again.
 */

export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
}

interface RecordRow {
  request_hash: string;
  status_code: number;
  response: unknown;
  [key: string]: unknown;
}

function requestHash(request: FastifyRequest): string {
  const content = canonicalJson({ method: request.method, route: request.routeOptions.url, params: request.params, body: request.body ?? null });
  return createHash('sha256').update(content).digest('hex');
}

async function readRecord(db: Queryable, userId: bigint, key: string): Promise<RecordRow | undefined> {
  const [row] = await db.query<RecordRow>('SELECT request_hash, status_code, response FROM idempotency_records WHERE user_id = $1 AND key = $2', [userId, key]);
  return row;
}

function replay(reply: FastifyReply, row: RecordRow, hash: string, key: string): unknown {
  if (row.request_hash !== hash) throw new ApiError(422, 'idempotency_key_reused', `idempotency key "${key}" was already used for a different request`);
  reply.status(row.status_code).header('idempotent-replayed', 'true');
  return row.response;
}

type Work = (tx: Queryable) => Promise<{ ok: true; value: StoredResponse } | { ok: false; error: { code: string; message: string; details?: Readonly<Record<string, unknown>> } }>;

export async function runIdempotent(db: Database, request: FastifyRequest, reply: FastifyReply, work: Work): Promise<unknown> {
  const principal = request.principal;
  if (principal === null) throw new Error('idempotent routes need an authenticated caller');
  const given = request.headers['idempotency-key'];
  if (given === undefined) throw new ApiError(400, 'idempotency_key_required', 'send an Idempotency-Key header (e.g. a UUID) so a retry cannot act twice');
  const key = validateIdempotencyKey(given);
  if (!key.ok) throw rejection(key.error);
  const hash = requestHash(request);

  const earlier = await readRecord(db, principal.user.id, key.value);
  if (earlier !== undefined) return replay(reply, earlier, hash, key.value);

  try {
    const outcome = await transactOutcome(db, async (tx) => {
      const result = await work(tx);
      if (!result.ok) return result;
      await tx.query(
        'INSERT INTO idempotency_records (user_id, key, route, request_hash, status_code, response) VALUES ($1, $2, $3, $4, $5, $6::jsonb)',
        [principal.user.id, key.value, `${request.method} ${request.routeOptions.url}`, hash, result.value.status, JSON.stringify(result.value.body)],
      );
      return result;
    });
    if (!outcome.ok) throw rejection(outcome.error);
    reply.status(outcome.value.status);
    return outcome.value.body;
  } catch (error) {
    if (sqlState(error) !== SQLSTATE.uniqueViolation) throw error;
    // A concurrent request with the same key committed first: answer as it did.
    const winner = await readRecord(db, principal.user.id, key.value);
    if (winner === undefined) throw error;
    return replay(reply, winner, hash, key.value);
  }
}
