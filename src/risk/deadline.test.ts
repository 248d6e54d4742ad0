import { describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import fc from 'fast-check';
import { businessTimeLeft, callDeadline } from './deadline.js';

const calendar = await loadCalendar();
const msk = (text: string) => new Date(`${text}+03:00`);

describe('call deadlines in business hours', () => {
  it('counts clock hours on a run of business days', () => {
    // Tuesday 3 March 2026, 10:00 Moscow: 48 hours later is Thursday 10:00.
    expect(callDeadline(msk('2026-03-03T10:00:00'), 48, calendar)).toEqual(msk('2026-03-05T10:00:00'));
    expect(callDeadline(msk('2026-03-03T10:00:00'), 0, calendar)).toEqual(msk('2026-03-03T10:00:00'));
  });

  it('stops the clock over a weekend', () => {
    // Friday 13 March 2026, 20:00: 4 hours on Friday, the weekend skipped, 44 hours from Monday 00:00.
    expect(callDeadline(msk('2026-03-13T20:00:00'), 48, calendar)).toEqual(msk('2026-03-17T20:00:00'));
    // A call made on a Sunday starts its clock on Monday.
    expect(callDeadline(msk('2026-03-15T12:00:00'), 4, calendar)).toEqual(msk('2026-03-16T04:00:00'));
  });

  it('stops the clock on a holiday', () => {
    // 8 March 2026 is a Sunday, so Monday the 9th is off: a Friday-evening call runs on to Wednesday.
    expect(callDeadline(msk('2026-03-06T20:00:00'), 48, calendar)).toEqual(msk('2026-03-11T20:00:00'));
    // 31 December 2025 and 1-11 January 2026 are off: 12 hours on the 30th, the rest from 12 January.
    expect(callDeadline(msk('2025-12-30T12:00:00'), 24, calendar)).toEqual(msk('2026-01-12T12:00:00'));
  });

  it('refuses negative or fractional hours', () => {
    expect(() => callDeadline(new Date(), -1, calendar)).toThrow(RangeError);
    expect(() => callDeadline(new Date(), 1.5, calendar)).toThrow(RangeError);
  });

  it('counts the business time left to a deadline, the inverse of callDeadline', () => {
    const HOUR = 3_600_000;
    // Friday 20:00 to Tuesday 20:00 over a weekend: 48 business hours, 4 of them on Friday.
    expect(businessTimeLeft(msk('2026-03-13T20:00:00'), msk('2026-03-17T20:00:00'), calendar)).toBe(48 * HOUR);
    expect(businessTimeLeft(msk('2026-03-14T12:00:00'), msk('2026-03-17T20:00:00'), calendar)).toBe(44 * HOUR);
    expect(businessTimeLeft(msk('2026-03-18T12:00:00'), msk('2026-03-17T20:00:00'), calendar)).toBe(0);
    fc.assert(fc.property(fc.integer({ min: 0, max: 3 * 365 * 24 }), fc.integer({ min: 0, max: 200 }), (startHour, hours) => {
      const from = new Date(Date.UTC(2025, 0, 1) + startHour * HOUR + 17 * 60_000);
      expect(businessTimeLeft(from, callDeadline(from, hours, calendar), calendar)).toBe(hours * HOUR);
    }));
  });
});
