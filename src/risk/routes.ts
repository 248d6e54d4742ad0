import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf, auditRequest, ownsBorrowerRef } from '../api/access.js';
import { outboundUrlProblem } from '../adapters/outbound.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { prepared } from '../db/database.js';
import { BtcAmount, Id, IdempotencyHeaders, Instant, RubAmount } from '../api/schemas.js';
import type { ApprovalAction } from '../approvals/approvals.js';
import { ApprovalView, proposeFrom } from '../approvals/routes.js';
import { writeOffAction } from '../loans/servicing.js';
import { runIdempotent } from '../api/idempotency.js';
import { enforceEquipmentAction, recordEnforcementProceeds } from './equipment-layer.js';
import { formatRate, loanOutcome } from '../loans/origination.js';
import { findBorrower, type Borrower } from '../borrowers/borrower-repository.js';
import { BOOK_READERS } from '../identity/roles.js';
import { ltvMillionths } from '../loans/collateral.js';
import { formatKopecks, formatPrice, formatSats, parseKopecks, parsePrice, parseSats, type PriceKopecksPerBtc } from '../money/money.js';
import { cycleAt } from '../prices/price-repository.js';
import { judge } from '../prices/current.js';
import { ANY_PRICE, triggerPrice, type Ladder } from './ladder.js';
import { businessTimeLeft } from './deadline.js';
import { bankCalendar } from '../calendar/load.js';
import type { BusinessCalendar } from '../calendar/business.js';
import { cureAmounts } from './cure.js';
import { rateFromPercent } from '../loans/interest.js';
import { satsInFlight } from './liquidations.js';
import { parseShock } from './stress.js';
import { NoPriceError, stressLiveBook, stressView } from './stress-book.js';
import { DEFAULT_SLIPPAGE } from './venues.js';
import { salesBetween, salesByChannel } from './sale-channels.js';
import { csvOf } from '../loans/documents.js';
import { isCalendarDate } from '../ledger/entry.js';

/**
 * The borrower's risk through the API: each live loan's place on the ladder with its LTV at the
 * current price and the prices that would move it, the transitions (notices, calls, liquidation)
 * with whether the borrower acknowledged them; the acknowledgement itself (the borrower's, once
 * per transition); and where notices go (a credit officer sets the e-mail and the webhook, whose
 * signing key is shown once).
 */

const Ref = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' });
const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error') };
const Loose = Type.Record(Type.String(), Type.Unknown());
const ACKNOWLEDGEABLE = ['warning', 'margin_call', 'accelerated_call', 'liquidation'];

const priceText = (price: bigint | null) => (price === null || price <= 0n || price >= ANY_PRICE ? null : formatPrice(price as PriceKopecksPerBtc));
const percentText = (millionths: bigint | undefined | null) => (millionths == null ? null : formatRate(millionths));

const LIQUIDATION_STATUSES = ['queued', 'selling', 'sold', 'booked', 'cancelled'] as const;
const LIQUIDATION_LIST = `
SELECT q.id, l.ref, q.status, q.kind, q.reason, q.venue, q.reference_kopecks, q.floor_kopecks, q.planned_sats, q.queued_at, q.admitted_at, q.booked_at, q.report,
       (SELECT coalesce(sum(f.sats), 0)::int8 FROM liquidation_fills f WHERE f.liquidation_id = q.id) AS filled_sats
  FROM liquidations q JOIN loans l ON l.id = q.loan_id`;
interface LiquidationListRow {
  id: bigint; ref: string; status: string; kind: string | null; reason: string | null; venue: string | null; reference_kopecks: bigint | null; floor_kopecks: bigint | null;
  planned_sats: bigint | null; queued_at: Date; admitted_at: Date | null; booked_at: Date | null; report: unknown; filled_sats: bigint; [key: string]: unknown;
}
const liquidationView = (q: LiquidationListRow) => ({
  id: q.id.toString(), loan: q.ref, status: q.status, kind: q.kind, reason: q.reason, venue: q.venue,
  referencePrice: priceText(q.reference_kopecks), floorPrice: priceText(q.floor_kopecks),
  plannedBtc: q.planned_sats === null ? null : formatSats(q.planned_sats), filledBtc: formatSats(q.filled_sats),
  queuedAt: q.queued_at.toISOString(), admittedAt: q.admitted_at?.toISOString() ?? null, bookedAt: q.booked_at?.toISOString() ?? null, report: q.report,
});

