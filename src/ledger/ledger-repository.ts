import type { Queryable } from '../db/database.js';
import type { Currency } from '../money/money.js';
import {
  checkBalanced,
  contentHash,
  formatAccountAddress,
  ledgerError,
  parseAccountAddress,
  reversePostings,
  type AccountAddress,
  type EntryDraft,
  type LedgerResult,
  type PostingDraft,
} from './entry.js';

/**
 * The ledger's SQL. Every function takes a `Queryable`: pass the database for a read, or the `tx`
 * of a transaction the caller owns when the posting is part of a larger change (a disbursement
 * books its entry in the same transaction that changes the loan).
 *
 * Writes are set-based: a batch of N entries is three statements (look up accounts and keys,
 * insert entries, insert postings), however large N is.
 */

export type NormalSide = 'debit' | 'credit';

export interface Account {
  readonly id: bigint;
  readonly address: string;
  readonly chartCode: string;
  readonly subledgerKey: string;
  readonly currency: Currency;
  readonly name: string;
  readonly class: string;
  readonly normalSide: NormalSide;
}

export interface Posting {
  readonly line: number;
  readonly account: string;
  readonly currency: Currency;
  /** Signed minor units: debit > 0, credit < 0. */
  readonly amount: bigint;
}

export interface Entry {
  readonly id: bigint;
  readonly idempotencyKey: string;
  readonly kind: string;
  readonly businessDate: string;
  readonly valueTime: Date;
  readonly recordedAt: Date;
  readonly reason: string;
  readonly reversesEntryId: bigint | null;
  readonly reversedByEntryId: bigint | null;
  readonly postings: readonly Posting[];
}

export interface PostedEntry {
  readonly entryId: bigint;
  /** true when the idempotency key was already used with the same content: nothing was written. */
  readonly replayed: boolean;
}

/** A rejection with the index of the draft it concerns. */
export type PostResult = LedgerResult<PostedEntry[]> & { readonly index?: number };

const ACCOUNT_COLUMNS = `a.id, a.chart_code, a.subledger_key, a.currency, c.name, c.class, c.normal_side`;

interface AccountRow {
  id: bigint;
  chart_code: string;
  subledger_key: string;
  currency: Currency;
  name: string;
  class: string;
  normal_side: NormalSide;
  [key: string]: unknown;
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    address: formatAccountAddress({ chartCode: row.chart_code, subledgerKey: row.subledger_key }),
    chartCode: row.chart_code,
    subledgerKey: row.subledger_key,
    currency: row.currency,
    name: row.name,
    class: row.class,
    normalSide: row.normal_side,
  };
}

