import { Type } from 'typebox';
import type { Pair } from '../aggregate.js';
import { getJson, SourceError } from '../../adapters/http.js';
import { expectShape, price, quoteOf, type PriceSource } from './source.js';

/**
 * Kraken public Ticker, GET /0/public/Ticker?pair=XBTUSD:
 * { error: string[], result: { XXBTZUSD: { c: [last price, lot volume], a, b, ... } } }.
 * Errors come with HTTP 200 as a non-empty `error` array. No timestamp: observed = received.
 */
const Envelope = Type.Object({ error: Type.Array(Type.String()), result: Type.Optional(Type.Record(Type.String(), Type.Unknown())) });
const TickerInfo = Type.Object({ c: Type.Array(Type.String(), { minItems: 1 }) });

export function krakenSource(options: { name: string; url: string; pair: Pair; timeoutMs: number }): PriceSource {
  return {
    name: options.name,
    pair: options.pair,
    async fetchQuote(now) {
      const body = expectShape<{ error: string[]; result?: Record<string, unknown> }>(Envelope, await getJson(options.url, options), 'Kraken ticker');
      if (body.error.length > 0) throw new SourceError('rejected', `Kraken: ${body.error.join('; ')}`);
      const entries = Object.entries(body.result ?? {});
      if (entries.length !== 1) throw new SourceError('malformed', `Kraken ticker: expected one pair in result, got ${entries.length}`);
      const info = expectShape<{ c: string[] }>(TickerInfo, entries[0]![1], 'Kraken ticker info');
      const received = now();
      return quoteOf(options.name, options.pair, price(info.c[0], 'Kraken last price'), received, received);
    },
  };
}
