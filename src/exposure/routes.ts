import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { auditRequest } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { CalendarDate, Id, IdempotencyHeaders, Percent, RubAmount } from '../api/schemas.js';
import type { ApprovalAction } from '../approvals/approvals.js';
import { ApprovalView, proposeFrom } from '../approvals/routes.js';
import { BOOK_READERS } from '../identity/roles.js';
import { isCalendarDate } from '../ledger/entry.js';
import { formatKopecks } from '../money/money.js';
import { bpsPercent } from './exposure.js';
import { latestSnapshot, rulesOn, snapshotHistory, takeSnapshot, type Snapshot } from './exposure-store.js';
import { exposureRulesAction } from './rules-action.js';
import { channelVerdict, SALE_CHANNELS } from '../risk/sale-channels.js';
import { figuresDay, moscowDay } from '../loans/loan-store.js';

/** The book against the bank's capital and limits, the rules themselves, and groups of connected borrowers. */

const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error'), 422: Type.Ref('Error') };
const Basis = { legalBasis: Type.String({ minLength: 3, maxLength: 500 }), reason: Type.String({ minLength: 1, maxLength: 500 }) };

const Pct = Type.Union([Type.String({ description: 'percent of Tier 1 capital, rounded up to two decimals' }), Type.Null()]);
const Judgement = Type.Union([Type.Literal('within'), Type.Literal('soft'), Type.Literal('hard')]);
const Measured = Type.Object({ key: Type.String(), amount: Type.String(), percent: Pct });
export const BookFiguresView = Type.Object({
  id: Id, takenAt: Type.String(), businessDate: Type.String(), day: Type.String(),
  capital: Type.Union([Type.Object({ id: Id, tier1: Type.String(), effectiveFrom: Type.String(), legalBasis: Type.String() }), Type.Null()]),
  book: Type.String({ description: 'roubles lent against crypto: live debts and approved commitments' }), bookPercent: Pct,
  riskWeighted: Type.String(), riskWeightedPercent: Pct, loans: Type.Integer(), borrowers: Type.Integer(),
  limits: Type.Array(Type.Object({
    kind: Type.String(), limitId: Type.Union([Id, Type.Null()]), softPercent: Type.Union([Type.String(), Type.Null()]), hardPercent: Type.Union([Type.String(), Type.Null()]),
    largest: Type.Union([Measured, Type.Null()]), overSoft: Type.Integer(), overHard: Type.Integer(), judgement: Judgement,
  })),
  regions: Type.Array(Type.Object({ region: Type.String(), amount: Type.String(), percent: Pct, judgement: Type.Union([Judgement, Type.Null()]) })),
  topBorrowers: Type.Array(Measured), topGroups: Type.Array(Measured),
  stress: Type.Array(Type.Object({ shockPercent: Type.String(), price: Type.String(), uncovered: Type.String(), percentOfCapital: Pct })),
});
export const CheckView = Type.Object({
  decision: Type.Union([Judgement, Type.Literal('no_capital')]), day: Type.String(), amount: Type.String(),
  capital: Type.Union([Type.Object({ id: Id, tier1: Type.String() }), Type.Null()]),
  lines: Type.Array(Type.Object({
    kind: Type.String(), limitId: Type.Union([Id, Type.Null()]), softBps: Type.Union([Type.Integer(), Type.Null()]), hardBps: Type.Union([Type.Integer(), Type.Null()]),
    before: Type.String(), after: Type.String(), beforePercent: Type.String(), afterPercent: Type.String(), judgement: Judgement,
  })),
  reasons: Type.Array(Type.String()),
});