/**
 * What would bring a loan back, at the current price: to the product's target LTV, and (under a
 * call) out of the call: the BTC to add, or the roubles of debt to repay (paid in, then prepaid).
 */
function cureView(r: { state: string; debt_kopecks: bigint; sats: bigint; equipment_kopecks: bigint; haircut: bigint; warning: bigint; margin_call: bigint; accelerated_call: bigint | null; liquidation: bigint; band: bigint; target: string }, price: bigint | null) {
  if (price === null || price <= 0n) return { cure: null };
  const ladder: Ladder = { warning: r.warning, marginCall: r.margin_call, ...(r.accelerated_call === null ? {} : { acceleratedCall: r.accelerated_call }), liquidation: r.liquidation, band: r.band, haircut: r.haircut };
  const cure = cureAmounts({ debt: r.debt_kopecks, sats: r.sats, equipment: r.equipment_kopecks }, price, ladder, rateFromPercent(r.target)!);
  const step = (s: { addSats: bigint; repayKopecks: bigint }) => ({ addBtc: formatSats(s.addSats), repayRub: formatKopecks(s.repayKopecks) });
  const inCall = r.state === 'margin_call' || r.state === 'accelerated_call';
  return {
    cure: {
      atPrice: priceText(price),
      toTarget: { ltvPercent: percentText(rateFromPercent(r.target)!), ...step(cure.toTarget) },
      toLeaveCall: inCall ? { belowLtvPercent: percentText(cure.callCuredBelow), ...step(cure.toLeaveCall) } : null,
    },
  };
}

/**
 * The ladder a borrower reads its loan against (issue 19): the product's thresholds, the price of
 * BTC at which this loan's LTV reaches each (the lines on its chart: the LTV rises as the price
 * falls), the cure period, and an open call's business time left (the deadline counts only the
 * bank's business hours, deadline.ts). The portal's what-if bar computes the LTV at a dragged
 * price from the same debt, collateral and haircut, exactly, in bigint.
 */
function ladderView(r: { state: string; debt_kopecks: bigint; sats: bigint; equipment_kopecks: bigint; call_deadline: Date | null; haircut: bigint; warning: bigint; margin_call: bigint; accelerated_call: bigint | null; liquidation: bigint; band: bigint; target: string }, calendar: BusinessCalendar, at: Date) {
  const exposure = { debt: r.debt_kopecks, sats: r.sats, equipment: r.equipment_kopecks };
  const inCall = r.state === 'margin_call' || r.state === 'accelerated_call';
  return {
    // The machines counted beside the BTC (the second layer), in the same exact units.
    debtKopecks: r.debt_kopecks.toString(), sats: r.sats.toString(), equipmentKopecks: r.equipment_kopecks.toString(),
    thresholds: {
      haircutPercent: percentText(r.haircut), warningPercent: percentText(r.warning), marginCallPercent: percentText(r.margin_call),
      acceleratedCallPercent: percentText(r.accelerated_call), liquidationPercent: percentText(r.liquidation), targetPercent: r.target, bandPercent: percentText(r.band),
    },
    prices: {
      warning: priceText(triggerPrice(exposure, r.warning, r.haircut)),
      marginCall: priceText(triggerPrice(exposure, r.margin_call, r.haircut)),
      liquidation: priceText(triggerPrice(exposure, r.liquidation, r.haircut)),
    },
    callTimeLeftMs: inCall && r.call_deadline !== null ? businessTimeLeft(at, r.call_deadline, calendar) : null,
  };
}

// The borrower's risk view is one of the API's hottest reads: its two joins stay prepared.
const BORROWER_LOANS = prepared(`SELECT l.ref, r.state, r.debt_kopecks, r.sats, r.equipment_kopecks, r.worsen_at, r.improve_above, r.call_deadline, r.state_since, lad.haircut, lad.warning, lad.margin_call, lad.accelerated_call, lad.liquidation, lad.band,
                v.terms->'collateral'->'ltv'->>'target' AS target
           FROM loan_risk r JOIN loans l ON l.id = r.loan_id JOIN risk_ladders lad ON lad.product_code = r.product_code AND lad.product_version = r.product_version
           JOIN loan_product_versions v ON v.product_code = r.product_code AND v.version = r.product_version
           JOIN borrowers b ON b.id = l.borrower_id
          WHERE b.ref = $1 AND r.live ORDER BY l.id`);
