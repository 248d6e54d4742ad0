import { daysBetween, type Day } from './days.js';

/**
 * The Russian business calendar, pure: weekends and non-working holidays are not business days,
 * and a due date that falls on one moves to the next business day. The calendar is data, one year
 * at a time, as the government's yearly decree on moving days off publishes it
 * (config/calendar/YYYY.json: the holidays, including days off moved onto weekdays, and the
 * weekends made working days). For a year not loaded, the statutory rule of Labour Code art. 112
 * applies (the holidays it names; a holiday on a weekend gives the next working day off, except the
 * New Year holidays, which only a decree moves), and the calendar says so.
 */

export interface CalendarYear {
  readonly year: number;
  readonly source: string;
  readonly holidays: readonly Day[];
  readonly workingWeekends: readonly Day[];
}

export class CalendarDataError extends Error {}

/** Checks one year's data as read from JSON: every day is in its year and a real date. */
export function checkCalendarYear(value: unknown): CalendarYear {
  const data = value as Partial<CalendarYear> | null;
  if (data === null || typeof data !== 'object' || !Number.isInteger(data.year) || typeof data.source !== 'string' || !Array.isArray(data.holidays) || !Array.isArray(data.workingWeekends)) {
    throw new CalendarDataError('a calendar year is { year, source, holidays: [YYYY-MM-DD], workingWeekends: [YYYY-MM-DD] }');
  }
  for (const day of [...data.holidays, ...data.workingWeekends]) {
    if (typeof day !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`)) || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day || Number(day.slice(0, 4)) !== data.year) {
      throw new CalendarDataError(`${String(day)} is not a date in ${data.year}`);
    }
  }
  for (const day of data.workingWeekends) if (!isWeekend(day)) throw new CalendarDataError(`${day} is listed as a working weekend but is a weekday`);
  return data as CalendarYear;
}

function weekday(day: Day): number {
  return new Date(`${day}T00:00:00Z`).getUTCDay();
}

function isWeekend(day: Day): boolean {
  const d = weekday(day);
  return d === 0 || d === 6;
}

export function addDays(day: Day, days: number): Day {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Labour Code art. 112: non-working holidays. */
const STATUTORY = ['01-01', '01-02', '01-03', '01-04', '01-05', '01-06', '01-07', '01-08', '02-23', '03-08', '05-01', '05-09', '06-12', '11-04'];
const NEW_YEAR = new Set(['01-01', '01-02', '01-03', '01-04', '01-05', '01-06', '01-07', '01-08']);

function statutoryYear(year: number): CalendarYear {
  const holidays = new Set<Day>();
  for (const monthDay of STATUTORY) {
    const day = `${year}-${monthDay}`;
    holidays.add(day);
    if (isWeekend(day) && !NEW_YEAR.has(monthDay)) {
      let next = addDays(day, 1);
      while (isWeekend(next) || holidays.has(next) || STATUTORY.includes(next.slice(5))) next = addDays(next, 1);
      holidays.add(next);
    }
  }
  return { year, source: `Labour Code art. 112 (no decree for ${year} loaded)`, holidays: [...holidays].sort(), workingWeekends: [] };
}

export class BusinessCalendar {
  readonly #years = new Map<number, { holidays: Set<Day>; working: Set<Day>; source: string; statutory: boolean }>();
  readonly #loaded: readonly CalendarYear[];

  constructor(years: readonly CalendarYear[]) {
    this.#loaded = years;
    for (const year of years) this.#years.set(year.year, { holidays: new Set(year.holidays), working: new Set(year.workingWeekends), source: year.source, statutory: false });
  }

  /** The years loaded from data (a decree), not filled in by the statutory rule. */
  loadedYears(): CalendarYear[] {
    return [...this.#loaded];
  }

  /**
   * What a schedule whose due dates run from `from` to `to` rests on: the years with no decree loaded (the statutory rule
   * of Labour Code art. 112 filled them in), and a sentence saying so, or null.
   */
  fallbackNote(from: Day, to: Day): { fallbackYears: number[]; note: string | null } {
    const years: number[] = [];
    for (let year = Number(from.slice(0, 4)); year <= Number(to.slice(0, 4)); year += 1) if (this.#year(year).statutory) years.push(year);
    return {
      fallbackYears: years,
      note: years.length === 0 ? null : `no government decree on days off is loaded for ${years.join(', ')}: due dates there follow the statutory holidays of Labour Code art. 112 and may move when the decree is published (zalog calendar import)`,
    };
  }

  #year(year: number) {
    let entry = this.#years.get(year);
    if (entry === undefined) {
      const statutory = statutoryYear(year);
      entry = { holidays: new Set(statutory.holidays), working: new Set(), source: statutory.source, statutory: true };
      this.#years.set(year, entry);
    }
    return entry;
  }

  isBusinessDay(day: Day): boolean {
    const year = this.#year(Number(day.slice(0, 4)));
    if (year.working.has(day)) return true;
    return !isWeekend(day) && !year.holidays.has(day);
  }

  /** The day itself if it is a business day, otherwise the next one. */
  nextBusinessDay(day: Day): Day {
    let candidate = day;
    for (let i = 0; i < 60; i += 1) {
      if (this.isBusinessDay(candidate)) return candidate;
      candidate = addDays(candidate, 1);
    }
    throw new RangeError(`no business day within 60 days of ${day}`);
  }

  /** Where each year's data came from; years filled by the statutory rule say so. */
  sourceOf(year: number): { source: string; statutory: boolean } {
    const entry = this.#year(year);
    return { source: entry.source, statutory: entry.statutory };
  }
}

/** Whole days between two days, re-exported for callers that work in business days too. */
export { daysBetween };
