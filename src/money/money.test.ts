import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CURRENCY_SPEC,
  ROUNDINGS,
  applyBps,
  bps,
  divide,
  formatMinorUnits,
  fraction,
  kopecks,
  kopecksToSats,
  parseKopecks,
  parseMinorUnits,
  parsePercent,
  parsePrice,
  parseSats,
  priceKopecksPerBtc,
  ratioBps,
  sats,
  satsToKopecks,
  type Currency,
  type Rounding,
} from './money.js';

function value<T>(parsed: { ok: true; value: T } | { ok: false }): T {
  if (!parsed.ok) throw new Error(`expected a parsed value, got ${JSON.stringify(parsed)}`);
  return parsed.value;
}

function errorCode(parsed: { ok: boolean; error?: { code: string } }): string | undefined {
  return parsed.ok ? undefined : parsed.error?.code;
}

describe('parsing amounts', () => {
  it('reads roubles into kopecks and bitcoin into satoshis', () => {
    expect(value(parseKopecks('1500000.00'))).toBe(150_000_000n);
    expect(value(parseKopecks('1500000'))).toBe(150_000_000n);
    expect(value(parseKopecks('0.5'))).toBe(50n);
    expect(value(parseKopecks('0.01'))).toBe(1n);
    expect(value(parseSats('0.50000000'))).toBe(50_000_000n);
    expect(value(parseSats('21000000'))).toBe(2_100_000_000_000_000n);
    expect(value(parseSats('0.00000001'))).toBe(1n);
    expect(value(parseKopecks('-12.30', 'any'))).toBe(-1230n);
    expect(value(parseKopecks('0', 'non_negative'))).toBe(0n);
  });

  it.each([
    ['1e3', 'amount_format'],
    ['1E3', 'amount_format'],
    ['-0', 'amount_format'],
    ['-0.00', 'amount_format'],
    ['', 'amount_format'],
    [' 1.00', 'amount_format'],
    ['1.00 ', 'amount_format'],
    ['+1.00', 'amount_format'],
    ['01.00', 'amount_format'],
    ['1.', 'amount_format'],
    ['.5', 'amount_format'],
    ['1,000.00', 'amount_format'],
    ['NaN', 'amount_format'],
    ['Infinity', 'amount_format'],
    ['0x10', 'amount_format'],
    ['１２', 'amount_format'],
    ['0.001', 'amount_precision'],
    ['1.999', 'amount_precision'],
    ['1234567890123456789012345678901234567890', 'amount_range'],
    ['10000000000000.01', 'amount_range'],
    ['-5.00', 'amount_sign'],
    ['0', 'amount_sign'],
    ['0.00', 'amount_sign'],
  ])('refuses RUB %j with %s', (text, code) => {
    expect(errorCode(parseKopecks(text, 'positive'))).toBe(code);
  });

  it('refuses JSON numbers, NaN and other non-strings', () => {
    for (const input of [1000, 1.5, Number.NaN, Number.POSITIVE_INFINITY, null, undefined, 10n, {}, ['1']]) {
      expect(errorCode(parseKopecks(input))).toBe('amount_not_a_string');
    }
  });

  it('accepts exactly the limit and nothing beyond it', () => {
    expect(value(parseKopecks('10000000000000.00'))).toBe(CURRENCY_SPEC.RUB.minorUnitsMax);
    expect(errorCode(parseSats('21000000.00000001'))).toBe('amount_range');
    expect(value(parseKopecks('-10000000000000.00', 'any'))).toBe(-CURRENCY_SPEC.RUB.minorUnitsMax);
  });

  it('refuses a BTC amount with nine decimals', () => {
    expect(errorCode(parseSats('0.000000001'))).toBe('amount_precision');
  });

  it('reads prices as kopecks per bitcoin', () => {
    expect(value(parsePrice('8543210.55'))).toBe(854_321_055n);
    expect(errorCode(parsePrice('0'))).toBe('amount_sign');
  });
});

