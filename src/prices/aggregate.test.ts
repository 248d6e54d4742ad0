import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fraction, parseDecimalQuote, formatFraction, type PriceKopecksPerBtc } from '../money/money.js';
import { aggregate, median, toCandidates, type Candidate, type Quote } from './aggregate.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const config = { maxQuoteAgeSeconds: 60, outlierBps: 200n, quorum: 3 };

function candidate(source: string, kopecks: bigint, ageSeconds = 0): Candidate {
  return { source, pair: 'BTC/RUB', priceKopecks: kopecks as PriceKopecksPerBtc, observedAt: new Date(NOW.getTime() - ageSeconds * 1000) };
}

function quote(source: string, pair: Quote['pair'], text: string): Quote {
  const parsed = parseDecimalQuote(text);
  if (!parsed.ok) throw new Error(text);
  return { source, pair, price: parsed.value, observedAt: NOW, receivedAt: NOW };
}

describe('exact quotes', () => {
  it('parse exchange decimals exactly and refuse anything else', () => {
    expect(parseDecimalQuote('43567.12000000')).toEqual({ ok: true, value: fraction(4_356_712n, 100n) });
    for (const bad of ['-1', '1e5', '0', '0.000', 'NaN', '', ' 1', '1,5', 43567.12]) expect(parseDecimalQuote(bad).ok).toBe(false);
    expect(formatFraction(fraction(2n, 3n), 4)).toBe('0.6667');
  });

  it('cross BTC/USD with USD/RUB to kopecks per BTC, rounding half-even once', () => {
    const usdRub = fraction(916_715n, 10_000n); // 91.6715
    const [crossed] = toCandidates([quote('kraken', 'BTC/USD', '60000.5')], usdRub);
    // 60000.5 x 91.6715 = 5,500,335.83575 RUB -> 550,033,583.575 kopecks -> 550,033,584 (half-even: .575 rounds up)
    expect(crossed?.priceKopecks).toBe(550_033_584n);
    const [direct] = toCandidates([quote('exmo', 'BTC/RUB', '5500000.005')], usdRub);
    expect(direct?.priceKopecks).toBe(550_000_000n); // .5 kopeck -> even
    expect(toCandidates([quote('kraken', 'BTC/USD', '60000')], undefined)).toEqual([]);
  });
});

describe('aggregation', () => {
  it('accepts the median of agreeing fresh sources', () => {
    const result = aggregate([candidate('a', 100_000n), candidate('b', 100_100n), candidate('c', 99_900n)], NOW, config);
    expect(result).toMatchObject({ ok: true, priceKopecks: 100_000n });
  });

  it('rejects an outlier and records why', () => {
    const result = aggregate([candidate('a', 100_000n), candidate('b', 100_100n), candidate('c', 99_900n), candidate('liar', 150_000n)], NOW, config);
    expect(result.ok && result.priceKopecks).toBe(100_000n);
    expect(result.verdicts.find((v) => v.source === 'liar')?.status).toBe('outlier');
  });

  it('refuses without a quorum of distinct sources', () => {
    const twoSources = aggregate([candidate('a', 100_000n), candidate('a', 100_000n), candidate('b', 100_000n)], NOW, config);
    expect(twoSources).toMatchObject({ ok: false, reason: 'no_quorum' });
    expect(aggregate([], NOW, config).ok).toBe(false);
  });

  it('never counts a stale quote', () => {
    const result = aggregate([candidate('a', 100_000n), candidate('b', 100_000n), candidate('old', 100_000n, 61)], NOW, config);
    expect(result.ok).toBe(false);
    expect(result.verdicts.find((v) => v.source === 'old')?.status).toBe('stale');
  });

  it('takes the mean of the middle two for an even count', () => {
    expect(median([1n, 2n, 3n, 4n])).toBe(2n); // 2.5 -> 2 (half-even)
    expect(median([1n, 4n, 3n, 6n])).toBe(4n); // 3.5 -> 4
  });

  const honestPrices = fc.array(fc.bigInt({ min: 500_000_000n, max: 505_000_000n }), { minLength: 3, maxLength: 7 });
  const anyPrice = fc.bigInt({ min: 1n, max: 10n ** 15n });

  it('one source, however wrong, cannot move the price beyond the honest sources\' range (property)', () => {
    fc.assert(fc.property(honestPrices, anyPrice, fc.integer({ min: 0, max: 120 }), (honest, lie, liarAge) => {
      const candidates = [...honest.map((p, i) => candidate(`honest-${i}`, p)), candidate('liar', lie, liarAge)];
      const result = aggregate(candidates, NOW, config);
      // Honest sources within 1% of each other always form a quorum.
      expect(result.ok).toBe(true);
      if (result.ok) {
        const low = honest.reduce((a, b) => (a < b ? a : b));
        const high = honest.reduce((a, b) => (a > b ? a : b));
        expect(result.priceKopecks >= low && result.priceKopecks <= high).toBe(true);
      }
    }));
  });

  it('a heavily weighted source cannot carry the median alone (property)', () => {
    fc.assert(fc.property(honestPrices, anyPrice, fc.integer({ min: 1, max: 10 }), (honest, lie, weight) => {
      const candidates = [...honest.map((p, i) => candidate(`honest-${i}`, p)), { ...candidate('heavy-liar', lie), weight }];
      const result = aggregate(candidates, NOW, { ...config, outlierBps: 10_000_000n }); // no outlier rejection at all
      const low = honest.reduce((a, b) => (a < b ? a : b));
      const high = honest.reduce((a, b) => (a > b ? a : b));
      expect(result.ok && result.priceKopecks >= low && result.priceKopecks <= high).toBe(true);
    }));
  });

  it('stale quotes never count, whatever their price (property)', () => {
    fc.assert(fc.property(honestPrices, fc.array(anyPrice, { minLength: 1, maxLength: 5 }), (honest, staleOnes) => {
      const fresh = honest.map((p, i) => candidate(`f-${i}`, p));
      const withStale = [...fresh, ...staleOnes.map((p, i) => candidate(`s-${i}`, p, 61 + i))];
      expect(aggregate(withStale, NOW, config)).toEqual({ ...aggregate(fresh, NOW, config), verdicts: expect.any(Array) });
    }));
  });
});
