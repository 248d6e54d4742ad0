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
  it('equals ladder.ts triggerPrice for any exposure, machines, haircut and threshold (property)', async () => {
    const cases = fc.sample(fc.record({
      debt: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 13n })),
      sats: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 21n * 10n ** 14n })),
      // Machines counted beside the BTC: none, around the debt (where they alone may cover it), or any.
      equipment: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 13n }), fc.bigInt({ min: 1n, max: 2n * 10n ** 6n })),
      haircut: fc.bigInt({ min: 0n, max: 999_999n }),
      threshold: fc.bigInt({ min: 1n, max: 1_000_000n }),
    }), 3_000);
    const rows = await t.db.query<{ price: bigint }>(
      `SELECT risk_trigger(d, s, h, th, e) AS price FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[]) WITH ORDINALITY AS c (d, s, h, th, e, n) ORDER BY n`,
      [cases.map((c) => c.debt), cases.map((c) => c.sats), cases.map((c) => c.haircut), cases.map((c) => c.threshold), cases.map((c) => c.equipment)]);
    expect(rows.map((r) => r.price)).toEqual(cases.map((c) => triggerPrice({ debt: c.debt, sats: c.sats, equipment: c.equipment }, c.threshold, c.haircut)));
    // The machines covered some of these and not others: both branches were compared.
    expect(rows.some((r, i) => r.price === 0n && cases[i]!.debt > 0n && cases[i]!.equipment > 0n)).toBe(true);
    expect(rows.some((r, i) => r.price > 0n && cases[i]!.equipment > 0n && cases[i]!.sats > 0n)).toBe(true);
  });
});

describe('the changed exposures', () => {
  it('read in pages of any size are the rows of loan_risk after the mark, in seq order, each once', async () => {
    await seedLoans(t.db, { count: 23, disbursedOn: '2026-01-15', calendar: await loadCalendar(), satsRange: { min: 15_000_000n, max: 60_000_000n } });
    await t.db.query(`UPDATE loan_risk SET state = 'warning' WHERE loan_id % 5 = 0`);
    // Some loans count machines beside their BTC (the second layer), read back exactly.
    await t.db.query(`UPDATE loan_risk SET equipment_kopecks = loan_id * 123456789 WHERE loan_id % 3 = 0`);
    const expected = (await t.db.query<{ loan_id: bigint; live: boolean; state: string; debt_kopecks: bigint; sats: bigint; equipment_kopecks: bigint; product_code: string; product_version: number; seq: bigint }>('SELECT * FROM loan_risk ORDER BY seq'))
      .map((r) => ({ loanId: r.loan_id, live: r.live, state: r.state, debt: r.debt_kopecks, sats: r.sats, equipment: r.equipment_kopecks, ladderKey: `${r.product_code}:${r.product_version}`, seq: r.seq }));
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
