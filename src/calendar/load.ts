import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Queryable } from '../db/database.js';
import { BusinessCalendar, CalendarDataError, checkCalendarYear, type CalendarYear } from './business.js';

/** The directory holding one JSON file per year (config/calendar/2026.json). */
export const CALENDAR_DIR = fileURLToPath(new URL('../../config/calendar', import.meta.url).href.replace('/dist/config/', '/config/'));

/** Reads every YYYY.json in the directory; a bad file stops with its name. */
export async function loadCalendar(dir = CALENDAR_DIR): Promise<BusinessCalendar> {
  const years: CalendarYear[] = [];
  for (const name of (await readdir(dir)).filter((file) => /^\d{4}\.json$/.test(file)).sort()) {
    try {
      const year = checkCalendarYear(JSON.parse(await readFile(path.join(dir, name), 'utf8')));
      if (`${year.year}.json` !== name) throw new CalendarDataError(`holds the year ${year.year}`);
      years.push(year);
    } catch (error) {
      throw new CalendarDataError(`${path.join(dir, name)}: ${(error as Error).message}`);
    }
  }
  return new BusinessCalendar(years);
}

let shipped: Promise<CalendarYear[]> | undefined;
let stored: readonly CalendarYear[] = [];
let cached: Promise<BusinessCalendar> | undefined;

async function shippedYears(): Promise<CalendarYear[]> {
  shipped ??= loadCalendar().then((calendar) => calendar.loadedYears());
  return shipped;
}

/**
 * The bank's calendar: the years shipped in config/calendar, replaced by the years the bank loaded
 * itself (calendar_years, the newest load of each year), read once per process and again after
 * refreshBankCalendar.
 */
export function bankCalendar(): Promise<BusinessCalendar> {
  cached ??= shippedYears().then((years) => {
    const byYear = new Map(years.map((year) => [year.year, year]));
    for (const year of stored) byYear.set(year.year, year);
    return new BusinessCalendar([...byYear.values()]);
  });
  return cached;
}

/** The years the bank loaded (the newest of each), as stored. */
export async function storedCalendarYears(db: Queryable): Promise<CalendarYear[]> {
  const rows = await db.query<{ year: number; source: string; holidays: string[]; working_weekends: string[] }>(
    `SELECT DISTINCT ON (year) year, source, holidays::text[] AS holidays, working_weekends::text[] AS working_weekends FROM calendar_years ORDER BY year, id DESC`);
  return rows.map((row) => ({ year: row.year, source: row.source, holidays: row.holidays, workingWeekends: row.working_weekends }));
}

/** Reads the years the bank loaded into this process's calendar (at start, after a load, hourly). */
export async function refreshBankCalendar(db: Queryable): Promise<BusinessCalendar> {
  stored = await storedCalendarYears(db);
  cached = undefined;
  return bankCalendar();
}
