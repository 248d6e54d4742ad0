import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf, auditRequest, markAudited } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError, rejection } from '../api/errors.js';
import { runIdempotent } from '../api/idempotency.js';
import { Id, Instant } from '../api/schemas.js';
import { formatMinorUnits, parseKopecks, parseSats, type Currency } from '../money/money.js';
import { transactOutcome, type Queryable } from '../db/database.js';
import { BOOK_READERS, type Role } from '../identity/roles.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { amountsInUnits, approve, decline, findApproval, listApprovals, propose, type Approval, type ApprovalAction } from './approvals.js';

export const APPROVAL_STATUS = ['pending', 'approved', 'rejected', 'cancelled', 'expired'] as const;

export const ApprovalView = Type.Object({
  id: Id,
  actionType: Type.String(),
  summary: Type.String(),
  payload: Type.Unknown(),
  amounts: Type.Record(Type.String(), Type.String(), { description: 'What the approval limits apply to, per currency: RUB with 2 decimals, BTC with 8' }),
  status: Type.Union(APPROVAL_STATUS.map((s) => Type.Literal(s))),
  proposedBy: Id,
  proposedAt: Instant,
  expiresAt: Instant,
  decidedBy: Type.Union([Id, Type.Null()]),
  decidedAt: Type.Union([Instant, Type.Null()]),
  decisionReason: Type.Union([Type.String(), Type.Null()]),
  result: Type.Unknown(),
});

export function approvalView(approval: Approval) {
  return {
    id: approval.id.toString(),
    actionType: approval.actionType,
    summary: approval.summary,
    payload: approval.payload,
    amounts: amountsInUnits(approval.amounts),
    status: approval.status,
    proposedBy: approval.proposedBy.toString(),
    proposedAt: approval.proposedAt.toISOString(),
    expiresAt: approval.expiresAt.toISOString(),
    decidedBy: approval.decidedBy?.toString() ?? null,
    decidedAt: approval.decidedAt?.toISOString() ?? null,
    decisionReason: approval.decisionReason,
    result: approval.result ?? null,
  };
}

/**
 * Everyone who proposes or approves, and the auditors. Admins take part only in user activation:
 * which roles may approve is decided per action (an admin approving a ledger entry is refused).
 */
const APPROVAL_READERS: readonly Role[] = [...BOOK_READERS, 'admin'];
const CHECKERS: readonly Role[] = ['credit_officer', 'risk_officer', 'treasury', 'admin'];
const errors = { 400: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error'), 422: Type.Ref('Error') };
const Reason = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });

/**
 * Proposes a four-eyes action from a request, idempotently: 202 with the proposal. Its audit record
 * (the route's action, the proposal's target and amounts) is written with it.
 */
export function proposeFrom(context: AppContext, request: FastifyRequest, reply: FastifyReply, action: ApprovalAction<unknown>, payload: unknown, ttlSeconds = context.approvalTtlSeconds) {
  return proposeWith(context, request, reply, action, async () => payload, ttlSeconds);
}

/** As proposeFrom, with a payload made inside the proposal's transaction (e.g. a row it refers to). */
export function proposeWith(context: AppContext, request: FastifyRequest, reply: FastifyReply, action: ApprovalAction<unknown>, payloadIn: (tx: Queryable) => Promise<unknown>, ttlSeconds = context.approvalTtlSeconds) {
  return runIdempotent(context.db, request, reply, async (tx) => {
    const proposed = await propose(tx, action, await payloadIn(tx), actorOf(request), { now: context.now(), ttlSeconds, ...(request.routeOptions.config.audit !== undefined ? { auditAction: request.routeOptions.config.audit } : {}) });
    if (!proposed.ok) return proposed;
    markAudited(request);
    return { ok: true as const, value: { status: 202, body: approvalView(proposed.value) } };
  });
}

