import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf, auditRequest } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { Id, IdempotencyHeaders, Instant, RubAmount } from '../api/schemas.js';
import type { ApprovalAction } from '../approvals/approvals.js';
import { ApprovalView, proposeFrom } from '../approvals/routes.js';
import { ASSIGNABLE_ROLES, BOOK_READERS } from '../identity/roles.js';
import { formatMinorUnits } from '../money/money.js';
import { parseInstant } from '../ledger/entry.js';
import { manualPriceAction, MANUAL_PRICE_MINUTES_MAX } from './manual-price-action.js';
import { cycleAt, cycleById, latestCycle, ohlc, quotesOfCycle, readHealth, readHistory, type StoredCycle } from './price-repository.js';

/** The BTC/RUB price, read by everyone; set by hand only through four eyes. */

const CycleView = Type.Object({
  cycleId: Id,
  at: Instant,
  price: Type.Union([RubAmount, Type.Null()], { description: 'RUB per BTC consumers should use: the manual price, or the last accepted' }),
  acceptedPrice: Type.Union([RubAmount, Type.Null()], { description: 'What this cycle accepted from the feed (null without quorum)' }),
  status: Type.Union([Type.Literal('normal'), Type.Literal('degraded'), Type.Literal('manual')]),
  reasons: Type.Array(Type.String()),
  usdRub: Type.Union([Type.String(), Type.Null()]),
});

const rub = (kopecks: bigint | null) => (kopecks === null ? null : formatMinorUnits(kopecks, 'RUB'));

function cycleView(cycle: StoredCycle) {
  return { cycleId: cycle.id.toString(), at: cycle.at.toISOString(), price: rub(cycle.publishedKopecks), acceptedPrice: rub(cycle.acceptedKopecks), status: cycle.status, reasons: [...cycle.reasons], usdRub: cycle.usdRub };
}

const HealthView = Type.Object({ source: Type.String(), pair: Type.String(), healthy: Type.Boolean(), lastOkAt: Type.Union([Instant, Type.Null()]), lastErrorAt: Type.Union([Instant, Type.Null()]), lastError: Type.Union([Type.String(), Type.Null()]), consecutiveFailures: Type.Integer() });
const INTERVALS = [60, 300, 900, 3_600, 14_400, 86_400] as const;
const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error'), 422: Type.Ref('Error') };
const EVERYONE = ASSIGNABLE_ROLES;
const STAFF = [...BOOK_READERS, 'admin'] as const;

function instant(text: string | undefined, field: string, fallback: Date): Date {
  if (text === undefined) return fallback;
  const value = parseInstant(text);
  if (value === undefined) throw new ApiError(400, 'invalid_time', `${field} must be an instant such as "2026-11-24T10:00:00Z"`);
  return value;
}

