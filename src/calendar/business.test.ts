import { describe, expect, it } from 'vitest';
import { BusinessCalendar, CalendarDataError, checkCalendarYear } from './business.js';
import { loadCalendar } from './load.js';

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
});
