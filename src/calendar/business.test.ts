import { describe, expect, it } from 'vitest';
import { BusinessCalendar, CalendarDataError, checkCalendarYear } from './business.js';
import { loadCalendar } from './load.js';
import { checkLoadedYear } from './calendar-store.js';
import { buildSchedule } from '../loans/schedule.js';

describe('the business calendar', () => {
  it('reads the yearly decrees in config/calendar: holidays moved onto weekdays, working Saturdays', async () => {
    const calendar = await loadCalendar();
    expect(calendar.isBusinessDay('2026-01-09')).toBe(false); // 3 January moved onto a Friday
    expect(calendar.nextBusinessDay('2026-01-08')).toBe('2026-01-12');
    expect(calendar.isBusinessDay('2026-03-09')).toBe(false); // 8 March on a Sunday
    expect(calendar.isBusinessDay('2025-11-01')).toBe(true); // a working Saturday
    expect(calendar.isBusinessDay('2025-11-03')).toBe(false);
    expect(calendar.isBusinessDay('2026-11-24')).toBe(true);
    expect(calendar.sourceOf(2026).statutory).toBe(false);
  });

  it('applies Labour Code art. 112 to a year without a decree, and says so', () => {
    const calendar = new BusinessCalendar([]);
    expect(['2027-01-01', '2027-01-07', '2027-01-08'].map((d) => calendar.isBusinessDay(d))).toEqual([false, false, false]);
    expect(calendar.isBusinessDay('2027-01-11')).toBe(true); // New Year holidays on weekends move only by decree
    expect(calendar.isBusinessDay('2027-05-10')).toBe(false); // 9 May 2027 is a Sunday
    expect(calendar.isBusinessDay('2027-06-14')).toBe(false); // 12 June 2027 is a Saturday
    expect(calendar.nextBusinessDay('2027-06-12')).toBe('2027-06-15');
    expect(calendar.sourceOf(2027)).toEqual({ source: 'Labour Code art. 112 (no decree for 2027 loaded)', statutory: true });
  });

  it('refuses data that is not a calendar year', () => {
    expect(() => checkCalendarYear({ year: 2026, source: 'x', holidays: ['2025-12-31'], workingWeekends: [] })).toThrow(CalendarDataError);
    expect(() => checkCalendarYear({ year: 2026, source: 'x', holidays: ['2026-02-30'], workingWeekends: [] })).toThrow(/not a date/);
    expect(() => checkCalendarYear({ year: 2026, source: 'x', holidays: [], workingWeekends: ['2026-11-24'] })).toThrow(/weekday/);
    expect(() => checkCalendarYear({ year: 2026 })).toThrow(CalendarDataError);
  });

  it('has 2024 from its decree: a 2024 schedule puts no due date on 29 or 30 April or 30 December, and counts the working Saturdays', async () => {
    const calendar = await loadCalendar();
    expect(['2024-04-29', '2024-04-30', '2024-05-10', '2024-12-30', '2024-12-31'].map((d) => calendar.isBusinessDay(d))).toEqual([false, false, false, false, false]);
    expect(['2024-04-27', '2024-11-02', '2024-12-28'].map((d) => calendar.isBusinessDay(d))).toEqual([true, true, true]);
    expect(calendar.sourceOf(2024).statutory).toBe(false);
    const schedule = buildSchedule({ principal: 100_000_000n, rateMillionths: 200_000n, start: '2023-12-29', months: 12, type: 'annuity' }, calendar);
    const dueDates = schedule.lines.map((line) => line.dueDate);
    for (const day of ['2024-04-29', '2024-04-30', '2024-12-30']) expect(dueDates).not.toContain(day);
    expect(dueDates).toContain('2024-05-02'); // 29 April moves past the May holidays
    expect(schedule.calendar).toEqual({ fallbackYears: [], note: null });
  });

  it('says so when a schedule reaches a year no decree is loaded for, and stops saying so once the bank loads it', async () => {
    const shipped = await loadCalendar();
    const start = `${shipped.loadedYears().at(-1)!.year}-06-15`;
    const reaching = buildSchedule({ principal: 100_000_000n, rateMillionths: 200_000n, start, months: 12, type: 'annuity' }, shipped);
    const next = Number(start.slice(0, 4)) + 1;
    expect(reaching.calendar.fallbackYears).toEqual([next]);
    expect(reaching.calendar.note).toMatch(new RegExp(`no government decree on days off is loaded for ${next}.*Labour Code art. 112`));
    const loaded = new BusinessCalendar([...shipped.loadedYears(), { year: next, source: 'decree', holidays: [`${next}-01-01`], workingWeekends: [] }]);
    expect(buildSchedule({ principal: 100_000_000n, rateMillionths: 200_000n, start, months: 12, type: 'annuity' }, loaded).calendar).toEqual({ fallbackYears: [], note: null });
  });

  it('checks a year a bank loads: its own days, not both a holiday and a working day, a source', () => {
    expect(() => checkLoadedYear({ year: 2027, source: 'decree', holidays: ['2027-01-01'], workingWeekends: [] }, 2028)).toThrow(/for 2027, not 2028/);
    expect(() => checkLoadedYear({ year: 2027, source: ' ', holidays: [], workingWeekends: [] })).toThrow(/source/);
    expect(() => checkLoadedYear({ year: 2027, source: 'decree', holidays: ['2027-01-02'], workingWeekends: ['2027-01-02'] })).toThrow(/both/);
    expect(checkLoadedYear({ year: 2027, source: 'decree', holidays: ['2027-01-01'], workingWeekends: ['2027-11-13'] }).year).toBe(2027);
  });
});
