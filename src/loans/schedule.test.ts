import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { addDays, type BusinessCalendar } from '../calendar/business.js';
import { loadCalendar } from '../calendar/load.js';
import { interestDayByDay } from './interest.js';
import { buildSchedule, REPAYMENT_TYPES, sameDayMonthsLater, ScheduleTermsError, type ScheduleTerms } from './schedule.js';

let calendar: BusinessCalendar;
beforeAll(async () => { calendar = await loadCalendar(); });

describe('schedules', () => {
  it('annuity-12m-leap-year-feb29: equal instalments, February 2028 counted at 366 days, the last line clears the balance', () => {
    const schedule = buildSchedule({ principal: 150_000_000n, rateMillionths: 235_000n, start: '2027-12-15', months: 12, type: 'annuity' }, calendar);
    expect(schedule.lines).toHaveLength(12);
    expect(new Set(schedule.lines.slice(0, 11).map((line) => line.payment)).size).toBe(1);
    expect(schedule.lines[0]).toMatchObject({ dueDate: '2028-01-17', days: 33, interest: 3_182_500n }); // 15 Jan 2028 is a Saturday
    const february = schedule.lines[1]!;
    expect(february).toMatchObject({ dueDate: '2028-02-15', days: 29 });
    // January's closing balance x 23.5% x 29 / 366 (the remainder carried from January adds at most a kopeck).
    const owed = schedule.lines[0]!.balance;
    const exact = (owed * 235_000n * 29n) / (1_000_000n * 366n);
    expect(february.interest - exact >= 0n && february.interest - exact <= 1n).toBe(true);
    expect(schedule.totals.principal).toBe(150_000_000n);
    expect(schedule.lines.at(-1)!.balance).toBe(0n);
  });

  it('bullet-due-on-holiday-shifts-to-next-business-day: 8 January 2026 moves to 12 January, interest runs to the moved day', () => {
    const schedule = buildSchedule({ principal: 100_000_000n, rateMillionths: 200_000n, start: '2025-12-08', months: 3, type: 'bullet' }, calendar);
    expect(schedule.lines.map((line) => [line.nominalDate, line.dueDate, line.days])).toEqual([['2026-01-08', '2026-01-12', 35], ['2026-02-08', '2026-02-09', 28], ['2026-03-08', '2026-03-10', 29]]);
    expect(schedule.lines.map((line) => line.principal)).toEqual([0n, 0n, 100_000_000n]);
    expect(schedule.lines[0]!.interest).toBe((100_000_000n * 200_000n * 35n) / (1_000_000n * 365n));
  });

  it('month-end-start-falls-on-each-month-end: 31 January gives 28 February (moved to Monday 2 March)', () => {
    expect(sameDayMonthsLater('2026-01-31', 1)).toBe('2026-02-28');
    expect(sameDayMonthsLater('2027-12-31', 2)).toBe('2028-02-29');
    const schedule = buildSchedule({ principal: 10_000_000n, rateMillionths: 150_000n, start: '2026-01-31', months: 2, type: 'annuity' }, calendar);
    expect(schedule.lines.map((line) => line.dueDate)).toEqual(['2026-03-02', '2026-03-31']);
  });

  it('interest-only-then-balloon: interest alone, then amortisation down to the balloon paid last', () => {
    const schedule = buildSchedule({ principal: 150_000_000n, rateMillionths: 235_000n, start: '2026-06-15', months: 12, type: 'interest_only', interestOnlyMonths: 4, balloonBps: 4_000n }, calendar);
    expect(schedule.lines.slice(0, 4).every((line) => line.principal === 0n)).toBe(true);
    // Eight equal instalments amortise down to the 40% balloon, which comes with the eighth.
    const instalments = schedule.lines.slice(4, 11).map((line) => line.payment);
    expect(new Set(instalments).size).toBe(1);
    const lastWithoutBalloon = schedule.lines[11]!.payment - 60_000_000n;
    expect(lastWithoutBalloon - instalments[0]!).toBeLessThan(100_000n); // the same instalment, give or take a day's interest
    expect(lastWithoutBalloon - instalments[0]!).toBeGreaterThan(-100_000n);
    expect(schedule.lines[11]!.principal).toBe(schedule.lines[10]!.balance);
    expect(schedule.totals.principal).toBe(150_000_000n);
  });

  it('a zero rate divides the principal: equal instalments, the last no larger (it absorbs the rounding)', () => {
    const schedule = buildSchedule({ principal: 100n, rateMillionths: 0n, start: '2026-06-15', months: 3, type: 'annuity' }, calendar);
    expect(schedule.lines.map((line) => line.principal)).toEqual([34n, 34n, 32n]);
    expect(schedule.totals.interest).toBe(0n);
  });

  it.each([['25%', 250_000n], ['100%', 1_000_000n], ['23.5%', 235_000n]])('annuity-keeps-its-term at %s over 120 months from 31 January 2026 (holiday periods and all): 120 lines, the last no larger than the rest', (_name, rate) => {
    const schedule = buildSchedule({ principal: 1_200_000_000n, rateMillionths: rate, start: '2026-01-31', months: 120, type: 'annuity' }, calendar);
    expect(schedule.lines).toHaveLength(120);
    expect(schedule.lines.at(-1)!.balance).toBe(0n);
    const instalments = new Set(schedule.lines.slice(0, 119).filter((line) => line.principal > 0n).map((line) => line.payment));
    expect(instalments.size).toBe(1);
    const [instalment] = [...instalments];
    expect(schedule.lines.at(-1)!.payment <= instalment!).toBe(true);
    expect(schedule.lines.every((line) => line.principal >= 0n)).toBe(true);
  });

  it('refuses terms it cannot keep rather than end early (a few kopecks over many months)', () => {
    expect(() => buildSchedule({ principal: 1n, rateMillionths: 0n, start: '2025-01-01', months: 2, type: 'annuity' }, calendar)).toThrow(/cannot keep 2 instalments/);
  });

  it.each<[string, Partial<ScheduleTerms>]>([
    ['a zero principal', { principal: 0n }],
    ['a negative rate', { rateMillionths: -1n }],
    ['a zero-month term', { months: 0 }],
    ['an interest-only period as long as the term', { type: 'interest_only', interestOnlyMonths: 12 }],
    ['an interest-only period that is not a whole number', { type: 'interest_only', interestOnlyMonths: Number.NaN }],
    ['a balloon above the principal', { type: 'interest_only', balloonBps: 10_001n }],
  ])('refuses %s', (_name, change) => {
    expect(() => buildSchedule({ principal: 100_000n, rateMillionths: 100_000n, start: '2026-06-15', months: 12, type: 'annuity', ...change }, calendar)).toThrow(ScheduleTermsError);
  });

  const terms = fc.record({
    principal: fc.bigInt({ min: 100_000n, max: 3_000_000_000n }),
    rateMillionths: fc.bigInt({ min: 0n, max: 1_000_000n }),
    start: fc.integer({ min: 0, max: 1_500 }).map((n) => addDays('2025-01-01', n)),
    months: fc.integer({ min: 1, max: 60 }),
    type: fc.constantFrom(...REPAYMENT_TYPES),
    balloonBps: fc.bigInt({ min: 0n, max: 10_000n }),
  });

  it('sums to the principal exactly, never repays a negative amount, falls on business days in order (property)', () => {
    fc.assert(fc.property(terms, (t) => {
      const schedule = buildSchedule(t, calendar);
      expect(schedule.totals.principal).toBe(t.principal);
      expect(schedule.lines.at(-1)!.balance).toBe(0n);
      let previous = t.start;
      for (const line of schedule.lines) {
        expect(line.principal >= 0n && line.interest >= 0n).toBe(true);
        expect(line.payment).toBe(line.principal + line.interest);
        expect(calendar.isBusinessDay(line.dueDate)).toBe(true);
        expect(line.dueDate > previous).toBe(true);
        previous = line.dueDate;
      }
    }), { numRuns: 300 });
  });

  it('each line\'s interest is what end of day accrues day by day over its period (property)', () => {
    fc.assert(fc.property(terms, (t) => {
      const schedule = buildSchedule({ ...t, months: Math.min(t.months, 18) }, calendar);
      let remainder = 0n;
      let from = t.start;
      let balance = t.principal;
      for (const line of schedule.lines) {
        const daily = interestDayByDay(balance, t.rateMillionths, from, line.dueDate, remainder);
        expect(daily.kopecks).toBe(line.interest);
        remainder = daily.remainder;
        from = line.dueDate;
        balance = line.balance;
      }
      expect(remainder).toBe(schedule.remainder);
    }), { numRuns: 60 });
  });
});
