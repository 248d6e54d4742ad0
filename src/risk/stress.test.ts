import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PriceKopecksPerBtc } from '../money/money.js';
import { nextState, type Ladder, type RiskState } from './ladder.js';
import type { LiquidationTerms } from './liquidation.js';
import { parseShock, shockedPrice, stressBook, type StressLoan } from './stress.js';
import { DEFAULT_SLIPPAGE } from './venues.js';

const M = 10_000n;
const BTC = 100_000_000n;
const LADDER: Ladder = { warning: 60n * M, marginCall: 70n * M, acceleratedCall: 75n * M, liquidation: 80n * M, band: 5n * M, haircut: 0n, cureHours: 48, acceleratedCureHours: 4 };
const SALE: LiquidationTerms = { targetLtv: 50n * M, haircut: 0n, feeMillionths: 1n * M, maxDiscountMillionths: 5n * M, minimumRemainingKopecks: 10_000_000n, surplus: 'btc', slippageAllowanceMillionths: 0n };
const P = 200_000_000n as PriceKopecksPerBtc; // 2,000,000.00 RUB/BTC
const loan = (id: bigint, debtRub: bigint, sats: bigint, state: RiskState): StressLoan => ({ id, state, exposure: { debt: debtRub * 100n, sats }, ladder: LADDER, sale: SALE, pastMaturity: false });

describe('the shock', () => {
  it('reads as people write it, and refuses -100% and worse', () => {
    expect(parseShock('-30%')).toBe(-300_000n);
    expect(parseShock('-30')).toBe(-300_000n);
    expect(parseShock('-12.5%')).toBe(-125_000n);
    expect(parseShock('+10%')).toBe(100_000n);
    expect(parseShock('0')).toBe(0n);
    for (const bad of ['-100%', '-150', 'abc', '-30%%', '', '1e3', '-0.00001', '1001']) expect(parseShock(bad), bad).toBeUndefined();
  });

  it('moves the price by the shock, rounded down to the kopeck', () => {
    expect(shockedPrice(P, -300_000n)).toBe(140_000_000n);
    expect(shockedPrice(333n as PriceKopecksPerBtc, -500_000n)).toBe(166n);
    expect(() => shockedPrice(P, -1_000_000n)).toThrow(RangeError);
  });
});

describe('a stressed book (hand-computed)', () => {
  // At 2,000,000 RUB/BTC, -30% is 1,400,000: A (50%) goes to 71.4%, a margin call; B (60%) to
  // 85.7%, liquidation; C (100%, already in liquidation) stays, and even all of its BTC is short.
  const book = [loan(1n, 1_000_000n, BTC, 'healthy'), loan(2n, 1_200_000n, BTC, 'warning'), loan(3n, 2_000_000n, BTC, 'liquidation'), loan(4n, 200_000n, BTC, 'healthy')];
  const result = stressBook(book, { price: P, shockMillionths: -300_000n, venue: DEFAULT_SLIPPAGE, depthSatsPerHour: BTC });

  it('counts the loans per state before and after, and the moves', () => {
    expect(result.shocked).toBe(140_000_000n);
    expect(result.states).toEqual({ healthy: { before: 2, after: 1 }, warning: { before: 1, after: 0 }, margin_call: { before: 0, after: 1 }, accelerated_call: { before: 0, after: 0 }, liquidation: { before: 1, after: 2 } });
    expect(result.moves).toEqual([{ from: 'healthy', to: 'margin_call', loans: 1 }, { from: 'warning', to: 'liquidation', loans: 1 }]);
  });

  it('sells what the liquidation plan sells, at the venue model, and counts the shortfall', () => {
    const l = result.liquidation;
    expect(l).toMatchObject({ loans: 2, partial: 1, full: 1, debtKopecks: 320_000_000n, unsoldSats: 0n, loansWithShortfall: 1 });
    // B: (1,200,000 - 0.5 x 1,400,000) / (1,400,000 x (1 - 1.1% - 0.5)) = 0.73035350 BTC (rounded up);
    // C: all 1 BTC. Fills at 1,397,900 and 1,396,877.50 (B), 1,397,900 and 1,396,500 (C).
    expect(l.satsPlanned).toBe(173_035_350n);
    expect(l.satsSold).toBe(173_035_350n);
    expect(l.grossKopecks).toBe(102_072_562n + 139_720_000n);
    expect(l.netKopecks).toBe(100_949_764n + 138_183_080n);
    // C owed 2,000,000.00 and its whole BTC raised 1,381,830.80 net.
    expect(l.shortfallKopecks).toBe(61_816_920n);
  });

  it('clears the queue worst LTV first at the depth an hour', () => {
    // C (worst) sells 1 BTC in hour 1; B's 0.73 BTC in hour 2.
    expect(result.queue.hoursToClear).toBe(2);
    expect(result.queue.timeline).toEqual([
      { hour: 1, loansWaiting: 1, satsWaiting: 73_035_350n, satsSold: BTC, netProceedsKopecks: 138_183_080n },
      { hour: 2, loansWaiting: 0, satsWaiting: 0n, satsSold: 173_035_350n, netProceedsKopecks: 239_132_844n },
    ]);
  });

  it('a sale too large for the venue model stops at the floor; the shortfall counts the rest valued at the floor', () => {
    // 40 BTC owing 60,000,000 RUB (107% at the shocked 1,400,000): the model fills 24.5 BTC before
    // its price would cross the floor (1,330,000); the other 15.5 BTC at the floor, after 1.1% of
    // fees, would not cover what is left either.
    const big = stressBook([loan(9n, 60_000_000n, 40n * BTC, 'liquidation')], { price: P, shockMillionths: -300_000n, venue: DEFAULT_SLIPPAGE, depthSatsPerHour: BTC });
    const l = big.liquidation;
    expect(l.satsPlanned).toBe(40n * BTC);
    expect(l.satsSold).toBe(2_450_000_000n);
    expect(l.unsoldSats).toBe(1_550_000_000n);
    const left = 6_000_000_000n - l.netKopecks;
    const rest = (1_550_000_000n * 133_000_000n * 989_000n) / (100_000_000n * 1_000_000n);
    expect(l.shortfallKopecks).toBe(left - rest);
    expect(l.loansWithShortfall).toBe(1);
  });

  it('a loan past maturity is sold in full', () => {
    const past = stressBook([{ ...book[1]!, pastMaturity: true }], { price: P, shockMillionths: -300_000n, venue: DEFAULT_SLIPPAGE, depthSatsPerHour: BTC });
    expect(past.liquidation.full).toBe(1);
  });
});

