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

/**
 * The time from `from` on, cut at each Moscow midnight: each piece with whether its day is a
 * bank business day. The two functions below walk it; at most ten years of days.
 */
function* moscowDays(from: number, calendar: BusinessCalendar): Generator<{ start: number; end: number; business: boolean }> {
  let t = from;
  for (let guard = 0; guard < 4_000; guard += 1) {
    const local = t + MOSCOW;
    const dayStart = local - (((local % DAY) + DAY) % DAY);
    const end = dayStart + DAY - MOSCOW; // the next Moscow midnight, in UTC
    yield { start: t, end, business: calendar.isBusinessDay(new Date(dayStart).toISOString().slice(0, 10)) };
    t = end;
  }
  throw new RangeError('a deadline more than ten years away');
}

export function callDeadline(from: Date, hours: number, calendar: BusinessCalendar): Date {
  if (!Number.isInteger(hours) || hours < 0) throw new RangeError('whole hours, not negative');
  let left = hours * HOUR;
  if (left === 0) return new Date(from.getTime());
  for (const day of moscowDays(from.getTime(), calendar)) {
    if (!day.business) continue;
    if (left <= day.end - day.start) return new Date(day.start + left);
    left -= day.end - day.start;
  }
  throw new RangeError('unreachable');
}

/**
 * The bank's business time left until a deadline, in milliseconds (0 once it has passed): what a
 * call's countdown shows. The inverse of callDeadline: callDeadline(t, h) is h hours of business
 * time after t, so businessTimeLeft(t, callDeadline(t, h)) is h hours.
 */
export function businessTimeLeft(now: Date, deadline: Date, calendar: BusinessCalendar): number {
  const end = deadline.getTime();
  let left = 0;
  if (now.getTime() >= end) return 0;
  for (const day of moscowDays(now.getTime(), calendar)) {
    if (day.business) left += Math.min(end, day.end) - day.start;
    if (day.end >= end) return left;
  }
  throw new RangeError('unreachable');
}