export async function findAccounts(db: Queryable, addresses: readonly AccountAddress[]): Promise<Map<string, Account>> {
  if (addresses.length === 0) return new Map();
  const rows = await db.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS}
       FROM unnest($1::text[], $2::text[]) AS wanted (chart_code, subledger_key)
       JOIN ledger_accounts a USING (chart_code, subledger_key)
       JOIN ledger_chart c ON c.code = a.chart_code`,
    [addresses.map((a) => a.chartCode), addresses.map((a) => a.subledgerKey)],
  );
  return new Map(rows.map((row) => {
    const account = toAccount(row);
    return [account.address, account];
  }));
}

export async function findAccount(db: Queryable, address: AccountAddress): Promise<Account | undefined> {
  return (await findAccounts(db, [address])).get(formatAccountAddress(address));
}

/** The id of a bank-wide account (opened by its migration), for set-based writers that post by id. */
export async function bankAccountId(db: Queryable, chartCode: string): Promise<bigint> {
  const account = await findAccount(db, { chartCode, subledgerKey: '' });
  if (account === undefined) throw new Error(`the bank-wide account ${chartCode} is missing`);
  return account.id;
}

export interface ChartRow {
  readonly code: string;
  readonly name: string;
  readonly class: string;
  readonly currency: Currency;
  readonly subledger: 'none' | 'loan' | 'borrower';
  readonly normalSide: NormalSide;
}

export async function readChart(db: Queryable): Promise<ChartRow[]> {
  const rows = await db.query<{ code: string; name: string; class: string; currency: Currency; subledger: ChartRow['subledger']; normal_side: NormalSide }>(
    'SELECT code, name, class, currency, subledger, normal_side FROM ledger_chart ORDER BY code',
  );
  return rows.map((row) => ({ code: row.code, name: row.name, class: row.class, currency: row.currency, subledger: row.subledger, normalSide: row.normal_side }));
}

/**
 * Opens a subledger account (per loan or per borrower), or returns the one already open.
 * Bank-wide accounts are opened by the migration that defines them.
 */
export async function openAccount(db: Queryable, address: AccountAddress): Promise<LedgerResult<{ account: Account; created: boolean }>> {
  const chart = await db.query<{ currency: Currency; subledger: string }>('SELECT currency, subledger FROM ledger_chart WHERE code = $1', [address.chartCode]);
  const kind = chart[0];
  if (kind === undefined) return ledgerError('account_not_found', `the chart of accounts has no "${address.chartCode}"`);
  if (kind.subledger === 'none' || address.subledgerKey === '') {
    const existing = await findAccount(db, address);
    if (kind.subledger === 'none' && address.subledgerKey === '' && existing !== undefined) return { ok: true, value: { account: existing, created: false } };
    return ledgerError('invalid_account', kind.subledger === 'none'
      ? `"${address.chartCode}" is one bank-wide account and takes no subledger key`
      : `"${address.chartCode}" is kept per ${kind.subledger}: give the key, e.g. "${address.chartCode}:LN-1"`);
  }
  const inserted = await db.query<{ id: bigint }>(
    `INSERT INTO ledger_accounts (chart_code, subledger_key, currency) VALUES ($1, $2, $3)
     ON CONFLICT (chart_code, subledger_key) DO NOTHING RETURNING id`,
    [address.chartCode, address.subledgerKey, kind.currency],
  );
  const account = await findAccount(db, address);
  if (account === undefined) throw new Error(`account ${formatAccountAddress(address)} vanished after opening`);
  return { ok: true, value: { account, created: inserted.length > 0 } };
}

export async function listAccounts(db: Queryable, filter: { chartCode?: string; limit: number; afterId?: bigint }): Promise<Account[]> {
  const rows = await db.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts a JOIN ledger_chart c ON c.code = a.chart_code
      WHERE ($1::text IS NULL OR a.chart_code = $1) AND a.id > $2
      ORDER BY a.id LIMIT $3`,
    [filter.chartCode ?? null, filter.afterId ?? 0n, filter.limit],
  );
  return rows.map(toAccount);
}

// ---------------------------------------------------------------------------------------------
// Posting.

interface ExistingEntryRow {
  id: bigint;
  idempotency_key: string;
  content_hash: string;
  [key: string]: unknown;
}

/**
 * Posts a batch of entries inside the caller's transaction. Either every draft is accepted
 * (created, or replayed when its key was used before with the same content) or none is written
 * and the first rejection comes back with its index.
 *
 * Concurrency: two transactions posting the same new key both pass the look-up; the unique index
 * makes the second wait for the first, and `ON CONFLICT DO NOTHING` turns its insert into a
 * no-op, after which the key is re-read and judged like any replay.
 */
