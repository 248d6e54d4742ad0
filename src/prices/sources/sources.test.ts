import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fraction } from '../../money/money.js';
import { startHttpStub, windows1251, type HttpStub, type StubResponse } from '../../test-support/http-stub.js';
import { binanceSource } from './binance.js';
import { bitstampSource } from './bitstamp.js';
import { bybitSource } from './bybit.js';
import { cbrDailyRate, fetchCbrArchive, parseDaily } from './cbr.js';
import { coinbaseSource } from './coinbase.js';
import { jsonPathSource } from './json-path.js';
import { krakenSource } from './kraken.js';
import { nextHealth, pollSource } from './poll.js';
import type { PriceSource } from './source.js';

/**
 * Every adapter against a local server answering in the source's documented format, and against
 * garbage: nothing throws past the adapter; the source is marked unhealthy with a reason.
 */

let stub: HttpStub;
beforeAll(async () => { stub = await startHttpStub(); });
afterAll(() => stub.close());

const NOW = new Date('2026-11-24T12:00:05Z');
const now = () => NOW;
const timeoutMs = 300;
const noRetry = { retries: 0, backoffMs: 0 };
const json = (body: unknown, status = 200): StubResponse => ({ status, body: JSON.stringify(body) });

interface Case {
  readonly name: string;
  readonly path: string;
  readonly make: (url: string) => PriceSource;
  readonly good: StubResponse;
  readonly price: ReturnType<typeof fraction>;
  readonly observedAt: Date;
  /** Documented error replies and plausible garbage, each with what the reason must mention. */
  readonly bad: ReadonlyArray<[string, StubResponse, RegExp]>;
}

const common: ReadonlyArray<[string, StubResponse, RegExp]> = [
  ['HTTP 500', { status: 500, body: 'upstream exploded' }, /http: HTTP 500/],
  ['an empty body', { body: '' }, /malformed: empty response/],
  ['HTML instead of JSON', { body: '<html>maintenance</html>', contentType: 'text/html' }, /malformed: not JSON/],
  ['a slow answer', { body: '{}', delayMs: 1_000 }, /timeout/],
  ['a JSON array', { body: '[1,2,3]' }, /malformed|rejected/],
];

