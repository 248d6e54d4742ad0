import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { transactOutcome, type Database } from '../db/database.js';
import { auditRequest } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError, rejection } from '../api/errors.js';
import type { ApprovalAction } from '../approvals/approvals.js';
import { ApprovalView, proposeFrom } from '../approvals/routes.js';
import { SECTION_TITLES, sectionOf, trialBalanceSections } from './trial-balance.js';
import { BOOK_READERS, type Role } from '../identity/roles.js';
import { manualEntryAction, reversalAction } from './manual-actions.js';
import { Amount, CalendarDate, Currency, IdempotencyHeaders, Id, Instant } from '../api/schemas.js';
import { formatMinorUnits, type Currency as CurrencyCode } from '../money/money.js';
import {
  CHART_CODES,
  parseAccountAddress,
  parseInstant,
  type AccountAddress,
} from './entry.js';
import {
  STATEMENT_PAGE_MAX,
  accountBalance,
  accountStatement,
  decodeCursor,
  findAccount,
  listAccounts,
  openAccount,
  readChart,
  readEntry,
  trialBalance,
  type Account,
  type Entry,
} from './ledger-repository.js';

/**
 * The ledger's HTTP routes, mounted at /api/v1/ledger. The raw entry endpoint is for the bank's
 * manual adjustments; loans post through their own domain flows, never through here.
 */

const PostingBody = Type.Object({
  account: Type.String({ maxLength: 120, description: 'Account address: "cash_correspondent" or "loan_principal:LN-1"' }),
  currency: Currency,
  debit: Type.Optional(Amount),
  credit: Type.Optional(Amount),
}, { additionalProperties: false, description: 'Exactly one of debit and credit' });

const EntryBody = Type.Object({
  businessDate: CalendarDate,
  valueTime: Type.Optional(Instant),
  reason: Type.String({ maxLength: 500 }),
  postings: Type.Array(PostingBody, { minItems: 1, maxItems: 64 }),
}, { additionalProperties: false });

const PostingView = Type.Object({
  line: Type.Integer(),
  account: Type.String(),
  currency: Currency,
  debit: Type.Optional(Amount),
  credit: Type.Optional(Amount),
});

const EntryView = Type.Object({
  id: Id,
  idempotencyKey: Type.String(),
  kind: Type.String(),
  businessDate: CalendarDate,
  valueTime: Instant,
  recordedAt: Instant,
  reason: Type.String(),
  reversesEntryId: Type.Union([Id, Type.Null()]),
  reversedByEntryId: Type.Union([Id, Type.Null()]),
  postings: Type.Array(PostingView),
});

const AccountView = Type.Object({
  address: Type.String(),
  chartCode: Type.String(),
  subledgerKey: Type.String(),
  currency: Currency,
  name: Type.String(),
  class: Type.String(),
  normalSide: Type.Union([Type.Literal('debit'), Type.Literal('credit')]),
});

const BalanceView = Type.Object({
  account: AccountView,
  asOf: Type.Union([Instant, Type.Null()]),
  debits: Amount,
  credits: Amount,
  balance: Type.String({ description: 'On the account\'s normal side; negative when it stands on the other side' }),
});

const AddressParams = Type.Object({ address: Type.String({ maxLength: 120 }) });
const AsOfQuery = Type.Object({ asOf: Type.Optional(Instant) }, { additionalProperties: false });
const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error'), 422: Type.Ref('Error') };

function entryView(entry: Entry) {
  return {
    id: entry.id.toString(),
    idempotencyKey: entry.idempotencyKey,
    kind: entry.kind,
    businessDate: entry.businessDate,
    valueTime: entry.valueTime.toISOString(),
    recordedAt: entry.recordedAt.toISOString(),
    reason: entry.reason,
    reversesEntryId: entry.reversesEntryId?.toString() ?? null,
    reversedByEntryId: entry.reversedByEntryId?.toString() ?? null,
    postings: entry.postings.map((posting) => ({
      line: posting.line,
      account: posting.account,
      currency: posting.currency,
      ...(posting.amount > 0n ? { debit: formatMinorUnits(posting.amount, posting.currency) } : { credit: formatMinorUnits(-posting.amount, posting.currency) }),
    })),
  };
}

function accountView(account: Account) {
  return { address: account.address, chartCode: account.chartCode, subledgerKey: account.subledgerKey, currency: account.currency, name: account.name, class: account.class, normalSide: account.normalSide };
}

function optionalInstant(text: string | undefined, field: string): Date | undefined {
  if (text === undefined) return undefined;
  const instant = parseInstant(text);
  if (instant === undefined) throw new ApiError(400, 'invalid_time', `${field} must be an instant such as "2026-11-24T10:00:00Z"`);
  return instant;
}

function parseAddress(text: string): AccountAddress {
  const address = parseAccountAddress(text);
  if (!address.ok) throw rejection(address.error);
  return address.value;
}

async function requireAccount(db: Database, text: string): Promise<Account> {
  const account = await findAccount(db, parseAddress(text));
  if (account === undefined) throw new ApiError(404, 'account_not_found', `no account "${text}" is open`);
  return account;
}