export async function postEntries(tx: Queryable, drafts: readonly EntryDraft[]): Promise<PostResult> {
  if (drafts.length === 0) return { ok: true, value: [] };
  const checked = await checkDrafts(tx, drafts);
  if (!checked.ok) return checked;
  const { accounts, hashes } = checked.value;

  const firstByKey = new Map<string, number>();
  drafts.forEach((draft, index) => {
    if (!firstByKey.has(draft.idempotencyKey)) firstByKey.set(draft.idempotencyKey, index);
  });
  const keys = [...firstByKey.keys()];
  const existing = await readEntriesByKey(tx, keys);
  const reused = findReusedKey(drafts, hashes, existing);
  if (reused !== undefined) return reused;
  const toInsert = [...firstByKey.values()].filter((index) => !existing.has(drafts[index]!.idempotencyKey));

  const insertedIds = await insertEntries(tx, toInsert.map((index) => ({ draft: drafts[index]!, hash: hashes[index]! })));
  await insertPostings(tx, toInsert.flatMap((index) => {
    const draft = drafts[index]!;
    const id = insertedIds.get(draft.idempotencyKey);
    return id === undefined ? [] : [{ id, draft }];
  }), accounts);

  // Keys a concurrent writer took between our look-up and our insert are replays to judge now.
  // (A rejection here comes after this batch's own inserts: the caller must roll back, as
  // `transactResult` does.)
  const raced = toInsert.map((index) => drafts[index]!.idempotencyKey).filter((key) => !insertedIds.has(key));
  if (raced.length > 0) {
    for (const [key, row] of await readEntriesByKey(tx, raced)) existing.set(key, row);
    const racedReuse = findReusedKey(drafts, hashes, existing);
    if (racedReuse !== undefined) return racedReuse;
  }

  // The writer gets ids back, not whole entries: reading them back would cost as much as a third
  // of the write, and most callers (EOD, disbursement) never look. `readEntries` is there for those
  // that do.
  return {
    ok: true,
    value: drafts.map((draft, index) => {
      const inserted = insertedIds.get(draft.idempotencyKey);
      const entryId = inserted ?? existing.get(draft.idempotencyKey)?.id;
      if (entryId === undefined) throw new Error(`entry for key ${draft.idempotencyKey} was neither inserted nor found`);
      return { entryId, replayed: inserted === undefined || firstByKey.get(draft.idempotencyKey) !== index };
    }),
  };
}

function findReusedKey(drafts: readonly EntryDraft[], hashes: readonly string[], existing: Map<string, ExistingEntryRow>): PostResult | undefined {
  for (const [index, draft] of drafts.entries()) {
    const previous = existing.get(draft.idempotencyKey);
    if (previous !== undefined && previous.content_hash !== hashes[index]) {
      return { ...ledgerError('idempotency_key_reused', `idempotency key "${draft.idempotencyKey}" was already used for a different entry (${previous.id})`, { entryId: previous.id.toString() }), index };
    }
  }
  return undefined;
}

/** Checks that a draft balances and names open accounts in their currencies, writing nothing. */
export async function checkEntryAccounts(db: Queryable, draft: EntryDraft): Promise<LedgerResult<void>> {
  const checked = await checkDrafts(db, [draft]);
  return checked.ok ? { ok: true, value: undefined } : checked;
}

interface CheckedDrafts {
  readonly accounts: Map<string, Account>;
  readonly hashes: string[];
}

async function checkDrafts(tx: Queryable, drafts: readonly EntryDraft[]): Promise<LedgerResult<CheckedDrafts> & { index?: number }> {
  const hashes: string[] = [];
  const wanted = new Map<string, AccountAddress>();
  const firstHashByKey = new Map<string, string>();
  for (const [index, draft] of drafts.entries()) {
    const balanced = checkBalanced(draft.postings);
    if (!balanced.ok) return { ...balanced, index };
    const hash = contentHash(draft);
    hashes.push(hash);
    const earlier = firstHashByKey.get(draft.idempotencyKey);
    if (earlier !== undefined && earlier !== hash) {
      return { ...ledgerError('idempotency_key_reused', `idempotency key "${draft.idempotencyKey}" appears twice in the batch with different content`), index };
    }
    firstHashByKey.set(draft.idempotencyKey, hash);
    for (const posting of draft.postings) wanted.set(formatAccountAddress(posting.account), posting.account);
  }
  const accounts = await findAccounts(tx, [...wanted.values()]);
  for (const [index, draft] of drafts.entries()) {
    for (const [line, posting] of draft.postings.entries()) {
      const address = formatAccountAddress(posting.account);
      const account = accounts.get(address);
      if (account === undefined) return { ...ledgerError('account_not_found', `posting ${line}: no account "${address}" is open`, { posting: line, account: address }), index };
      if (account.currency !== posting.currency) {
        return { ...ledgerError('currency_mismatch', `posting ${line}: account "${address}" is kept in ${account.currency}, not ${posting.currency}`, { posting: line, account: address }), index };
      }
    }
  }
  return { ok: true, value: { accounts, hashes } };
}

