import type { BusinessCalendar } from '../calendar/business.js';

/**
 * A call's deadline, pure: `hours` of the bank's business time after `from`. The cure clock runs
 * on Moscow business days (all 24 hours of them) and stops on weekends and holidays, so a call
 * made on a Friday evening with 48 hours to cure ends on Tuesday evening, not on Sunday when the
 * bank cannot take a top-up. Moscow keeps UTC+3 all year.
 */

const HOUR = 3_600_000;
const MOSCOW = 3 * HOUR;
const DAY = 24 * HOUR;

export function callDeadline(from: Date, hours: number, calendar: BusinessCalendar): Date {
  if (!Number.isInteger(hours) || hours < 0) throw new RangeError('whole hours, not negative');
  let t = from.getTime();
  let left = hours * HOUR;
  for (let guard = 0; guard < 4_000; guard += 1) {
    const local = t + MOSCOW;
    const dayStart = local - (((local % DAY) + DAY) % DAY);
    const nextDay = dayStart + DAY - MOSCOW; // the next Moscow midnight, in UTC
    const day = new Date(dayStart).toISOString().slice(0, 10);
    if (calendar.isBusinessDay(day)) {
      const step = Math.min(left, nextDay - t);
      t += step;
      left -= step;
      if (left === 0) return new Date(t);
    } else t = nextDay;
  }
  throw new RangeError('a deadline more than ten years away');
}

/**
 * The bank's business time left until a deadline, in milliseconds (0 once it has passed): what a
 * call's countdown shows. The inverse of callDeadline: callDeadline(t, h) is h hours of business
 * time after t, so businessTimeLeft(t, callDeadline(t, h)) is h hours.
 */
export function businessTimeLeft(now: Date, deadline: Date, calendar: BusinessCalendar): number {
  let t = now.getTime();
  const end = deadline.getTime();
  let left = 0;
  for (let guard = 0; t < end && guard < 4_000; guard += 1) {
    const local = t + MOSCOW;
    const dayStart = local - (((local % DAY) + DAY) % DAY);
    const nextDay = dayStart + DAY - MOSCOW;
    const day = new Date(dayStart).toISOString().slice(0, 10);
    const stop = Math.min(end, nextDay);
    if (calendar.isBusinessDay(day)) left += stop - t;
    t = stop;
  }
  return left;
}