export function priceRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  return async (app) => {
    app.get('/current', {
      config: { access: { roles: EVERYONE } },
      schema: {
        tags: ['prices'],
        summary: 'The BTC/RUB price now, its status (normal / degraded / manual) and why, and the sources\' health',
        response: { 200: Type.Object({ price: Type.Union([CycleView, Type.Null()]), sources: Type.Array(HealthView) }), ...errors },
      },
    }, async () => {
      const latest = await latestCycle(db, 'live');
      const health = await readHealth(db);
      // Staleness is judged when read too: a stopped feed (no cycles at all) must not keep
      // showing its last status.
      const stale = latest !== undefined && now().getTime() - latest.at.getTime() > context.pricesStaleAfterSeconds * 1000;
      const view = latest === undefined ? null : cycleView(latest);
      return {
        price: view === null || !stale || view.status === 'manual' ? view : { ...view, status: 'degraded' as const, reasons: [...new Set([...view.reasons, 'stale_price'])] },
        sources: health.map((h) => ({ ...h, lastOkAt: h.lastOkAt?.toISOString() ?? null, lastErrorAt: h.lastErrorAt?.toISOString() ?? null })),
      };
    });

    app.get('/at', {
      config: { access: { roles: STAFF } },
      schema: { tags: ['prices'], summary: 'The price in force at a time (the last cycle at or before it)', querystring: Type.Object({ time: Instant, stream: Type.Optional(Type.String({ pattern: '^(live|replay:[A-Za-z0-9._-]{1,64})$' })) }, { additionalProperties: false }), response: { 200: CycleView, ...errors } },
    }, async (request) => {
      const cycle = await cycleAt(db, request.query.stream ?? 'live', instant(request.query.time, 'time', now()));
      if (cycle === undefined) throw new ApiError(404, 'price_not_found', `no price cycle at or before ${request.query.time}`);
      return cycleView(cycle);
    });

    app.get('/cycles/:id', {
      config: { access: { roles: STAFF } },
      schema: {
        tags: ['prices'],
        summary: 'One price cycle with every quote it stood on and each one\'s verdict',
        params: Type.Object({ id: Id }),
        response: { 200: Type.Intersect([CycleView, Type.Object({ stream: Type.String(), inputs: Type.Unknown(), detail: Type.Unknown(), quotes: Type.Array(Type.Object({ source: Type.String(), pair: Type.String(), price: Type.String(), observedAt: Instant, receivedAt: Instant })) })]), ...errors },
      },
    }, async (request) => {
      const cycle = await cycleById(db, BigInt(request.params.id));
      if (cycle === undefined) throw new ApiError(404, 'price_not_found', `no price cycle ${request.params.id}`);
      const quotes = await quotesOfCycle(db, cycle.id);
      return { ...cycleView(cycle), stream: cycle.stream, inputs: cycle.inputs, detail: cycle.detail, quotes: quotes.map((q) => ({ ...q, observedAt: q.observedAt.toISOString(), receivedAt: q.receivedAt.toISOString() })) };
    });

    app.get('/ohlc', {
      config: { access: { roles: EVERYONE } },
      schema: {
        tags: ['prices'],
        summary: 'OHLC candles of accepted BTC/RUB prices, for charts',
        querystring: Type.Object({ from: Instant, to: Type.Optional(Instant), interval: Type.Union(INTERVALS.map((i) => Type.Literal(i)), { default: 3_600 }), stream: Type.Optional(Type.String({ pattern: '^(live|replay:[A-Za-z0-9._-]{1,64})$' })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ interval: Type.Integer(), candles: Type.Array(Type.Object({ start: Instant, open: RubAmount, high: RubAmount, low: RubAmount, close: RubAmount, cycles: Type.Integer() })) }), ...errors },
      },
    }, async (request) => {
      const from = instant(request.query.from, 'from', now());
      // Without "to", up to and including the latest cycle.
      const to = instant(request.query.to, 'to', new Date(now().getTime() + 1));
      if (to <= from) throw new ApiError(400, 'invalid_range', '"to" must be after "from"');
      if ((to.getTime() - from.getTime()) / 1000 / request.query.interval > 10_000) throw new ApiError(400, 'range_too_large', 'at most 10,000 candles per request');
      const candles = await ohlc(db, request.query.stream ?? 'live', from, to, request.query.interval);
      return { interval: request.query.interval, candles: candles.map((c) => ({ start: c.start.toISOString(), open: rub(c.open)!, high: rub(c.high)!, low: rub(c.low)!, close: rub(c.close)!, cycles: c.cycles })) };
    });

    app.get('/history', {
      config: { access: { roles: STAFF } },
      schema: {
        tags: ['prices'],
        summary: 'Imported market history (exchange candles, the Bank of Russia\'s rate), exact decimals',
        querystring: Type.Object({ pair: Type.Union([Type.Literal('BTC/USD'), Type.Literal('BTC/USDT'), Type.Literal('BTC/RUB'), Type.Literal('USD/RUB')]), source: Type.Optional(Type.String({ maxLength: 64 })), interval: Type.Optional(Type.Integer({ minimum: 1 })), from: Instant, to: Instant, limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1_000 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ bars: Type.Array(Type.Object({ source: Type.String(), intervalSeconds: Type.Integer(), start: Instant, open: Type.String(), high: Type.String(), low: Type.String(), close: Type.String() })) }), ...errors },
      },
    }, async (request) => {
      const bars = await readHistory(db, { pair: request.query.pair, from: instant(request.query.from, 'from', now()), to: instant(request.query.to, 'to', now()), limit: request.query.limit, ...(request.query.source ? { source: request.query.source } : {}), ...(request.query.interval ? { intervalSeconds: request.query.interval } : {}) });
      return { bars: bars.map((bar) => ({ ...bar, start: bar.start.toISOString() })) };
    });

    app.post('/manual', {
      config: { access: { roles: ['risk_officer'] }, audit: 'prices.manual_price.propose', idempotent: true },
      schema: {
        tags: ['prices'],
        summary: 'Propose a manual BTC/RUB price for a bounded time; a second risk officer approves it',
        headers: IdempotencyHeaders,
        body: Type.Object({ price: RubAmount, validMinutes: Type.Integer({ minimum: 1, maximum: MANUAL_PRICE_MINUTES_MAX }), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors },
      },
    }, async (request, reply) => proposeFrom(context, request, reply, manualPriceAction as ApprovalAction<unknown>, request.body, Math.min(context.approvalTtlSeconds, 3_600)));

    app.post('/confirm', {
      config: { access: { roles: ['risk_officer'] }, audit: 'prices.confirm' },
      schema: {
        tags: ['prices'],
        summary: 'Confirm the current feed price after a sharp move, so it no longer holds automatic liquidations',
        body: Type.Object({ cycleId: Id, reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ confirmed: CycleView }), ...errors },
      },
    }, async (request) => {
      const at = now();
      const latest = await latestCycle(db, 'live');
      if (latest === undefined || latest.id.toString() !== request.body.cycleId) throw new ApiError(409, 'price_moved_on', 'confirm the latest price cycle; the price has moved on since the one you saw');
      if (!latest.reasons.includes('sharp_move') || latest.acceptedKopecks === null) throw new ApiError(409, 'nothing_to_confirm', 'the latest cycle is not held by a sharp move');
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO price_confirmations (at, user_id, cycle_id, price_kopecks, reason) VALUES ($1, $2, $3, $4, $5)', [at, actorOf(request).user.id, latest.id, latest.acceptedKopecks, request.body.reason]);
        await auditRequest(tx, request, { action: 'prices.confirm', target: `price_cycle:${latest.id}`, details: { price: rub(latest.acceptedKopecks), reasons: latest.reasons, sharpMove: latest.detail.sharpMove ?? null, reason: request.body.reason } }, at);
      });
      return { confirmed: cycleView(latest) };
    });
  };
}
