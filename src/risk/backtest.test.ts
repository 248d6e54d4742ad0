import { describe, expect, it } from 'vitest';
import { bankCalendar } from '../calendar/load.js';
import { originationDays } from './backtest.js';

const calendar = await bankCalendar();

describe('the days a backtest lends on', () => {
  it('monthly: the first business day of each month (2025: 1-8 January are holidays, 1 March is a Saturday)', () => {
    expect([...originationDays('2025-01-01', '2025-04-01', 'monthly', calendar)]).toEqual(['2025-01-09', '2025-02-03', '2025-03-03']);
  });

  it('weekly: each Monday, or the next business day (12 May 2025 follows the Victory Day holidays)', () => {
    expect([...originationDays('2025-05-01', '2025-05-20', 'weekly', calendar)]).toEqual(['2025-05-05', '2025-05-12', '2025-05-19']);
  });

  it('daily: every business day; never on or after the end', () => {
    expect([...originationDays('2025-05-07', '2025-05-14', 'daily', calendar)]).toEqual(['2025-05-07', '2025-05-12', '2025-05-13']);
    expect([...originationDays('2025-01-01', '2025-01-09', 'monthly', calendar)]).toEqual([]);
  });
});
