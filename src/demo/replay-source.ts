import { SourceError } from '../adapters/http.js';
import type { OfficialRate } from '../prices/sources/cbr.js';
import type { PriceSource } from '../prices/sources/source.js';
import { usdAt, usdRubOn } from './crash-2022.js';

/**
 * The demo's price feed: one source that quotes BTC/USD on the stated path through the embedded
 * daily bars at the demo clock's instant, crossed by the price service with the Bank of Russia's
 * rate of the day, as the live service crosses the exchanges' quotes. Outside the embedded days it
 * fails like a source that is down (the breaker then holds decisions, as it would live).
 */
export function replaySource(name = 'replay-bitstamp-2022'): PriceSource {
  return {
    name,
    pair: 'BTC/USD',
    async fetchQuote(now) {
      const at = now();
      const price = usdAt(at);
      if (price === undefined) throw new SourceError('network', `the replayed history has no price at ${at.toISOString()}`);
      return { source: name, pair: 'BTC/USD', price, observedAt: at, receivedAt: at };
    },
  };
}

export async function replayUsdRub(day: Date): Promise<OfficialRate> {
  const moscowDay = new Date(day.getTime() + 3 * 3_600_000).toISOString().slice(0, 10);
  const rate = usdRubOn(moscowDay);
  if (rate === undefined) throw new SourceError('network', `no Bank of Russia rate embedded for ${moscowDay}`);
  return rate;
}