const BORROWER_TRANSITIONS = prepared(`SELECT t.id, l.ref, t.from_state, t.to_state, t.cause, t.price_kopecks, t.ltv_millionths, t.call_deadline, t.at, a.at AS acknowledged_at
           FROM risk_transitions t JOIN loans l ON l.id = t.loan_id JOIN borrowers b ON b.id = l.borrower_id LEFT JOIN risk_acknowledgements a ON a.transition_id = t.id
          WHERE b.ref = $1 ORDER BY t.id DESC LIMIT 100`);

export function riskRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  const requireBorrower = async (ref: string): Promise<Borrower> => {
    const borrower = await findBorrower(db, ref);
    if (borrower === undefined) throw new ApiError(404, 'not_found', 'no such record');
    return borrower;
  };

  return async (app) => {
    app.get('/borrowers/:ref/risk', {
      config: { access: { roles: [...BOOK_READERS, 'borrower'], borrowerOwns: ownsBorrowerRef } },
      schema: { tags: ['risk'], summary: 'The borrower\'s live loans on the LTV ladder (state, LTV at the current price, the prices that would move them, an open call\'s deadline) and the last 100 transitions with their acknowledgements', params: Type.Object({ ref: Ref }), response: { 200: Loose, ...errors } },
    }, async (request) => {
      const at = now();
      const ref = request.params.ref;
      const calendar = await bankCalendar();
      // The price in force now (the latest cycle at or before now), the live loans and the latest
      // transitions, read side by side; the borrower itself is looked up only when both lists are
      // empty (it may not exist: 404), which spares the hot path a round trip (issue 17).
      const [cycle, loans, transitions] = await Promise.all([
        cycleAt(db, 'live', at),
        db.query<{ ref: string; state: string; debt_kopecks: bigint; sats: bigint; equipment_kopecks: bigint; worsen_at: bigint | null; improve_above: bigint | null; call_deadline: Date | null; state_since: Date; haircut: bigint; warning: bigint; margin_call: bigint; accelerated_call: bigint | null; liquidation: bigint; band: bigint; target: string }>(BORROWER_LOANS, [ref]),
        db.query<{ id: bigint; ref: string; from_state: string; to_state: string; cause: string; price_kopecks: bigint; ltv_millionths: bigint | null; call_deadline: Date | null; at: Date; acknowledged_at: Date | null }>(BORROWER_TRANSITIONS, [ref]),
      ]);
      if (loans.length === 0 && transitions.length === 0) await requireBorrower(ref);
      const price = cycle?.publishedKopecks ?? null;
      // A call past its deadline waits while the price is degraded or stale (RiskEngine.expireCalls):
      // say so, with the reason, rather than show a deadline that silently passed.
      const standing = judge(cycle, at, context.pricesStaleAfterSeconds);
      return {
        borrower: ref,
        price: priceText(price),
        loans: loans.map((r) => ({
          loan: r.ref, state: r.state, since: r.state_since.toISOString(), debt: formatKopecks(r.debt_kopecks), collateral: formatSats(r.sats), equipment: formatKopecks(r.equipment_kopecks),
          ltvPercent: price === null ? null : percentText(ltvMillionths(r.debt_kopecks, r.sats, price, r.haircut, r.equipment_kopecks)),
          worsensAtOrBelow: priceText(r.worsen_at), improvesAbove: priceText(r.improve_above), callDeadline: r.call_deadline?.toISOString() ?? null,
          ...(r.call_deadline !== null && r.call_deadline <= at && (r.state === 'margin_call' || r.state === 'accelerated_call')
            ? { deadlinePassed: { at: r.call_deadline.toISOString(), waitsFor: standing.ok ? 'the next risk check (every 10 s)' : standing.message } }
            : {}),
          ...cureView(r, price),
          ...ladderView(r, calendar, at),
        })),
        transitions: transitions.map((t) => ({
          id: t.id.toString(), loan: t.ref, from: t.from_state, to: t.to_state, cause: t.cause, price: priceText(t.price_kopecks), ltvPercent: percentText(t.ltv_millionths),
          callDeadline: t.call_deadline?.toISOString() ?? null, at: t.at.toISOString(), acknowledgedAt: t.acknowledged_at?.toISOString() ?? null,
        })),
      };
    });

    app.get('/liquidations', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['risk'], summary: 'Liquidations, newest first (by status when given): the queue, those being sold with their plan (reference, floor, BTC to sell, venue), and the booked ones with their execution reports',
        querystring: Type.Object({ status: Type.Optional(Type.Union(LIQUIDATION_STATUSES.map((s) => Type.Literal(s)))), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
        response: { 200: Type.Object({ inFlightBtc: Type.String(), liquidations: Type.Array(Loose) }), ...errors },
      },
    }, async (request) => {
      const rows = await db.query<LiquidationListRow>(`${LIQUIDATION_LIST} WHERE ($1::text IS NULL OR q.status = $1) ORDER BY q.id DESC LIMIT $2`, [request.query.status ?? null, request.query.limit]);
      return { inFlightBtc: formatSats(await satsInFlight(db)), liquidations: rows.map(liquidationView) };
    });

    app.get('/liquidations/sales', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['risk'], operationId: 'liquidationSales',
        summary: 'Sales of pledged BTC in a period (Moscow days), each with its legal channel, venue, counterparty and jurisdiction, and the totals by channel; JSON, or CSV to download (Russian headers unless lang=en)',
        querystring: Type.Object({ from: Type.String({ maxLength: 10 }), to: Type.String({ maxLength: 10 }), format: Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }), lang: Type.Union([Type.Literal('ru'), Type.Literal('en')], { default: 'ru' }) }, { additionalProperties: false }),
        response: {
          200: {
            description: 'The sales',
            content: {
              'application/json': { schema: Type.Object({
                from: Type.String(), to: Type.String(),
                byChannel: Type.Array(Type.Object({ channel: Type.String(), sales: Type.Integer(), btc: Type.String(), grossRub: Type.String(), feesRub: Type.String() })),
                sales: Type.Array(Type.Object({ liquidation: Type.String(), loan: Type.String(), borrower: Type.String(), status: Type.String(), channel: Type.Union([Type.String(), Type.Null()]), venue: Type.Union([Type.String(), Type.Null()]), counterparty: Type.Union([Type.String(), Type.Null()]), jurisdiction: Type.Union([Type.String(), Type.Null()]), soldAt: Type.String(), btc: Type.String(), grossRub: Type.String(), feesRub: Type.String() })),
              }) },
              'text/csv': { schema: Type.String() },
            },
          },
          ...errors,
        },
      },
    }, async (request, reply) => {
      const { from, to, format, lang } = request.query;
      if (!isCalendarDate(from) || !isCalendarDate(to) || from > to) throw new ApiError(400, 'invalid_date', 'from and to are calendar dates (Moscow days), from not after to');
      const rows = await salesBetween(db, from, to);
      if (format === 'csv') {
        const ru = lang === 'ru';
        const header = ru ? ['Ликвидация', 'Кредит', 'Заёмщик', 'Канал', 'Площадка', 'Контрагент', 'Юрисдикция', 'Продано (UTC)', 'BTC', 'Выручка, RUB', 'Комиссии площадки, RUB', 'Статус']
          : ['Liquidation', 'Loan', 'Borrower', 'Channel', 'Venue', 'Counterparty', 'Jurisdiction', 'Sold at (UTC)', 'BTC', 'Gross, RUB', 'Venue fees, RUB', 'Status'];
        reply.header('content-disposition', `attachment; filename="sales-${from}-${to}.csv"`).header('cache-control', 'no-store').type('text/csv; charset=utf-8');
        return csvOf(header, rows.map((r) => [r.liquidation, r.loan, r.borrower, r.channel ?? '', r.venue ?? '', r.counterparty ?? '', r.jurisdiction ?? '', r.soldAt, formatSats(r.sats), formatKopecks(r.gross), formatKopecks(r.fees), r.status]));
      }
      return {
        from, to,
        byChannel: salesByChannel(rows).map((c) => ({ channel: c.channel, sales: c.sales, btc: formatSats(c.sats), grossRub: formatKopecks(c.gross), feesRub: formatKopecks(c.fees) })),
        sales: rows.map((r) => ({ liquidation: r.liquidation, loan: r.loan, borrower: r.borrower, status: r.status, channel: r.channel, venue: r.venue, counterparty: r.counterparty, jurisdiction: r.jurisdiction, soldAt: r.soldAt, btc: formatSats(r.sats), grossRub: formatKopecks(r.gross), feesRub: formatKopecks(r.fees) })),
      };
    });

    app.get('/risk/stress', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['risk'],
        summary: 'Stress the live book: the price moves by a shock at once; loans per state before and after, the collateral the liquidations would sell, what it raises at the simulated venue\'s slippage, the expected shortfall, and the queue hour by hour at a market depth (BTC an hour). Nothing is changed',
        querystring: Type.Object({
          shock: Type.String({ maxLength: 12, description: 'the move, e.g. "-30%" or "-30" (above -100%)' }),
          depthBtcPerHour: Type.Optional({ ...BtcAmount, description: 'what the market takes an hour (default 10 BTC)' }),
          price: Type.Optional({ ...RubAmount, description: 'the RUB/BTC price to shock (default: the latest published)' }),
        }),
        response: { 200: Loose, ...errors, 422: Type.Ref('Error') },
      },
    }, async (request) => {
      const shock = parseShock(request.query.shock);
      if (shock === undefined) throw new ApiError(400, 'invalid_shock', 'shock is a percentage above -100 and at most 1000, e.g. "-30%"');
      const depth = parseSats(request.query.depthBtcPerHour ?? '10');
      if (!depth.ok) throw new ApiError(400, 'invalid_amount', `depthBtcPerHour: ${depth.error.message}`);
      const price = request.query.price === undefined ? undefined : parsePrice(request.query.price);
      if (price !== undefined && !price.ok) throw new ApiError(400, 'invalid_amount', `price: ${price.error.message}`);
      try {
        return stressView(await stressLiveBook(db, { shockMillionths: shock, venue: DEFAULT_SLIPPAGE, depthSatsPerHour: depth.value, now: now(), ...(price === undefined ? {} : { price: price.value }) }));
      } catch (error) {
        if (error instanceof NoPriceError) throw new ApiError(422, 'price_unavailable', error.message);
        throw error;
      }
    });

    app.get('/borrowers/:ref/liquidations', {
      config: { access: { roles: [...BOOK_READERS, 'borrower'], borrowerOwns: ownsBorrowerRef } },
      schema: { tags: ['risk'], summary: 'The borrower\'s liquidations with their execution reports (reference price, fills, slippage, fees, LTV before and after)', params: Type.Object({ ref: Ref }), response: { 200: Type.Object({ liquidations: Type.Array(Loose) }), ...errors } },
    }, async (request) => {
      const borrower = await requireBorrower(request.params.ref);
      const rows = await db.query<LiquidationListRow>(`${LIQUIDATION_LIST} WHERE l.borrower_id = $1 ORDER BY q.id DESC LIMIT 1000`, [borrower.id]);
      return { liquidations: rows.map(liquidationView) };
    });

    app.post('/liquidations/:id/fills', {
      config: { access: { roles: ['treasury'] }, audit: 'liquidation.fills.propose', idempotent: true },
      schema: {
        tags: ['risk'], summary: 'Record the OTC desk\'s fills of a liquidation (none below its floor); a second treasurer approves. With done: true the liquidation is booked on approval',
        headers: IdempotencyHeaders, params: Type.Object({ id: Id }),
        body: Type.Object({
          fills: Type.Array(Type.Object({ venueFillId: Type.String({ minLength: 1, maxLength: 100 }), btc: BtcAmount, price: RubAmount, feeRub: RubAmount }, { additionalProperties: false }), { maxItems: 100 }),
          done: Type.Boolean(),
          channel: Type.Optional(Type.Object({
            channel: Type.Union([Type.Literal('licensed_venue'), Type.Literal('experimental_regime'), Type.Literal('otc_abroad')]),
            venue: Type.String({ minLength: 1, maxLength: 200 }), counterparty: Type.String({ minLength: 1, maxLength: 200 }), jurisdiction: Type.String({ pattern: '^[A-Z]{2}$' }),
          }, { additionalProperties: false, description: 'the legal channel the desk sold through, with the venue, the counterparty and its jurisdiction (ISO 3166-1): required with the first fills, the same after; refused when the channel is not allowed on the day' })),
        }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors, 422: Type.Ref('Error') },
      },
    }, async (request, reply) => proposeFrom(context, request, reply, context.approvals.get('liquidation.fills')!, { liquidation: request.params.id, ...request.body }));

    app.post('/loans/:ref/write-off', {
      config: { access: { roles: ['risk_officer'] }, audit: 'loans.write_off.propose', idempotent: true },
      schema: {
        tags: ['risk'], summary: 'Propose writing off the debt a liquidation left with no collateral (against its provision); a second risk officer approves',
        headers: IdempotencyHeaders, params: Type.Object({ ref: Type.String({ pattern: '^LN-[1-9][0-9]{0,17}$' }) }), body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors, 422: Type.Ref('Error') },
      },
    }, async (request, reply) => proposeFrom(context, request, reply, writeOffAction as ApprovalAction<unknown>, { loan: request.params.ref, reason: request.body.reason }));

    app.post('/loans/:ref/equipment-enforcements', {
      config: { access: { roles: ['credit_officer', 'risk_officer'] }, audit: 'equipment.enforce.propose', idempotent: true },
      schema: {
        tags: ['risk'], summary: 'Propose enforcing on the machines pledged to a loan in default (a payment overdue, or BTC that no longer covers the debt); a risk officer approves. The pledges end, the machines leave the loan\'s cover, and the sale\'s proceeds are recorded later',
        headers: IdempotencyHeaders, params: Type.Object({ ref: Type.String({ pattern: '^LN-[1-9][0-9]{0,17}$' }) }), body: Type.Object({ reason: Type.String({ minLength: 3, maxLength: 2000 }) }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors, 422: Type.Ref('Error') },
      },
    }, async (request, reply) => proposeFrom(context, request, reply, enforceEquipmentAction as ApprovalAction<unknown>, { loan: request.params.ref, reason: request.body.reason }));

    app.post('/equipment-enforcements/:id/proceeds', {
      config: { access: { roles: ['treasury'] }, audit: 'equipment.proceeds', idempotent: true },
      schema: {
        tags: ['risk'], summary: 'Record the proceeds of selling enforced machines, once: a repayment of the loan with the reference ENF-<id> through its waterfall (anything above the debt is held for the borrower)',
        headers: IdempotencyHeaders, params: Type.Object({ id: Id }), body: Type.Object({ amount: RubAmount }, { additionalProperties: false }),
        response: { 200: Loose, ...errors, 422: Type.Ref('Error') },
      },
    }, async (request, reply) => {
      const amount = parseKopecks(request.body.amount, 'non_negative');
      if (!amount.ok) throw new ApiError(400, 'invalid_amount', `amount: ${amount.error.message}`, { field: 'amount' });
      return runIdempotent(context.db, request, reply, async (tx) => {
        const outcome = await loanOutcome(async () => {
          const value = await recordEnforcementProceeds(tx, BigInt(request.params.id), amount.value, actorOf(request).user.id, context.now());
          await auditRequest(tx, request, { target: `loan:${value.loan}`, amounts: { RUB: amount.value }, details: { enforcementId: value.enforcementId, reference: value.reference, replayed: value.replayed } }, context.now());
          return value;
        });
        return outcome.ok ? { ok: true, value: { status: 200, body: outcome.value } } : outcome;
      });
    });

    app.post('/borrowers/:ref/risk-acknowledgements', {
      config: { access: { roles: ['borrower', 'credit_officer'], borrowerOwns: ownsBorrowerRef }, audit: 'risk.acknowledge' },
      schema: {
        tags: ['risk'], summary: 'The borrower acknowledges a notice, a call or a liquidation (or a credit officer records that it did, by phone or in person); once, the same acknowledgement again answers 200',
        params: Type.Object({ ref: Ref }), body: Type.Object({ transitionId: Id }, { additionalProperties: false }),
        response: { 201: Type.Object({ transitionId: Type.String(), acknowledgedAt: Instant }), 200: Type.Object({ transitionId: Type.String(), acknowledgedAt: Instant }), ...errors },
      },
    }, async (request, reply) => {
      const borrower = await requireBorrower(request.params.ref);
      const at = now();
      const outcome = await db.transaction(async (tx) => {
        const [transition] = await tx.query<{ id: bigint; to_state: string; ref: string }>(
          'SELECT t.id, t.to_state, l.ref FROM risk_transitions t JOIN loans l ON l.id = t.loan_id WHERE t.id = $1 AND l.borrower_id = $2', [BigInt(request.body.transitionId), borrower.id]);
        if (transition === undefined) throw new ApiError(404, 'not_found', 'no such transition for this borrower');
        if (!ACKNOWLEDGEABLE.includes(transition.to_state)) throw new ApiError(409, 'nothing_to_acknowledge', `the transition to ${transition.to_state} is not a notice or a call`);
        const inserted = await tx.query<{ at: Date }>('INSERT INTO risk_acknowledgements (transition_id, user_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING at', [transition.id, request.principal!.user.id, at]);
        if (inserted.length === 0) {
          const [existing] = await tx.query<{ at: Date }>('SELECT at FROM risk_acknowledgements WHERE transition_id = $1', [transition.id]);
          return { created: false, at: existing!.at };
        }
        await auditRequest(tx, request, { action: 'risk.acknowledge', target: `loan:${transition.ref}`, details: { transitionId: transition.id.toString(), state: transition.to_state } }, at);
        return { created: true, at };
      });
      reply.status(outcome.created ? 201 : 200);
      return { transitionId: request.body.transitionId, acknowledgedAt: outcome.at.toISOString() };
    });

    app.put('/borrowers/:ref/risk-contacts', {
      config: { access: { roles: ['credit_officer'] }, audit: 'risk.contacts.set' },
      schema: {
        tags: ['risk'], summary: 'Where the borrower\'s risk notices go: an e-mail address and a webhook URL (null removes one). A new webhook URL gets a new signing key, shown in this answer only',
        params: Type.Object({ ref: Ref }),
        body: Type.Object({
          email: Type.Union([Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$', maxLength: 254 }), Type.Null()]),
          webhookUrl: Type.Union([Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000 }), Type.Null()]),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ email: Type.Union([Type.String(), Type.Null()]), webhookUrl: Type.Union([Type.String(), Type.Null()]), webhookSecret: Type.Union([Type.String(), Type.Null()]) }), ...errors },
      },
    }, async (request) => {
      const borrower = await requireBorrower(request.params.ref);
      const at = now();
      const { email, webhookUrl } = request.body;
      // A URL a user gives is where the service will POST: https to a public address only (SSRF).
      const refused = webhookUrl === null ? undefined : await outboundUrlProblem(webhookUrl, context.outbound);
      if (refused !== undefined) throw new ApiError(400, 'webhook_url_refused', `webhookUrl: ${refused}`, { field: 'webhookUrl' });
      const secret = await db.transaction(async (tx) => {
        const [old] = await tx.query<{ webhook_url: string | null; webhook_secret: string | null }>('SELECT webhook_url, webhook_secret FROM risk_contacts WHERE borrower_id = $1 FOR UPDATE', [borrower.id]);
        const fresh = webhookUrl !== null && webhookUrl !== old?.webhook_url;
        const key = webhookUrl === null ? null : fresh ? randomBytes(32).toString('hex') : old!.webhook_secret;
        await tx.query(`INSERT INTO risk_contacts (borrower_id, email, webhook_url, webhook_secret, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6)
                        ON CONFLICT (borrower_id) DO UPDATE SET email = EXCLUDED.email, webhook_url = EXCLUDED.webhook_url, webhook_secret = EXCLUDED.webhook_secret, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
          [borrower.id, email, webhookUrl, key, at, request.principal!.user.id]);
        // The key itself never goes into the audit trail.
        await auditRequest(tx, request, { action: 'risk.contacts.set', target: `borrower:${borrower.ref}`, details: { email, webhookUrl, newSigningKey: fresh } }, at);
        return fresh ? key : null;
      });
      return { email, webhookUrl, webhookSecret: secret };
    });
  };
}
