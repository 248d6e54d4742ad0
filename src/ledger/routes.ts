import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { constraintName, sqlState, SQLSTATE, transactOutcome, type Database } from '../db/database.js';
import { ApiError, rejection } from '../api/errors.js';
import { Amount, CalendarDate, Currency, IdempotencyHeaders, Id, Instant } from '../api/schemas.js';
import { formatMinorUnits, type Currency as CurrencyCode } from '../money/money.js';
import {
  CHART_CODES,
  isCalendarDate,
  parseAccountAddress,
  parseInstant,
  validateEntryRequest,
  validateIdempotencyKey,
  validateReason,
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
  reverseEntry,
  postEntries,
  trialBalance,
  type Account,
  type Entry,
  type PostedEntry,
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
const errors = { 400: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error'), 422: Type.Ref('Error') };

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

function requireIdempotencyKey(headers: { 'idempotency-key'?: string }): string {
  const given = headers['idempotency-key'];
  if (given === undefined) throw new ApiError(400, 'idempotency_key_required', 'send an Idempotency-Key header (e.g. a UUID) so a retry cannot post twice');
  const key = validateIdempotencyKey(given);
  if (!key.ok) throw rejection(key.error);
  return key.value;
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

async function sendPosted(db: Database, reply: { status: (code: number) => unknown; header: (name: string, value: string) => unknown }, posted: PostedEntry) {
  const entry = await readEntry(db, posted.entryId);
  if (entry === undefined) throw new Error(`entry ${posted.entryId} was posted but cannot be read`);
  reply.status(posted.replayed ? 200 : 201);
  if (posted.replayed) reply.header('idempotent-replayed', 'true');
  return entryView(entry);
}

export function ledgerRoutes(db: Database): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/chart', {
      schema: {
        tags: ['ledger'],
        summary: 'The chart of accounts',
        response: { 200: Type.Object({ accounts: Type.Array(Type.Object({ code: Type.String(), name: Type.String(), class: Type.String(), currency: Currency, subledger: Type.String(), normalSide: Type.String() })) }) },
      },
    }, async () => ({ accounts: await readChart(db) }));

    app.get('/accounts', {
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
      schema: {
        tags: ['ledger'],
        summary: 'Open a subledger account (per loan or per borrower); returns the existing one if already open',
        body: Type.Object({ address: Type.String({ maxLength: 120 }) }, { additionalProperties: false }),
        response: { 200: AccountView, 201: AccountView, ...errors },
      },
    }, async (request, reply) => {
      const address = parseAddress(request.body.address);
      const opened = await transactOutcome(db, (tx) => openAccount(tx, address));
      if (!opened.ok) throw rejection(opened.error);
      reply.status(opened.value.created ? 201 : 200);
      return accountView(opened.value.account);
    });

    app.post('/entries', {
      schema: {
        tags: ['ledger'],
        summary: 'Post a manual journal entry (balanced per currency; idempotent by the Idempotency-Key header)',
        headers: IdempotencyHeaders,
        body: EntryBody,
        response: { 200: EntryView, 201: EntryView, ...errors },
      },
    }, async (request, reply) => {
      const idempotencyKey = requireIdempotencyKey(request.headers);
      const draft = validateEntryRequest({ ...request.body, idempotencyKey });
      if (!draft.ok) throw rejection(draft.error);
      const posted = await transactOutcome(db, (tx) => postEntries(tx, [draft.value]));
      if (!posted.ok) throw rejection(posted.error);
      return sendPosted(db, reply, posted.value[0]!);
    });

    app.get('/entries/:id', {
      schema: { tags: ['ledger'], summary: 'One journal entry with its postings', params: Type.Object({ id: Id }), response: { 200: EntryView, ...errors } },
    }, async (request) => {
      const entry = await readEntry(db, BigInt(request.params.id));
      if (entry === undefined) throw new ApiError(404, 'entry_not_found', `no entry ${request.params.id}`);
      return entryView(entry);
    });

    app.post('/entries/:id/reversal', {
      schema: {
        tags: ['ledger'],
        summary: 'Reverse an entry: a new entry with every posting negated (entries are never edited)',
        headers: IdempotencyHeaders,
        params: Type.Object({ id: Id }),
        body: Type.Object({ businessDate: CalendarDate, valueTime: Type.Optional(Instant), reason: Type.String({ maxLength: 500 }) }, { additionalProperties: false }),
        response: { 200: EntryView, 201: EntryView, ...errors },
      },
    }, async (request, reply) => {
      const idempotencyKey = requireIdempotencyKey(request.headers);
      if (!isCalendarDate(request.body.businessDate)) throw new ApiError(400, 'invalid_business_date', 'businessDate must be a calendar date "YYYY-MM-DD"');
      const reason = validateReason(request.body.reason);
      if (!reason.ok) throw rejection(reason.error);
      const valueTime = optionalInstant(request.body.valueTime, 'valueTime');
      try {
        const posted = await transactOutcome(db, (tx) => reverseEntry(tx, { entryId: BigInt(request.params.id), idempotencyKey, businessDate: request.body.businessDate, valueTime, reason: reason.value }));
        if (!posted.ok) throw rejection(posted.error);
        return sendPosted(db, reply, posted.value[0]!);
      } catch (error) {
        // Two reversals of one entry racing: the unique index lets one through.
        if (sqlState(error) === SQLSTATE.uniqueViolation && constraintName(error) === 'ledger_entries_reverses_entry_id_key') {
          throw new ApiError(409, 'entry_already_reversed', `entry ${request.params.id} was already reversed`);
        }
        throw error;
      }
    });

    app.get('/accounts/:address/balance', {
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
      schema: {
        tags: ['ledger'],
        summary: 'Trial balance per currency: debits and credits of every account; totals always equal',
        querystring: AsOfQuery,
        response: {
          200: Type.Object({
            asOf: Type.Union([Instant, Type.Null()]),
            currencies: Type.Record(Type.String(), Type.Object({ debits: Amount, credits: Amount, balanced: Type.Boolean() })),
            accounts: Type.Array(Type.Object({ account: Type.String(), class: Type.String(), currency: Currency, debits: Amount, credits: Amount })),
          }),
          ...errors,
        },
      },
    }, async (request) => {
      const result = await trialBalance(db, optionalInstant(request.query.asOf, 'asOf'));
      return {
        asOf: result.asOf?.toISOString() ?? null,
        currencies: Object.fromEntries(Object.entries(result.totals).map(([currency, total]) => [currency, {
          debits: formatMinorUnits(total.debits, currency as CurrencyCode),
          credits: formatMinorUnits(total.credits, currency as CurrencyCode),
          balanced: total.debits === total.credits,
        }])),
        accounts: result.rows.map((row) => ({ account: row.account, class: row.class, currency: row.currency, debits: formatMinorUnits(row.debits, row.currency), credits: formatMinorUnits(row.credits, row.currency) })),
      };
    });
  };
}
