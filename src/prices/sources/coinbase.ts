import { Type } from 'typebox';
import type { Pair } from '../aggregate.js';
import { getJson, SourceError } from '../../adapters/http.js';
import { expectShape, price, quoteOf, type PriceSource } from './source.js';

/**
 * Coinbase Exchange product ticker, GET /products/BTC-USD/ticker:
 * { price, bid, ask, volume, size, trade_id (integer), time (ISO 8601) }, prices as strings.
 * Errors: non-2xx with { message }.
 */
const Ticker = Type.Object({ price: Type.String(), time: Type.String(), bid: Type.Optional(Type.String()), ask: Type.Optional(Type.String()) });

export function coinbaseSource(options: { name: string; url: string; pair: Pair; timeoutMs: number }): PriceSource {
  return {
    name: options.name,
    pair: options.pair,
    async fetchQuote(now) {
      const body = expectShape<{ price: string; time: string }>(Ticker, await getJson(options.url, options), 'Coinbase ticker');
      const observedAt = new Date(body.time);
      if (Number.isNaN(observedAt.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(body.time)) throw new SourceError('malformed', `Coinbase ticker: time "${body.time.slice(0, 40)}" is not ISO 8601`);
      return quoteOf(options.name, options.pair, price(body.price, 'Coinbase price'), observedAt, now());
    },
  };
}
