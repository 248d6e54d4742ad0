import { bankRequisites, custodianInstructions } from './requisites.js';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { actorOf, auditRequest, ownsBorrowerRef, ownsLoanRef, type Amounts, type AuditNote } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError, rejection } from '../api/errors.js';
import { runIdempotent } from '../api/idempotency.js';
import { BtcAmount, CalendarDate, Id, IdempotencyHeaders, RubAmount } from '../api/schemas.js';
import type { ApprovalAction } from '../approvals/approvals.js';
import { ApprovalView, proposeFrom } from '../approvals/routes.js';
import { findBorrower } from '../borrowers/borrower-repository.js';
import { bankCalendar } from '../calendar/load.js';
import { prepared, type Queryable } from '../db/database.js';
import { BOOK_READERS } from '../identity/roles.js';
import { isCalendarDate } from '../ledger/entry.js';
import { formatKopecks, formatSats, parseKopecks, parseSats } from '../money/money.js';
import { LoanError } from './loan-errors.js';
import { scheduleCsv, scheduleTable, STATEMENT_ACCOUNTS, statementCsv, statementLines, statementTable, type PostingRow } from './documents.js';
import { loanPdf } from './pdf.js';
import { moneyView, settlementRefundAction, suspenseRefundAction } from './borrower-money.js';
import { LOAN_MONTHS_MAX } from './schedule.js';
import { loadLoan, loadLoanWithBorrower, openBusinessDay } from './loan-store.js';
import { applyForLoan, approveLoanAction, formatRate, loanOutcome, makeOffer, offerLevels, offerView, productVersion, quoteLoan, type OfferRow } from './origination.js';
import { confirmCollateralAction, declareCollateral, disburse, prepay, recordRepayment, releaseCollateralAction } from './servicing.js';
import { balancesAsOf, collateralView, loanView, reconcileLoans, scheduleView, statement } from './views.js';

/** The loan's life through the API: apply, offer, approve, collateral, disburse, repay, read. */

const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error') };
const BorrowerRef = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' });
const LoanRef = Type.String({ pattern: '^LN-[1-9][0-9]{0,17}$', description: 'a loan reference, e.g. "LN-1"' });
const Loose = Type.Record(Type.String(), Type.Unknown());
const STAFF = [...BOOK_READERS, 'admin'] as const;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
/** A loan as the list shows it; GET /loans/{ref} has the rest (terms, every balance, waterfall). */
const LoanListItem = Type.Object({
  ref: Type.String(), status: Type.String(),
  borrower: Type.Object({ ref: Type.String(), name: Type.String() }),
  product: Type.Object({ code: Type.String(), version: Type.Integer() }),
  amount: RubAmount, months: Type.Integer(), ratePercent: Type.String(),
  disbursedOn: Nullable(CalendarDate), maturityOn: Nullable(CalendarDate), overdueSince: Nullable(CalendarDate),
  balances: Type.Object({ total: RubAmount, overdue: RubAmount }, { description: 'total: everything owed; overdue: principal and interest past due with penalties' }),
  risk: Nullable(Type.Object({ state: Type.String(), debt: RubAmount, collateral: BtcAmount, equipment: RubAmount, callDeadline: Nullable(Type.String()) }, { description: 'the loan on the LTV ladder (null before disbursement and after closing); equipment: the pledged machines counted beside the BTC' })),
}, { additionalProperties: false });
// Only the columns a list shows: the loan row is wide (50 columns), and turning every column of
// every row into an object was most of this read's cost (issue 17).
const LOAN_LIST = `SELECT l.id, l.ref, l.status, l.product_code, l.product_version, l.amount_kopecks, l.months, l.rate_millionths, l.disbursed_on, l.maturity_on, l.overdue_since,
       (l.principal + l.principal_overdue + l.interest + l.interest_overdue + l.penalty + l.fee) AS total,
       (l.principal_overdue + l.interest_overdue + l.penalty) AS overdue,
       b.ref AS borrower_ref, b.name AS borrower_name, r.state AS risk_state, r.debt_kopecks AS risk_debt, r.sats AS risk_sats, r.equipment_kopecks AS risk_equipment, r.call_deadline
  FROM loans l JOIN borrowers b ON b.id = l.borrower_id LEFT JOIN loan_risk r ON r.loan_id = l.id AND r.live`;