describe('properties', () => {
  const arbitraryBook = fc.array(fc.record({
    debt: fc.bigInt({ min: 1n, max: 5_000_000_00n }),
    sats: fc.bigInt({ min: 1n, max: 5n * BTC }),
  }), { minLength: 1, maxLength: 40 }).map((rows) => rows.map((r, i): StressLoan => ({
    // Each loan starts where the engine would have put it at P (climbed from healthy).
    id: BigInt(i + 1), state: nextState('healthy', r, P, LADDER), exposure: r, ladder: LADDER, sale: SALE, pastMaturity: false,
  })));

  it('no shock moves no loan; a deeper shock never puts fewer loans into liquidation; sales stay within the collateral and the debt', () => {
    fc.assert(fc.property(arbitraryBook, fc.integer({ min: 0, max: 900_000 }), fc.integer({ min: 0, max: 900_000 }), (book, a, b) => {
      const run = (shock: number) => stressBook(book, { price: P, shockMillionths: -BigInt(shock), venue: DEFAULT_SLIPPAGE, depthSatsPerHour: BTC / 3n });
      expect(run(0).moves).toEqual([]);
      const [shallow, deep] = [run(Math.min(a, b)), run(Math.max(a, b))];
      expect(deep.states.liquidation.after).toBeGreaterThanOrEqual(shallow.states.liquidation.after);
      for (const r of [shallow, deep]) {
        const total = Object.values(r.states).reduce((sum, s) => sum + s.after, 0);
        expect(total).toBe(book.length);
        const l = r.liquidation;
        expect(l.satsSold <= l.satsPlanned && l.netKopecks <= l.grossKopecks && l.shortfallKopecks <= l.debtKopecks && l.loansWithShortfall <= l.loans).toBe(true);
        // The loans sold are each at or under the collateral they pledged.
        const pledged = book.filter((loan) => nextState(loan.state, loan.exposure, r.shocked, LADDER) === 'liquidation').reduce((sum, loan) => sum + loan.exposure.sats, 0n);
        expect(l.satsPlanned <= pledged).toBe(true);
        const last = r.queue.timeline.at(-1);
        if (r.queue.hoursToClear <= 72) expect(last?.satsWaiting ?? 0n).toBe(0n);
        for (let i = 1; i < r.queue.timeline.length; i += 1) expect(r.queue.timeline[i]!.satsSold >= r.queue.timeline[i - 1]!.satsSold).toBe(true);
      }
    }), { numRuns: 300 });
  });
});
