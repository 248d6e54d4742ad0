import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

let cached: Promise<BusinessCalendar> | undefined;

/** The bank's calendar from config/calendar, read once per process. */
export function bankCalendar(): Promise<BusinessCalendar> {
  cached ??= loadCalendar();
  return cached;
}