interface ListRow extends Record<string, unknown> {
  id: bigint; ref: string; status: string; product_code: string; product_version: number; amount_kopecks: bigint; months: number; rate_millionths: bigint;
  disbursed_on: string | null; maturity_on: string | null; overdue_since: string | null; total: bigint; overdue: bigint;
  borrower_ref: string; borrower_name: string; risk_state: string | null; risk_debt: bigint | null; risk_sats: bigint | null; risk_equipment: bigint | null; call_deadline: Date | null;
}
const listItem = (row: ListRow) => ({
  ref: row.ref, status: row.status, borrower: { ref: row.borrower_ref, name: row.borrower_name }, product: { code: row.product_code, version: row.product_version },
  amount: formatKopecks(row.amount_kopecks), months: row.months, ratePercent: formatRate(row.rate_millionths),
  disbursedOn: row.disbursed_on, maturityOn: row.maturity_on, overdueSince: row.overdue_since,
  balances: { total: formatKopecks(row.total), overdue: formatKopecks(row.overdue) },
  risk: row.risk_state === null ? null : { state: row.risk_state, debt: formatKopecks(row.risk_debt!), collateral: formatSats(row.risk_sats!), equipment: formatKopecks(row.risk_equipment!), callDeadline: row.call_deadline?.toISOString() ?? null },
});

/** An amount this service formatted, read back (for an audit record's amounts). */
function kopecksOf(text: string): bigint {
  const parsed = parseKopecks(text, 'non_negative');
  if (!parsed.ok) throw new Error(`not an amount: ${text}`);
  return parsed.value;
}

function money<T>(parsed: { ok: true; value: T } | { ok: false; error: { message: string } }, field: string): T {
  if (!parsed.ok) throw new ApiError(400, 'invalid_amount', `${field}: ${parsed.error.message}`, { field });
  return parsed.value;
}

/** Runs a service call, turning its business rejection into the API's error. */
async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof LoanError) throw rejection(error);
    throw error;
  }
}

/**
 * An idempotent POST whose business rejection rolls back and is answered, not stored; its audit
 * record (target and amounts, from what the work did) is written in the same transaction.
 */
function idempotent<T>(context: AppContext, request: FastifyRequest, reply: FastifyReply, status: number, work: (tx: Queryable) => Promise<T>, audit: (value: T) => AuditNote) {
  return runIdempotent(context.db, request, reply, async (tx) => {
    const outcome = await loanOutcome(async () => {
      const value = await work(tx);
      await auditRequest(tx, request, audit(value), context.now());
      return value;
    });
    return outcome.ok ? { ok: true, value: { status, body: outcome.value } } : outcome;
  });
}

/** What an application asks (and a quote prices): the product, the amount, the term, the repayment shape and the BTC offered. */
const ApplicationTerms = Type.Object({
  product: Type.String({ pattern: '^[A-Z0-9][A-Z0-9_-]{1,31}$' }),
  amount: RubAmount,
  months: Type.Integer({ minimum: 1, maximum: LOAN_MONTHS_MAX }),
  repaymentType: Type.Union([Type.Literal('annuity'), Type.Literal('bullet'), Type.Literal('interest_only')]),
  collateral: BtcAmount,
  /** Machine groups (ids of the borrower's site machines) pledged as the second layer, under a product that counts them. */
  equipmentMachines: Type.Optional(Type.Array(Id, { maxItems: 50 })),
}, { additionalProperties: false });

/** A quote asks the same in a query string: the machine groups as a comma-separated list of ids. */
const QuoteTerms = Type.Object({
  ...Type.Omit(ApplicationTerms, ['equipmentMachines']).properties,
  equipmentMachines: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17}){0,49}$', description: 'machine group ids, comma-separated' })),
}, { additionalProperties: false });

/** A loan's postings on the accounts its statement reads, oldest first (documents.ts). */
const STATEMENT_POSTINGS = `SELECT e.id AS "entryId", e.business_date::text AS "businessDate", e.kind, a.chart_code AS "chartCode", p.amount
  FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id JOIN ledger_entries e ON e.id = p.entry_id
 WHERE a.subledger_key = $1 AND a.chart_code = ANY($2::text[]) ORDER BY e.id, p.line`;

