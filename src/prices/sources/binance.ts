import { Type } from 'typebox';
import type { Pair } from '../aggregate.js';
import { getJson, SourceError } from '../../adapters/http.js';
import { expectShape, price, quoteOf, type PriceSource } from './source.js';

/**
 * Binance spot, GET /api/v3/ticker/price?symbol=BTCUSDT: { symbol, price } (price a string).
 * Errors: 4xx with { code, msg } (e.g. -1121 Invalid symbol; 451 from restricted locations).
 * No timestamp: observed = received.
 */
const Ticker = Type.Object({ symbol: Type.String(), price: Type.String() });

export function binanceSource(options: { name: string; url: string; pair: Pair; symbol: string; timeoutMs: number }): PriceSource {
  return {
    name: options.name,
    pair: options.pair,
    async fetchQuote(now) {
      const body = expectShape<{ symbol: string; price: string }>(Ticker, await getJson(options.url, options), 'Binance ticker');
      if (body.symbol !== options.symbol) throw new SourceError('rejected', `Binance answered for ${body.symbol}, not ${options.symbol}`);
      const received = now();
      return quoteOf(options.name, options.pair, price(body.price, 'Binance price'), received, received);
    },
  };
}
