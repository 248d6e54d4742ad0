import { parseDecimalQuote, type Fraction } from '../../money/money.js';
import type { Pair, Quote } from '../aggregate.js';
import { SourceError } from '../../adapters/http.js';

/** What every price source adapter is: a name, a pair, and one way to get a quote now. */
export interface PriceSource {
  readonly name: string;
  readonly pair: Pair;
  /** Throws only `SourceError`. */
  fetchQuote(now: () => Date): Promise<Quote>;
}

/** Checks a parsed response against the documented shape (TypeBox); shared by every adapter. */
export { expectShape } from '../../adapters/http.js';

/** A positive exact price from a source's decimal string. */
export function price(text: unknown, what: string): Fraction {
  const parsed = parseDecimalQuote(typeof text === 'string' ? text.trim() : text);
  if (!parsed.ok) throw new SourceError('malformed', `${what}: ${parsed.error.message}`);
  return parsed.value;
}

/** A time from seconds or milliseconds since the epoch, checked to be plausible. */
export function epoch(value: number | string, unit: 'seconds' | 'milliseconds', what: string): Date {
  const number = typeof value === 'string' ? Number(value) : value;
  if (!Number.isFinite(number) || number <= 0) throw new SourceError('malformed', `${what}: "${value}" is not a time`);
  const date = new Date(unit === 'seconds' ? number * 1000 : number);
  // An out-of-range number gives an Invalid Date, whose year is NaN: test validity first.
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 2009 || date.getUTCFullYear() > 2200) {
    throw new SourceError('malformed', `${what}: "${String(value).slice(0, 30)}" is not a plausible time`);
  }
  return date;
}

export function quoteOf(source: string, pair: Pair, value: Fraction, observedAt: Date, receivedAt: Date): Quote {
  return { source, pair, price: value, observedAt, receivedAt };
}
