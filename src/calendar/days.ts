/**
 * Calendar days as 'YYYY-MM-DD' strings, pure: a day is not an instant, so no time zone enters.
 * Used by the compliance rules (report deadlines, registry check age) and the underwriting
 * projection (months of a term).
 */

export type Day = string;

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: Day, to: Day): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** The first day of the month `months` after the month of `day` (negative: before), 'YYYY-MM-01'. */
export function addMonths(day: Day, months: number): Day {
  const [year, month] = day.split('-').map(Number) as [number, number];
  const index = year * 12 + (month - 1) + months;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}-01`;
}

/** How many days the month of `day` has. */
export function daysInMonth(day: Day): number {
  const [year, month] = day.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