const Row = { id: Id, effectiveFrom: Type.String(), legalBasis: Type.String() };
const HistoryRow = { ...Row, reason: Type.String(), recordedAt: Type.String(), recordedBy: Type.Union([Type.String(), Type.Null()]), approvalId: Type.Union([Id, Type.Null()]) };
const RulesView = Type.Object({
  day: Type.String(),
  inForce: Type.Object({
    capital: Type.Union([Type.Object({ ...Row, tier1: Type.String() }), Type.Null()]),
    limits: Type.Array(Type.Object({ ...Row, kind: Type.String(), regionCode: Type.Union([Type.String(), Type.Null()]), softPercent: Type.String(), hardPercent: Type.String() })),
    weights: Type.Array(Type.Object({ ...Row, borrowerKind: Type.Union([Type.String(), Type.Null()]), collateral: Type.String(), weightPercent: Type.String() })),
  }),
  history: Type.Object({
    capital: Type.Array(Type.Object({ ...HistoryRow, tier1: Type.String() })),
    limits: Type.Array(Type.Object({ ...HistoryRow, kind: Type.String(), regionCode: Type.Union([Type.String(), Type.Null()]), softBps: Type.Integer(), hardBps: Type.Integer(), active: Type.Boolean() })),
    weights: Type.Array(Type.Object({ ...HistoryRow, borrowerKind: Type.Union([Type.String(), Type.Null()]), collateral: Type.String(), weightBps: Type.Integer(), active: Type.Boolean() })),
  }),
});

function snapshotView(snapshot: Snapshot) {
  return { id: snapshot.id.toString(), takenAt: snapshot.takenAt.toISOString(), businessDate: snapshot.businessDate, ...snapshot.figures };
}

