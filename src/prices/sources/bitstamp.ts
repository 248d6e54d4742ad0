import { Type } from 'typebox';
import type { Pair } from '../aggregate.js';
import { getJson, SourceError } from '../../adapters/http.js';
import { epoch, expectShape, price, quoteOf, type PriceSource } from './source.js';

/**
 * Bitstamp v2 ticker, GET /api/v2/ticker/btcusd/: every value a string, `timestamp` in seconds,
 * `last` the last trade; recent replies carry `pair: "BTC/USD"`. A mistyped pair has been seen to
 * return 200 with every market as an array, so the shape (an object) and the pair are checked.
 */
const Ticker = Type.Object({ last: Type.String(), timestamp: Type.String(), pair: Type.Optional(Type.String()) });

export function bitstampSource(options: { name: string; url: string; pair: Pair; timeoutMs: number }): PriceSource {
  return {
    name: options.name,
    pair: options.pair,
    async fetchQuote(now) {
      const body = expectShape<{ last: string; timestamp: string; pair?: string }>(Ticker, await getJson(options.url, options), 'Bitstamp ticker');
      if (body.pair !== undefined && body.pair !== options.pair.replace('USDT', 'USD') && body.pair !== options.pair) throw new SourceError('rejected', `Bitstamp answered for ${body.pair}, not ${options.pair}`);
      return quoteOf(options.name, options.pair, price(body.last, 'Bitstamp last'), epoch(body.timestamp, 'seconds', 'Bitstamp timestamp'), now());
    },
  };
}
