import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../api/context.js';
import { Id, Instant } from '../api/schemas.js';
import { readAudit, verifyAudit } from './audit-repository.js';

/** The audit trail, read-only, for auditors (and admins, who answer for the system's users). */
export function auditRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db } = context;
  return async (app) => {
    app.get('/', {
      config: { access: { roles: ['auditor', 'admin', 'risk_officer'] } },
      schema: {
        tags: ['audit'],
        summary: 'Audit records in order, paged; filter by request id or target',
        querystring: Type.Object({ afterId: Type.Optional(Id), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }), requestId: Type.Optional(Type.String({ maxLength: 64 })), target: Type.Optional(Type.String({ maxLength: 120 })) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            records: Type.Array(Type.Object({ id: Id, at: Instant, actorUserId: Type.Union([Id, Type.Null()]), actor: Type.String(), action: Type.String(), target: Type.Union([Type.String(), Type.Null()]), outcome: Type.String(), requestId: Type.Union([Type.String(), Type.Null()]), ip: Type.Union([Type.String(), Type.Null()]), details: Type.Unknown(), prevHash: Type.String(), hash: Type.String() })),
          }),
        },
      },
    }, async (request) => {
      const records = await readAudit(db, { limit: request.query.limit, ...(request.query.afterId ? { afterId: BigInt(request.query.afterId) } : {}), ...(request.query.requestId ? { requestId: request.query.requestId } : {}), ...(request.query.target ? { target: request.query.target } : {}) });
      return { records: records.map((r) => ({ ...r, id: r.id.toString(), at: r.at.toISOString(), actorUserId: r.actorUserId?.toString() ?? null })) };
    });

    app.get('/verify', {
      config: { access: { roles: ['auditor', 'admin', 'risk_officer'] } },
      schema: {
        tags: ['audit'],
        summary: 'Re-compute the whole hash chain; name the first broken record',
        response: { 200: Type.Object({ intact: Type.Boolean(), records: Type.String(), firstBroken: Type.Union([Type.Object({ id: Id, problem: Type.String() }), Type.Null()]) }) },
      },
    }, async () => {
      const report = await verifyAudit(db);
      return { intact: report.firstBreak === undefined, records: report.records.toString(), firstBroken: report.firstBreak === undefined ? null : { id: report.firstBreak.id.toString(), problem: report.firstBreak.problem } };
    });
  };
}
