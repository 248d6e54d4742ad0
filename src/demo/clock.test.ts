import { describe, expect, it } from 'vitest';
import { DemoClock } from './clock.js';
import { usdAt, usdRubOn, BTC_USD_DAILY } from './crash-2022.js';
import { fraction } from '../money/money.js';

describe('the demo clock and its market', () => {
  it('holds at its start, then runs speed times faster than real time', () => {
    let real = 1_000;
    const clock = new DemoClock(new Date('2022-06-08T04:00:00Z'), 3_600, () => real);
    real += 5_000;
    expect(clock.now().toISOString()).toBe('2022-06-08T04:00:00.000Z');
    clock.release();
    real += 2_000;
    expect(clock.now().toISOString()).toBe('2022-06-08T06:00:00.000Z');
  });

  it('hits every published open, high, low and close on the stated path, exactly', () => {
    const day13 = BTC_USD_DAILY.find((d) => d[0] === '2022-06-13')!;
    const at = (hhmm: string) => usdAt(new Date(`2022-06-13T${hhmm}:00Z`))!;
    const exact = (text: string) => { const [w, f = ''] = text.split('.'); return fraction(BigInt(`${w}${f}`), 10n ** BigInt(f.length)); };
    // 13 June closed below its open: open, then the high at 06:00, the low at 16:00, the close at 24:00.
    expect(at('00:00')).toEqual(exact(day13[1]));
    expect(at('06:00')).toEqual(exact(day13[2]));
    expect(at('16:00')).toEqual(exact(day13[3]));
    // Half-way from the high to the low, 11:00.
    const mid = at('11:00');
    expect(mid).toEqual(fraction(2684563n + 2191026n, 200n));
    expect(usdAt(new Date('2022-07-01T00:00:00Z'))).toBeUndefined();
    expect(usdAt(new Date('2022-06-04T23:59:59Z'))).toBeUndefined();
  });

  it('takes the Bank of Russia rate in force on the day (the last one set)', () => {
    expect(usdRubOn('2022-06-12')).toEqual({ effectiveDate: '2022-06-11', rubPerUnit: fraction(577780n, 10000n) });
    expect(usdRubOn('2022-06-03')).toBeUndefined();
  });
});
