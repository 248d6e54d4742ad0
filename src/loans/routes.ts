import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { actorOf, auditRequest } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { Instant, Percent } from '../api/schemas.js';
import { ASSIGNABLE_ROLES, BOOK_READERS } from '../identity/roles.js';
import { isCalendarDate } from '../ledger/entry.js';
import { formatFraction, fraction } from '../money/money.js';
import { rateFromPercent } from './interest.js';
import { productProblems, type ProductTerms } from './product.js';
import { BUCKETS } from './waterfall.js';

/** Loan products (an admin configures them, in versions) and the key-rate history. */

const Terms = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  borrowerKinds: Type.Array(Type.Union([Type.Literal('company'), Type.Literal('entrepreneur'), Type.Literal('individual')]), { minItems: 1, maxItems: 3, uniqueItems: true }),
  borrowerMinAgeMonths: Type.Optional(Type.Integer({ minimum: 1, maximum: 600, description: 'the least months from the borrower\'s state registration to its application' })),
  amount: Type.Object({ min: Type.String({ maxLength: 20 }), max: Type.String({ maxLength: 20 }) }, { additionalProperties: false }),
  months: Type.Object({ min: Type.Integer(), max: Type.Integer() }, { additionalProperties: false }),
  rate: Type.Union([
    Type.Object({ kind: Type.Literal('fixed'), percent: Percent }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('floating'), marginPercent: Percent, reset: Type.Union([Type.Literal('monthly'), Type.Literal('quarterly')]) }, { additionalProperties: false }),
  ]),
  dayCount: Type.Literal('actual/actual'),
  repaymentTypes: Type.Array(Type.Union([Type.Literal('annuity'), Type.Literal('bullet'), Type.Literal('interest_only')]), { minItems: 1, maxItems: 3, uniqueItems: true }),
  interestOnly: Type.Optional(Type.Object({ months: Type.Optional(Type.Integer()), balloonPercent: Percent }, { additionalProperties: false })),
  originationFeePercent: Percent,
  penaltyPercentPerDay: Percent,
  collateral: Type.Object({
    accepted: Type.Array(Type.Literal('BTC'), { minItems: 1, maxItems: 1 }),
    haircutPercent: Percent,
    ltv: Type.Object({ origination: Percent, warning: Percent, marginCall: Percent, acceleratedCall: Type.Optional(Percent), liquidation: Percent, target: Percent, hysteresisPoints: Type.Optional(Percent) }, { additionalProperties: false }),
    curePeriodHours: Type.Integer(),
    acceleratedCureHours: Type.Optional(Type.Integer()),
    custody: Type.Optional(Type.Object({
      modes: Type.Array(Type.Union([Type.Literal('custodial'), Type.Literal('bank'), Type.Literal('collaborative')]), { minItems: 1, maxItems: 3, uniqueItems: true, description: 'where collateral may be held: a custodian reporting by reference, a vault of the bank\'s keys, or a 2-of-3 vault with the borrower and a key agent' }),
      confirmations: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'the least confirmations before a vault deposit counts (default 3)' })),
      recoveryPath: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('optional')], { description: 'whether every vault must give the borrower a timelocked recovery path' })),
    }, { additionalProperties: false })),
    liquidation: Type.Optional(Type.Object({ maxDiscountPercent: Type.Optional(Percent), feePercent: Type.Optional(Percent), minimumRemaining: Type.Optional(Type.String({ maxLength: 20 })), surplus: Type.Optional(Type.Union([Type.Literal('btc'), Type.Literal('rub')])), channels: Type.Optional(Type.Array(Type.Union([Type.Literal('licensed_venue'), Type.Literal('experimental_regime'), Type.Literal('otc_abroad')]), { minItems: 1, maxItems: 3, uniqueItems: true, description: 'the sale channels this product allows; absent: those the bank\'s rules allow on the day' })) }, { additionalProperties: false })),
    equipment: Type.Optional(Type.Object({ maxSharePercent: Percent, stressPercent: Type.Optional(Percent) }, { additionalProperties: false, description: 'pledged machines as a second layer: counted at their weighted valuation up to maxSharePercent (at most 50) of the cover the origination LTV asks; stressPercent of them kept by the stress and the backtest (default 0)' })),
  }, { additionalProperties: false }),
  calendar: Type.Literal('ru'),
  waterfall: Type.Optional(Type.Array(Type.Union(BUCKETS.map((b) => Type.Literal(b))), { minItems: 6, maxItems: 6, uniqueItems: true })),
}, { additionalProperties: false });
const ProductView = Type.Object({ code: Type.String(), version: Type.Integer(), terms: Terms, createdAt: Instant, createdBy: Type.String() });
const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error') };
const Code = Type.String({ pattern: '^[A-Z0-9][A-Z0-9_-]{1,31}$' });

