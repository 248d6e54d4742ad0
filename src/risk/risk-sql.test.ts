import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { loadCalendar } from '../calendar/load.js';
import { seedLoans } from '../loans/seed.js';
import { triggerPrice } from './ladder.js';
import { changesSince } from './risk-store.js';

let t: TestDatabase;
beforeAll(async () => { t = await openTestDatabase(); }, 60_000);
afterAll(async () => { await t.close(); });

describe('the trigger price in SQL', () => {
  it('equals ladder.ts triggerPrice for any exposure, haircut and threshold (property)', async () => {
    const cases = fc.sample(fc.record({
      debt: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 13n })),
      sats: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 21n * 10n ** 14n })),
      haircut: fc.bigInt({ min: 0n, max: 999_999n }),
      threshold: fc.bigInt({ min: 1n, max: 1_000_000n }),
    }), 2_000);
    const rows = await t.db.query<{ price: bigint }>(
      `SELECT risk_trigger(d, s, h, th) AS price FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[]) WITH ORDINALITY AS c (d, s, h, th, n) ORDER BY n`,
      [cases.map((c) => c.debt), cases.map((c) => c.sats), cases.map((c) => c.haircut), cases.map((c) => c.threshold)]);
    expect(rows.map((r) => r.price)).toEqual(cases.map((c) => triggerPrice({ debt: c.debt, sats: c.sats }, c.threshold, c.haircut)));
  });
});

describe('the changed exposures', () => {
  it('read in pages of any size are the rows of loan_risk after the mark, in seq order, each once', async () => {
    await seedLoans(t.db, { count: 23, disbursedOn: '2026-01-15', calendar: await loadCalendar(), satsRange: { min: 15_000_000n, max: 60_000_000n } });
    await t.db.query(`UPDATE loan_risk SET state = 'warning' WHERE loan_id % 5 = 0`);
    const expected = (await t.db.query<{ loan_id: bigint; live: boolean; state: string; debt_kopecks: bigint; sats: bigint; product_code: string; product_version: number; seq: bigint }>('SELECT * FROM loan_risk ORDER BY seq'))
      .map((r) => ({ loanId: r.loan_id, live: r.live, state: r.state, debt: r.debt_kopecks, sats: r.sats, ladderKey: `${r.product_code}:${r.product_version}`, seq: r.seq }));
    expect(expected).toHaveLength(23);
    expect(expected.some((r) => r.state === 'warning')).toBe(true);
    for (const page of [1, 7, 23, 1_000]) {
      const all = await changesSince(t.db, -1n, page);
      expect(all.rows, `pages of ${page}`).toEqual(expected);
      expect(all.seq).toBe(expected.at(-1)!.seq);
      const rest = await changesSince(t.db, expected[9]!.seq, page);
      expect(rest.rows).toEqual(expected.slice(10));
    }
    expect(await changesSince(t.db, expected.at(-1)!.seq)).toEqual({ rows: [], seq: expected.at(-1)!.seq });
  });
});