const cases: Case[] = [
  {
    name: 'coinbase',
    path: '/products/BTC-USD/ticker',
    make: (url) => coinbaseSource({ name: 'coinbase', url, pair: 'BTC/USD', timeoutMs }),
    good: json({ ask: '60012.35', bid: '60012.34', volume: '8421.51730912', trade_id: 874532190, price: '60012.35', size: '0.00125000', time: '2026-11-24T12:00:03.412967Z' }),
    price: fraction(6_001_235n, 100n),
    observedAt: new Date('2026-11-24T12:00:03.412Z'),
    bad: [
      ['its documented error', json({ message: 'NotFound' }, 404), /HTTP 404: .*NotFound/],
      ['a number where a string belongs', json({ price: 60012.35, time: '2026-11-24T12:00:03Z' }), /malformed.*price/],
      ['an exponent price', json({ price: '6.001235e4', time: '2026-11-24T12:00:03Z' }), /not a plain positive decimal/],
      ['a bad time', json({ price: '60012.35', time: 'yesterday' }), /time "yesterday"/],
    ],
  },
  {
    name: 'kraken',
    path: '/0/public/Ticker',
    make: (url) => krakenSource({ name: 'kraken', url, pair: 'BTC/USD', timeoutMs }),
    good: json({ error: [], result: { XXBTZUSD: { a: ['60012.40000', '1', '1.000'], b: ['60012.30000', '3', '3.000'], c: ['60012.40000', '0.00150000'], v: ['512.8', '2391.5'], p: ['59871.2', '59806.4'], t: [21877, 98412], l: ['59102.5', '58911.0'], h: ['60480.0', '60480.0'], o: '59420.1' } } }),
    price: fraction(600_124n, 10n),
    observedAt: NOW,
    bad: [
      ['its error envelope (HTTP 200)', json({ error: ['EQuery:Unknown asset pair'] }), /rejected: Kraken: EQuery:Unknown asset pair/],
      ['two pairs at once', json({ error: [], result: { A: { c: ['1'] }, B: { c: ['2'] } } }), /expected one pair/],
      ['a negative price', json({ error: [], result: { XXBTZUSD: { c: ['-60012.4', '1'] } } }), /not a plain positive decimal/],
    ],
  },
  {
    name: 'bitstamp',
    path: '/api/v2/ticker/btcusd/',
    make: (url) => bitstampSource({ name: 'bitstamp', url, pair: 'BTC/USD', timeoutMs }),
    good: json({ timestamp: '1795521603', open: '59420', high: '60480', low: '59102', last: '60012', volume: '1532.8', vwap: '59871', bid: '60011', ask: '60013', side: '0', open_24: '59210', percent_change_24: '1.35', market_type: 'SPOT', pair: 'BTC/USD', market: 'BTC/USD' }),
    price: fraction(60_012n, 1n),
    observedAt: new Date(1_795_521_603_000),
    bad: [
      ['another market\'s ticker', json({ timestamp: '1795521603', last: '3000', pair: 'ETH/USD' }), /rejected: Bitstamp answered for ETH\/USD/],
      ['a timestamp as a number', json({ timestamp: 1795521603, last: '60012' }), /malformed/],
      ['a time in 1970', json({ timestamp: '5', last: '60012' }), /not a plausible time/],
      ['a time beyond what a date can hold', json({ timestamp: '99999999999999999', last: '60012' }), /not a plausible time/],
    ],
  },
  {
    name: 'binance',
    path: '/api/v3/ticker/price',
    make: (url) => binanceSource({ name: 'binance', url, pair: 'BTC/USDT', symbol: 'BTCUSDT', timeoutMs }),
    good: json({ symbol: 'BTCUSDT', price: '60012.35000000' }),
    price: fraction(6_001_235n, 100n),
    observedAt: NOW,
    bad: [
      ['its documented error', json({ code: -1121, msg: 'Invalid symbol.' }, 400), /HTTP 400: .*Invalid symbol/],
      ['a restricted location', json({ code: 0, msg: 'Service unavailable from a restricted location' }, 451), /HTTP 451/],
      ['another symbol', json({ symbol: 'ETHUSDT', price: '3000.00' }), /rejected: Binance answered for ETHUSDT/],
      ['a zero price', json({ symbol: 'BTCUSDT', price: '0.00000000' }), /greater than zero/],
    ],
  },
  {
    name: 'bybit',
    path: '/v5/market/tickers',
    make: (url) => bybitSource({ name: 'bybit', url, pair: 'BTC/USDT', symbol: 'BTCUSDT', timeoutMs }),
    good: json({ retCode: 0, retMsg: 'OK', result: { category: 'spot', list: [{ symbol: 'BTCUSDT', bid1Price: '60012.3', bid1Size: '0.412', ask1Price: '60012.4', ask1Size: '1.08', lastPrice: '60012.4', prevPrice24h: '59210.0', price24hPcnt: '0.0135', highPrice24h: '60480.0', lowPrice24h: '59102.5', turnover24h: '602417004.91', volume24h: '10061.0427', usdIndexPrice: '60030.21' }] }, retExtInfo: {}, time: 1_795_521_603_412 }),
    price: fraction(600_124n, 10n),
    observedAt: new Date(1_795_521_603_412),
    bad: [
      ['its error envelope (HTTP 200)', json({ retCode: 10001, retMsg: 'Not supported symbols', result: {}, retExtInfo: {}, time: 1_726_147_060_461 }), /rejected: Bybit retCode 10001: Not supported symbols/],
      ['an empty list', json({ retCode: 0, retMsg: 'OK', result: { category: 'spot', list: [] }, retExtInfo: {}, time: 1_795_521_603_412 }), /no ticker for BTCUSDT/],
      ['rate limiting', { status: 403, body: 'access too frequent' }, /HTTP 403/],
    ],
  },
  {
    name: 'direct BTC/RUB (configured JSON paths)',
    path: '/ticker/btcrub',
    make: (url) => jsonPathSource({ name: 'direct', url, pair: 'BTC/RUB', pricePath: 'data.0.last', timePath: 'data.0.ts', timeUnit: 'milliseconds', timeoutMs }),
    good: json({ data: [{ last: '5500123.45', ts: 1_795_521_600_000 }] }),
    price: fraction(550_012_345n, 100n),
    observedAt: new Date(1_795_521_600_000),
    bad: [
      ['a missing path', json({ data: [] }), /data\.0\.last/],
      ['a missing time', json({ data: [{ last: '5500123.45' }] }), /data\.0\.ts: missing/],
    ],
  },
];

