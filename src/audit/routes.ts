import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditFields, markAudited } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { Id } from '../api/schemas.js';
import { readAudit, verifyAudit } from './audit-repository.js';
import { makeCheckpoint, readCheckpointFile, verifyCheckpoints } from './checkpoint-file.js';
import { verifyingKeyOf } from './checkpoint.js';

const AUDIT_READERS = ['auditor', 'admin', 'risk_officer'] as const;

const CheckpointView = Type.Object({ line: Type.Integer(), headId: Type.Union([Type.String(), Type.Null()]), count: Type.Union([Type.String(), Type.Null()]), at: Type.Union([Type.String(), Type.Null()]), matches: Type.Boolean(), problem: Type.Union([Type.String(), Type.Null()]) });

/** The audit trail, read-only, for auditors (and admins, who answer for the system's users), and its checkpoints. */
export function auditRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db } = context;
  return async (app) => {
    app.get('/', {
      prefixTrailingSlash: 'no-slash',
      config: { access: { roles: AUDIT_READERS } },
      schema: {
        tags: ['audit'],
        operationId: 'listAuditRecords',
        summary: 'Audit records in order, paged; filter by request id, target or action',
        querystring: Type.Object({ afterId: Type.Optional(Id), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }), requestId: Type.Optional(Type.String({ maxLength: 64 })), target: Type.Optional(Type.String({ maxLength: 120 })), action: Type.Optional(Type.String({ maxLength: 120 })) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            records: Type.Array(Type.Object({ id: Id, at: Type.String({ description: 'UTC, microseconds, as stored and hashed' }), actorUserId: Type.Union([Id, Type.Null()]), actor: Type.String(), action: Type.String(), target: Type.Union([Type.String(), Type.Null()]), outcome: Type.String(), requestId: Type.Union([Type.String(), Type.Null()]), clientRequestId: Type.Union([Type.String(), Type.Null()]), ip: Type.Union([Type.String(), Type.Null()]), details: Type.Unknown(), prevHash: Type.String(), hash: Type.String(), hashVersion: Type.Integer() })),
          }),
        },
      },
    }, async (request) => {
      const q = request.query;
      const records = await readAudit(db, { limit: q.limit, ...(q.afterId ? { afterId: BigInt(q.afterId) } : {}), ...(q.requestId ? { requestId: q.requestId } : {}), ...(q.target ? { target: q.target } : {}), ...(q.action ? { action: q.action } : {}) });
      return { records: records.map((r) => ({ ...r, id: r.id.toString(), actorUserId: r.actorUserId?.toString() ?? null })) };
    });

    app.get('/verify', {
      config: { access: { roles: AUDIT_READERS } },
      schema: {
        tags: ['audit'],
        operationId: 'verifyAuditChain',
        summary: 'Re-compute the whole hash chain and check it against the service\'s signed checkpoints; name the first broken record and count the intact ones before it',
        response: {
          200: Type.Object({
            intact: Type.Boolean({ description: 'the chain links and hashes hold, and every checkpoint matches' }),
            records: Type.String({ description: 'records intact from the first up to the first broken one' }),
            skippedIds: Type.String({ description: 'ids the sequence skipped: rolled-back appends, or deleted records' }),
            firstBroken: Type.Union([Type.Object({ id: Id, problem: Type.String() }), Type.Null()]),
            checkpoints: Type.Array(CheckpointView),
          }),
        },
      },
    }, async () => {
      const audit = context.audit;
      const lines = audit === undefined ? [] : await readCheckpointFile(audit.file);
      const { chain, verdicts } = audit === undefined || lines.length === 0
        ? { chain: await verifyAudit(db), verdicts: [] }
        : await verifyCheckpoints(db, lines, verifyingKeyOf(audit.key));
      return {
        intact: chain.firstBreak === undefined && verdicts.every((v) => v.problem === undefined),
        records: chain.records.toString(),
        skippedIds: chain.skippedIds.toString(),
        firstBroken: chain.firstBreak === undefined ? null : { id: chain.firstBreak.id.toString(), problem: chain.firstBreak.problem },
        checkpoints: verdicts.map((v) => ({ line: v.line, headId: v.headId ?? null, count: v.count ?? null, at: v.at ?? null, matches: v.problem === undefined, problem: v.problem ?? null })),
      };
    });

    app.post('/checkpoints', {
      config: { access: { roles: ['auditor', 'admin'] }, audit: 'audit.checkpoint' },
      schema: {
        tags: ['audit'],
        operationId: 'makeAuditCheckpoint',
        summary: 'Sign the chain\'s head now and append it to the checkpoint file (and the auditors\' mail); the service makes one at least daily',
        response: { 201: Type.Object({ headId: Type.String(), headHash: Type.String(), count: Type.String(), at: Type.String(), keyId: Type.String(), algorithm: Type.String(), signature: Type.String() }), 409: Type.Ref('Error'), 503: Type.Ref('Error') },
      },
    }, async (request, reply) => {
      const audit = context.audit;
      if (audit === undefined) throw new ApiError(503, 'checkpoints_not_configured', 'this service has no audit signing key configured');
      const made = await makeCheckpoint(db, audit, auditFields(request), context.now());
      if (!made.ok) throw new ApiError(409, 'audit_chain_broken', made.problem);
      // makeCheckpoint appended the record (target: the head) in its own transaction.
      markAudited(request);
      reply.status(201);
      const { version: _version, ...view } = made.checkpoint;
      return view;
    });
  };
}
