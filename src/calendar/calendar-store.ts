import type { Queryable } from '../db/database.js';
import { BusinessCalendar, CalendarDataError, checkCalendarYear, type CalendarYear } from './business.js';

/**
 * The years of the business calendar a bank loads itself (migration 0020), checked before they
 * are stored: the year's own days only, real dates, working weekends that are weekends, and no day
 * both a holiday and a working weekend. Each load is a new row; the newest of a year is in force.
 */

export function checkLoadedYear(value: unknown, year?: number): CalendarYear {
  const checked = checkCalendarYear(value);
  if (year !== undefined && checked.year !== year) throw new CalendarDataError(`the data is for ${checked.year}, not ${year}`);
  if (checked.year < 2000 || checked.year > 2100) throw new CalendarDataError('a year from 2000 to 2100');
  if (checked.source.trim() === '' || checked.source.length > 1000) throw new CalendarDataError('the source names the decree (1 to 1000 characters)');
  const both = checked.holidays.filter((day) => checked.workingWeekends.includes(day));
  if (both.length > 0) throw new CalendarDataError(`${both.join(', ')} listed both as a holiday and as a working weekend`);
  if (checked.holidays.length > 60 || checked.workingWeekends.length > 20) throw new CalendarDataError('at most 60 holidays and 20 working weekends in a year');
  // The year must still have business days to move due dates to (nextBusinessDay looks 60 days ahead).
  new BusinessCalendar([checked]).nextBusinessDay(`${checked.year}-01-01`);
  return checked;
}

export async function storeCalendarYear(tx: Queryable, year: CalendarYear, reason: string, userId: bigint, at: Date): Promise<bigint> {
  const [row] = await tx.query<{ id: bigint }>(
    `INSERT INTO calendar_years (year, source, holidays, working_weekends, reason, loaded_at, loaded_by) VALUES ($1, $2, $3::date[], $4::date[], $5, $6, $7) RETURNING id`,
    [year.year, year.source, [...year.holidays].sort(), [...year.workingWeekends].sort(), reason, at, userId]);
  return row!.id;
}

export interface LoadedYear {
  readonly id: bigint;
  readonly year: number;
  readonly source: string;
  readonly holidays: string[];
  readonly workingWeekends: string[];
  readonly reason: string;
  readonly loadedAt: Date;
  readonly loadedBy: string;
}

export async function calendarLoads(db: Queryable, year?: number): Promise<LoadedYear[]> {
  const rows = await db.query<{ id: bigint; year: number; source: string; holidays: string[]; working_weekends: string[]; reason: string; loaded_at: Date; username: string }>(
    `SELECT c.id, c.year, c.source, c.holidays::text[] AS holidays, c.working_weekends::text[] AS working_weekends, c.reason, c.loaded_at, u.username
       FROM calendar_years c JOIN users u ON u.id = c.loaded_by WHERE $1::int4 IS NULL OR c.year = $1 ORDER BY c.year, c.id`, [year ?? null]);
  return rows.map((r) => ({ id: r.id, year: r.year, source: r.source, holidays: r.holidays, workingWeekends: r.working_weekends, reason: r.reason, loadedAt: r.loaded_at, loadedBy: r.username }));
}