/** Staff who may propose manual adjustments. */
const MAKERS: readonly Role[] = ['credit_officer', 'risk_officer', 'treasury'];

/**
 * A borrower's representative reads only its own settlement account (loan accounts follow with
 * the loans). Anything else is "not found".
 */
async function borrowerOwnsAccount(request: FastifyRequest, borrowerId: string): Promise<boolean> {
  const address = parseAccountAddress((request.params as { address: string }).address);
  return address.ok && address.value.chartCode === 'borrower_settlement' && address.value.subledgerKey === borrowerId;
}

export function ledgerRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;


  return async (app) => {
    app.get('/chart', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['ledger'],
        summary: 'The chart of accounts',
        response: { 200: Type.Object({ accounts: Type.Array(Type.Object({ code: Type.String(), name: Type.String(), class: Type.String(), currency: Currency, subledger: Type.String(), normalSide: Type.String() })) }) },
      },
    }, async () => ({ accounts: await readChart(db) }));

    app.get('/accounts', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['ledger'],
        summary: 'Open accounts, in order of opening, paged',
        querystring: Type.Object({
          chart: Type.Optional(Type.Union(CHART_CODES.map((code) => Type.Literal(code)))),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          afterId: Type.Optional(Id),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ accounts: Type.Array(Type.Intersect([AccountView, Type.Object({ id: Id })])) }), ...errors },
      },
    }, async (request) => {
      const accounts = await listAccounts(db, {
        limit: request.query.limit,
        ...(request.query.chart !== undefined ? { chartCode: request.query.chart } : {}),
        ...(request.query.afterId !== undefined ? { afterId: BigInt(request.query.afterId) } : {}),
      });
      return { accounts: accounts.map((account) => ({ ...accountView(account), id: account.id.toString() })) };
    });

    app.post('/accounts', {
      config: { access: { roles: ['credit_officer', 'treasury'] }, audit: 'ledger.account.open' },
      schema: {
        tags: ['ledger'],
        summary: 'Open a subledger account (per loan or per borrower); returns the existing one if already open',
        body: Type.Object({ address: Type.String({ maxLength: 120 }) }, { additionalProperties: false }),
        response: { 200: AccountView, 201: AccountView, ...errors },
      },
    }, async (request, reply) => {
      const address = parseAddress(request.body.address);
      const opened = await transactOutcome(db, async (tx) => {
        const result = await openAccount(tx, address);
        if (result.ok && result.value.created) {
          await auditRequest(tx, request, { action: 'ledger.account.open', target: `ledger_account:${result.value.account.address}`, details: { after: accountView(result.value.account) } }, now());
        }
        return result;
      });
      if (!opened.ok) throw rejection(opened.error);
      reply.status(opened.value.created ? 201 : 200);
      return accountView(opened.value.account);
    });

    app.post('/entries', {
      config: { access: { roles: MAKERS }, audit: 'ledger.entry.propose', idempotent: true },
      schema: {
        tags: ['ledger'],
        summary: 'Propose a manual journal entry (balanced per currency). It is posted when a second officer approves it (POST /api/v1/approvals/{id}/approve)',
        headers: IdempotencyHeaders,
        body: EntryBody,
        response: { 202: ApprovalView, ...errors },
      },
    }, async (request, reply) => proposeFrom(context, request, reply, manualEntryAction as ApprovalAction<unknown>, request.body));

    app.get('/entries/:id', {
      config: { access: { roles: BOOK_READERS } },
      schema: { tags: ['ledger'], summary: 'One journal entry with its postings', params: Type.Object({ id: Id }), response: { 200: EntryView, ...errors } },
    }, async (request) => {
      const entry = await readEntry(db, BigInt(request.params.id));
      if (entry === undefined) throw new ApiError(404, 'entry_not_found', `no entry ${request.params.id}`);
      return entryView(entry);
    });

    app.post('/entries/:id/reversal', {
      config: { access: { roles: MAKERS }, audit: 'ledger.reversal.propose', idempotent: true },
      schema: {
        tags: ['ledger'],
        summary: 'Propose reversing an entry (a new entry with every posting negated; entries are never edited). Posted on approval',
        headers: IdempotencyHeaders,
        params: Type.Object({ id: Id }),
        body: Type.Object({ businessDate: CalendarDate, valueTime: Type.Optional(Instant), reason: Type.String({ maxLength: 500 }) }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors },
      },
    }, async (request, reply) => proposeFrom(context, request, reply, reversalAction as ApprovalAction<unknown>, { entryId: request.params.id, ...request.body }));

    app.get('/accounts/:address/balance', {
      config: { access: { roles: [...BOOK_READERS, 'borrower'], borrowerOwns: borrowerOwnsAccount } },
      schema: { tags: ['ledger'], summary: 'Balance of an account, now or as of a value time', params: AddressParams, querystring: AsOfQuery, response: { 200: BalanceView, ...errors } },
    }, async (request) => {
      const account = await requireAccount(db, request.params.address);
      const balance = await accountBalance(db, account, optionalInstant(request.query.asOf, 'asOf'));
      return {
        account: accountView(account),
        asOf: balance.asOf?.toISOString() ?? null,
        debits: formatMinorUnits(balance.debits, account.currency),
        credits: formatMinorUnits(balance.credits, account.currency),
        balance: formatMinorUnits(balance.balance, account.currency),
      };
    });

    app.get('/accounts/:address/statement', {
      config: { access: { roles: [...BOOK_READERS, 'borrower'], borrowerOwns: borrowerOwnsAccount } },
      schema: {
        tags: ['ledger'],
        summary: 'Movements of an account with value time in [from, to), with running balance, paged',
        params: AddressParams,
        querystring: Type.Object({
          from: Type.Optional(Instant),
          to: Type.Optional(Instant),
          limit: Type.Integer({ minimum: 1, maximum: STATEMENT_PAGE_MAX, default: 100 }),
          after: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
        }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            account: AccountView,
            from: Instant,
            to: Instant,
            openingBalance: Type.String(),
            lines: Type.Array(Type.Object({ entryId: Id, line: Type.Integer(), businessDate: CalendarDate, valueTime: Instant, kind: Type.String(), reason: Type.String(), debit: Type.Optional(Amount), credit: Type.Optional(Amount), balanceAfter: Type.String() })),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
            closingBalance: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errors,
        },
      },
    }, async (request) => {
      const account = await requireAccount(db, request.params.address);
      const from = optionalInstant(request.query.from, 'from') ?? new Date('2000-01-01T00:00:00Z');
      const to = optionalInstant(request.query.to, 'to') ?? new Date(Date.now() + 1000);
      if (to <= from) throw new ApiError(400, 'invalid_range', '"to" must be after "from"');
      const after = request.query.after === undefined ? undefined : decodeCursor(request.query.after);
      if (request.query.after !== undefined && after === undefined) throw new ApiError(400, 'invalid_cursor', 'the "after" cursor is not one this API gave out');
      const statement = await accountStatement(db, account, { from, to, limit: request.query.limit, ...(after !== undefined ? { after } : {}) });
      const money = (amount: bigint) => formatMinorUnits(amount, account.currency);
      return {
        account: accountView(account),
        from: from.toISOString(),
        to: to.toISOString(),
        openingBalance: money(statement.openingBalance),
        lines: statement.lines.map((line) => ({
          entryId: line.entryId.toString(),
          line: line.line,
          businessDate: line.businessDate,
          valueTime: line.valueTime.toISOString(),
          kind: line.kind,
          reason: line.reason,
          ...(line.amount > 0n ? { debit: money(line.amount) } : { credit: money(-line.amount) }),
          balanceAfter: money(line.balanceAfter),
        })),
        nextCursor: statement.nextCursor,
        closingBalance: statement.closingBalance === null ? null : money(statement.closingBalance),
      };
    });

    app.get('/trial-balance', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['ledger'],
        operationId: 'getTrialBalance',
        summary: 'Trial balance: debits and credits of every account, in on-balance and off-balance (memo) sections, each with its totals per currency; `balanced` is false when any section does not balance',
        querystring: AsOfQuery,
        response: {
          200: Type.Object({
            asOf: Type.Union([Instant, Type.Null()]),
            balanced: Type.Boolean(),
            sections: Type.Array(Type.Object({ section: Type.Union([Type.Literal('on_balance'), Type.Literal('off_balance')]), title: Type.String(), currency: Currency, debits: Amount, credits: Amount, difference: Amount, balanced: Type.Boolean() })),
            currencies: Type.Record(Type.String(), Type.Object({ debits: Amount, credits: Amount, balanced: Type.Boolean() })),
            accounts: Type.Array(Type.Object({ account: Type.String(), class: Type.String(), section: Type.String(), currency: Currency, debits: Amount, credits: Amount })),
          }),
          ...errors,
        },
      },
    }, async (request) => {
      const result = await trialBalance(db, optionalInstant(request.query.asOf, 'asOf'));
      const sections = trialBalanceSections(result.rows);
      const money = (amount: bigint, currency: string) => formatMinorUnits(amount, currency as CurrencyCode);
      return {
        asOf: result.asOf?.toISOString() ?? null,
        balanced: sections.every((s) => s.difference === 0n),
        sections: sections.map((s) => ({ section: s.section, title: SECTION_TITLES[s.section], currency: s.currency, debits: money(s.debits, s.currency), credits: money(s.credits, s.currency), difference: money(s.difference, s.currency), balanced: s.difference === 0n })),
        currencies: Object.fromEntries(Object.entries(result.totals).map(([currency, total]) => [currency, {
          debits: money(total.debits, currency),
          credits: money(total.credits, currency),
          balanced: total.debits === total.credits && sections.filter((s) => s.currency === currency).every((s) => s.difference === 0n),
        }])),
        accounts: result.rows.map((row) => ({ account: row.account, class: row.class, section: sectionOf(row.class), currency: row.currency, debits: money(row.debits, row.currency), credits: money(row.credits, row.currency) })),
      };
    });
  };
}