describe('formatting amounts', () => {
  it('writes every decimal of the currency', () => {
    expect(formatMinorUnits(150_000_000n, 'RUB')).toBe('1500000.00');
    expect(formatMinorUnits(5n, 'RUB')).toBe('0.05');
    expect(formatMinorUnits(-5n, 'RUB')).toBe('-0.05');
    expect(formatMinorUnits(0n, 'RUB')).toBe('0.00');
    expect(formatMinorUnits(50_000_000n, 'BTC')).toBe('0.50000000');
    expect(formatMinorUnits(1n, 'BTC')).toBe('0.00000001');
  });

  const currencies: Currency[] = ['RUB', 'BTC'];
  for (const currency of currencies) {
    const max = CURRENCY_SPEC[currency].minorUnitsMax;
    it(`round-trips every ${currency} amount within the limit (property)`, () => {
      fc.assert(
        fc.property(fc.bigInt({ min: -max, max }), (amount) => {
          const text = formatMinorUnits(amount, currency);
          expect(value(parseMinorUnits(text, currency, 'any'))).toBe(amount);
        }),
      );
    });
  }
});

describe('integer constructors', () => {
  it('throw on values outside the range (programmer errors)', () => {
    expect(() => kopecks(-1n)).toThrow(RangeError);
    expect(kopecks(-1n, { allowNegative: true })).toBe(-1n);
    expect(() => sats(CURRENCY_SPEC.BTC.minorUnitsMax + 1n)).toThrow(RangeError);
    expect(() => priceKopecksPerBtc(0n)).toThrow(RangeError);
  });
});

describe('divide', () => {
  const table: Array<[bigint, bigint, Record<Rounding, bigint>]> = [
    [7n, 2n, { floor: 3n, ceil: 4n, half_even: 4n, half_up: 4n, trunc: 3n }],
    [5n, 2n, { floor: 2n, ceil: 3n, half_even: 2n, half_up: 3n, trunc: 2n }],
    [-5n, 2n, { floor: -3n, ceil: -2n, half_even: -2n, half_up: -3n, trunc: -2n }],
    [-7n, 2n, { floor: -4n, ceil: -3n, half_even: -4n, half_up: -4n, trunc: -3n }],
    [10n, 3n, { floor: 3n, ceil: 4n, half_even: 3n, half_up: 3n, trunc: 3n }],
    [-10n, 3n, { floor: -4n, ceil: -3n, half_even: -3n, half_up: -3n, trunc: -3n }],
    [20n, 3n, { floor: 6n, ceil: 7n, half_even: 7n, half_up: 7n, trunc: 6n }],
    [6n, -4n, { floor: -2n, ceil: -1n, half_even: -2n, half_up: -2n, trunc: -1n }],
    [9n, 3n, { floor: 3n, ceil: 3n, half_even: 3n, half_up: 3n, trunc: 3n }],
  ];
  for (const [numerator, denominator, expected] of table) {
    for (const rounding of ROUNDINGS) {
      it(`${numerator}/${denominator} ${rounding} = ${expected[rounding]}`, () => {
        expect(divide(numerator, denominator, rounding)).toBe(expected[rounding]);
      });
    }
  }

  it('refuses division by zero', () => {
    expect(() => divide(1n, 0n, 'floor')).toThrow(RangeError);
  });

  const nonZero = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).filter((d) => d !== 0n);
  const anyInt = fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n });

  it('floor <= exact <= ceil, and they differ by at most one (property)', () => {
    fc.assert(
      fc.property(anyInt, nonZero, (n, d) => {
        const low = divide(n, d, 'floor');
        const high = divide(n, d, 'ceil');
        // low <= n/d <= high, checked without division: multiply through by |d|.
        const sign = d < 0n ? -1n : 1n;
        expect(low * d * sign <= n * sign).toBe(true);
        expect(high * d * sign >= n * sign).toBe(true);
        expect(high - low).toBe(n % d === 0n ? 0n : 1n);
      }),
    );
  });

  it('nearest roundings are within half a unit and half_even picks an even tie (property)', () => {
    fc.assert(
      fc.property(anyInt, nonZero, fc.constantFrom<Rounding>('half_even', 'half_up'), (n, d, rounding) => {
        const q = divide(n, d, rounding);
        const absD = d < 0n ? -d : d;
        const error = (q * d - n) * 2n; // 2 x (q - n/d) x d
        const absError = error < 0n ? -error : error;
        expect(absError <= absD).toBe(true);
        if (absError === absD && rounding === 'half_even') expect(q % 2n).toBe(0n);
      }),
    );
  });

  it('half_even over many ties does not drift, half_up does', () => {
    let evenSum = 0n;
    let upSum = 0n;
    for (let i = 1n; i <= 1000n; i += 1n) {
      evenSum += divide(2n * i + 1n, 2n, 'half_even'); // i + 0.5
      upSum += divide(2n * i + 1n, 2n, 'half_up');
    }
    const exactTwice = 1000n * 1001n + 1000n; // sum of (2i + 1) over i = 1..1000
    expect(evenSum * 2n).toBe(exactTwice);
    expect(upSum * 2n - exactTwice).toBe(1000n);
  });
});

