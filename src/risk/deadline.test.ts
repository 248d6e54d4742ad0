import { describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import { callDeadline } from './deadline.js';

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
});