export function approvalRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  return async (app) => {
    app.get('/', {
      prefixTrailingSlash: 'no-slash',
      config: { access: { roles: APPROVAL_READERS } },
      schema: {
        tags: ['approvals'],
        summary: 'Four-eyes proposals, oldest first, paged',
        querystring: Type.Object({ status: Type.Optional(Type.Union(APPROVAL_STATUS.map((s) => Type.Literal(s)))), limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }), afterId: Type.Optional(Id) }, { additionalProperties: false }),
        response: { 200: Type.Object({ approvals: Type.Array(ApprovalView) }), ...errors },
      },
    }, async (request) => {
      const list = await listApprovals(db, { limit: request.query.limit, ...(request.query.status ? { status: request.query.status } : {}), ...(request.query.afterId ? { afterId: BigInt(request.query.afterId) } : {}) }, now());
      return { approvals: list.map(approvalView) };
    });

    app.get('/:id', {
      config: { access: { roles: APPROVAL_READERS } },
      schema: { tags: ['approvals'], summary: 'One proposal', params: Type.Object({ id: Id }), response: { 200: ApprovalView, ...errors } },
    }, async (request) => {
      const approval = await findApproval(db, BigInt(request.params.id), now());
      if (approval === undefined) throw new ApiError(404, 'approval_not_found', `no approval ${request.params.id}`);
      return approvalView(approval);
    });

    app.post('/:id/approve', {
      config: { access: { roles: CHECKERS }, audit: 'approval.approve', idempotent: true },
      schema: { tags: ['approvals'], summary: 'Approve a proposal: it takes effect now (a second person, with a role the limits allow)', params: Type.Object({ id: Id }), response: { 200: ApprovalView, ...errors } },
    }, async (request, reply) => runIdempotent(db, request, reply, async (tx) => {
      const approved = await approve(tx, context.approvals, BigInt(request.params.id), actorOf(request), now());
      if (!approved.ok) return approved;
      markAudited(request);
      return { ok: true, value: { status: 200, body: approvalView(approved.value) } };
    }));

    for (const [path, decision] of [['reject', 'rejected'], ['cancel', 'cancelled']] as const) {
      app.post(`/:id/${path}`, {
        config: { access: { roles: CHECKERS }, audit: `approval.${path}` },
        schema: { tags: ['approvals'], summary: decision === 'rejected' ? 'Reject a proposal (a checker other than the proposer)' : 'Withdraw your own proposal', params: Type.Object({ id: Id }), body: Reason, response: { 200: ApprovalView, ...errors } },
      }, async (request) => {
        const outcome = await transactOutcome(db, (tx) => decline(tx, BigInt(request.params.id), actorOf(request), decision, request.body.reason, now()));
        if (!outcome.ok) throw rejection(outcome.error);
        markAudited(request);
        return approvalView(outcome.value);
      });
    }

    app.get('/limits', {
      config: { access: { roles: APPROVAL_READERS } },
      schema: {
        tags: ['approvals'],
        summary: 'Approval limits: per action and currency, which role may approve up to which amount',
        response: { 200: Type.Object({ limits: Type.Array(Type.Object({ actionType: Type.String(), currency: Type.String(), approverRole: Type.String(), upTo: Type.Union([Type.String(), Type.Null()], { description: 'RUB or BTC; null: no upper bound' }) })) }) },
      },
    }, async () => {
      const rows = await db.query<{ action_type: string; currency: string; approver_role: string; up_to_minor: bigint | null }>('SELECT * FROM approval_limits ORDER BY action_type, currency, up_to_minor NULLS LAST');
      return { limits: rows.map((row) => ({ actionType: row.action_type, currency: row.currency, approverRole: row.approver_role, upTo: row.up_to_minor === null ? null : formatMinorUnits(row.up_to_minor, row.currency as Currency) })) };
    });

    app.put('/limits', {
      config: { access: { roles: ['admin'] }, audit: 'approval.limits.set' },
      schema: {
        tags: ['approvals'],
        summary: 'Set one approval tier (admin; configuration, not money)',
        body: Type.Object({
          actionType: Type.String({ minLength: 3, maxLength: 64 }),
          currency: Type.Union([Type.Literal('RUB'), Type.Literal('BTC')]),
          approverRole: Type.Union([Type.Literal('credit_officer'), Type.Literal('risk_officer'), Type.Literal('treasury')]),
          upTo: Type.Union([Type.String({ maxLength: 40 }), Type.Null()], { description: 'the largest amount this role approves, in the currency (RUB "10000000.00", BTC "10"), or null for no upper bound' }),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ ok: Type.Boolean() }), ...errors },
      },
    }, async (request) => {
      const { actionType, currency, approverRole, upTo } = request.body;
      const parsed = upTo === null ? null : currency === 'RUB' ? parseKopecks(upTo) : parseSats(upTo);
      if (parsed !== null && (!parsed.ok || parsed.value <= 0n)) throw new ApiError(400, 'invalid_amount', `upTo: ${parsed.ok ? 'a limit is above zero' : parsed.error.message}`, { field: 'upTo' });
      const upToMinor = parsed === null ? null : (parsed as { value: bigint }).value;
      if (context.approvals.get(actionType) === undefined) throw new ApiError(400, 'unknown_action_type', `no approval action "${actionType}"`);
      await db.transaction(async (tx) => {
        const [before] = await tx.query<{ up_to_minor: bigint | null }>('SELECT up_to_minor FROM approval_limits WHERE action_type = $1 AND currency = $2 AND approver_role = $3', [actionType, currency, approverRole]);
        await tx.query(
          `INSERT INTO approval_limits (action_type, currency, approver_role, up_to_minor) VALUES ($1, $2, $3, $4)
           ON CONFLICT (action_type, currency, approver_role) DO UPDATE SET up_to_minor = EXCLUDED.up_to_minor`,
          [actionType, currency, approverRole, upToMinor],
        );
        await auditRequest(tx, request, { target: `approval_limit:${actionType}:${currency}:${approverRole}`, details: { before: before === undefined ? null : { upTo: before.up_to_minor === null ? null : formatMinorUnits(before.up_to_minor, currency) }, after: { upTo: upToMinor === null ? null : formatMinorUnits(upToMinor, currency) } } }, now());
      });
      return { ok: true };
    });
  };
}
