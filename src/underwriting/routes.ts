import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf, auditRequest } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { BtcAmount, Id, Instant, Percent, RubAmount } from '../api/schemas.js';
import { findBorrower } from '../borrowers/borrower-repository.js';
import { ASSIGNABLE_ROLES, BOOK_READERS } from '../identity/roles.js';
import { isCalendarDate } from '../ledger/entry.js';
import { applyBps, applyFraction, divide, type Bps, formatFraction, formatMinorUnits, formatKopecks, fraction, parseKopecks, parsePercent, parsePrice, parseSats, type Fraction, type Kopecks, type PriceKopecksPerBtc, type Sats } from '../money/money.js';
import { latestCycle } from '../prices/price-repository.js';
import { holdOrSell } from './hold-or-sell.js';
import { runUnderwriting, type UnderwritingTerms } from './underwriting-service.js';
import { DEFAULT_EQUIPMENT_POLICY, revalueEquipment, TIER_NAMES } from './equipment-service.js';

/** The underwriting report an officer runs on a borrower, and the miner's hold-or-sell calculator. */

const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error') };

/** A percentage as the exact fraction it stands for ("23.5" -> 47/200). */
function percent(text: string, field: string): Fraction {
  const parsed = parsePercent(text);
  if (!parsed.ok) throw new ApiError(400, 'invalid_percent', `${field}: ${parsed.error.message}`);
  return parsed.value;
}

function money<T>(parsed: { ok: true; value: T } | { ok: false; error: { message: string } }, field: string): T {
  if (!parsed.ok) throw new ApiError(400, 'invalid_amount', `${field}: ${parsed.error.message}`);
  return parsed.value;
}

const REPORT_PROBLEM_STATUS: Record<string, number> = { no_fleet: 409, no_tariff: 409, no_network_data: 409, stale_network_data: 409, no_price: 409 };

