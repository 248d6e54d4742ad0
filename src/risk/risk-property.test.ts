import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import { seedLoans } from '../loans/seed.js';
import type { PriceKopecksPerBtc } from '../money/money.js';
import { openTestDatabase } from '../test-support/database.js';
import { nextState, type RiskState } from './ladder.js';
import { RiskEngine } from './risk-engine.js';
import { loadLadders, PgRiskStore } from './risk-store.js';

/**
 * The property, on the database: after any random sequence of prices, accruals,
 * repayments and top-ups (written as the loan transactions write them, so the same triggers
 * refresh the exposures), the state of every loan in `loan_risk` is what a brute-force rescan
 * decides: each loan's debt and collateral read from the loans and positions themselves, and the
 * ladder's rule applied to every loan after every step.
 */

const calendar = await loadCalendar();
const LOANS = 40;
type Op =
  | { kind: 'price'; percent: number }
  | { kind: 'accrue'; every: number; kopecks: number }
  | { kind: 'repay'; every: number; kopecks: number }
  | { kind: 'topUp'; every: number; sats: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('price' as const), percent: fc.integer({ min: 40, max: 140 }) }) },
  fc.record({ kind: fc.constant('accrue' as const), every: fc.integer({ min: 1, max: 5 }), kopecks: fc.integer({ min: 1, max: 20_000_000 }) }),
  fc.record({ kind: fc.constant('repay' as const), every: fc.integer({ min: 1, max: 5 }), kopecks: fc.integer({ min: 1, max: 30_000_000 }) }),
  fc.record({ kind: fc.constant('topUp' as const), every: fc.integer({ min: 1, max: 5 }), sats: fc.integer({ min: 1, max: 20_000_000 }) }),
);

describe('the engine on the database against a full rescan', () => {
  it('keeps every loan in the state the rescan decides (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
      const t = await openTestDatabase();
      try {
        const db = t.db;
        await seedLoans(db, { count: LOANS, disbursedOn: '2026-01-15', calendar, satsRange: { min: 15_000_000n, max: 60_000_000n } });
        const ladder = (await loadLadders(db)).get('SEED:1')!;
        const engine = new RiskEngine(db, new PgRiskStore(db, calendar));
        let price = 800_000_000n;
        await engine.onPrice({ price: price as PriceKopecksPerBtc, cycleId: undefined, at: new Date() });
        const model = new Map<bigint, RiskState>();
        const rescan = async () => {
          const rows = await db.query<{ id: bigint; debt: bigint; sats: bigint }>(
            `SELECT l.id, l.principal + l.principal_overdue + l.interest + l.interest_overdue + l.penalty + l.fee AS debt,
                    (SELECT coalesce(sum(c.sats), 0)::int8 FROM collateral_positions c WHERE c.loan_id = l.id AND c.state IN ('confirmed', 'pledged')) AS sats
               FROM loans l WHERE l.status IN ('active', 'overdue') ORDER BY l.id`);
          for (const r of rows) model.set(r.id, nextState(model.get(r.id) ?? 'healthy', { debt: r.debt, sats: r.sats }, price, ladder));
        };
        await rescan();
        for (const step of ops) {
          if (step.kind === 'price') {
            price = (800_000_000n * BigInt(step.percent)) / 100n;
            await rescan();
            await engine.onPrice({ price: price as PriceKopecksPerBtc, cycleId: undefined, at: new Date() });
            continue;
          }
          if (step.kind === 'accrue') await db.query('UPDATE loan_balances SET interest = interest + $1 WHERE loan_id % $2 = 0', [step.kopecks, step.every]);
          if (step.kind === 'repay') await db.query('UPDATE loan_balances SET principal = greatest(principal - $1, 1) WHERE loan_id % $2 = 0', [step.kopecks, step.every]);
          if (step.kind === 'topUp') {
            await db.query(`INSERT INTO collateral_positions (loan_id, sats, state, declared_at, declared_by, confirmed_at)
                            SELECT id, $1, 'pledged', now(), (SELECT id FROM users ORDER BY id LIMIT 1), now() FROM loans WHERE id % $2 = 0`, [step.sats, step.every]);
          }
          await rescan();
          await engine.catchUp(new Date());
        }
        const stored = await db.query<{ loan_id: bigint; state: RiskState }>('SELECT loan_id, state FROM loan_risk WHERE live ORDER BY loan_id');
        expect(new Map(stored.map((r) => [r.loan_id, r.state]))).toEqual(model);
        const [counts] = await db.query<{ transitions: bigint; outbox: bigint }>('SELECT (SELECT count(*) FROM risk_transitions)::int8 AS transitions, (SELECT count(*) FROM risk_outbox)::int8 AS outbox');
        expect(counts!.outbox).toBe(2n * counts!.transitions);
      } finally {
        await t.close();
      }
    }), { numRuns: 8 });
  }, 300_000);
});