async function readEntriesByKey(tx: Queryable, keys: readonly string[]): Promise<Map<string, ExistingEntryRow>> {
  if (keys.length === 0) return new Map();
  const rows = await tx.query<ExistingEntryRow>(
    'SELECT id, idempotency_key, content_hash FROM ledger_entries WHERE idempotency_key = ANY($1::text[])',
    [keys],
  );
  return new Map(rows.map((row) => [row.idempotency_key, row]));
}

async function insertEntries(tx: Queryable, items: ReadonlyArray<{ draft: EntryDraft; hash: string }>): Promise<Map<string, bigint>> {
  if (items.length === 0) return new Map();
  const rows = await tx.query<{ id: bigint; idempotency_key: string }>(
    `INSERT INTO ledger_entries (idempotency_key, content_hash, business_date, value_time, reason, kind, reverses_entry_id)
     SELECT key, hash, business_date, coalesce(value_time, now()), reason, kind, reverses
       FROM unnest($1::text[], $2::text[], $3::date[], $4::timestamptz[], $5::text[], $6::text[], $7::int8[])
            WITH ORDINALITY AS item (key, hash, business_date, value_time, reason, kind, reverses, position)
      ORDER BY position
     ON CONFLICT (idempotency_key) DO NOTHING
     RETURNING id, idempotency_key`,
    [
      items.map((item) => item.draft.idempotencyKey),
      items.map((item) => item.hash),
      items.map((item) => item.draft.businessDate),
      items.map((item) => item.draft.valueTime?.toISOString() ?? null),
      items.map((item) => item.draft.reason),
      items.map((item) => item.draft.kind),
      items.map((item) => item.draft.reversesEntryId ?? null),
    ],
  );
  return new Map(rows.map((row) => [row.idempotency_key, row.id]));
}

async function insertPostings(tx: Queryable, items: ReadonlyArray<{ id: bigint; draft: EntryDraft }>, accounts: Map<string, Account>): Promise<void> {
  if (items.length === 0) return;
  const entryIds: bigint[] = [];
  const lines: number[] = [];
  const accountIds: bigint[] = [];
  const currencies: Currency[] = [];
  const amounts: bigint[] = [];
  for (const { id, draft } of items) {
    draft.postings.forEach((posting: PostingDraft, line) => {
      entryIds.push(id);
      lines.push(line);
      accountIds.push(accounts.get(formatAccountAddress(posting.account))!.id);
      currencies.push(posting.currency);
      amounts.push(posting.amount);
    });
  }
  // value_time comes from the entry row itself, so it cannot disagree with it.
  await tx.query(
    `INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount, value_time)
     SELECT p.entry_id, p.line, p.account_id, p.currency, p.amount, e.value_time
       FROM unnest($1::int8[], $2::int2[], $3::int8[], $4::text[], $5::int8[]) AS p (entry_id, line, account_id, currency, amount)
       JOIN ledger_entries e ON e.id = p.entry_id`,
    [entryIds, lines, accountIds, currencies, amounts],
  );
}

// ---------------------------------------------------------------------------------------------
// Reading entries.

