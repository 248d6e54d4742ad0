import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepared, preparedName, transactOutcome } from './database.js';
import { openTestDatabase, testDatabaseUrl, type TestDatabase } from '../test-support/database.js';

let test: TestDatabase;
beforeAll(async () => {
  test = await openTestDatabase({ migrated: false });
  await test.db.exec('CREATE TABLE probe (id int PRIMARY KEY, amount bigint, day date, at timestamptz, ratio numeric)');
});
afterAll(() => test.close());

describe(`values cross the driver exactly (${testDatabaseUrl ? 'postgres' : 'pglite'})`, () => {
  it('reads int8 as bigint, keeps 2^63 - 1 exact both ways, dates as plain days', async () => {
    const max = 9_223_372_036_854_775_807n;
    await test.db.query('INSERT INTO probe VALUES (1, $1, $2, $3, $4)', [max, '2024-02-29', new Date('2026-11-24T10:00:00Z'), '0.1']);
    const [row] = await test.db.query<{ amount: bigint; day: string; at: Date; ratio: string }>('SELECT amount, day, at, ratio FROM probe WHERE id = 1');
    expect(row?.amount).toBe(max);
    expect(row?.day).toBe('2024-02-29');
    expect(row?.at.toISOString()).toBe('2026-11-24T10:00:00.000Z');
    expect(row?.ratio).toBe('0.1');
    const [sum] = await test.db.query<{ total: bigint; count: bigint }>('SELECT $1::int8 + 1 AS total, count(*) AS count FROM probe', [max - 1n]);
    expect(sum?.total).toBe(max);
    expect(sum?.count).toBe(1n);
    const [array] = await test.db.query<{ ids: bigint[] }>('SELECT ARRAY[1, 9007199254740993]::int8[] AS ids');
    expect(array?.ids).toEqual([1n, 9_007_199_254_740_993n]);
  });
});

describe('transactions', () => {
  it('roll back on a thrown error', async () => {
    await expect(test.db.transaction(async (tx) => {
      await tx.query('INSERT INTO probe (id) VALUES (2)');
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(await test.db.query('SELECT id FROM probe WHERE id = 2')).toEqual([]);
  });

  it('roll back a business rejection and hand it back as a value', async () => {
    const outcome = await transactOutcome(test.db, async (tx) => {
      await tx.query('INSERT INTO probe (id) VALUES (3)');
      return { ok: false as const, error: 'refused' };
    });
    expect(outcome).toEqual({ ok: false, error: 'refused' });
    expect(await test.db.query('SELECT id FROM probe WHERE id = 3')).toEqual([]);
  });

  it('never let another caller\'s statement run inside an open transaction', async () => {
    // The transaction writes a row, waits, then rolls back. A query issued meanwhile must not see
    // the row: on PGlite that proves the mutex queued it (one connection, one session); on
    // PostgreSQL, isolation does the same.
    let release: () => void = () => undefined;
    const written = new Promise<void>((resolve) => { release = resolve; });
    const transaction = test.db.transaction(async (tx) => {
      await tx.query('INSERT INTO probe (id) VALUES (4)');
      release();
      await new Promise((resolve) => setTimeout(resolve, 100));
      throw new Error('roll back');
    }).catch(() => 'rolled back');
    await written;
    const seen = await test.db.query('SELECT id FROM probe WHERE id = 4');
    expect(seen).toEqual([]);
    expect(await transaction).toBe('rolled back');
  });

  it('run many concurrent transactions without interleaving their statements', async () => {
    await test.db.exec('CREATE TABLE counter (n int NOT NULL); INSERT INTO counter VALUES (0)');
    // Read-then-write in each transaction; with interleaving (or lost updates) the total would
    // come out short. FOR UPDATE makes PostgreSQL serialise them the same way.
    await Promise.all(Array.from({ length: 25 }, () => test.db.transaction(async (tx) => {
      const [row] = await tx.query<{ n: number }>('SELECT n FROM counter FOR UPDATE');
      await new Promise((resolve) => setTimeout(resolve, 1));
      await tx.query('UPDATE counter SET n = $1', [(row?.n ?? 0) + 1]);
    })));
    expect(await test.db.query('SELECT n FROM counter')).toEqual([{ n: 25 }]);
  });
});

describe('prepared statements', () => {
  const sql = prepared('SELECT id, amount FROM probe WHERE id = $1');

  it('are named once per text and answer as any statement does, on both engines', async () => {
    expect(preparedName(sql)).toMatch(/^zalog_\d+$/);
    expect(prepared('SELECT id, amount FROM probe WHERE id = $1')).toBe(sql);
    expect(preparedName('SELECT id, amount FROM probe WHERE id = $2')).toBeUndefined();
    await test.db.query('INSERT INTO probe (id, amount) VALUES (77, 9223372036854775807)');
    for (let i = 0; i < 3; i += 1) expect(await test.db.query(sql, [77])).toEqual([{ id: 77, amount: 9_223_372_036_854_775_807n }]);
    expect(await test.db.query(sql, [78])).toEqual([]);
  });

  it.skipIf(!testDatabaseUrl)('stay prepared on the PostgreSQL connection that ran them (planned once, not per call)', async () => {
    const names = await test.db.transaction(async (tx) => {
      await tx.query(sql, [77]);
      await tx.query(sql, [77]);
      return (await tx.query<{ name: string }>('SELECT name FROM pg_prepared_statements')).map((r) => r.name);
    });
    expect(names).toContain(preparedName(sql));
  });
});