describe('BTC <-> RUB conversions', () => {
  const price = priceKopecksPerBtc(850_000_000n); // 8,500,000.00 RUB per BTC

  it('values half a bitcoin at half the price', () => {
    expect(satsToKopecks(sats(50_000_000n), price, 'floor')).toBe(425_000_000n);
  });

  it('rounds one satoshi as asked', () => {
    // 1 sat = 0.085 RUB = 8.5 kopecks
    expect(satsToKopecks(sats(1n), price, 'floor')).toBe(8n);
    expect(satsToKopecks(sats(1n), price, 'ceil')).toBe(9n);
    expect(satsToKopecks(sats(1n), price, 'half_even')).toBe(8n);
    expect(satsToKopecks(sats(3n), price, 'half_even')).toBe(26n); // 25.5 -> 26
  });

  it('collateral required for a loan rounds up so the loan is never under-covered', () => {
    const loan = kopecks(150_000_000n); // 1,500,000.00 RUB
    const required = kopecksToSats(loan, price, 'ceil');
    expect(required).toBe(17_647_059n);
    expect(satsToKopecks(required, price, 'floor') >= loan).toBe(true);
  });

  const priceArb = fc.bigInt({ min: 1n, max: CURRENCY_SPEC.RUB.minorUnitsMax }).map(priceKopecksPerBtc);
  const satsArb = fc.bigInt({ min: 0n, max: CURRENCY_SPEC.BTC.minorUnitsMax }).map((v) => sats(v));
  const kopecksArb = fc.bigInt({ min: 0n, max: CURRENCY_SPEC.RUB.minorUnitsMax }).map((v) => kopecks(v));

  it('sats bought with ceil always cover the roubles; with floor never exceed them (property)', () => {
    fc.assert(
      fc.property(kopecksArb, priceArb, (amount, p) => {
        const enough = kopecksToSats(amount, p, 'ceil');
        const atMost = kopecksToSats(amount, p, 'floor');
        expect(enough * p >= amount * 100_000_000n).toBe(true);
        expect(atMost * p <= amount * 100_000_000n).toBe(true);
        expect(enough - atMost <= 1n).toBe(true);
      }),
    );
  });

  it('converting sats to kopecks and back with floor/ceil never gains value (property)', () => {
    fc.assert(
      fc.property(satsArb, priceArb, (amount, p) => {
        const worth = satsToKopecks(amount, p, 'floor');
        expect(kopecksToSats(worth, p, 'floor') <= amount).toBe(true);
      }),
    );
  });
});

describe('ratios', () => {
  it('computes an LTV in basis points', () => {
    expect(ratioBps(700n, 1000n, 'floor')).toBe(7000n);
    expect(ratioBps(2n, 3n, 'floor')).toBe(6666n);
    expect(ratioBps(2n, 3n, 'ceil')).toBe(6667n);
  });

  it('applies basis points to an amount', () => {
    expect(applyBps(100_000n, bps(150n), 'half_even')).toBe(1_500n);
    expect(applyBps(333n, bps(5_000n), 'half_even')).toBe(166n); // 166.5 -> 166
    expect(applyBps(333n, bps(5_000n), 'half_up')).toBe(167n);
  });

  it('keeps exact fractions in lowest terms', () => {
    expect(fraction(6n, -8n)).toEqual({ numerator: -3n, denominator: 4n });
    expect(fraction(0n, 5n)).toEqual({ numerator: 0n, denominator: 1n });
  });

  it('parses percentages into exact fractions', () => {
    expect(value(parsePercent('23.5'))).toEqual({ numerator: 47n, denominator: 200n });
    expect(value(parsePercent('16.25'))).toEqual({ numerator: 13n, denominator: 80n });
    expect(value(parsePercent('0'))).toEqual({ numerator: 0n, denominator: 1n });
    for (const [text, code] of [['-1', 'amount_format'], ['1e2', 'amount_format'], ['23.', 'amount_format'], ['1.00001', 'amount_precision'], ['1000.1', 'amount_range'], ['2000', 'amount_range']] as const) {
      expect(errorCode(parsePercent(text))).toBe(code);
    }
    expect(errorCode(parsePercent(23.5))).toBe('amount_not_a_string');
  });
});
