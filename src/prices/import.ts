import { Type } from 'typebox';
import type { Bar } from './price-repository.js';
import { getJson, SourceError } from '../adapters/http.js';
import { epoch, expectShape, price } from './sources/source.js';

/**
 * History from an exchange's public OHLC endpoint. Bitstamp v2, GET /api/v2/ohlc/btcusd/?step=S
 * &limit=1000&start=T: { data: { pair, ohlc: [{ timestamp (s, string), open, high, low, close,
 * volume }] } }, at most 1,000 candles a request, so a range is fetched page by page.
 */

const Page = Type.Object({ data: Type.Object({ ohlc: Type.Array(Type.Object({ timestamp: Type.String(), open: Type.String(), high: Type.String(), low: Type.String(), close: Type.String() })) }) });
const STEPS = [60, 180, 300, 900, 1_800, 3_600, 7_200, 14_400, 21_600, 43_200, 86_400, 259_200];

export async function fetchBitstampOhlc(options: { url: string; timeoutMs: number }, from: Date, to: Date, stepSeconds: number): Promise<Bar[]> {
  if (!STEPS.includes(stepSeconds)) throw new SourceError('rejected', `Bitstamp offers steps of ${STEPS.join(', ')} seconds`);
  const bars: Bar[] = [];
  let start = Math.floor(from.getTime() / 1000);
  const end = Math.floor(to.getTime() / 1000);
  for (let page = 0; start < end; page += 1) {
    if (page > 10_000) throw new SourceError('rejected', 'too many pages');
    const body = expectShape<{ data: { ohlc: Array<Record<'timestamp' | 'open' | 'high' | 'low' | 'close', string>> } }>(Page, await getJson(`${options.url}?step=${stepSeconds}&limit=1000&start=${start}&end=${end}&exclude_current_candle=true`, options), 'Bitstamp OHLC');
    const candles = body.data.ohlc.map((c) => ({ start: epoch(c.timestamp, 'seconds', 'Bitstamp OHLC timestamp'), open: price(c.open, 'open'), high: price(c.high, 'high'), low: price(c.low, 'low'), close: price(c.close, 'close') }))
      .filter((bar) => bar.start.getTime() / 1000 >= start && bar.start < to)
      .sort((a, b) => a.start.getTime() - b.start.getTime());
    if (candles.length === 0) break;
    bars.push(...candles);
    start = candles.at(-1)!.start.getTime() / 1000 + stepSeconds;
  }
  return bars;
}
