import { describe, expect, it } from 'vitest';
import { formatBtc, formatDay, formatDecimal, formatDuration, formatMoscowTime, formatPercent, formatRub } from './format.js';

describe('what people read', () => {
  it('writes roubles the Russian way, and the English way', () => {
    expect(formatRub('1234567.89', 'ru')).toBe('1\u00a0234\u00a0567,89\u00a0₽');
    expect(formatRub('1234567.89', 'en')).toBe('1,234,567.89\u00a0₽');
    expect(formatRub('0.5', 'ru')).toBe('0,50\u00a0₽');
    expect(formatRub('-1000.00', 'ru')).toBe('−1\u00a0000,00\u00a0₽');
    expect(formatRub(null, 'ru')).toBe('—');
  });

  it('writes bitcoin with eight decimals', () => {
    expect(formatBtc('0.5', 'ru')).toBe('0,50000000\u00a0BTC');
    expect(formatBtc('1234.00000001', 'en')).toBe('1,234.00000001\u00a0BTC');
  });

  it('keeps every digit of a long amount (no floating point on the way)', () => {
    expect(formatDecimal('90071992547409931234.12', 'en')).toBe('90,071,992,547,409,931,234.12');
    expect(formatDecimal('not a number', 'ru')).toBe('not a number');
    expect(formatPercent('62.5', 'ru')).toBe('62,5\u00a0%');
  });

  it('shows instants in Moscow time, named, whatever the browser\'s zone', () => {
    expect(formatMoscowTime('2026-11-27T21:05:00Z', 'ru')).toBe('28.11.2026, 00:05\u00a0МСК');
    expect(formatMoscowTime('2026-11-27T21:05:00Z', 'en')).toBe('28/11/2026, 00:05\u00a0MSK');
  });

  it('shows business days and countdowns', () => {
    expect(formatDay('2026-03-09', 'ru')).toBe('09.03.2026');
    expect(formatDay('2026-03-09', 'en')).toBe('9 Mar 2026');
    expect(formatDuration(47 * 3600 + 5 * 60 + 59, 'ru')).toBe('47\u00a0ч 05\u00a0мин');
    expect(formatDuration(-5, 'en')).toBe('0\u00a0h 00\u00a0min');
  });
});
