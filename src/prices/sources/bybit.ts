import { Type } from 'typebox';
import type { Pair } from '../aggregate.js';
import { getJson, SourceError } from '../../adapters/http.js';
import { epoch, expectShape, price, quoteOf, type PriceSource } from './source.js';

/**
 * Bybit v5, GET /v5/market/tickers?category=spot&symbol=BTCUSDT:
 * { retCode, retMsg, result: { category, list: [{ symbol, lastPrice, bid1Price, ... }] }, time (ms) }.
 * Business errors come with HTTP 200 and retCode != 0 (10001: not supported symbols).
 */
const Envelope = Type.Object({
  retCode: Type.Integer(),
  retMsg: Type.String(),
  result: Type.Unknown(),
  time: Type.Number(),
});
const Result = Type.Object({ list: Type.Array(Type.Object({ symbol: Type.String(), lastPrice: Type.String() })) });

export function bybitSource(options: { name: string; url: string; pair: Pair; symbol: string; timeoutMs: number }): PriceSource {
  return {
    name: options.name,
    pair: options.pair,
    async fetchQuote(now) {
      const body = expectShape<{ retCode: number; retMsg: string; result: unknown; time: number }>(Envelope, await getJson(options.url, options), 'Bybit tickers');
      if (body.retCode !== 0) throw new SourceError('rejected', `Bybit retCode ${body.retCode}: ${body.retMsg}`);
      const result = expectShape<{ list: Array<{ symbol: string; lastPrice: string }> }>(Result, body.result, 'Bybit tickers result');
      const ticker = result.list.find((item) => item.symbol === options.symbol);
      if (ticker === undefined) throw new SourceError('rejected', `Bybit returned no ticker for ${options.symbol}`);
      return quoteOf(options.name, options.pair, price(ticker.lastPrice, 'Bybit lastPrice'), epoch(body.time, 'milliseconds', 'Bybit time'), now());
    },
  };
}
