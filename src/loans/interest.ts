import { addDays } from '../calendar/business.js';
import { daysBetween, type Day } from '../calendar/days.js';
import { parsePercent } from '../money/money.js';

/**
 * Interest, exact. Rates are kept in millionths per year (23.5% = 235,000); interest accrues on
 * actual days over a 365- or 366-day year as the calendar year of each day has (Bank of Russia
 * Regulation 39-P practice), so a span across New Year is split at it.
 *
 * One day's interest on P kopecks is P x rate / (10^6 x Y), Y = 365 or 366. With the common
 * denominator D = 10^6 x 365 x 366, it is the integer P x rate x (366 if Y = 365, else 365) units
 * of 1/D kopeck: every accrual is an integer count of these units, and nothing is rounded until
 * units become kopecks. A loan carries the units below one kopeck forward (its remainder), so the
 * kopecks accrued day by day over any span equal the kopecks of that span accrued in one step from
 * the same remainder: floor((r + a + b) / D) = floor((r + a) / D) + floor(((r + a) mod D + b) / D).
 * This is the rule for schedules, end of day and prepayments alike.
 */

export const RATE_SCALE = 1_000_000n;
/** Units of 1/UNITS_PER_KOPECK kopeck. */
export const UNITS_PER_KOPECK = RATE_SCALE * 365n * 366n;

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Interest units of one day of `year` on `principal` kopecks at `rateMillionths` a year. */
export function dayUnits(principal: bigint, rateMillionths: bigint, year: number): bigint {
  return principal * rateMillionths * (isLeapYear(year) ? 365n : 366n);
}

/**
 * Interest units over the days (from, to]: interest runs from the day after the money is lent to
 * the day it is due, inclusive (Regulation 39-P), each day at its own year's length. End of day on
 * date D accrues the day D itself, so a schedule line ending on D and the accruals up to D's end of
 * day count the same days in the same years.
 */
export function spanUnits(principal: bigint, rateMillionths: bigint, from: Day, to: Day): bigint {
  if (to < from) throw new RangeError(`a span ends (${to}) before it starts (${from})`);
  let units = 0n;
  let cursor = addDays(from, 1);
  const stop = addDays(to, 1);
  while (cursor < stop) {
    const year = Number(cursor.slice(0, 4));
    const yearEnd = `${year + 1}-01-01`;
    const end = yearEnd < stop ? yearEnd : stop;
    units += BigInt(daysBetween(cursor, end)) * dayUnits(principal, rateMillionths, year);
    cursor = end;
  }
  return units;
}

export interface Accrued {
  /** Whole kopecks accrued. */
  readonly kopecks: bigint;
  /** Units below one kopeck, carried to the next accrual (0 <= remainder < UNITS_PER_KOPECK). */
  readonly remainder: bigint;
}

/** Turns units (with the remainder carried in) into whole kopecks and the remainder carried out. */
export function accrue(remainder: bigint, units: bigint): Accrued {
  if (remainder < 0n || remainder >= UNITS_PER_KOPECK) throw new RangeError('a remainder is below one kopeck and not negative');
  if (units < 0n) throw new RangeError('interest units are not negative');
  const total = remainder + units;
  return { kopecks: total / UNITS_PER_KOPECK, remainder: total % UNITS_PER_KOPECK };
}

/** The interest of (from, to] in one step. */
export function interestForSpan(principal: bigint, rateMillionths: bigint, from: Day, to: Day, remainder = 0n): Accrued {
  return accrue(remainder, spanUnits(principal, rateMillionths, from, to));
}

/** The same span accrued day by day (what end of day does), for checking the rule. */
export function interestDayByDay(principal: bigint, rateMillionths: bigint, from: Day, to: Day, remainder = 0n): Accrued {
  let kopecks = 0n;
  let carry = remainder;
  for (let day = addDays(from, 1); day <= to; day = addDays(day, 1)) {
    const step = accrue(carry, dayUnits(principal, rateMillionths, Number(day.slice(0, 4))));
    kopecks += step.kopecks;
    carry = step.remainder;
  }
  return { kopecks, remainder: carry };
}

/** "23.5" (percent, up to 4 decimals, below 1000) as millionths: 235,000. Parsed by money's parsePercent. */
export function rateFromPercent(text: string): bigint | undefined {
  const parsed = parsePercent(text, 4);
  if (!parsed.ok) return undefined;
  // Four decimals of a percent are millionths exactly: the denominator divides 10^6.
  const millionths = (parsed.value.numerator * RATE_SCALE) / parsed.value.denominator;
  return millionths < 10_000_000n ? millionths : undefined;
}
