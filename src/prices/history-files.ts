import { parse } from 'csv-parse/sync';
import { parseDecimalQuote, type Fraction } from '../money/money.js';
import type { Bar } from './price-repository.js';

/**
 * Reading history from CSV files (what `zalog prices import --csv` and the replay take):
 * - OHLC bars with a time column `datetime_utc` (RFC 3339) or `date` (YYYY-MM-DD), and `open`,
 *   `high`, `low`, `close` columns (other columns are ignored), e.g. an exchange's candle export;
 * - a daily rate with `date` and one value column (e.g. `usd_rub`), e.g. the Bank of Russia's.
 * Rows are checked (positive exact decimals, low <= open/close <= high, times strictly increasing)
 * and a bad row stops the import with its line number, rather than being skipped silently.
 */

export class HistoryFileError extends Error {
  override readonly name = 'HistoryFileError';
}

function quote(text: unknown, line: number, column: string): Fraction {
  const parsed = parseDecimalQuote(typeof text === 'string' ? text.trim() : text);
  if (!parsed.ok) throw new HistoryFileError(`line ${line}: ${column} ${parsed.error.message}`);
  return parsed.value;
}

function time(row: Record<string, string>, line: number): Date {
  const text = row.datetime_utc ?? row.date;
  if (text === undefined) throw new HistoryFileError('the file needs a datetime_utc or date column');
  const value = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : new Date(text);
  if (Number.isNaN(value.getTime()) || !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?Z)?$/.test(text)) throw new HistoryFileError(`line ${line}: "${text}" is not a UTC date or time`);
  return value;
}

function rows(text: string): Array<Record<string, string>> {
  try {
    return parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Array<Record<string, string>>;
  } catch (error) {
    throw new HistoryFileError(`not a CSV file this import reads: ${(error as Error).message}`);
  }
}

function checkOrder(times: Date[]): void {
  for (let i = 1; i < times.length; i += 1) {
    if (times[i]! <= times[i - 1]!) throw new HistoryFileError(`line ${i + 2}: times must increase (${times[i]!.toISOString()} after ${times[i - 1]!.toISOString()})`);
  }
}

export function readBarsCsv(text: string): Bar[] {
  const bars = rows(text).map((row, index) => {
    const line = index + 2;
    const bar = { start: time(row, line), open: quote(row.open, line, 'open'), high: quote(row.high, line, 'high'), low: quote(row.low, line, 'low'), close: quote(row.close, line, 'close') };
    const le = (a: Fraction, b: Fraction) => a.numerator * b.denominator <= b.numerator * a.denominator;
    if (!(le(bar.low, bar.open) && le(bar.low, bar.close) && le(bar.open, bar.high) && le(bar.close, bar.high))) throw new HistoryFileError(`line ${line}: low <= open, close <= high does not hold`);
    return bar;
  });
  checkOrder(bars.map((b) => b.start));
  return bars;
}

export function readRateCsv(text: string, column: string): Bar[] {
  const bars = rows(text).map((row, index) => {
    const value = quote(row[column], index + 2, column);
    return { start: time(row, index + 2), open: value, high: value, low: value, close: value };
  });
  checkOrder(bars.map((b) => b.start));
  return bars;
}

/** The value in force at `at` in a step series (e.g. the official rate, effective from its date). */
export function valueAt(series: readonly Bar[], at: Date): Fraction | undefined {
  let low = 0;
  let high = series.length - 1;
  let found: Fraction | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (series[middle]!.start <= at) {
      found = series[middle]!.close;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
