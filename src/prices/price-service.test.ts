import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { openTestDatabase, testDatabaseUrl, type TestDatabase } from '../test-support/database.js';
import { testPriceService } from '../test-support/prices.js';
import { PriceService } from './price-service.js';
import { quotesOfCycle, readHealth } from './price-repository.js';

/**
 * The live service against local servers answering as the exchanges do. USD/RUB is fixed at
 * 80.0000, so a BTC/USD price of 60,000.00 is 4,800,000.00 RUB = 480,000,000 kopecks.
 */

let stub: HttpStub;
let test: TestDatabase;
let clock = new Date('2026-11-24T12:00:00Z');
const advance = (seconds: number) => { clock = new Date(clock.getTime() + seconds * 1000); };

const EXCHANGES = ['coinbase', 'kraken', 'bitstamp', 'binance', 'bybit'] as const;

function setPrice(exchange: (typeof EXCHANGES)[number], usd: string | null): void {
  const path = `/${exchange}`;
  if (usd === null) return stub.set(path, { status: 503, body: 'down' });
  const seconds = Math.floor(clock.getTime() / 1000);
  const bodies = {
    coinbase: { price: usd, time: clock.toISOString(), bid: usd, ask: usd },
    kraken: { error: [], result: { XXBTZUSD: { c: [usd, '1'] } } },
    bitstamp: { last: usd, timestamp: String(seconds), pair: 'BTC/USD' },
    binance: { symbol: 'BTCUSDT', price: usd },
    bybit: { retCode: 0, retMsg: 'OK', result: { category: 'spot', list: [{ symbol: 'BTCUSDT', lastPrice: usd }] }, time: clock.getTime() },
  };
  stub.set(path, { body: JSON.stringify(bodies[exchange]) });
}

function setAll(usd: string | null): void {
  for (const exchange of EXCHANGES) setPrice(exchange, usd);
}

function makeService(db = test.db): PriceService {
  const sources = EXCHANGES.map((name) => {
    const usdt = name === 'binance' || name === 'bybit';
    return { name, kind: name, pair: usdt ? 'BTC/USDT' : 'BTC/USD', weight: 1, url: stub.url(`/${name}`), ...(usdt ? { symbol: 'BTCUSDT' } : {}) };
  });
  return testPriceService({ db, sources, cbrUrl: stub.url('/cbr'), now: () => clock });
}

beforeAll(async () => {
  stub = await startHttpStub();
  test = await openTestDatabase();
});
afterAll(async () => {
  await stub.close();
  await test.close();
});