interface EntryRow {
  id: bigint;
  idempotency_key: string;
  kind: string;
  business_date: string;
  value_time: Date;
  recorded_at: Date;
  reason: string;
  reverses_entry_id: bigint | null;
  reversed_by_entry_id: bigint | null;
  [key: string]: unknown;
}

export async function readEntries(db: Queryable, ids: readonly bigint[]): Promise<Map<bigint, Entry>> {
  if (ids.length === 0) return new Map();
  const entryRows = await db.query<EntryRow>(
    `SELECT e.id, e.idempotency_key, e.kind, e.business_date, e.value_time, e.recorded_at, e.reason, e.reverses_entry_id,
            r.id AS reversed_by_entry_id
       FROM ledger_entries e LEFT JOIN ledger_entries r ON r.reverses_entry_id = e.id
      WHERE e.id = ANY($1::int8[])`,
    [ids],
  );
  const postingRows = await db.query<{ entry_id: bigint; line: number; chart_code: string; subledger_key: string; currency: Currency; amount: bigint }>(
    `SELECT p.entry_id, p.line, a.chart_code, a.subledger_key, p.currency, p.amount
       FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
      WHERE p.entry_id = ANY($1::int8[]) ORDER BY p.entry_id, p.line`,
    [ids],
  );
  const postingsByEntry = new Map<bigint, Posting[]>();
  for (const row of postingRows) {
    const list = postingsByEntry.get(row.entry_id) ?? [];
    list.push({ line: row.line, account: formatAccountAddress({ chartCode: row.chart_code, subledgerKey: row.subledger_key }), currency: row.currency, amount: row.amount });
    postingsByEntry.set(row.entry_id, list);
  }
  return new Map(entryRows.map((row) => [row.id, {
    id: row.id,
    idempotencyKey: row.idempotency_key,
    kind: row.kind,
    businessDate: row.business_date,
    valueTime: row.value_time,
    recordedAt: row.recorded_at,
    reason: row.reason,
    reversesEntryId: row.reverses_entry_id,
    reversedByEntryId: row.reversed_by_entry_id,
    postings: postingsByEntry.get(row.id) ?? [],
  }]));
}

export async function readEntry(db: Queryable, id: bigint): Promise<Entry | undefined> {
  return (await readEntries(db, [id])).get(id);
}

export interface ReversalRequest {
  readonly entryId: bigint;
  readonly idempotencyKey: string;
  readonly businessDate: string;
  readonly valueTime: Date | undefined;
  readonly reason: string;
}

/**
 * Corrects an entry the only way the ledger allows: a new entry with every posting negated, linked
 * to the original. An entry is reversed at most once (a unique index backs this), and a reversal
 * is not itself reversed: post a fresh entry instead.
 */
export async function reverseEntry(tx: Queryable, request: ReversalRequest): Promise<PostResult> {
  const original = await readEntry(tx, request.entryId);
  if (original === undefined) return ledgerError('entry_not_found', `no entry ${request.entryId}`);
  if (original.reversesEntryId !== null) return ledgerError('reversal_of_reversal', `entry ${original.id} is itself a reversal; post a new entry instead`);
  const draft: EntryDraft = {
    idempotencyKey: request.idempotencyKey,
    kind: 'reversal',
    businessDate: request.businessDate,
    valueTime: request.valueTime,
    reason: request.reason,
    reversesEntryId: original.id,
    postings: reversePostings(original.postings.map((posting) => ({
      account: storedAddress(posting.account),
      currency: posting.currency,
      amount: posting.amount,
    }))),
  };
  if (original.reversedByEntryId !== null) {
    // A retry of the very reversal that was made is a replay, not a second reversal.
    const replay = await readEntriesByKey(tx, [request.idempotencyKey]);
    const row = replay.get(request.idempotencyKey);
    if (row === undefined || row.id !== original.reversedByEntryId) {
      return ledgerError('entry_already_reversed', `entry ${original.id} was already reversed by entry ${original.reversedByEntryId}`, { reversedByEntryId: original.reversedByEntryId.toString() });
    }
  }
  return postEntries(tx, [draft]);
}

