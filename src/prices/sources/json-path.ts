import type { Pair } from '../aggregate.js';
import { getJson, SourceError } from '../../adapters/http.js';
import { epoch, price, quoteOf, type PriceSource } from './source.js';

/**
 * A configurable JSON ticker, for a direct BTC/RUB quote from a venue the bank chooses (no
 * well-known public BTC/RUB ticker is left: EXMO, the last, stopped quoting RUB in 2026). The
 * configuration names the URL, the dotted path of the price (a decimal string) and, optionally,
 * of the time and its unit; without a time, observed = received.
 */
function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = Array.isArray(current) && /^\d+$/.test(key) ? current[Number(key)] : (current as Record<string, unknown>)[key];
  }
  return current;
}

export function jsonPathSource(options: { name: string; url: string; pair: Pair; pricePath: string; timePath?: string; timeUnit?: 'seconds' | 'milliseconds' | 'iso'; timeoutMs: number }): PriceSource {
  return {
    name: options.name,
    pair: options.pair,
    async fetchQuote(now) {
      const body = await getJson(options.url, options);
      const received = now();
      const value = price(at(body, options.pricePath), `${options.name} ${options.pricePath}`);
      let observedAt = received;
      if (options.timePath !== undefined) {
        const raw = at(body, options.timePath);
        if (options.timeUnit === 'iso') {
          observedAt = new Date(typeof raw === 'string' ? raw : Number.NaN);
          if (Number.isNaN(observedAt.getTime())) throw new SourceError('malformed', `${options.name} ${options.timePath}: not an ISO time`);
        } else {
          if (typeof raw !== 'number' && typeof raw !== 'string') throw new SourceError('malformed', `${options.name} ${options.timePath}: missing`);
          observedAt = epoch(raw, options.timeUnit ?? 'seconds', `${options.name} ${options.timePath}`);
        }
      }
      return quoteOf(options.name, options.pair, value, observedAt, received);
    },
  };
}