export function loanLifeRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  const ownsLoan = ownsLoanRef(db);
  const isBorrower = (request: FastifyRequest) => request.principal?.user.roles.includes('borrower') === true;
  const offerContext = async () => ({ now: now(), calendar: await bankCalendar(), staleAfterSeconds: context.pricesStaleAfterSeconds, networkMaxAgeDays: context.networkMaxAgeDays });
  const proposeAction = (request: FastifyRequest, reply: FastifyReply, action: ApprovalAction<unknown>, payload: unknown) => proposeFrom(context, request, reply, action, payload);

  return async (app) => {
    app.post('/borrowers/:ref/loan-applications', {
      config: { access: { roles: ['credit_officer', 'borrower'], borrowerOwns: ownsBorrowerRef }, audit: 'loans.apply', idempotent: true },
      schema: {
        tags: ['loans'],
        summary: 'Apply for a loan (the borrower, or an officer for it): the offer comes back at once, with its schedule, cost, the collateral required at the current price, compliance and underwriting, and for individuals the full cost of credit',
        headers: IdempotencyHeaders,
        params: Type.Object({ ref: BorrowerRef }),
        body: ApplicationTerms,
        response: { 201: Type.Object({ applicationId: Type.String(), offer: Loose }), ...errors, 422: Type.Ref('Error') },
      },
    }, async (request, reply) => {
      const amount = money(parseKopecks(request.body.amount), 'amount');
      const collateral = money(parseSats(request.body.collateral), 'collateral');
      const borrower = await findBorrower(db, request.params.ref);
      if (borrower === undefined) throw new ApiError(404, 'not_found', `no borrower ${request.params.ref}`);
      const ctx = await offerContext();
      return idempotent(context, request, reply, 201, async (tx) => {
        const made = await applyForLoan(tx, borrower, { productCode: request.body.product, amount, months: request.body.months, repaymentType: request.body.repaymentType, collateralSats: collateral, equipmentMachines: (request.body.equipmentMachines ?? []).map(BigInt) }, actorOf(request).user.id, ctx);
        return { applicationId: made.applicationId.toString(), offer: offerView(made.offer) };
      }, (made) => ({ target: `loan_application:${made.applicationId}`, amounts: { RUB: amount, BTC: collateral }, details: { ...request.body, offerId: made.offer.offerId } }));
    });

    app.get('/borrowers/:ref/loan-quote', {
      config: { access: { roles: ['credit_officer', 'borrower'], borrowerOwns: ownsBorrowerRef } },
      schema: {
        tags: ['loans'], operationId: 'quoteLoan',
        summary: 'The offer an application with these terms would get now, computed as the application would and kept nowhere: the schedule, cost, ПСК for individuals, the collateral required at the current price and the prices at which that collateral would reach the warning, the margin call and liquidation, compliance and underwriting',
        params: Type.Object({ ref: BorrowerRef }),
        querystring: QuoteTerms,
        response: { 200: Loose, ...errors, 422: Type.Ref('Error') },
      },
    }, async (request) => {
      const q = request.query;
      const amount = money(parseKopecks(q.amount), 'amount');
      const collateral = money(parseSats(q.collateral), 'collateral');
      const borrower = await findBorrower(db, request.params.ref);
      if (borrower === undefined) throw new ApiError(404, 'not_found', `no borrower ${request.params.ref}`);
      const ctx = await offerContext();
      return guard(async () => {
        const machines = q.equipmentMachines === undefined ? [] : q.equipmentMachines.split(',').map(BigInt);
        const offer = await quoteLoan(db, borrower, { productCode: q.product, amount, months: q.months, repaymentType: q.repaymentType, collateralSats: collateral, equipmentMachines: machines }, actorOf(request).user.id, ctx);
        const product = await productVersion(db, q.product);
        const counted = offer.equipment === null ? 0n : kopecksOf(offer.equipment.counted);
        return { ...offerView(offer), offerId: null, applicationId: null, quote: true, levels: offerLevels(product.terms, amount, offer.collateral_required_sats > collateral ? offer.collateral_required_sats : collateral, counted) };
      });
    });

    app.get('/borrowers/:ref/loan-applications', {
      config: { access: { roles: [...STAFF, 'borrower'], borrowerOwns: ownsBorrowerRef } },
      schema: { tags: ['loans'], summary: 'The borrower\'s applications with their latest offers', params: Type.Object({ ref: BorrowerRef }), response: { 200: Type.Object({ applications: Type.Array(Loose) }), ...errors } },
    }, async (request) => {
      const rows = await db.query<{ id: bigint; status: string; amount_kopecks: bigint; months: number; repayment_type: string; product_code: string; product_version: number; created_at: Date }>(
        'SELECT a.* FROM loan_applications a JOIN borrowers b ON b.id = a.borrower_id WHERE b.ref = $1 ORDER BY a.id DESC LIMIT 100', [request.params.ref]);
      const offers = rows.length === 0 ? [] : await db.query<OfferRow>('SELECT DISTINCT ON (application_id) * FROM loan_offers WHERE application_id = ANY($1::int8[]) ORDER BY application_id, id DESC', [rows.map((r) => r.id)]);
      const loans = rows.length === 0 ? [] : await db.query<{ application_id: bigint; ref: string }>('SELECT application_id, ref FROM loans WHERE application_id = ANY($1::int8[])', [rows.map((r) => r.id)]);
      return {
        applications: rows.map((r) => {
          const offer = offers.find((o) => o.application_id === r.id);
          return { applicationId: r.id.toString(), status: r.status, product: { code: r.product_code, version: r.product_version }, amount: formatKopecks(r.amount_kopecks), months: r.months, repaymentType: r.repayment_type, createdAt: r.created_at.toISOString(), loan: loans.find((l) => l.application_id === r.id)?.ref ?? null, offer: offer === undefined ? null : offerView(offer) };
        }),
      };
    });

    app.post('/loan-applications/:id/offer', {
      config: { access: { roles: ['credit_officer'] }, audit: 'loans.reoffer', idempotent: true },
      schema: { tags: ['loans'], summary: 'Compute a fresh offer for an open application (new price, new compliance evaluation, latest underwriting)', headers: IdempotencyHeaders, params: Type.Object({ id: Id }), response: { 201: Loose, ...errors, 422: Type.Ref('Error') } },
    }, async (request, reply) => {
      const ctx = await offerContext();
      let amounts: Amounts = {};
      return idempotent(context, request, reply, 201, async (tx) => {
        const [app] = await tx.query<{ status: string; amount_kopecks: bigint; collateral_sats: bigint }>('SELECT status, amount_kopecks, collateral_sats FROM loan_applications WHERE id = $1 FOR UPDATE', [BigInt(request.params.id)]);
        if (app === undefined) throw new LoanError('application_not_found', `no application ${request.params.id}`);
        if (app.status !== 'offered') throw new LoanError('application_not_open', `application ${request.params.id} is ${app.status}`);
        amounts = { RUB: app.amount_kopecks, BTC: app.collateral_sats };
        return offerView(await makeOffer(tx, BigInt(request.params.id), actorOf(request).user.id, ctx));
      }, (offer) => ({ target: `loan_application:${request.params.id}`, amounts, details: { offerId: offer.offerId, blockingReasons: offer.blockingReasons } }));
    });

    app.post('/loan-applications/:id/approval', {
      config: { access: { roles: ['credit_officer'] }, audit: 'loans.approve.propose', idempotent: true },
      schema: { tags: ['loans'], summary: 'Propose the latest offer for approval: a second credit officer approves it (a risk officer above the limit) at POST /approvals/{id}/approve', headers: IdempotencyHeaders, params: Type.Object({ id: Id }), body: Type.Object({ offerId: Id }, { additionalProperties: false }), response: { 202: ApprovalView, ...errors, 422: Type.Ref('Error') } },
    }, async (request, reply) => proposeAction(request, reply, approveLoanAction as ApprovalAction<unknown>, { applicationId: request.params.id, offerId: request.body.offerId }));

    app.get('/loans', {
      config: { access: { roles: STAFF } },
      schema: {
        tags: ['loans'], operationId: 'listLoans',
        summary: 'Loans, newest first, paged (afterId: the last id of the previous page), filtered by status, borrower, risk state or a search of the loan or borrower reference; each with its borrower and place on the LTV ladder',
        querystring: Type.Object({
          status: Type.Optional(Type.Union(['approved', 'active', 'overdue', 'closed', 'cancelled'].map((s) => Type.Literal(s)))),
          borrower: Type.Optional(BorrowerRef),
          state: Type.Optional(Type.Union(['healthy', 'warning', 'margin_call', 'accelerated_call', 'liquidation'].map((s) => Type.Literal(s)))),
          q: Type.Optional(Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9._-]*$', description: 'part of a loan or borrower reference' })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          afterId: Type.Optional(Id),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ loans: Type.Array(LoanListItem), nextAfterId: Type.Union([Id, Type.Null()]) }) },
      },
    }, async (request) => {
      const { status, borrower, state, q, limit, afterId } = request.query;
      // Only the filters given, so each combination has its own prepared statement with a plan
      // made for it (a catch-all "$1 IS NULL OR ..." would share one generic plan among them all).
      const where: string[] = [];
      const params: unknown[] = [];
      const filter = (sql: string, value: unknown) => { params.push(value); where.push(sql.replaceAll('?', `$${params.length}`)); };
      if (status !== undefined) filter('l.status = ?', status);
      if (borrower !== undefined) filter('b.ref = ?', borrower);
      if (state !== undefined) filter('r.state = ?', state);
      if (q !== undefined && q !== '') filter(`(l.ref ILIKE '%' || ? || '%' OR b.ref ILIKE '%' || ? || '%')`, q);
      if (afterId !== undefined) filter('l.id < ?', BigInt(afterId));
      params.push(limit + 1);
      const rows = await db.query<ListRow>(prepared(`${LOAN_LIST}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY l.id DESC LIMIT $${params.length}`), params);
      const page = rows.slice(0, limit);
      return { loans: page.map(listItem), nextAfterId: rows.length > limit ? page[page.length - 1]!.id.toString() : null };
    });

    app.get('/borrowers/:ref/loans', {
      config: { access: { roles: [...STAFF, 'borrower'], borrowerOwns: ownsBorrowerRef } },
      schema: { tags: ['loans'], summary: 'The borrower\'s loans, each with its balances and schedule', params: Type.Object({ ref: BorrowerRef }), response: { 200: Type.Object({ loans: Type.Array(Loose) }), ...errors } },
    }, async (request) => {
      const rows = await db.query(`SELECT l.* FROM loans l JOIN borrowers b ON b.id = l.borrower_id WHERE b.ref = $1 ORDER BY l.id DESC LIMIT 100`, [request.params.ref]);
      const today = await guard(() => openBusinessDay(db, now()));
      return { loans: await Promise.all(rows.map(async (row) => ({ ...loanView(row as never), schedule: (await scheduleView(db, row as never, today)).lines, collateral: await collateralView(db, row as never) }))) };
    });

    app.get('/loans/reconciliation', {
      config: { access: { roles: ['auditor', 'risk_officer', 'admin'] } },
      schema: { tags: ['loans'], summary: 'Every loan\'s balances, every settlement account and every pledge against the ledger: an empty list means they agree', response: { 200: Type.Object({ agree: Type.Boolean(), mismatches: Type.Array(Loose) }) } },
    }, async () => {
      const mismatches = await reconcileLoans(db);
      return { agree: mismatches.length === 0, mismatches: mismatches as unknown as Record<string, unknown>[] };
    });

    app.get('/loans/:ref', {
      config: { access: { roles: [...STAFF, 'borrower'], borrowerOwns: ownsLoan } },
      schema: { tags: ['loans'], summary: 'A loan: terms, product version, status, balances', params: Type.Object({ ref: LoanRef }), response: { 200: Loose, ...errors } },
    }, async (request) => {
      const loan = await guard(() => loadLoanWithBorrower(db, request.params.ref));
      const view = { ...loanView(loan), borrower: { ref: loan.borrower_ref, name: loan.borrower_name } };
      // A default review may come from sanctions screening, which a borrower is never told of (115-FZ).
      return isBorrower(request) ? { ...view, defaultReview: null } : view;
    });

    app.get('/loans/:ref/schedule', {
      config: { access: { roles: [...STAFF, 'borrower'], borrowerOwns: ownsLoan } },
      schema: { tags: ['loans'], summary: 'The schedule in force, each line paid / due / overdue / future on the open business day', params: Type.Object({ ref: LoanRef }), response: { 200: Loose, ...errors } },
    }, async (request) => guard(async () => scheduleView(db, await loadLoan(db, request.params.ref), await openBusinessDay(db, now()))));

    app.get('/loans/:ref/balances', {
      config: { access: { roles: [...STAFF, 'borrower'], borrowerOwns: ownsLoan } },
      schema: { tags: ['loans'], summary: 'Balances at the end of a business day, read from the ledger accounts (named in the answer)', params: Type.Object({ ref: LoanRef }), querystring: Type.Object({ asOf: Type.Optional(CalendarDate) }, { additionalProperties: false }), response: { 200: Loose, ...errors } },
    }, async (request) => guard(async () => {
      const day = request.query.asOf ?? await openBusinessDay(db, now());
      if (!isCalendarDate(day)) throw new ApiError(400, 'invalid_date', 'asOf is a calendar date YYYY-MM-DD');
      return balancesAsOf(db, await loadLoan(db, request.params.ref), day);
    }));

    app.get('/loans/:ref/statement', {
      config: { access: { roles: [...STAFF, 'borrower'], borrowerOwns: ownsLoan } },
      schema: { tags: ['loans'], summary: 'The ledger entries on the loan\'s accounts, oldest first (optionally one account: loan_principal, interest_receivable, ...)', params: Type.Object({ ref: LoanRef }), querystring: Type.Object({ after: Type.Optional(Id), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }), account: Type.Optional(Type.String({ pattern: '^[a-z_]{3,48}$' })) }, { additionalProperties: false }), response: { 200: Loose, ...errors } },
    }, async (request) => guard(async () => statement(db, await loadLoan(db, request.params.ref), { limit: request.query.limit, ...(request.query.after ? { afterEntryId: BigInt(request.query.after) } : {}), ...(request.query.account ? { account: request.query.account } : {}) })));

    app.get('/loans/:ref/documents/:document', {
      config: { access: { roles: [...STAFF, 'borrower'], borrowerOwns: ownsLoan } },
      schema: {
        tags: ['loans'], operationId: 'getLoanDocument',
        summary: 'The loan\'s statement (each operation\'s change to the debt and to the pledged BTC, with the balances after it, from the ledger) or its schedule in force, to download: PDF (A4, Cyrillic font embedded) or CSV (UTF-8, decimal amounts); Russian unless lang=en',
        params: Type.Object({ ref: LoanRef, document: Type.Union([Type.Literal('statement'), Type.Literal('schedule')]) }),
        querystring: Type.Object({ format: Type.Union([Type.Literal('pdf'), Type.Literal('csv')], { default: 'pdf' }), lang: Type.Union([Type.Literal('ru'), Type.Literal('en')], { default: 'ru' }) }, { additionalProperties: false }),
        response: { 200: { description: 'The document', content: { 'application/pdf': { schema: Type.String({ format: 'binary' }) }, 'text/csv': { schema: Type.String() } } }, ...errors },
      },
    }, async (request, reply) => guard(async () => {
      const loan = await loadLoanWithBorrower(db, request.params.ref);
      const { format, lang } = request.query;
      const lines = statementLines(await db.query<PostingRow>(STATEMENT_POSTINGS, [loan.ref, STATEMENT_ACCOUNTS]));
      const last = lines.at(-1);
      const header = { loan: loan.ref, borrower: loan.borrower_ref, borrowerName: loan.borrower_name, madeAt: now(), debt: last?.debtAfter ?? 0n, btc: last?.btcAfter ?? 0n };
      const schedule = request.params.document === 'schedule'
        ? (await scheduleView(db, loan, await openBusinessDay(db, now()))).lines.map((l) => ({ number: l.number, dueDate: l.dueDate, payment: kopecksOf(l.payment), principal: kopecksOf(l.principal), interest: kopecksOf(l.interest), balance: kopecksOf(l.balance), status: l.status }))
        : undefined;
      const name = `${loan.ref}-${request.params.document}-${header.madeAt.toISOString().slice(0, 10)}.${format}`;
      reply.header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'no-store');
      if (format === 'csv') {
        reply.type('text/csv; charset=utf-8');
        return schedule === undefined ? statementCsv(lines, lang) : scheduleCsv(schedule, lang);
      }
      reply.type('application/pdf');
      return loanPdf(header, schedule === undefined ? statementTable(lines, lang, loan.ref) : scheduleTable(schedule, lang, loan.ref), lang);
    }));

    app.get('/loans/:ref/collateral', {
      config: { access: { roles: [...STAFF, 'borrower'], borrowerOwns: ownsLoan } },
      schema: { tags: ['loans'], summary: 'The loan\'s collateral positions and release instruction; for a loan without a vault (the custodial mode), the custodian and how to deposit with it', params: Type.Object({ ref: LoanRef }), response: { 200: Loose, ...errors } },
    }, async (request) => guard(async () => {
      const loan = await loadLoan(db, request.params.ref);
      const [vault] = await db.query('SELECT 1 FROM vaults WHERE loan_id = $1', [loan.id]);
      return { ...await collateralView(db, loan), custodian: vault === undefined ? custodianInstructions(await bankRequisites(), loan.ref) : null };
    }));

    app.get('/loans/:ref/events', {
      config: { access: { roles: [...STAFF, 'borrower'], borrowerOwns: ownsLoan } },
      schema: { tags: ['loans'], summary: 'What happened to the loan, in order', params: Type.Object({ ref: LoanRef }), response: { 200: Type.Object({ events: Type.Array(Loose) }), ...errors } },
    }, async (request) => {
      const loan = await guard(() => loadLoan(db, request.params.ref));
      // Default reviews may come from sanctions screening, which a borrower is never told of (115-FZ).
      const rows = await db.query<{ id: bigint; business_date: string; kind: string; details: unknown; at: Date }>(`SELECT id, business_date::text, kind, details, at FROM loan_events WHERE loan_id = $1 AND ($2 OR kind <> 'default_review') ORDER BY id LIMIT 1000`, [loan.id, !isBorrower(request)]);
      return { events: rows.map((r) => ({ id: r.id.toString(), businessDate: r.business_date, kind: r.kind, details: r.details, at: r.at.toISOString() })) };
    });

    app.post('/loans/:ref/collateral', {
      config: { access: { roles: ['credit_officer', 'treasury', 'borrower'], borrowerOwns: ownsLoan }, audit: 'collateral.declare' },
      schema: { tags: ['loans'], summary: 'Declare a BTC deposit (a top-up) the borrower is making to the custodian: the borrower for its own loan, or staff; pending until treasury confirms it', params: Type.Object({ ref: LoanRef }), body: Type.Object({ btc: BtcAmount }, { additionalProperties: false }), response: { 201: Type.Object({ positionId: Type.String(), state: Type.String() }), ...errors } },
    }, async (request, reply) => {
      const sats = money(parseSats(request.body.btc), 'btc');
      const id = await guard(() => db.transaction(async (tx) => {
        const position = await declareCollateral(tx, request.params.ref, sats, actorOf(request).user.id, now());
        await auditRequest(tx, request, { target: `loan:${request.params.ref}`, amounts: { BTC: sats }, details: { positionId: position.toString(), state: 'pending' } }, now());
        return position;
      }));
      reply.status(201);
      return { positionId: id.toString(), state: 'pending' };
    });

    app.post('/collateral-positions/:id/confirmation', {
      config: { access: { roles: ['treasury'] }, audit: 'collateral.confirm.propose', idempotent: true },
      schema: { tags: ['loans'], summary: 'Record the custodian\'s confirmation of a deposit, with its reference; a second treasurer approves', headers: IdempotencyHeaders, params: Type.Object({ id: Id }), body: Type.Object({ custodianRef: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }), response: { 202: ApprovalView, ...errors, 422: Type.Ref('Error') } },
    }, async (request, reply) => proposeAction(request, reply, confirmCollateralAction as ApprovalAction<unknown>, { positionId: request.params.id, custodianRef: request.body.custodianRef }));

    app.post('/loans/:ref/disbursement', {
      config: { access: { roles: ['credit_officer'] }, audit: 'loans.disburse', idempotent: true },
      schema: { tags: ['loans'], summary: 'Disburse an approved loan: only with confirmed collateral meeting the origination LTV at a fresh price; books the principal to the settlement account and records the payment order', headers: IdempotencyHeaders, params: Type.Object({ ref: LoanRef }), response: { 201: Loose, ...errors, 422: Type.Ref('Error') } },
    }, async (request, reply) => {
      const ctx = await offerContext();
      return idempotent(context, request, reply, 201, (tx) => disburse(tx, request.params.ref, actorOf(request).user.id, ctx),
        (done) => ({ target: `loan:${done.loan}`, amounts: { RUB: kopecksOf(done.amount) }, details: { amount: done.amount, fee: done.fee, payout: done.payout, paymentOrderId: done.paymentOrderId, price: done.price, priceCycleId: done.priceCycleId } }));
    });

    app.post('/loans/:ref/repayments', {
      config: { access: { roles: ['treasury', 'credit_officer'] }, audit: 'loans.repayment' },
      schema: { tags: ['loans'], summary: 'Record an incoming payment by its bank reference (the same reference again is the same payment); what is due now is settled by the waterfall, the rest waits on the settlement account', params: Type.Object({ ref: LoanRef }), body: Type.Object({ reference: Type.String({ pattern: '^[A-Za-z0-9._/-]{1,64}$' }), amount: RubAmount }, { additionalProperties: false }), response: { 201: Loose, 200: Loose, ...errors } },
    }, async (request, reply) => {
      const amount = money(parseKopecks(request.body.amount), 'amount');
      const result = await guard(() => db.transaction(async (tx) => {
        const recorded = await recordRepayment(tx, request.params.ref, { reference: request.body.reference, amount }, actorOf(request).user.id, now());
        await auditRequest(tx, request, { target: `loan:${recorded.loan}`, amounts: { RUB: amount }, details: { reference: recorded.reference, replayed: recorded.replayed, allocated: recorded.allocated, leftOnSettlement: recorded.leftOnSettlement, status: recorded.status } }, now());
        return recorded;
      }));
      reply.status(result.replayed ? 200 : 201);
      return result;
    });

    app.post('/loans/:ref/prepayments', {
      config: { access: { roles: ['credit_officer'] }, audit: 'loans.prepayment', idempotent: true },
      schema: { tags: ['loans'], summary: 'Early repayment from the settlement account (all that is owed without an amount); the schedule is recomputed: shorter term or smaller instalment, as the borrower chooses', headers: IdempotencyHeaders, params: Type.Object({ ref: LoanRef }), body: Type.Object({ amount: Type.Optional(RubAmount), mode: Type.Union([Type.Literal('shorter_term'), Type.Literal('smaller_instalment')]) }, { additionalProperties: false }), response: { 201: Loose, ...errors, 422: Type.Ref('Error') } },
    }, async (request, reply) => {
      const amount = request.body.amount === undefined ? undefined : money(parseKopecks(request.body.amount), 'amount');
      const calendar = await bankCalendar();
      return idempotent(context, request, reply, 201, (tx) => prepay(tx, request.params.ref, { ...(amount !== undefined ? { amount } : {}), mode: request.body.mode }, actorOf(request).user.id, now(), calendar),
        (done) => ({ target: `loan:${done.loan}`, amounts: { RUB: kopecksOf(done.paid) }, details: { mode: request.body.mode, allocated: done.allocated, status: done.status, scheduleVersion: done.scheduleVersion } }));
    });

    app.post('/loans/:ref/restructuring', {
      config: { access: { roles: ['credit_officer'] }, audit: 'loans.restructure.propose', idempotent: true },
      schema: { tags: ['loans'], summary: 'Propose a term extension (a new schedule version; the old ones are kept); a second officer approves', headers: IdempotencyHeaders, params: Type.Object({ ref: LoanRef }), body: Type.Object({ extraMonths: Type.Integer({ minimum: 1, maximum: 60 }), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }), response: { 202: ApprovalView, ...errors, 422: Type.Ref('Error') } },
    }, async (request, reply) => proposeAction(request, reply, context.approvals.get('loans.restructure')!, { loan: request.params.ref, ...request.body }));

    app.post('/loans/:ref/collateral-release', {
      config: { access: { roles: ['treasury'] }, audit: 'collateral.release.propose', idempotent: true },
      schema: { tags: ['loans'], summary: 'Propose executing a repaid loan\'s collateral-release instruction; a second treasurer approves', headers: IdempotencyHeaders, params: Type.Object({ ref: LoanRef }), response: { 202: ApprovalView, ...errors, 422: Type.Ref('Error') } },
    }, async (request, reply) => proposeAction(request, reply, releaseCollateralAction as ApprovalAction<unknown>, { loan: request.params.ref }));

    app.get('/borrowers/:ref/money', {
      config: { access: { roles: [...STAFF, 'borrower'], borrowerOwns: ownsBorrowerRef } },
      schema: { tags: ['loans'], operationId: 'getBorrowerMoney', summary: 'The borrower\'s money at the bank: the settlement account, what its live loans need from it (due now, next instalments), what may be refunded, payments held in suspense, refund orders', params: Type.Object({ ref: BorrowerRef }), response: { 200: Loose, ...errors } },
    }, async (request) => guard(() => moneyView(db, request.params.ref, now())));

    app.post('/borrowers/:ref/refunds', {
      config: { access: { roles: ['treasury'] }, audit: 'settlement.refund.propose', idempotent: true },
      schema: { tags: ['loans'], operationId: 'proposeSettlementRefund', summary: 'Propose refunding money on the settlement account that no live loan needs (an overpayment, what is left after closing) to the borrower\'s bank details; a second treasurer approves (a risk officer above 1,000,000.00 RUB)', headers: IdempotencyHeaders, params: Type.Object({ ref: BorrowerRef }), body: Type.Object({ amount: RubAmount, reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }), response: { 202: ApprovalView, ...errors, 422: Type.Ref('Error') } },
    }, async (request, reply) => proposeAction(request, reply, settlementRefundAction as ApprovalAction<unknown>, { borrower: request.params.ref, amount: request.body.amount, reason: request.body.reason }));

    app.get('/suspense-items', {
      config: { access: { roles: STAFF } },
      schema: { tags: ['loans'], operationId: 'listSuspenseItems', summary: 'Payments held in suspense (to a closed loan), newest first', querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('refunded')])), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }, { additionalProperties: false }), response: { 200: Type.Object({ items: Type.Array(Loose) }) } },
    }, async (request) => {
      const rows = await db.query<{ id: bigint; borrower_ref: string; loan_ref: string | null; reference: string; amount_kopecks: bigint; reason: string; status: string; business_date: string }>(
        `SELECT s.id, b.ref AS borrower_ref, l.ref AS loan_ref, s.reference, s.amount_kopecks, s.reason, s.status, s.business_date::text FROM suspense_items s JOIN borrowers b ON b.id = s.borrower_id LEFT JOIN loans l ON l.id = s.loan_id
          WHERE ($1::text IS NULL OR s.status = $1) ORDER BY s.id DESC LIMIT $2`, [request.query.status ?? null, request.query.limit]);
      return { items: rows.map((r) => ({ id: r.id.toString(), borrower: r.borrower_ref, loan: r.loan_ref, reference: r.reference, amount: formatKopecks(r.amount_kopecks), reason: r.reason, status: r.status, businessDate: r.business_date })) };
    });

    app.post('/suspense-items/:id/refund', {
      config: { access: { roles: ['treasury'] }, audit: 'suspense.refund.propose', idempotent: true },
      schema: { tags: ['loans'], operationId: 'proposeSuspenseRefund', summary: 'Propose returning a payment held in suspense to the borrower\'s bank details; a second treasurer approves', headers: IdempotencyHeaders, params: Type.Object({ id: Id }), body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }), response: { 202: ApprovalView, ...errors, 422: Type.Ref('Error') } },
    }, async (request, reply) => proposeAction(request, reply, suspenseRefundAction as ApprovalAction<unknown>, { item: request.params.id, reason: request.body.reason }));

    app.get('/eod/days', {
      config: { access: { roles: STAFF } },
      schema: { tags: ['loans'], summary: 'The business days end of day closed, newest first, and the open day', response: { 200: Type.Object({ openDay: Type.Union([Type.String(), Type.Null()]), days: Type.Array(Loose) }) } },
    }, async () => {
      const rows = await db.query<{ business_date: string; started_at: Date; finished_at: Date | null; loans: bigint; entries: bigint }>('SELECT business_date::text, started_at, finished_at, loans, entries FROM eod_days ORDER BY business_date DESC LIMIT 60');
      let openDay: string | null = null;
      try { openDay = await openBusinessDay(db, now()); } catch { openDay = null; }
      return { openDay, days: rows.map((r) => ({ businessDate: r.business_date, startedAt: r.started_at.toISOString(), finishedAt: r.finished_at?.toISOString() ?? null, loans: Number(r.loans), entries: Number(r.entries) })) };
    });
  };
}

