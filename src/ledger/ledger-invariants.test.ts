import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Queryable } from '../db/database.js';
import { SQLSTATE, sqlState, transactOutcome } from '../db/database.js';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { CHART_CODES, type EntryDraft, type PostingDraft } from './entry.js';
import { accountBalance, findAccount, openAccount, postEntries, readChart, reverseEntry, trialBalance } from './ledger-repository.js';

/**
 * The ledger's invariants, proven against the database itself: first that raw SQL (a script, a
 * psql session, a bug that bypasses the repository) cannot break them, then that random
 * sequences of postings, replays and reversals through the repository keep every balance equal
 * to a model and every trial balance zero-sum.
 */

let test: TestDatabase;
let cashId: bigint;
let equityId: bigint;
let heldId: bigint;
let pledgedId: bigint;

beforeAll(async () => {
  test = await openTestDatabase();
  const opened = await transactOutcome(test.db, (tx) => openAccount(tx, { chartCode: 'collateral_pledged', subledgerKey: 'LN-1' }));
  if (!opened.ok) throw new Error(opened.error.message);
  pledgedId = opened.value.account.id;
  cashId = (await findAccount(test.db, { chartCode: 'cash_correspondent', subledgerKey: '' }))!.id;
  equityId = (await findAccount(test.db, { chartCode: 'bank_equity', subledgerKey: '' }))!.id;
  heldId = (await findAccount(test.db, { chartCode: 'collateral_held', subledgerKey: '' }))!.id;
});
afterAll(() => test.close());

let rawKey = 0;
async function rawEntry(tx: Queryable, valueTime = '2026-11-24T10:00:00Z'): Promise<bigint> {
  rawKey += 1;
  const [row] = await tx.query<{ id: bigint }>(
    `INSERT INTO ledger_entries (idempotency_key, content_hash, business_date, value_time, reason, kind)
     VALUES ($1, repeat('0', 64), '2026-11-24', $2, 'raw sql', 'manual') RETURNING id`,
    [`raw-${rawKey}`, valueTime],
  );
  return row!.id;
}

async function rawPostings(tx: Queryable, entryId: bigint, rows: Array<[bigint, string, bigint]>, valueTime = '2026-11-24T10:00:00Z', firstLine = 0): Promise<void> {
  await tx.query(
    `INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount, value_time)
     SELECT $1, $6 + ord - 1, account_id, currency, amount, $5 FROM unnest($2::int8[], $3::text[], $4::int8[]) WITH ORDINALITY AS t (account_id, currency, amount, ord)`,
    [entryId, rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), valueTime, firstLine],
  );
}

async function counts(): Promise<{ entries: bigint; postings: bigint }> {
  const [row] = await test.db.query<{ entries: bigint; postings: bigint }>('SELECT (SELECT count(*) FROM ledger_entries) AS entries, (SELECT count(*) FROM ledger_postings) AS postings');
  return row!;
}

