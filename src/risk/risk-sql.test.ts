import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { triggerPrice } from './ladder.js';

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