describe.each(cases)('the $name adapter', (c) => {
  it('reads a quote in the documented format, exactly', async () => {
    stub.set(c.path, c.good);
    const quote = await c.make(stub.url(c.path)).fetchQuote(now);
    expect(quote.price).toEqual(c.price);
    expect(quote.observedAt).toEqual(c.observedAt);
    expect(quote.receivedAt).toEqual(NOW);
  });

  it.each([...common, ...c.bad])('marks the source unhealthy, without throwing, on %s', async (_name, response, reason) => {
    stub.set(c.path, response);
    const source = c.make(stub.url(c.path));
    const result = await pollSource(source, noRetry, now);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
    const health = nextHealth(undefined, source, result, NOW);
    expect(health).toMatchObject({ healthy: false, consecutiveFailures: 1, lastErrorAt: NOW });
  });
});

describe('polling', () => {
  it('retries a failed request with back-off, then succeeds', async () => {
    stub.set('/flaky', (count) => (count === 1 ? { status: 502, body: 'bad gateway' } : { body: JSON.stringify({ symbol: 'BTCUSDT', price: '60000.00' }) }));
    const source = binanceSource({ name: 'flaky', url: stub.url('/flaky'), pair: 'BTC/USDT', symbol: 'BTCUSDT', timeoutMs });
    const started = Date.now();
    const result = await pollSource(source, { retries: 2, backoffMs: 50 }, now);
    expect(result.ok).toBe(true);
    expect(stub.count('/flaky')).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('does not retry a source that answered and refused', async () => {
    stub.set('/refusing', json({ error: ['EQuery:Unknown asset pair'] }));
    await pollSource(krakenSource({ name: 'refusing', url: stub.url('/refusing'), pair: 'BTC/USD', timeoutMs }), { retries: 3, backoffMs: 1 }, now);
    expect(stub.count('/refusing')).toBe(1);
  });

  it('marks an unreachable source unhealthy', async () => {
    const result = await pollSource(coinbaseSource({ name: 'gone', url: 'http://127.0.0.1:1/ticker', pair: 'BTC/USD', timeoutMs }), noRetry, now);
    expect(result.ok ? 'ok' : result.reason).toMatch(/^network: cannot reach/);
  });
});

const dailyXml = `<?xml version="1.0" encoding="windows-1251"?>
<ValCurs Date="24.11.2026" name="Foreign Currency Market">
  <Valute ID="R01235"><NumCode>840</NumCode><CharCode>USD</CharCode><Nominal>1</Nominal><Name>Доллар США</Name><Value>81,5123</Value><VunitRate>81,5123</VunitRate></Valute>
  <Valute ID="R01820"><NumCode>392</NumCode><CharCode>JPY</CharCode><Nominal>100</Nominal><Name>Японских иен</Name><Value>52,8100</Value><VunitRate>0,5281</VunitRate></Valute>
</ValCurs>`;

const dynamicXml = `<?xml version="1.0" encoding="windows-1251"?>
<ValCurs ID="R01235" DateRange1="20.11.2026" DateRange2="24.11.2026" name="Foreign Currency Market Dynamic">
  <Record Date="20.11.2026" Id="R01235"><Nominal>1</Nominal><Value>81,4000</Value><VunitRate>81,4</VunitRate></Record>
  <Record Date="21.11.2026" Id="R01235"><Nominal>1</Nominal><Value>81,4675</Value><VunitRate>81,4675</VunitRate></Record>
  <Record Date="24.11.2026" Id="R01235"><Nominal>1</Nominal><Value>81,5123</Value><VunitRate>81,5123</VunitRate></Record>
</ValCurs>`;

describe('the Bank of Russia adapter', () => {
  it('reads the daily XML in windows-1251 with decimal commas, per unit of Nominal', async () => {
    stub.set('/scripts/XML_daily.asp', (_count, url) => ({ body: windows1251(dailyXml.replace('24.11.2026', url.searchParams.get('date_req')!.replaceAll('/', '.'))), contentType: 'application/xml; charset=windows-1251' }));
    const rate = await cbrDailyRate({ url: stub.url('/scripts/XML_daily.asp'), timeoutMs })(new Date('2026-11-24T10:00:00Z'));
    expect(rate).toEqual({ effectiveDate: '2026-11-24', rubPerUnit: fraction(815_123n, 10_000n) });
    expect(parseDaily(windows1251(dailyXml), 'R01820').rubPerUnit).toEqual(fraction(5_281n, 10_000n)); // 52.81 RUB per 100 yen = 0.5281 per yen
  });

  it('reads the archive, one record per effective date (none for Sunday and Monday)', async () => {
    stub.set('/scripts/XML_dynamic.asp', { body: windows1251(dynamicXml), contentType: 'application/xml' });
    const bars = await fetchCbrArchive({ url: stub.url('/scripts/XML_dynamic.asp'), timeoutMs }, new Date('2026-11-20'), new Date('2026-11-24'));
    expect(bars.map((bar) => [bar.start.toISOString().slice(0, 10), bar.close])).toEqual([
      ['2026-11-20', fraction(814n, 10n)],
      ['2026-11-21', fraction(814_675n, 10_000n)],
      ['2026-11-24', fraction(815_123n, 10_000n)],
    ]);
    stub.set('/scripts/XML_dynamic.asp', { body: windows1251('<?xml version="1.0" encoding="windows-1251"?><ValCurs ID="R01235" DateRange1="01.01.2026" DateRange2="02.01.2026" name="Foreign Currency Market Dynamic"></ValCurs>') });
    expect(await fetchCbrArchive({ url: stub.url('/scripts/XML_dynamic.asp'), timeoutMs }, new Date('2026-01-01'), new Date('2026-01-02'))).toEqual([]);
  });

  it.each<[string, Uint8Array | string, RegExp]>([
    ['no USD in the list', windows1251(dailyXml.replace('R01235', 'R09999')), /no R01235/],
    ['a broken date', windows1251(dailyXml.replace('Date="24.11.2026"', 'Date="2026-11-24"')), /DD\.MM\.YYYY/],
    ['a dot decimal with a bad nominal', windows1251(dailyXml.replace('<Nominal>1</Nominal>', '<Nominal>0</Nominal>')), /Nominal "0"/],
    ['an HTML error page', '<html><body>Service unavailable</body></html>', /not a ValCurs document/],
    ['UTF-8 bytes of invalid windows-1251', Uint8Array.from([0x3c, 0x56, 0x61, 0x98]), /not windows-1251|not a ValCurs/],
  ])('refuses %s', async (_name, body, reason) => {
    stub.set('/cbr-bad', { body });
    const read = cbrDailyRate({ url: stub.url('/cbr-bad'), timeoutMs });
    const result = await pollSource({ name: 'cbr', pair: 'USD/RUB', fetchQuote: async (clock) => { const rate = await read(clock()); return { source: 'cbr', pair: 'USD/RUB', price: rate.rubPerUnit, observedAt: clock(), receivedAt: clock() }; } }, noRetry, now);
    expect(result.ok ? 'ok' : result.reason).toMatch(reason);
  });
});