describe('the database refuses what would break the books, even from raw SQL', () => {
  let committedEntry: bigint;

  beforeAll(async () => {
    committedEntry = await test.db.transaction(async (tx) => {
      const id = await rawEntry(tx);
      await rawPostings(tx, id, [[cashId, 'RUB', 500n], [equityId, 'RUB', -500n]]);
      return id;
    });
  });

  it('accepts a balanced entry written by hand', async () => {
    const [row] = await test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM ledger_postings WHERE entry_id = $1', [committedEntry]);
    expect(row?.n).toBe(2n);
  });

  it.each([
    ['update a posting', 'UPDATE ledger_postings SET amount = 999 WHERE entry_id = $1 AND line = 0'],
    ['update an entry', "UPDATE ledger_entries SET reason = 'edited' WHERE id = $1"],
    ['delete a posting', 'DELETE FROM ledger_postings WHERE entry_id = $1'],
    ['delete an entry', 'DELETE FROM ledger_entries WHERE id = $1'],
  ])('refuses to %s', async (_name, sql) => {
    await expect(test.db.query(sql, [committedEntry])).rejects.toThrow(/append-only/);
  });

  it.each(['ledger_postings', 'ledger_entries', 'ledger_accounts'])('refuses to truncate %s', async (table) => {
    await expect(test.db.exec(`TRUNCATE ${table} CASCADE`)).rejects.toThrow(/append-only/);
  });

  it('refuses an unbalanced entry', async () => {
    const before = await counts();
    await expect(test.db.transaction(async (tx) => {
      const id = await rawEntry(tx);
      await rawPostings(tx, id, [[cashId, 'RUB', 500n], [equityId, 'RUB', -499n]]);
    })).rejects.toThrow(/does not balance/);
    expect(await counts()).toEqual(before);
  });

  it('refuses an entry balanced across currencies but not within each', async () => {
    await expect(test.db.transaction(async (tx) => {
      const id = await rawEntry(tx);
      await rawPostings(tx, id, [[cashId, 'RUB', 500n], [pledgedId, 'BTC', -500n]]);
    })).rejects.toThrow(/does not balance/);
  });

  it('refuses a posting in a currency its account is not kept in', async () => {
    await expect(test.db.transaction(async (tx) => {
      const id = await rawEntry(tx);
      await rawPostings(tx, id, [[cashId, 'BTC', 500n], [heldId, 'BTC', -500n]]);
    })).rejects.toThrow(/does not exist in the posting's currency/);
  });

  it('refuses accounts outside the chart or against its subledger rule, checked once per statement over every row it writes', async () => {
    const refused = async (values: string, pattern: RegExp, code: string) => {
      const error = await test.db.query(`INSERT INTO ledger_accounts (chart_code, subledger_key, currency) VALUES ${values}`).then(() => undefined, (e: unknown) => e);
      expect(String(error)).toMatch(pattern);
      expect(sqlState(error)).toBe(code);
    };
    // The bad row is the last of several: the check reads the whole statement.
    await refused(`('loan_principal', 'LN-900', 'RUB'), ('loan_principal', 'LN-901', 'BTC')`, /loan_principal in BTC is not in the chart/, SQLSTATE.foreignKeyViolation);
    await refused(`('loan_principal', 'LN-902', 'RUB'), ('loan_principal', '', 'RUB')`, /must have a subledger key/, SQLSTATE.checkViolation);
    await refused(`('interest_income', 'LN-903', 'RUB')`, /must not have a subledger key/, SQLSTATE.checkViolation);
    const [left] = await test.db.query<{ n: bigint }>(`SELECT count(*)::int8 AS n FROM ledger_accounts WHERE subledger_key IN ('LN-900', 'LN-901', 'LN-902', 'LN-903')`);
    expect(left!.n).toBe(0n);
  });

  it('refuses an entry left with no postings or one, at commit', async () => {
    const before = await counts();
    await expect(test.db.transaction(async (tx) => { await rawEntry(tx); })).rejects.toThrow(/at least two postings/);
    await expect(test.db.transaction(async (tx) => {
      const id = await rawEntry(tx);
      await rawPostings(tx, id, [[cashId, 'RUB', 0n]]);
    })).rejects.toThrow();
    expect(await counts()).toEqual(before);
  });

  it('refuses an empty entry even when the deferred check is forced early', async () => {
    await expect(test.db.transaction(async (tx) => {
      await rawEntry(tx);
      await tx.exec('SET CONSTRAINTS ALL IMMEDIATE');
    })).rejects.toThrow(/at least two postings/);
  });

  it('refuses postings added to an entry after its transaction committed, even balanced ones', async () => {
    await expect(test.db.transaction(async (tx) => {
      await rawPostings(tx, committedEntry, [[cashId, 'RUB', 7n], [equityId, 'RUB', -7n]], '2026-11-24T10:00:00Z', 10);
    })).rejects.toThrow(/must be written with the entry/);
  });

  it('refuses an entry that claims another transaction, so old entries cannot be reopened', async () => {
    const [row] = await test.db.query<{ tx_id: bigint }>('SELECT tx_id FROM ledger_entries WHERE id = $1', [committedEntry]);
    await expect(test.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO ledger_entries (idempotency_key, content_hash, business_date, value_time, reason, kind, tx_id)
         VALUES ('forged', repeat('0', 64), '2026-11-24', now(), 'forged', 'manual', $1)`,
        [row!.tx_id],
      );
    })).rejects.toThrow(/check constraint/);
  });

  it('refuses an entry whose postings balance only across two statements', async () => {
    await expect(test.db.transaction(async (tx) => {
      const id = await rawEntry(tx);
      await rawPostings(tx, id, [[cashId, 'RUB', 5n]]);
      await rawPostings(tx, id, [[equityId, 'RUB', -5n]], '2026-11-24T10:00:00Z', 1);
    })).rejects.toThrow(/does not balance/);
  });

  it('refuses a posting whose value time differs from its entry\'s', async () => {
    await expect(test.db.transaction(async (tx) => {
      const id = await rawEntry(tx, '2026-11-24T10:00:00Z');
      await rawPostings(tx, id, [[cashId, 'RUB', 5n], [equityId, 'RUB', -5n]], '2020-01-01T00:00:00Z');
    })).rejects.toThrow(/value time/);
  });

  it('refuses an amount beyond the money limits', async () => {
    await expect(test.db.transaction(async (tx) => {
      const id = await rawEntry(tx);
      await rawPostings(tx, id, [[cashId, 'RUB', 10n ** 15n + 1n], [equityId, 'RUB', -(10n ** 15n + 1n)]]);
    })).rejects.toThrow(/check constraint/);
  });

  it('keeps the chart in the code equal to the chart in the database', async () => {
    expect((await readChart(test.db)).map((row) => row.code).sort()).toEqual([...CHART_CODES].sort());
  });
});

// ---------------------------------------------------------------------------------------------

const ACCOUNTS: Record<'RUB' | 'BTC', string[]> = {
  RUB: ['cash_correspondent', 'bank_equity', 'suspense', 'interest_income', 'loan_principal:LN-1', 'borrower_settlement:B-1', 'interest_receivable:LN-1'],
  BTC: ['collateral_held', 'collateral_pledged:LN-1', 'collateral_pledged:LN-2'],
};

function address(text: string) {
  const [chartCode, subledgerKey = ''] = text.split(':');
  return { chartCode: chartCode!, subledgerKey };
}

/** Balanced postings in one currency: 1 to 4 debits and one credit for their total. */
function postingsIn(currency: 'RUB' | 'BTC'): fc.Arbitrary<PostingDraft[]> {
  const debits = fc.array(fc.tuple(fc.constantFrom(...ACCOUNTS[currency]), fc.bigInt({ min: 1n, max: 10n ** 12n })), { minLength: 1, maxLength: 4 });
  return fc.tuple(debits, fc.constantFrom(...ACCOUNTS[currency])).map(([lines, creditAccount]) => {
    const total = lines.reduce((sum, [, amount]) => sum + amount, 0n);
    return [
      ...lines.map(([account, amount]) => ({ account: address(account), currency, amount })),
      { account: address(creditAccount), currency, amount: -total },
    ];
  });
}

/** An arbitrary balanced entry: in RUB, in BTC, or in both at once. */
const balancedPostings = fc.oneof(
  postingsIn('RUB'),
  postingsIn('BTC'),
  fc.tuple(postingsIn('RUB'), postingsIn('BTC')).map(([rub, btc]) => [...rub, ...btc]),
);

type Step =
  | { kind: 'post'; postings: PostingDraft[] }
  | { kind: 'replay'; pick: number }
  | { kind: 'reuse_key'; pick: number; postings: PostingDraft[] }
  | { kind: 'reverse'; pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: balancedPostings.map((postings) => ({ kind: 'post' as const, postings })) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'replay' as const, pick })) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), balancedPostings).map(([pick, postings]) => ({ kind: 'reuse_key' as const, pick, postings })) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'reverse' as const, pick })) },
);

describe('random sequences through the repository (property)', () => {
  beforeAll(async () => {
    for (const text of [...ACCOUNTS.RUB, ...ACCOUNTS.BTC].filter((a) => a.includes(':'))) {
      const opened = await transactOutcome(test.db, (tx) => openAccount(tx, address(text)));
      if (!opened.ok) throw new Error(opened.error.message);
    }
  });

  let run = 0;
  it('keeps every account equal to the model and every trial balance zero-sum', async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
      run += 1;
      const model = new Map<string, bigint>();
      const start = new Map<string, bigint>();
      for (const text of [...ACCOUNTS.RUB, ...ACCOUNTS.BTC]) {
        const account = (await findAccount(test.db, address(text)))!;
        const balance = await accountBalance(test.db, account, undefined);
        start.set(text, balance.debits - balance.credits);
      }
      const apply = (postings: readonly PostingDraft[], sign: bigint) => {
        for (const p of postings) {
          const key = p.account.subledgerKey ? `${p.account.chartCode}:${p.account.subledgerKey}` : p.account.chartCode;
          model.set(key, (model.get(key) ?? 0n) + sign * p.amount);
        }
      };
      const posted: Array<{ draft: EntryDraft; id: bigint; reversed: boolean }> = [];
      const before = await counts();
      let expectedEntries = 0n;

      for (const [index, s] of steps.entries()) {
        if (s.kind === 'post') {
          const draft: EntryDraft = { idempotencyKey: `prop-${run}-${index}`, kind: 'manual', businessDate: '2026-11-24', valueTime: undefined, reason: 'property', postings: s.postings };
          const result = await transactOutcome(test.db, (tx) => postEntries(tx, [draft]));
          expect(result.ok).toBe(true);
          if (result.ok) {
            expect(result.value[0]?.replayed).toBe(false);
            posted.push({ draft, id: result.value[0]!.entryId, reversed: false });
          }
          apply(s.postings, 1n);
          expectedEntries += 1n;
        } else if (posted.length > 0 && s.kind === 'replay') {
          const target = posted[s.pick % posted.length]!;
          const result = await transactOutcome(test.db, (tx) => postEntries(tx, [target.draft]));
          expect(result.ok && result.value[0]?.replayed && result.value[0].entryId).toBe(target.id);
        } else if (posted.length > 0 && s.kind === 'reuse_key') {
          const target = posted[s.pick % posted.length]!;
          const result = await transactOutcome(test.db, (tx) => postEntries(tx, [{ ...target.draft, reason: 'something else', postings: s.postings }]));
          expect(result.ok ? 'accepted' : result.error.code).toBe('idempotency_key_reused');
        } else if (posted.length > 0 && s.kind === 'reverse') {
          const target = posted[s.pick % posted.length]!;
          const result = await transactOutcome(test.db, (tx) => reverseEntry(tx, { entryId: target.id, idempotencyKey: `prop-${run}-${index}-rev`, businessDate: '2026-11-25', valueTime: undefined, reason: 'correction' }));
          if (target.reversed) {
            expect(result.ok ? 'accepted' : result.error.code).toBe('entry_already_reversed');
          } else {
            expect(result.ok).toBe(true);
            target.reversed = true;
            apply(target.draft.postings, -1n);
            expectedEntries += 1n;
          }
        }
      }

      const after = await counts();
      expect(after.entries - before.entries).toBe(expectedEntries);
      for (const [text, initial] of start) {
        const account = (await findAccount(test.db, address(text)))!;
        const balance = await accountBalance(test.db, account, undefined);
        expect(balance.debits - balance.credits).toBe(initial + (model.get(text) ?? 0n));
      }
      const trial = await trialBalance(test.db, undefined);
      for (const total of Object.values(trial.totals)) expect(total.debits).toBe(total.credits);
    }), { numRuns: 25 });
  });
});