describe('the live price service', () => {
  let service: PriceService;
  beforeAll(async () => {
    service = makeService();
    await service.init();
  });

  it('accepts the median of five agreeing sources and stores the cycle, its quotes and the sources\' health', async () => {
    setAll('60000.00');
    setPrice('kraken', '60010.00');
    const cycle = await service.cycle();
    expect(cycle).toMatchObject({ status: 'normal', reasons: [], acceptedKopecks: 480_000_000n, publishedKopecks: 480_000_000n, usdRub: '80' });
    expect(cycle.inputs).toHaveLength(5);
    const quotes = await quotesOfCycle(test.db, cycle.id);
    expect(quotes.map((q) => `${q.source} ${q.pair} ${q.price}`)).toEqual(['binance BTC/USDT 60000', 'bitstamp BTC/USD 60000', 'bybit BTC/USDT 60000', 'cbr USD/RUB 80', 'coinbase BTC/USD 60000', 'kraken BTC/USD 60010']);
    expect((await readHealth(test.db)).every((h) => h.healthy)).toBe(true);
  });

  it('ignores one source, however wrong', async () => {
    advance(10);
    setAll('60000.00');
    setPrice('bitstamp', '120000.00');
    const cycle = await service.cycle();
    expect(cycle.acceptedKopecks).toBe(480_000_000n);
    expect(cycle.inputs).toContainEqual(expect.objectContaining({ source: 'bitstamp', status: 'outlier' }));
  });

  it('degrades without a quorum (keeping the last price), goes stale, and recovers by itself', async () => {
    advance(10);
    setAll(null);
    setPrice('coinbase', '60000.00');
    setPrice('kraken', '60000.00');
    const noQuorum = await service.cycle();
    expect(noQuorum).toMatchObject({ status: 'degraded', reasons: ['no_quorum'], acceptedKopecks: null, publishedKopecks: 480_000_000n });
    expect(noQuorum.detail.unhealthy).toEqual(expect.arrayContaining([expect.objectContaining({ source: 'bitstamp', reason: expect.stringContaining('HTTP 503') })]));
    expect((await readHealth(test.db)).find((h) => h.source === 'bitstamp')).toMatchObject({ healthy: false, consecutiveFailures: 1 });

    advance(130);
    setPrice('coinbase', '60000.00');
    setPrice('kraken', '60000.00');
    expect((await service.cycle()).reasons).toEqual(['no_quorum', 'stale_price']);

    advance(10);
    setAll('60100.00');
    const recovered = await service.cycle();
    expect(recovered).toMatchObject({ status: 'normal', reasons: [], acceptedKopecks: 480_800_000n });
  });

  it('degrades on a sharp move until a risk officer confirms the price', async () => {
    advance(10);
    setAll('50000.00');
    const crashed = await service.cycle();
    expect(crashed).toMatchObject({ status: 'degraded', reasons: ['sharp_move'], acceptedKopecks: 400_000_000n });
    expect(crashed.detail.sharpMove).toMatchObject({ fromKopecks: '480800000', toKopecks: '400000000' });
    advance(10);
    expect((await service.cycle()).reasons).toEqual(['sharp_move']);
    const officer = await test.db.query<{ id: bigint }>("INSERT INTO users (username, display_name, password_hash, roles) VALUES ('risk.one', 'Risk', '!', ARRAY['risk_officer']) RETURNING id");
    await test.db.query('INSERT INTO price_confirmations (at, user_id, cycle_id, price_kopecks, reason) VALUES ($1, $2, $3, $4, $5)', [clock, officer[0]!.id, crashed.id, 400_000_000n, 'checked against three venues by phone']);
    advance(10);
    expect(await service.cycle()).toMatchObject({ status: 'normal', reasons: [] });
  });

  it('publishes a manual price while it is valid, then returns to the feed', async () => {
    const [user] = await test.db.query<{ id: bigint }>("SELECT id FROM users WHERE username = 'risk.one'");
    const [approval] = await test.db.query<{ id: bigint }>(
      `INSERT INTO approvals (action_type, payload, summary, proposed_by, proposed_at, expires_at, status, decided_by, decided_at)
       VALUES ('prices.manual_price', '{}', 'test', $1, $2, $3, 'approved', (SELECT id FROM users WHERE username = 'system'), $2) RETURNING id`,
      [user!.id, clock, new Date(clock.getTime() + 3_600_000)],
    );
    await test.db.query('INSERT INTO price_manual (price_kopecks, valid_from, valid_until, reason, approval_id) VALUES ($1, $2, $3, $4, $5)', [390_000_000n, clock, new Date(clock.getTime() + 60_000), 'feed frozen', approval!.id]);
    advance(1);
    setAll('50000.00');
    const manual = await service.cycle();
    expect(manual).toMatchObject({ status: 'manual', publishedKopecks: 390_000_000n, acceptedKopecks: 400_000_000n });
    advance(120);
    setAll('50000.00'); // fresh quotes: those stamped two minutes ago would be refused as stale
    expect(await service.cycle()).toMatchObject({ status: 'normal', publishedKopecks: 400_000_000n });
  });

  it('rebuilds its memory after a restart: the window and the last price', async () => {
    const restarted = makeService();
    await restarted.init();
    expect(restarted.latest()?.publishedKopecks).toBe(400_000_000n);
    advance(10);
    setAll('44000.00'); // -12% against prices accepted within the hour: remembered across the restart
    expect((await restarted.cycle()).reasons).toEqual(['sharp_move']);
  });

  it.skipIf(testDatabaseUrl === undefined)('lets one instance poll and the other follow through NOTIFY', async () => {
    const other = await test.openAnother();
    const leader = makeService();
    const follower = makeService(other);
    const seen: bigint[] = [];
    follower.on('cycle', (cycle) => seen.push(cycle.id));
    const leaderSeen: bigint[] = [];
    leader.on('cycle', (cycle) => leaderSeen.push(cycle.id));
    const polledBefore = stub.count('/coinbase');
    await leader.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await follower.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await leader.cycle();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await follower.stop();
    await leader.stop();
    expect(leaderSeen.length).toBeGreaterThanOrEqual(2);
    expect(seen).toContain(leaderSeen.at(-1));
    // Only the leader polled: exactly one request to each source per leader cycle, none by the follower.
    expect(stub.count('/coinbase') - polledBefore).toBe(leaderSeen.length);
  });
});