interface VersionRow { product_code: string; version: number; terms: ProductTerms; created_at: Date; username: string; [key: string]: unknown }
// Stored terms were checked against Terms when written; the cast only drops `readonly`.
const view = (row: VersionRow) => ({ code: row.product_code, version: row.version, terms: row.terms as unknown as Static<typeof Terms>, createdAt: row.created_at.toISOString(), createdBy: row.username });
const SELECT_VERSIONS = 'SELECT v.product_code, v.version, v.terms, v.created_at, u.username FROM loan_product_versions v JOIN users u ON u.id = v.created_by';

function checkTerms(terms: ProductTerms): void {
  const problems = productProblems(terms);
  if (problems.length > 0) throw new ApiError(400, 'invalid_product', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });
}

export function loanRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  return async (app) => {
    app.post('/loan-products', {
      config: { access: { roles: ['admin'] }, audit: 'loans.product.create' },
      schema: { tags: ['loans'], summary: 'Create a loan product (version 1)', body: Type.Object({ code: Code, terms: Terms }, { additionalProperties: false }), response: { 201: ProductView, ...errors } },
    }, async (request, reply) => {
      const terms = request.body.terms as ProductTerms;
      checkTerms(terms);
      const at = now();
      const created = await db.transaction(async (tx) => {
        const inserted = await tx.query('INSERT INTO loan_products (code, created_at, created_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING code', [request.body.code, at, actorOf(request).user.id]);
        if (inserted.length === 0) return undefined;
        await tx.query('INSERT INTO loan_product_versions (product_code, version, terms, created_at, created_by) VALUES ($1, 1, $2::jsonb, $3, $4)', [request.body.code, JSON.stringify(terms), at, actorOf(request).user.id]);
        await auditRequest(tx, request, { action: 'loans.product.create', target: `loan_product:${request.body.code}`, details: { version: 1, terms } }, at);
        const [row] = await tx.query<VersionRow>(`${SELECT_VERSIONS} WHERE v.product_code = $1 AND v.version = 1`, [request.body.code]);
        return row!;
      });
      if (created === undefined) throw new ApiError(409, 'product_exists', `a product ${request.body.code} exists; add a version instead`);
      reply.status(201);
      return view(created);
    });

    app.post('/loan-products/:code/versions', {
      config: { access: { roles: ['admin'] }, audit: 'loans.product.version' },
      schema: { tags: ['loans'], summary: 'A new version of a product; loans already issued keep theirs', params: Type.Object({ code: Code }), body: Type.Object({ terms: Terms }, { additionalProperties: false }), response: { 201: ProductView, ...errors } },
    }, async (request, reply) => {
      const terms = request.body.terms as ProductTerms;
      checkTerms(terms);
      const at = now();
      const created = await db.transaction(async (tx) => {
        const [product] = await tx.query<{ code: string }>('SELECT code FROM loan_products WHERE code = $1 FOR UPDATE', [request.params.code]);
        if (product === undefined) return undefined;
        const [next] = await tx.query<{ version: number }>('SELECT coalesce(max(version), 0) + 1 AS version FROM loan_product_versions WHERE product_code = $1', [request.params.code]);
        await tx.query('INSERT INTO loan_product_versions (product_code, version, terms, created_at, created_by) VALUES ($1, $2, $3::jsonb, $4, $5)', [request.params.code, next!.version, JSON.stringify(terms), at, actorOf(request).user.id]);
        await auditRequest(tx, request, { action: 'loans.product.version', target: `loan_product:${request.params.code}`, details: { version: next!.version, terms } }, at);
        const [row] = await tx.query<VersionRow>(`${SELECT_VERSIONS} WHERE v.product_code = $1 AND v.version = $2`, [request.params.code, next!.version]);
        return row!;
      });
      if (created === undefined) throw new ApiError(404, 'not_found', `no product ${request.params.code}`);
      reply.status(201);
      return view(created);
    });

    app.get('/loan-products', {
      config: { access: { roles: ASSIGNABLE_ROLES } },
      schema: { tags: ['loans'], summary: 'Every product at its latest version', response: { 200: Type.Object({ products: Type.Array(ProductView) }) } },
    }, async () => ({ products: (await db.query<VersionRow>(`SELECT DISTINCT ON (v.product_code) v.product_code, v.version, v.terms, v.created_at, u.username FROM loan_product_versions v JOIN users u ON u.id = v.created_by ORDER BY v.product_code, v.version DESC`)).map(view) }));

    // Staff only: a borrower reads the latest products above, and its own loan's version with the loan.
    app.get('/loan-products/:code/versions/:version', {
      config: { access: { roles: [...BOOK_READERS, 'admin'] } },
      schema: { tags: ['loans'], summary: 'One version of a product', params: Type.Object({ code: Code, version: Type.Integer({ minimum: 1, maximum: 1_000_000 }) }), response: { 200: ProductView, ...errors } },
    }, async (request) => {
      const [row] = await db.query<VersionRow>(`${SELECT_VERSIONS} WHERE v.product_code = $1 AND v.version = $2`, [request.params.code, request.params.version]);
      if (row === undefined) throw new ApiError(404, 'not_found', `no version ${request.params.version} of ${request.params.code}`);
      return view(row);
    });

    app.put('/key-rates/:effectiveFrom', {
      config: { access: { roles: ['risk_officer'] }, audit: 'loans.key_rate.set' },
      schema: {
        tags: ['loans'],
        summary: 'Record the Bank of Russia key rate from a date (floating-rate loans reset to it by their product\'s rule)',
        params: Type.Object({ effectiveFrom: Type.String({ maxLength: 10 }) }),
        body: Type.Object({ percent: Percent, source: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ effectiveFrom: Type.String(), percent: Type.String() }), ...errors },
      },
    }, async (request) => {
      const day = request.params.effectiveFrom;
      if (!isCalendarDate(day)) throw new ApiError(400, 'invalid_date', 'effectiveFrom is a calendar date YYYY-MM-DD');
      const rate = rateFromPercent(request.body.percent);
      if (rate === undefined || rate > 1_000_000n) throw new ApiError(400, 'invalid_percent', 'the key rate is a percentage from 0 to 100');
      const at = now();
      await db.transaction(async (tx) => {
        const before = await tx.query('SELECT rate_millionths, source FROM key_rates WHERE effective_from = $1', [day]);
        await tx.query(
          `INSERT INTO key_rates (effective_from, rate_millionths, source, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (effective_from) DO UPDATE SET rate_millionths = EXCLUDED.rate_millionths, source = EXCLUDED.source, recorded_by = EXCLUDED.recorded_by, recorded_at = EXCLUDED.recorded_at`,
          [day, rate, request.body.source, actorOf(request).user.id, at]);
        await auditRequest(tx, request, { action: 'loans.key_rate.set', target: `key_rate:${day}`, details: { before: before[0] ?? null, after: request.body } }, at);
      });
      return { effectiveFrom: day, percent: request.body.percent };
    });

    app.get('/key-rates', {
      config: { access: { roles: [...BOOK_READERS, 'admin'] } },
      schema: { tags: ['loans'], summary: 'The key-rate history, newest first', response: { 200: Type.Object({ keyRates: Type.Array(Type.Object({ effectiveFrom: Type.String(), percent: Type.String(), source: Type.String() })) }) } },
    }, async () => ({
      keyRates: (await db.query<{ effective_from: string; rate_millionths: bigint; source: string }>('SELECT effective_from, rate_millionths, source FROM key_rates ORDER BY effective_from DESC'))
        .map((r) => ({ effectiveFrom: r.effective_from, percent: formatFraction(fraction(r.rate_millionths, 10_000n), 4), source: r.source })),
    }));
  };
}
