import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kopecksOf, ltvAt, percentMillionths, percentText, rungAt } from './ltv';

describe('the what-if arithmetic', () => {
  it('reads the server\'s strings exactly', () => {
    expect(percentMillionths('62.5')).toBe(625_000n);
    expect(percentMillionths('70')).toBe(700_000n);
    expect(kopecksOf('6666666.66')).toBe(666_666_666n);
    expect(kopecksOf('5')).toBe(500n);
    expect(() => kopecksOf('1e5')).toThrow();
  });

  it('puts 1,000,000 RUB against 0.25 BTC at 50% at 8,000,000 RUB/BTC and in the call at 5,714,285.71', () => {
    const thresholds = { warning: 600_000n, marginCall: 700_000n, liquidation: 800_000n };
    expect(ltvAt(100_000_000n, 25_000_000n, 800_000_000n, 0n)).toBe(500_000n);
    expect(rungAt(100_000_000n, 25_000_000n, 571_428_571n, 0n, thresholds)).toBe('margin_call');
    expect(rungAt(100_000_000n, 25_000_000n, 571_428_572n, 0n, thresholds)).toBe('warning');
    // Just above the margin-call price the LTV is 69.99999...%: shown rounded up as 70, yet not in the call.
    expect(ltvAt(100_000_000n, 25_000_000n, 571_428_572n, 0n)).toBe(700_000n);
    expect(percentText(700_001n)).toBe('70.0001');
    expect(percentText(719_425n)).toBe('71.9425');
    expect(ltvAt(1n, 0n, 1n, 0n)).toBeNull();
  });

  it('counts pledged machines beside the BTC, as the server does (its worked example in ladder.test.ts)', () => {
    const thresholds = { warning: 600_000n, marginCall: 700_000n, liquidation: 800_000n };
    // 1,000,000 RUB against 0.25 BTC and 500,000 of machines: 40% at 8,000,000; the call at 3,714,285.71.
    expect(ltvAt(100_000_000n, 25_000_000n, 800_000_000n, 0n, 50_000_000n)).toBe(400_000n);
    expect(rungAt(100_000_000n, 25_000_000n, 371_428_571n, 0n, thresholds, 50_000_000n)).toBe('margin_call');
    expect(rungAt(100_000_000n, 25_000_000n, 371_428_572n, 0n, thresholds, 50_000_000n)).toBe('warning');
    expect(ltvAt(100_000_000n, 0n, 800_000_000n, 0n, 200_000_000n)).toBe(500_000n);
  });

  it('rounds up: the true LTV is never above what the bar shows (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 10n }), fc.bigInt({ min: 1n, max: 10n ** 11n }), fc.bigInt({ min: 0n, max: 500_000n }), (debt, sats, price, haircut) => {
      const ltv = ltvAt(debt, sats, price, haircut)!;
      const value = sats * price * (1_000_000n - haircut);
      expect(ltv * value >= debt * 10n ** 20n).toBe(true);
      expect((ltv - 1n) * value < debt * 10n ** 20n).toBe(true);
    }));
  });
});
