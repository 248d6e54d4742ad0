import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays } from '../calendar/business.js';
import { accrue, interestDayByDay, interestForSpan, rateFromPercent, UNITS_PER_KOPECK } from './interest.js';

const day = fc.integer({ min: 0, max: 3_650 }).map((n) => addDays('2026-01-01', n));

describe('interest on actual days', () => {
  it('counts each day at its own year\'s length: 365 in 2027, 366 in 2028', () => {
    // 1,500,000.00 at 23.5%: 31 days of 2027 = 29,938.35616...; of 2028 = 29,856.55737...
    expect(interestForSpan(150_000_000n, 235_000n, '2027-03-01', '2027-04-01').kopecks).toBe(2_993_835n);
    expect(interestForSpan(150_000_000n, 235_000n, '2028-03-01', '2028-04-01').kopecks).toBe(2_985_655n);
    // A span across New Year, days after the 15th to the 17th inclusive: 16 days at 1/365 and 17
    // at 1/366 = 1,545,205.48 + 1,637,295.08.
    expect(interestForSpan(150_000_000n, 235_000n, '2027-12-15', '2028-01-17').kopecks).toBe(3_182_500n);
    expect(interestForSpan(150_000_000n, 235_000n, '2028-02-28', '2028-03-01').kopecks).toBe(interestForSpan(150_000_000n, 235_000n, '2028-02-28', '2028-02-29').kopecks * 2n);
  });

  it('accrued day by day equals the span in one step, to the kopeck and the remainder (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: 1_000_000n }), day, fc.integer({ min: 0, max: 800 }), fc.bigInt({ min: 0n, max: UNITS_PER_KOPECK - 1n }),
      (principal, rate, from, length, remainder) => {
        const to = addDays(from, length);
        expect(interestDayByDay(principal, rate, from, to, remainder)).toEqual(interestForSpan(principal, rate, from, to, remainder));
      }), { numRuns: 200 });
  });

  it('splits any span at any day without losing or gaining a kopeck (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: 1_000_000n }), day, fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 400 }),
      (principal, rate, from, a, b) => {
        const middle = addDays(from, a);
        const to = addDays(middle, b);
        const first = interestForSpan(principal, rate, from, middle);
        const second = interestForSpan(principal, rate, middle, to, first.remainder);
        expect({ kopecks: first.kopecks + second.kopecks, remainder: second.remainder }).toEqual(interestForSpan(principal, rate, from, to));
      }), { numRuns: 300 });
  });

  it('reads rates as exact millionths and refuses the rest', () => {
    expect(rateFromPercent('23.5')).toBe(235_000n);
    expect(rateFromPercent('0.0001')).toBe(1n);
    expect(['23.5%', '-1', '1e1', '23.55555', '1000'].map(rateFromPercent)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(() => accrue(UNITS_PER_KOPECK, 0n)).toThrow(RangeError);
  });
});