export function underwritingRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  return async (app) => {
    app.post('/borrowers/:ref/underwriting', {
      config: { access: { roles: ['credit_officer', 'risk_officer'] }, audit: 'underwriting.run' },
      schema: {
        tags: ['underwriting'],
        summary: 'Underwrite a borrower on its mining economics: month-by-month DSCR over the term under five scenarios, the largest loan the cover supports, compliance, and a recommendation; stored',
        params: Type.Object({ ref: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }) }),
        body: Type.Object({
          amount: Type.Optional(RubAmount),
          months: Type.Integer({ minimum: 1, maximum: 60 }),
          annualRatePercent: Percent,
          repayment: Type.Union([Type.Literal('annuity'), Type.Literal('interest_only')]),
          dscrMin: Type.Optional(Type.String({ pattern: '^[0-9]\\.[0-9]{1,2}$', description: 'minimum debt-service cover, default "1.25"' })),
          uptimePercent: Type.Optional(Percent),
          asOf: Type.Optional(Type.String({ maxLength: 10 })),
        }, { additionalProperties: false }),
        response: { 201: Type.Object({ reportId: Id, recommendation: Type.String(), reasons: Type.Array(Type.String()), report: Type.Unknown() }), ...errors },
      },
    }, async (request, reply) => {
      const borrower = await findBorrower(db, request.params.ref);
      if (borrower === undefined) throw new ApiError(404, 'not_found', 'no such record');
      const body = request.body;
      const asOf = body.asOf ?? now().toISOString().slice(0, 10);
      if (!isCalendarDate(asOf)) throw new ApiError(400, 'invalid_date', 'asOf is a calendar date YYYY-MM-DD');
      const dscr = body.dscrMin ?? '1.25';
      const [whole, decimals] = dscr.split('.') as [string, string];
      const dscrMinBps = BigInt(whole) * 10_000n + BigInt(decimals.padEnd(2, '0')) * 100n;
      if (dscrMinBps < 10_000n) throw new ApiError(400, 'invalid_dscr', 'dscrMin is at least 1.00: below it the farm cannot pay');
      const uptime = percent(body.uptimePercent ?? '95', 'uptimePercent');
      if (uptime.numerator === 0n || uptime.numerator > uptime.denominator) throw new ApiError(400, 'invalid_percent', 'uptimePercent is above 0 and at most 100');
      const terms: UnderwritingTerms = {
        asOf,
        amountKopecks: body.amount === undefined ? null : money(parseKopecks(body.amount), 'amount'),
        months: body.months,
        annualRate: percent(body.annualRatePercent, 'annualRatePercent'),
        shape: body.repayment,
        dscrMinBps,
        uptimeBps: divide(uptime.numerator * 10_000n, uptime.denominator, 'floor'),
      };
      const at = now();
      const result = await db.transaction(async (tx) => {
        const outcome = await runUnderwriting(tx, borrower, terms, actorOf(request).user.id, at, { networkMaxAgeDays: context.networkMaxAgeDays });
        if ('code' in outcome) return outcome;
        await auditRequest(tx, request, { action: 'underwriting.run', target: `borrower:${borrower.ref}`, details: { reportId: outcome.id.toString(), recommendation: outcome.recommendation, terms: (outcome.body['inputs'] as { terms: unknown }).terms } }, at);
        return outcome;
      });
      if ('code' in result) throw new ApiError(REPORT_PROBLEM_STATUS[result.code] ?? 400, result.code, result.message);
      reply.status(201);
      return { reportId: result.id.toString(), recommendation: result.recommendation, reasons: [...result.reasons], report: result.body };
    });

    app.get('/borrowers/:ref/underwriting-reports', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['underwriting'], operationId: 'listUnderwritingReports', summary: 'The borrower\'s underwriting reports, newest first (their ids and verdicts; GET /underwriting-reports/{id} for one in full)',
        params: Type.Object({ ref: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }) }),
        response: { 200: Type.Object({ reports: Type.Array(Type.Object({ reportId: Id, asOf: Type.String(), createdAt: Instant, recommendation: Type.String() })) }), ...errors },
      },
    }, async (request) => {
      const rows = await db.query<{ id: bigint; as_of: string; created_at: Date; recommendation: string }>(
        'SELECT r.id, r.as_of::text AS as_of, r.created_at, r.recommendation FROM underwriting_reports r JOIN borrowers b ON b.id = r.borrower_id WHERE b.ref = $1 ORDER BY r.id DESC LIMIT 50', [request.params.ref]);
      return { reports: rows.map((r) => ({ reportId: r.id.toString(), asOf: r.as_of, createdAt: r.created_at.toISOString(), recommendation: r.recommendation })) };
    });

    app.get('/underwriting-reports/:id', {
      config: { access: { roles: BOOK_READERS } },
      schema: { tags: ['underwriting'], summary: 'A stored underwriting report with its inputs', params: Type.Object({ id: Id }), response: { 200: Type.Object({ reportId: Id, borrowerRef: Type.String(), createdBy: Type.String(), createdAt: Instant, recommendation: Type.String(), report: Type.Unknown() }), ...errors } },
    }, async (request) => {
      const [row] = await db.query<{ id: bigint; ref: string; username: string; created_at: Date; recommendation: string; report: unknown }>(
        'SELECT r.id, b.ref, u.username, r.created_at, r.recommendation, r.report FROM underwriting_reports r JOIN borrowers b ON b.id = r.borrower_id JOIN users u ON u.id = r.created_by WHERE r.id = $1', [BigInt(request.params.id)]);
      if (row === undefined) throw new ApiError(404, 'not_found', 'no such report');
      return { reportId: row.id.toString(), borrowerRef: row.ref, createdBy: row.username, createdAt: row.created_at.toISOString(), recommendation: row.recommendation, report: row.report };
    });

    const UsdPerTh = Type.String({ pattern: '^(0|[1-9][0-9]{0,7})(\\.[0-9]{1,4})?$', description: 'USD per TH/s, e.g. "25.70"' });
    app.put('/equipment/price-index/:effectiveFrom', {
      config: { access: { roles: ['risk_officer'] }, audit: 'equipment.price_index.set' },
      schema: {
        tags: ['equipment'],
        summary: 'Set the bank\'s ASIC price index (USD per TH/s by efficiency tier, J/TH) from a date; pledged machines are revalued against it',
        params: Type.Object({ effectiveFrom: Type.String({ maxLength: 10 }) }),
        body: Type.Object({ below19: UsdPerTh, from19to25: UsdPerTh, from25to38: UsdPerTh, from38to68: UsdPerTh, above68: UsdPerTh, source: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ effectiveFrom: Type.String() }), ...errors },
      },
    }, async (request) => {
      const day = request.params.effectiveFrom;
      if (!isCalendarDate(day)) throw new ApiError(400, 'invalid_date', 'effectiveFrom is a calendar date YYYY-MM-DD');
      const at = now();
      await db.transaction(async (tx) => {
        const before = await tx.query('SELECT tier, usd_per_th, source FROM equipment_price_index WHERE effective_from = $1 ORDER BY tier', [day]);
        await tx.query(
          `INSERT INTO equipment_price_index (effective_from, tier, usd_per_th, source, recorded_by)
           SELECT $1, tier, price::numeric, $4, $5 FROM unnest($2::text[], $3::text[]) AS v(tier, price)
           ON CONFLICT (effective_from, tier) DO UPDATE SET usd_per_th = EXCLUDED.usd_per_th, source = EXCLUDED.source, recorded_by = EXCLUDED.recorded_by`,
          [day, [...TIER_NAMES], TIER_NAMES.map((tier) => request.body[tier]), request.body.source, actorOf(request).user.id]);
        await auditRequest(tx, request, { action: 'equipment.price_index.set', target: `equipment_price_index:${day}`, details: { before, after: request.body } }, at);
      });
      return { effectiveFrom: day };
    });

    app.get('/equipment/price-index', {
      config: { access: { roles: BOOK_READERS } },
      schema: { tags: ['equipment'], summary: 'The ASIC price index, newest first', response: { 200: Type.Object({ index: Type.Array(Type.Object({ effectiveFrom: Type.String(), tier: Type.String(), usdPerTh: Type.String(), source: Type.String() })) }) } },
    }, async () => {
      const rows = await db.query<{ effective_from: string; tier: string; usd_per_th: string; source: string }>('SELECT effective_from, tier, usd_per_th, source FROM equipment_price_index ORDER BY effective_from DESC, tier');
      return { index: rows.map((r) => ({ effectiveFrom: r.effective_from, tier: r.tier, usdPerTh: r.usd_per_th, source: r.source })) };
    });

    app.post('/borrowers/:ref/equipment/revalue', {
      config: { access: { roles: ['risk_officer', 'credit_officer'] }, audit: 'equipment.revalue' },
      schema: {
        tags: ['equipment'],
        summary: 'Revalue the borrower\'s pledged machines now (they are also revalued daily): lower of the price index and the cash flow, depreciated, cut by a haircut; zero on a breach. Loans they secure take the new value at once, and any it moves on the ladder is recorded in the same transaction. A haircut or weight given here may only be more cautious than the bank\'s policy',
        params: Type.Object({ ref: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }) }),
        body: Type.Object({ asOf: Type.Optional(Type.String({ maxLength: 10 })), haircutPercent: Type.Optional(Percent), weightPercent: Type.Optional(Percent) }, { additionalProperties: false }),
        response: { 200: Type.Object({ groups: Type.Integer(), total: RubAmount, weighted: RubAmount, breaches: Type.Integer(), defaultEvents: Type.Integer(), loansChanged: Type.Integer(), loansMoved: Type.Integer() }), ...errors },
      },
    }, async (request) => {
      const borrower = await findBorrower(db, request.params.ref);
      if (borrower === undefined) throw new ApiError(404, 'not_found', 'no such record');
      const asOf = request.body.asOf ?? now().toISOString().slice(0, 10);
      if (!isCalendarDate(asOf)) throw new ApiError(400, 'invalid_date', 'asOf is a calendar date YYYY-MM-DD');
      const bps = (text: string | undefined, fallback: bigint, field: string) => {
        if (text === undefined) return fallback;
        const value = percent(text, field);
        if (value.numerator > value.denominator) throw new ApiError(400, 'invalid_percent', `${field} is at most 100`);
        return divide(value.numerator * 10_000n, value.denominator, 'floor');
      };
      const policy = { haircutBps: bps(request.body.haircutPercent, DEFAULT_EQUIPMENT_POLICY.haircutBps, 'haircutPercent') as Bps, weightBps: bps(request.body.weightPercent, DEFAULT_EQUIPMENT_POLICY.weightBps, 'weightPercent') };
      // Pledged machines count toward loans' cover (the second layer): one person may value them
      // more cautiously than the bank's policy, never less (that would lift a loan's cover alone).
      if (policy.haircutBps < DEFAULT_EQUIPMENT_POLICY.haircutBps || policy.weightBps > DEFAULT_EQUIPMENT_POLICY.weightBps) {
        throw new ApiError(422, 'policy_less_cautious', `a revaluation may use a haircut of at least ${DEFAULT_EQUIPMENT_POLICY.haircutBps / 100n}% and a weight of at most ${DEFAULT_EQUIPMENT_POLICY.weightBps / 100n}% (the bank's policy): machines count toward loans' cover`);
      }
      const at = now();
      const result = await db.transaction(async (tx) => {
        const outcome = await revalueEquipment(tx, { asOf, now: at, valuedBy: actorOf(request).user.id, borrowerId: borrower.id, policy });
        if ('code' in outcome) return outcome;
        await auditRequest(tx, request, { action: 'equipment.revalue', target: `borrower:${borrower.ref}`, details: { asOf, ...outcome, totalKopecks: outcome.totalKopecks.toString(), weightedKopecks: outcome.weightedKopecks.toString() } }, at);
        return outcome;
      });
      if ('code' in result) throw new ApiError(409, result.code, result.message);
      return { groups: result.groups, total: formatMinorUnits(result.totalKopecks, 'RUB'), weighted: formatMinorUnits(result.weightedKopecks, 'RUB'), breaches: result.breaches, defaultEvents: result.defaultEvents, loansChanged: result.loansChanged, loansMoved: result.loansMoved };
    });

    app.get('/borrowers/:ref/equipment', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['equipment'],
        summary: 'The latest valuation of each pledged machine group, with its inputs, and the totals that count toward collateral',
        params: Type.Object({ ref: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }) }),
        response: { 200: Type.Object({ total: RubAmount, weighted: RubAmount, valuations: Type.Array(Type.Object({ machinesId: Id, valuedOn: Type.String(), pledgedCount: Type.Integer(), indexValue: RubAmount, cashFlowValue: RubAmount, method: Type.String(), value: RubAmount, weighted: RubAmount, breach: Type.Union([Type.String(), Type.Null()]), reason: Type.String(), inputs: Type.Unknown() })) }), ...errors },
      },
    }, async (request) => {
      const borrower = await findBorrower(db, request.params.ref);
      if (borrower === undefined) throw new ApiError(404, 'not_found', 'no such record');
      const rows = await db.query<{ machines_id: bigint; valued_on: string; pledged_count: number; index_value_kopecks: bigint; cash_flow_value_kopecks: bigint; method: string; value_kopecks: bigint; weight_bps: number; breach: string | null; reason: string; inputs: unknown }>(
        'SELECT DISTINCT ON (machines_id) * FROM equipment_valuations WHERE borrower_id = $1 ORDER BY machines_id, id DESC', [borrower.id]);
      const valuations = rows.map((r) => ({ machinesId: r.machines_id.toString(), valuedOn: r.valued_on, pledgedCount: r.pledged_count, indexValue: formatKopecks(r.index_value_kopecks), cashFlowValue: formatKopecks(r.cash_flow_value_kopecks), method: r.method, value: formatKopecks(r.value_kopecks), weightedKopecks: applyBps(r.value_kopecks, BigInt(r.weight_bps) as Bps, 'floor'), breach: r.breach, reason: r.reason, inputs: r.inputs }));
      return {
        total: formatKopecks(rows.reduce((sum, r) => sum + r.value_kopecks, 0n)),
        weighted: formatKopecks(valuations.reduce((sum, v) => sum + v.weightedKopecks, 0n)),
        valuations: valuations.map(({ weightedKopecks, ...v }) => ({ ...v, weighted: formatKopecks(weightedKopecks) })),
      };
    });

    app.post('/hold-or-sell', {
      // A calculation that stores nothing; still audited (the advice shown to a borrower is on record).
      config: { access: { roles: ASSIGNABLE_ROLES.filter((role) => role !== 'admin') }, audit: 'underwriting.hold_or_sell' },
      schema: {
        tags: ['underwriting'],
        summary: 'For the miner: borrow roubles against BTC and keep it, or sell BTC now? Each option\'s outcome over end prices, the price above which borrowing wins, and the loan\'s liquidation price',
        body: Type.Object({
          holdings: BtcAmount,
          need: RubAmount,
          months: Type.Integer({ minimum: 1, maximum: 60 }),
          annualRatePercent: Percent,
          feePercent: Type.Optional(Percent),
          ltvPercent: Type.Optional(Percent),
          liquidationLtvPercent: Type.Optional(Percent),
          endPrices: Type.Optional(Type.Array(RubAmount, { maxItems: 20 })),
          price: Type.Optional(RubAmount),
        }, { additionalProperties: false }),
        response: { 200: Type.Unknown(), ...errors },
      },
    }, async (request) => {
      const body = request.body;
      const holdings = money(parseSats(body.holdings), 'holdings') as Sats;
      const need = money(parseKopecks(body.need), 'need') as Kopecks;
      let price: PriceKopecksPerBtc;
      let priceBasis: string;
      if (body.price !== undefined) {
        price = money(parsePrice(body.price), 'price');
        priceBasis = 'as given';
      } else {
        const cycle = await latestCycle(db, 'live');
        if (cycle === undefined || cycle.publishedKopecks === null) throw new ApiError(409, 'no_price', 'the price service has no BTC/RUB price yet; give a price');
        price = cycle.publishedKopecks as PriceKopecksPerBtc;
        priceBasis = `price service cycle ${cycle.id} at ${cycle.at.toISOString()} (${cycle.status})`;
      }
      const rate = percent(body.annualRatePercent, 'annualRatePercent');
      const fee = percent(body.feePercent ?? '0', 'feePercent');
      // Defaults after Ledn's ladder (BRIEF.md): 50% at origination, liquidation at 80%.
      const ltv = percent(body.ltvPercent ?? '50', 'ltvPercent');
      const liquidation = percent(body.liquidationLtvPercent ?? '80', 'liquidationLtvPercent');
      if (ltv.numerator === 0n || ltv.numerator * liquidation.denominator >= liquidation.numerator * ltv.denominator || liquidation.numerator > liquidation.denominator) {
        throw new ApiError(400, 'invalid_percent', 'the origination LTV is above 0 and below the liquidation LTV, which is at most 100%');
      }
      // Interest paid monthly on the full amount over the term (a bullet loan), and the fee up front.
      const interest = applyFraction(need * BigInt(body.months), fraction(rate.numerator, rate.denominator * 12n), 'ceil');
      const cost = (interest + applyFraction(need, fee, 'ceil')) as Kopecks;
      const pledged = divide(need * 100_000_000n * ltv.denominator, price * ltv.numerator, 'ceil') as Sats;
      if (pledged > holdings) throw new ApiError(400, 'insufficient_holdings', `borrowing ${formatMinorUnits(need, 'RUB')} at ${formatMinorUnits(price, 'RUB')} per BTC and ${formatFraction(fraction(ltv.numerator * 100n, ltv.denominator), 2)}% LTV needs ${formatMinorUnits(pledged, 'BTC')} BTC pledged; the holdings are ${formatMinorUnits(holdings, 'BTC')}`);
      const ends = body.endPrices !== undefined
        ? body.endPrices.map((text, index) => ({ name: `end price ${index + 1}`, priceAtEndKopecks: money(parsePrice(text), `endPrices[${index}]`) }))
        : [5_000n, 7_500n, 10_000n, 12_500n, 15_000n, 20_000n].map((bps) => ({ name: `${bps / 100n}% of today`, priceAtEndKopecks: divide(price * bps, 10_000n, 'floor') as PriceKopecksPerBtc }));
      let result;
      try {
        result = holdOrSell({ holdingsSats: holdings, needKopecks: need, priceNowKopecks: price, loanCostKopecks: cost, pledgedSats: pledged, liquidationLtvBps: applyFraction(10_000n, liquidation, 'floor'), scenarios: ends });
      } catch (error) {
        if (error instanceof RangeError) throw new ApiError(400, 'insufficient_holdings', error.message);
        throw error;
      }
      // The advice is on record: who asked (the borrower's own record, or the staff member's), for what.
      const principal = actorOf(request).user;
      await auditRequest(db, request, {
        target: principal.borrowerId !== null ? `borrower:${principal.borrowerId}` : `user:${principal.id}`,
        amounts: { RUB: need, BTC: holdings },
        details: { price: formatKopecks(price), priceBasis, months: body.months, pledged: formatMinorUnits(pledged, 'BTC'), breakEvenPrice: formatKopecks(result.breakEvenPriceKopecks) },
      }, now());
      return {
        price: formatKopecks(price), priceBasis,
        loan: { need: formatKopecks(need), months: body.months, interest: formatKopecks(interest), totalCost: formatKopecks(cost), pledged: formatMinorUnits(pledged, 'BTC') },
        sellNow: formatMinorUnits(result.sellNowSats, 'BTC'),
        breakEvenPrice: formatKopecks(result.breakEvenPriceKopecks),
        liquidationPrice: formatKopecks(result.liquidationPriceKopecks),
        explanation: `borrowing keeps ${formatMinorUnits(result.sellNowSats, 'BTC')} BTC that selling would give up and costs ${formatKopecks(cost)}; it wins if BTC ends above ${formatKopecks(result.breakEvenPriceKopecks)} and never falls below ${formatKopecks(result.liquidationPriceKopecks)} on the way`,
        outcomes: result.outcomes.map((o) => ({ name: o.name, priceAtEnd: formatKopecks(o.priceAtEndKopecks), borrow: formatKopecks(o.borrowKopecks), sell: formatKopecks(o.sellKopecks), better: o.better })),
      };
    });
  };
}