export function exposureRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  const propose = (request: FastifyRequest, reply: FastifyReply, payload: unknown) => proposeFrom(context, request, reply, exposureRulesAction as ApprovalAction<unknown>, payload);
  return async (app) => {
    app.get('/exposure', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['exposure'], operationId: 'getExposure',
        summary: 'The book against every limit, as last computed (end of day, an approval after it, or POST /exposure/snapshots); null before the first computation',
        response: { 200: Type.Object({ snapshot: Type.Union([BookFiguresView, Type.Null()]) }), ...errors },
      },
    }, async () => {
      const snapshot = await latestSnapshot(db);
      return { snapshot: snapshot === undefined ? null : snapshotView(snapshot) };
    });

    app.post('/exposure/snapshots', {
      config: { access: { roles: ['risk_officer'] }, audit: 'exposure.snapshot' },
      schema: { tags: ['exposure'], operationId: 'computeExposure', summary: 'Compute the book against every limit now and keep it', response: { 201: BookFiguresView, ...errors } },
    }, async (request, reply) => {
      const snapshot = await db.transaction(async (tx) => {
        const taken = await takeSnapshot(tx, now());
        await auditRequest(tx, request, { action: 'exposure.snapshot', target: `exposure_snapshot:${taken.id}`, details: { book: taken.figures.book, bookPercent: taken.figures.bookPercent, businessDate: taken.businessDate } }, now());
        return taken;
      });
      reply.status(201);
      return snapshotView(snapshot);
    });

    app.get('/exposure/history', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['exposure'], operationId: 'exposureHistory', summary: 'The book against the limits by business day (the last computation of each day)',
        querystring: Type.Object({ from: CalendarDate, to: CalendarDate }, { additionalProperties: false }),
        response: { 200: Type.Object({ days: Type.Array(Type.Object({ businessDate: Type.String(), takenAt: Type.String(), capital: Type.Union([Type.String(), Type.Null()]), book: Type.String(), bookPercent: Pct, riskWeighted: Type.String(), limits: BookFiguresView.properties.limits, stress: BookFiguresView.properties.stress })) }), ...errors },
      },
    }, async (request) => {
      const { from, to } = request.query;
      if (!isCalendarDate(from) || !isCalendarDate(to) || from > to) throw new ApiError(400, 'invalid_date', 'from and to are calendar dates, from not after to');
      const days = await snapshotHistory(db, from, to);
      return { days: days.map((s) => ({ businessDate: s.businessDate, takenAt: s.takenAt.toISOString(), capital: s.figures.capital?.tier1 ?? null, book: s.figures.book, bookPercent: s.figures.bookPercent, riskWeighted: s.figures.riskWeighted, limits: s.figures.limits, stress: s.figures.stress })) };
    });

    app.get('/exposure/rules', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['exposure'], operationId: 'exposureRules', summary: 'Capital, risk weights and limits in force on a day (default: the bank\'s day), and every row ever recorded',
        querystring: Type.Object({ day: Type.Optional(CalendarDate) }, { additionalProperties: false }),
        response: { 200: RulesView, ...errors },
      },
    }, async (request) => {
      const day = request.query.day ?? await figuresDay(db, now());
      if (!isCalendarDate(day)) throw new ApiError(400, 'invalid_date', 'day is a calendar date');
      const rules = await rulesOn(db, day);
      const history = async (table: string, columns: string) => (await db.query<{ recordedAt: Date; [column: string]: unknown }>(
        `SELECT t.id::text AS id, t.effective_from AS "effectiveFrom", ${columns}, t.legal_basis AS "legalBasis", t.reason, t.recorded_at AS "recordedAt", u.username AS "recordedBy", t.approval_id::text AS "approvalId"
           FROM ${table} t LEFT JOIN users u ON u.id = t.recorded_by ORDER BY t.effective_from DESC, t.id DESC LIMIT 500`)).map((r): Record<string, unknown> => ({ ...r, recordedAt: r.recordedAt.toISOString() }));
      return {
        day,
        inForce: {
          capital: rules.capital === null ? null : { id: rules.capital.id.toString(), tier1: formatKopecks(rules.capital.tier1), effectiveFrom: rules.capital.effectiveFrom, legalBasis: rules.capital.legalBasis },
          limits: rules.limits.map((l) => ({ id: l.id.toString(), kind: l.kind, regionCode: l.regionCode, softPercent: bpsPercent(l.softBps), hardPercent: bpsPercent(l.hardBps), effectiveFrom: l.effectiveFrom, legalBasis: l.legalBasis })),
          weights: rules.weights.map((w) => ({ id: w.id.toString(), borrowerKind: w.borrowerKind, collateral: w.collateral, weightPercent: bpsPercent(w.weightBps), effectiveFrom: w.effectiveFrom, legalBasis: w.legalBasis })),
        },
        history: {
          capital: (await history('bank_capital', 't.tier1_kopecks AS tier1')).map((row) => ({ ...row, tier1: formatKopecks(row.tier1 as bigint) })),
          limits: await history('exposure_limits', `t.kind, t.region_code AS "regionCode", t.soft_bps AS "softBps", t.hard_bps AS "hardBps", t.active`),
          weights: await history('risk_weight_rules', `t.borrower_kind AS "borrowerKind", t.collateral, t.weight_bps AS "weightBps", t.active`),
        },
      };
    });

    app.post('/exposure/capital', {
      config: { access: { roles: ['risk_officer'] }, audit: 'exposure.capital.propose', idempotent: true },
      schema: {
        tags: ['exposure'], operationId: 'proposeCapital', summary: 'Propose the bank\'s Tier 1 capital from a date; a second risk officer approves it',
        headers: IdempotencyHeaders, body: Type.Object({ effectiveFrom: CalendarDate, tier1: RubAmount, ...Basis }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors },
      },
    }, async (request, reply) => propose(request, reply, { table: 'capital', ...request.body }));

    app.post('/exposure/limits', {
      config: { access: { roles: ['risk_officer'] }, audit: 'exposure.limits.propose', idempotent: true },
      schema: {
        tags: ['exposure'], operationId: 'proposeLimit', summary: 'Propose an exposure limit (soft and hard, percent of Tier 1) from a date, or its end (active: false); a second risk officer approves it',
        headers: IdempotencyHeaders,
        body: Type.Object({
          effectiveFrom: CalendarDate, kind: Type.Union([Type.Literal('crypto_book'), Type.Literal('borrower'), Type.Literal('group'), Type.Literal('region')]),
          regionCode: Type.Optional(Type.Union([Type.String({ pattern: '^[0-9]{2}$' }), Type.Null()])), softPercent: Percent, hardPercent: Percent, active: Type.Optional(Type.Boolean()), ...Basis,
        }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors },
      },
    }, async (request, reply) => propose(request, reply, { table: 'limit', ...request.body, regionCode: request.body.regionCode ?? null, active: request.body.active ?? true }));

    app.post('/exposure/risk-weights', {
      config: { access: { roles: ['risk_officer'] }, audit: 'exposure.weights.propose', idempotent: true },
      schema: {
        tags: ['exposure'], operationId: 'proposeRiskWeight', summary: 'Propose a risk weight by borrower kind (null: any) and collateral from a date; a second risk officer approves it',
        headers: IdempotencyHeaders,
        body: Type.Object({
          effectiveFrom: CalendarDate, borrowerKind: Type.Union([Type.Literal('company'), Type.Literal('entrepreneur'), Type.Literal('individual'), Type.Null()]),
          collateral: Type.Union([Type.Literal('btc'), Type.Literal('equipment')]), weightPercent: Type.String({ pattern: '^(0|[1-9][0-9]{0,3})(\\.[0-9]{1,2})?$' }), active: Type.Optional(Type.Boolean()), ...Basis,
        }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors },
      },
    }, async (request, reply) => propose(request, reply, { table: 'weight', ...request.body, active: request.body.active ?? true }));

    app.get('/sale-channels', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['risk'], operationId: 'saleChannels', summary: 'The legal channels pledged BTC may be sold through: which are allowed on a day (default: today, Moscow) and every rule recorded',
        querystring: Type.Object({ day: Type.Optional(CalendarDate) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            day: Type.String(),
            channels: Type.Array(Type.Object({ channel: Type.String(), allowed: Type.Boolean(), reason: Type.Union([Type.String(), Type.Null()]) })),
            history: Type.Array(Type.Object({ id: Id, channel: Type.String(), allowed: Type.Boolean(), effectiveFrom: Type.String(), legalBasis: Type.String(), reason: Type.String(), recordedAt: Type.String(), recordedBy: Type.Union([Type.String(), Type.Null()]) })),
          }),
          ...errors,
        },
      },
    }, async (request) => {
      const day = request.query.day ?? moscowDay(now());
      if (!isCalendarDate(day)) throw new ApiError(400, 'invalid_date', 'day is a calendar date');
      const channels = [];
      for (const channel of SALE_CHANNELS) {
        const verdict = await channelVerdict(db, channel, day);
        channels.push({ channel, allowed: verdict.allowed, reason: verdict.allowed ? null : verdict.reason });
      }
      const history = await db.query<{ id: bigint; channel: string; allowed: boolean; effective_from: string; legal_basis: string; reason: string; recorded_at: Date; username: string | null }>(
        'SELECT r.*, u.username FROM sale_channel_rules r LEFT JOIN users u ON u.id = r.recorded_by ORDER BY r.effective_from DESC, r.id DESC LIMIT 500');
      return { day, channels, history: history.map((r) => ({ id: r.id.toString(), channel: r.channel, allowed: r.allowed, effectiveFrom: r.effective_from, legalBasis: r.legal_basis, reason: r.reason, recordedAt: r.recorded_at.toISOString(), recordedBy: r.username })) };
    });

    app.post('/sale-channels', {
      config: { access: { roles: ['risk_officer'] }, audit: 'sale_channels.propose', idempotent: true },
      schema: {
        tags: ['risk'], operationId: 'proposeSaleChannel', summary: 'Propose whether a sale channel is allowed from a date, with its legal basis; a second risk officer approves it',
        headers: IdempotencyHeaders,
        body: Type.Object({ effectiveFrom: CalendarDate, channel: Type.Union([Type.Literal('licensed_venue'), Type.Literal('experimental_regime'), Type.Literal('otc_abroad')]), allowed: Type.Boolean(), ...Basis }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors },
      },
    }, async (request, reply) => propose(request, reply, { table: 'channel', ...request.body }));

    app.get('/loan-applications/:id/exposure-checks', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['exposure'], operationId: 'exposureChecks', summary: 'Every exposure check made for an application (its offers and its approval), with the figures and rules it used',
        params: Type.Object({ id: Id }),
        response: { 200: Type.Object({ checks: Type.Array(Type.Object({ id: Id, stage: Type.String(), approvalId: Type.Union([Id, Type.Null()]), decision: Type.String(), at: Type.String(), by: Type.Union([Type.String(), Type.Null()]), figures: CheckView })) }), ...errors },
      },
    }, async (request) => {
      const rows = await db.query<{ id: bigint; stage: string; approval_id: bigint | null; decision: string; figures: unknown; at: Date; username: string | null }>(
        'SELECT c.*, u.username FROM exposure_checks c LEFT JOIN users u ON u.id = c.by_user WHERE c.application_id = $1 ORDER BY c.id', [BigInt(request.params.id)]);
      return { checks: rows.map((r) => ({ id: r.id.toString(), stage: r.stage, approvalId: r.approval_id?.toString() ?? null, decision: r.decision, at: r.at.toISOString(), by: r.username, figures: r.figures })) };
    });

    app.post('/borrower-groups', {
      config: { access: { roles: ['credit_officer', 'risk_officer'] }, audit: 'borrowers.groups.create' },
      schema: {
        tags: ['exposure'], operationId: 'createBorrowerGroup', summary: 'Record a group of connected borrowers (common control or economic dependence) and why',
        body: Type.Object({ ref: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }), name: Type.String({ minLength: 1, maxLength: 300 }), basis: Type.String({ minLength: 3, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ ref: Type.String() }), ...errors },
      },
    }, async (request, reply) => {
      const body = request.body;
      const created = await db.transaction(async (tx) => {
        const rows = await tx.query('INSERT INTO borrower_groups (ref, name, basis, created_at, created_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ref) DO NOTHING RETURNING ref', [body.ref, body.name, body.basis, now(), request.principal!.user.id]);
        if (rows.length === 0) return false;
        await auditRequest(tx, request, { action: 'borrowers.groups.create', target: `borrower_group:${body.ref}`, details: { ...body } }, now());
        return true;
      });
      if (!created) throw new ApiError(409, 'group_ref_taken', `a group ${body.ref} exists`);
      reply.status(201);
      return { ref: body.ref };
    });

    app.put('/borrowers/:ref/group', {
      config: { access: { roles: ['credit_officer', 'risk_officer'] }, audit: 'borrowers.groups.assign' },
      schema: {
        tags: ['exposure'], operationId: 'assignBorrowerGroup', summary: 'Put a borrower into a group of connected borrowers, or take it out (group: null)',
        params: Type.Object({ ref: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }) }),
        body: Type.Object({ group: Type.Union([Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }), Type.Null()]), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ ref: Type.String(), group: Type.Union([Type.String(), Type.Null()]) }), ...errors },
      },
    }, async (request) => {
      const { group, reason } = request.body;
      await db.transaction(async (tx) => {
        const [borrower] = await tx.query<{ group_ref: string | null }>('SELECT group_ref FROM borrowers WHERE ref = $1 FOR UPDATE', [request.params.ref]);
        if (borrower === undefined) throw new ApiError(404, 'not_found', `no borrower ${request.params.ref}`);
        if (group !== null && (await tx.query('SELECT 1 FROM borrower_groups WHERE ref = $1', [group])).length === 0) throw new ApiError(404, 'group_not_found', `no group ${group}; create it first (POST /api/v1/borrower-groups)`);
        await tx.query('UPDATE borrowers SET group_ref = $2 WHERE ref = $1', [request.params.ref, group]);
        await auditRequest(tx, request, { action: 'borrowers.groups.assign', target: `borrower:${request.params.ref}`, details: { before: borrower.group_ref, after: group, reason } }, now());
      });
      return { ref: request.params.ref, group };
    });
  };
}

