import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../db/migrate.js';
import { openPglite } from '../db/pglite.js';
import { postEntries } from '../ledger/ledger-repository.js';
import { testDatabaseUrl } from '../test-support/database.js';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';

/**
 * `zalog ledger trial-balance` and `zalog loans reconcile` on a book a superuser broke with a
 * one-sided posting (issue 16, item 3): both must say so and exit 1, in text and in JSON.
 */
describe.skipIf(testDatabaseUrl !== undefined)('the trial balance and the reconciliation of a broken book', () => {
  let dataDir: string;
  beforeAll(async () => { dataDir = await mkdtemp(path.join(tmpdir(), 'zalog-ledger-')); });
  afterAll(async () => { await rm(dataDir, { recursive: true, force: true }); });

  const zalog = (args: string[]) => runZalog(args, { dataDir });

  it('balances, then flags a one-sided posting in its section and exits 1', async () => {
    const db = await openPglite({ dataDir: path.join(dataDir, 'pglite') });
    await migrate(db);
    const posted = await db.transaction((tx) => postEntries(tx, [
      { idempotencyKey: 'capital', kind: 'manual', businessDate: '2026-11-24', valueTime: new Date('2026-11-24T10:00:00Z'), reason: 'capital', postings: [
        { account: { chartCode: 'cash_correspondent', subledgerKey: '' }, currency: 'RUB', amount: 100_000n }, { account: { chartCode: 'bank_equity', subledgerKey: '' }, currency: 'RUB', amount: -100_000n }] },
    ]));
    expect(posted.ok).toBe(true);
    await db.close();

    const good = await zalog(['ledger', 'trial-balance']);
    expect(good.code, good.output).toBe(0);
    expect(good.output).toContain('On-balance accounts, RUB');
    expect(good.output).toContain('the books balance');

    // What a superuser can do past the triggers: one posting of 1,000.00 RUB with no other side.
    const forced = await openPglite({ dataDir: path.join(dataDir, 'pglite') });
    await forced.transaction(async (tx) => {
      await tx.exec('SET LOCAL session_replication_role = replica');
      const [entry] = await tx.query<{ id: bigint }>(`INSERT INTO ledger_entries (idempotency_key, content_hash, business_date, value_time, reason, kind) VALUES ('forced', repeat('0', 64), '2026-11-25', now(), 'forced', 'manual') RETURNING id`);
      await tx.query(`INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount, value_time) SELECT $1, 0, id, 'RUB', 100000, now() FROM ledger_accounts WHERE chart_code = 'cash_correspondent'`, [entry!.id]);
    });
    await forced.close();

    const text = await zalog(['ledger', 'trial-balance']);
    expect(text.code).toBe(1);
    expect(text.output).toMatch(/DOES NOT BALANCE: debits exceed credits by 1000\.00 RUB/);
    expect(text.output).toContain('THE BOOKS DO NOT BALANCE');
    const json = await zalog(['ledger', 'trial-balance', '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.output);
    expect(report.balanced).toBe(false);
    expect(report.sections.find((s: { section: string; currency: string }) => s.section === 'on_balance' && s.currency === 'RUB')).toMatchObject({ balanced: false, totals: { difference: '1000.00' } });
    const reconcile = await zalog(['loans', 'reconcile']);
    expect(reconcile.code).toBe(1);
    expect(JSON.parse(reconcile.output)).toMatchObject({ agree: false, mismatches: [{ loan: 'ledger', what: 'unbalanced on_balance RUB', ledgerSays: '1000.00' }] });
  }, PROCESS_TEST_TIMEOUT_MS);
});
