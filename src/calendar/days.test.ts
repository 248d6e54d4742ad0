import { describe, expect, it } from 'vitest';
import { addMonths, daysBetween, daysInMonth } from './days.js';

describe('calendar days', () => {
  it('counts days, across a leap day', () => {
    expect(daysBetween('2024-02-28', '2024-03-01')).toBe(2);
    expect(daysBetween('2026-11-24', '2026-11-01')).toBe(-23);
  });
  it('steps months across years both ways', () => {
    expect(addMonths('2025-11-03', 1)).toBe('2025-12-01');
    expect(addMonths('2025-12-31', 1)).toBe('2026-01-01');
    expect(addMonths('2026-01-15', -1)).toBe('2025-12-01');
    expect(addMonths('2026-03-01', -14)).toBe('2025-01-01');
  });
  it('knows month lengths', () => {
    expect([daysInMonth('2024-02-01'), daysInMonth('2025-02-10'), daysInMonth('2025-12-01')]).toEqual([29, 28, 31]);
  });
});