/** An address read back from the ledger; it was valid when written, so a failure is a bug. */
function storedAddress(text: string): AccountAddress {
  const address = parseAccountAddress(text);
  if (!address.ok) throw new Error(`the ledger holds an unreadable account address: ${text}`);
  return address.value;
}

// ---------------------------------------------------------------------------------------------
// Balances, statements, trial balance.

export interface Balance {
  readonly account: Account;
  readonly asOf: Date | null;
  readonly debits: bigint;
  readonly credits: bigint;
  /** On the account's normal side: debits - credits for debit-normal accounts, else credits - debits. */
  readonly balance: bigint;
}

function normalBalance(side: NormalSide, debits: bigint, credits: bigint): bigint {
  return side === 'debit' ? debits - credits : credits - debits;
}

export async function accountBalance(db: Queryable, account: Account, asOf: Date | undefined): Promise<Balance> {
  const rows = await db.query<{ debits: string; credits: string }>(
    `SELECT coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS debits,
            coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS credits
       FROM ledger_postings WHERE account_id = $1 AND ($2::timestamptz IS NULL OR value_time <= $2)`,
    [account.id, asOf ?? null],
  );
  const debits = BigInt(rows[0]?.debits ?? '0');
  const credits = BigInt(rows[0]?.credits ?? '0');
  return { account, asOf: asOf ?? null, debits, credits, balance: normalBalance(account.normalSide, debits, credits) };
}

export interface StatementLine {
  readonly entryId: bigint;
  readonly line: number;
  readonly businessDate: string;
  readonly valueTime: Date;
  readonly kind: string;
  readonly reason: string;
  /** Signed: debit > 0. */
  readonly amount: bigint;
  /** Normal-side balance after this line. */
  readonly balanceAfter: bigint;
}

export interface Statement {
  readonly account: Account;
  readonly from: Date;
  readonly to: Date;
  readonly openingBalance: bigint;
  readonly lines: readonly StatementLine[];
  /** Set when the page is full: pass it as `after` to read on. */
  readonly nextCursor: string | null;
  readonly closingBalance: bigint | null;
}

export const STATEMENT_PAGE_MAX = 1000;

/**
 * The account's movements with value time in [from, to), in value-time order, paged. The opening
 * balance of a page is the balance just before its first line, so every page stands on its own.
 */
export async function accountStatement(
  db: Queryable,
  account: Account,
  range: { from: Date; to: Date; limit: number; after?: StatementCursor },
): Promise<Statement> {
  const start = range.after ?? { valueTime: range.from.toISOString(), entryId: 0n, line: -1 };
  const opening = range.after === undefined
    ? await db.query<{ total: string }>(
      'SELECT coalesce(sum(amount), 0) AS total FROM ledger_postings WHERE account_id = $1 AND value_time < $2',
      [account.id, range.from])
    : await db.query<{ total: string }>(
      `SELECT coalesce(sum(amount), 0) AS total FROM ledger_postings
        WHERE account_id = $1 AND (value_time, entry_id, line) <= ($2::timestamptz, $3::int8, $4::int2)`,
      [account.id, start.valueTime, start.entryId, start.line]);
  const openingSigned = BigInt(opening[0]?.total ?? '0');
  const rows = await db.query<{ entry_id: bigint; line: number; business_date: string; value_time: Date; exact_time: string; kind: string; reason: string; amount: bigint }>(
    `SELECT p.entry_id, p.line, e.business_date, p.value_time, ${EXACT_TIME} AS exact_time, e.kind, e.reason, p.amount
       FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
      WHERE p.account_id = $1 AND p.value_time < $2
        AND (p.value_time, p.entry_id, p.line) > ($3::timestamptz, $4::int8, $5::int2)
      ORDER BY p.value_time, p.entry_id, p.line
      LIMIT $6`,
    [account.id, range.to, start.valueTime, start.entryId, start.line, range.limit],
  );
  const sign = account.normalSide === 'debit' ? 1n : -1n;
  let running = openingSigned;
  const lines = rows.map((row) => {
    running += row.amount;
    return { entryId: row.entry_id, line: row.line, businessDate: row.business_date, valueTime: row.value_time, kind: row.kind, reason: row.reason, amount: row.amount, balanceAfter: sign * running };
  });
  const last = rows.at(-1);
  const full = rows.length === range.limit && last !== undefined;
  return {
    account,
    from: range.from,
    to: range.to,
    openingBalance: sign * openingSigned,
    lines,
    nextCursor: full ? encodeCursor({ valueTime: last.exact_time, entryId: last.entry_id, line: last.line }) : null,
    closingBalance: full ? null : sign * running,
  };
}

/**
 * A page boundary: the last line's value time exactly as stored (PostgreSQL keeps microseconds; a
 * JS Date would drop them and a page could repeat lines), its entry and its line.
 */
export interface StatementCursor {
  readonly valueTime: string;
  readonly entryId: bigint;
  readonly line: number;
}

const EXACT_TIME = `to_char(p.value_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export function encodeCursor(cursor: StatementCursor): string {
  return Buffer.from(`${cursor.valueTime}|${cursor.entryId}|${cursor.line}`).toString('base64url');
}

export function decodeCursor(text: string): StatementCursor | undefined {
  const parts = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (parts.length !== 3) return undefined;
  const [valueTime = '', entryId = '', line = ''] = parts;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(valueTime) || Number.isNaN(Date.parse(valueTime))) return undefined;
  if (!/^\d{1,18}$/.test(entryId) || !/^\d{1,5}$/.test(line)) return undefined;
  return { valueTime, entryId: BigInt(entryId), line: Number(line) };
}

export interface TrialBalanceRow {
  readonly account: string;
  readonly chartCode: string;
  readonly class: string;
  readonly currency: Currency;
  readonly debits: bigint;
  readonly credits: bigint;
}

export interface TrialBalance {
  readonly asOf: Date | null;
  readonly rows: readonly TrialBalanceRow[];
  /** Per currency: total debits and credits over all accounts; they are always equal. */
  readonly totals: Readonly<Record<string, { debits: bigint; credits: bigint }>>;
}

export async function trialBalance(db: Queryable, asOf: Date | undefined): Promise<TrialBalance> {
  const rows = await db.query<{ chart_code: string; subledger_key: string; class: string; currency: Currency; debits: string; credits: string }>(
    `SELECT a.chart_code, a.subledger_key, c.class, a.currency,
            coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0) AS debits,
            coalesce(-sum(p.amount) FILTER (WHERE p.amount < 0), 0) AS credits
       FROM ledger_postings p
       JOIN ledger_accounts a ON a.id = p.account_id
       JOIN ledger_chart c ON c.code = a.chart_code
      WHERE $1::timestamptz IS NULL OR p.value_time <= $1
      GROUP BY a.id, a.chart_code, a.subledger_key, c.class, a.currency
      ORDER BY a.currency, a.chart_code, a.subledger_key`,
    [asOf ?? null],
  );
  const totals: Record<string, { debits: bigint; credits: bigint }> = {};
  const result = rows.map((row) => {
    const debits = BigInt(row.debits);
    const credits = BigInt(row.credits);
    const total = (totals[row.currency] ??= { debits: 0n, credits: 0n });
    total.debits += debits;
    total.credits += credits;
    return { account: formatAccountAddress({ chartCode: row.chart_code, subledgerKey: row.subledger_key }), chartCode: row.chart_code, class: row.class, currency: row.currency, debits, credits };
  });
  return { asOf: asOf ?? null, rows: result, totals };
}
