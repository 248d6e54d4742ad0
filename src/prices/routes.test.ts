import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fraction } from '../money/money.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { testDatabaseUrl } from '../test-support/database.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { fetchBitstampOhlc } from './import.js';
import { PriceService } from './price-service.js';
import { testPriceService } from '../test-support/prices.js';
import { saveHistory } from './price-repository.js';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';
import { pino } from 'pino';

let t: TestApp;
let stub: HttpStub;
let service: PriceService;
let clock = new Date();
const logged: { level: number; msg: string; source?: string }[] = [];

function setAll(usd: string): void {
  for (const name of ['ex-a', 'ex-b', 'ex-c']) stub.set(`/${name}`, { body: JSON.stringify({ price: usd, time: clock.toISOString() }) });
}

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp({ now: () => clock }); // the app and the price service share one clock
  const sources = ['ex-a', 'ex-b', 'ex-c'].map((name) => ({ name, kind: 'coinbase', pair: 'BTC/USD', weight: 1, url: stub.url(`/${name}`) }));
  service = testPriceService({ db: t.test.db, sources, cbrUrl: stub.url('/cbr'), now: () => clock, logger: pino({ level: 'info' }, { write: (line: string) => { logged.push(JSON.parse(line)); } }) });
  await service.init();
  setAll('60000.00');
  await service.cycle();
});
afterAll(async () => {
  await t.close();
  await stub.close();
});

describe('reading the price', () => {
  it('gives everyone, borrowers included, the current price with its status and the sources\' health', async () => {
    const response = await t.as('borrower1').get('/api/v1/prices/current');
    expect(response.statusCode).toBe(200);
    expect(response.json().price).toMatchObject({ price: '4800000.00', acceptedPrice: '4800000.00', status: 'normal', reasons: [], usdRub: '80' });
    expect(response.json().sources.map((s: { source: string }) => s.source).sort()).toEqual(['cbr', 'ex-a', 'ex-b', 'ex-c']);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/prices/current' })).statusCode).toBe(401);
  });

  it('shows staff every quote a cycle stood on', async () => {
    const current = (await t.as('auditor').get('/api/v1/prices/current')).json().price;
    const cycle = (await t.as('auditor').get(`/api/v1/prices/cycles/${current.cycleId}`)).json();
    expect(cycle.quotes.map((q: { source: string; price: string }) => `${q.source}=${q.price}`)).toEqual(['cbr=80', 'ex-a=60000', 'ex-b=60000', 'ex-c=60000']);
    expect(cycle.inputs.every((i: { status: string }) => i.status === 'used')).toBe(true);
    expect((await t.as('borrower1').get(`/api/v1/prices/cycles/${current.cycleId}`)).statusCode).toBe(404);
  });

  it('answers the price at a time, and candles', async () => {
    const at = await t.as('risk').get(`/api/v1/prices/at?time=${encodeURIComponent(new Date(clock.getTime() + 1000).toISOString())}`);
    expect(at.json().price).toBe('4800000.00');
    expect((await t.as('risk').get('/api/v1/prices/at?time=2001-01-01T00:00:00Z')).statusCode).toBe(404);
    const from = new Date(clock.getTime() - 3_600_000).toISOString();
    const candles = await t.as('borrower1').get(`/api/v1/prices/ohlc?from=${from}&interval=3600`);
    expect(candles.json().candles.at(-1)).toMatchObject({ close: '4800000.00', cycles: 1 });
    expect((await t.as('risk').get(`/api/v1/prices/ohlc?from=${from}&interval=7`)).statusCode).toBe(400);
    expect((await t.as('risk').get('/api/v1/prices/ohlc?from=2000-01-01T00:00:00Z&interval=60')).json().error.code).toBe('range_too_large');
  });

  it('serves imported history exactly as imported', async () => {
    await t.test.db.transaction((tx) => saveHistory(tx, 'cbr', 'USD/RUB', 86_400, [{ start: new Date('2024-05-31T00:00:00Z'), open: fraction(897_869n, 10_000n), high: fraction(897_869n, 10_000n), low: fraction(897_869n, 10_000n), close: fraction(897_869n, 10_000n) }]));
    const response = await t.as('auditor').get('/api/v1/prices/history?pair=USD/RUB&from=2024-05-01T00:00:00Z&to=2024-06-01T00:00:00Z');
    expect(response.json().bars).toEqual([{ source: 'cbr', intervalSeconds: 86_400, start: '2024-05-31T00:00:00.000Z', open: '89.7869', high: '89.7869', low: '89.7869', close: '89.7869' }]);
  });
});

describe('a stopped feed', () => {
  it('is reported degraded (stale_price) when read, though its last cycle said normal', async () => {
    const saved = clock;
    clock = new Date(clock.getTime() + 200_000); // no cycle for 200 s
    const response = await t.as('officer').get('/api/v1/prices/current');
    expect(response.json().price).toMatchObject({ status: 'degraded', reasons: ['stale_price'], price: '4800000.00' });
    clock = saved;
  });
});

describe('a manual price', () => {
  it('is proposed by one risk officer and set by a second, then published by the service', async () => {
    const proposed = await t.as('risk').post('/api/v1/prices/manual', { price: '4700000.00', validMinutes: 30, reason: 'two exchanges frozen' });
    expect(proposed.statusCode).toBe(202);
    expect(proposed.json()).toMatchObject({ actionType: 'prices.manual_price', status: 'pending' });
    expect((await t.as('risk').post(`/api/v1/approvals/${proposed.json().id}/approve`)).json().error.code).toBe('approver_is_proposer');
    expect((await t.as('officer').post(`/api/v1/approvals/${proposed.json().id}/approve`)).statusCode).toBe(403);
    const approved = await t.as('risk2').post(`/api/v1/approvals/${proposed.json().id}/approve`);
    expect(approved.statusCode).toBe(200);
    clock = new Date(Date.now() + 5_000);
    setAll('60000.00');
    expect(await service.cycle()).toMatchObject({ status: 'manual', publishedKopecks: 470_000_000n });
    const audit = (await t.as('auditor').get(`/api/v1/audit?target=approval:${proposed.json().id}`)).json().records.map((r: { action: string }) => r.action);
    expect(audit).toEqual(['prices.manual_price.propose', 'approval.approve.prices.manual_price']);
    clock = new Date(Date.now() + 31 * 60_000);
    setAll('60000.00');
    expect((await service.cycle()).status).toBe('normal');
  });

  it.each<[string, object, string]>([
    ['an exponent price', { price: '4.7e6', validMinutes: 30, reason: 'x' }, 'invalid_amount'],
    ['a JSON number', { price: 4700000, validMinutes: 30, reason: 'x' }, 'validation_failed'],
    ['more than a day', { price: '4700000.00', validMinutes: 1_441, reason: 'x' }, 'validation_failed'],
    ['no reason', { price: '4700000.00', validMinutes: 30 }, 'validation_failed'],
  ])('refuses %s', async (_name, body, code) => {
    const response = await t.as('risk').post('/api/v1/prices/manual', body);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe(code);
  });
});

describe('confirming a price after a sharp move', () => {
  it('clears the hold on the latest cycle only, by a risk officer', async () => {
    clock = new Date(clock.getTime() + 10_000);
    setAll('50000.00');
    const crashed = await service.cycle();
    expect(crashed.reasons).toEqual(['sharp_move']);
    expect((await t.as('officer').post('/api/v1/prices/confirm', { cycleId: crashed.id.toString(), reason: 'checked' })).statusCode).toBe(403);
    expect((await t.as('risk').post('/api/v1/prices/confirm', { cycleId: '1', reason: 'old' })).json().error.code).toBe('price_moved_on');
    const confirmed = await t.as('risk').post('/api/v1/prices/confirm', { cycleId: crashed.id.toString(), reason: 'checked with two OTC desks' });
    expect(confirmed.statusCode).toBe(200);
    clock = new Date(clock.getTime() + 10_000);
    setAll('50000.00');
    expect(await service.cycle()).toMatchObject({ status: 'normal', reasons: [] });
    expect((await t.as('risk').post('/api/v1/prices/confirm', { cycleId: (await service.latest())!.id.toString(), reason: 'again' })).json().error.code).toBe('nothing_to_confirm');
  });
});

describe('every source failing', () => {
  it('leaves /healthz alive, makes /readyz say why the service is not ready, and warns once per source and once for the price', async () => {
    clock = new Date(clock.getTime() + 10_000);
    setAll('50000.00');
    await service.cycle();
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode, ready.body).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', price: { status: 'normal', source: 'feed' } });
    logged.length = 0;
    for (const name of ['ex-a', 'ex-b', 'ex-c']) stub.set(`/${name}`, { status: 503, body: 'down' });
    for (let i = 0; i < 3; i += 1) {
      clock = new Date(clock.getTime() + 10_000);
      expect((await service.cycle()).status).toBe('degraded');
    }
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const notReady = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({ status: 'not_ready', reason: expect.stringMatching(/degraded \(.*no_quorum/), price: { status: 'degraded' } });
    const warnings = logged.filter((l) => l.level === 40);
    expect(warnings.filter((l) => l.msg === 'price source failing').map((l) => l.source).sort()).toEqual(['ex-a', 'ex-b', 'ex-c']);
    expect(warnings.filter((l) => l.msg.startsWith('price degraded'))).toHaveLength(1);
    // The feed comes back: one warning that it did, and ready again.
    clock = new Date(clock.getTime() + 10_000);
    setAll('50000.00');
    expect((await service.cycle()).status).toBe('normal');
    expect(logged.filter((l) => l.level === 40 && l.msg === 'price no longer degraded')).toHaveLength(1);
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    // A feed that stopped writing cycles is stale: not ready either.
    clock = new Date(clock.getTime() + 200_000);
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json().reason).toMatch(/s old \(limit 120 s\)/);
  });
});

describe('importing history', () => {
  it('pages through Bitstamp\'s OHLC endpoint (1,000 candles a request)', async () => {
    const first = 1_700_000_000 - (1_700_000_000 % 3_600);
    stub.set('/api/v2/ohlc/btcusd/', (_count, url) => {
      const start = Number(url.searchParams.get('start'));
      const end = Number(url.searchParams.get('end'));
      const ohlc = [];
      for (let ts = start; ts < end && ohlc.length < 1_000; ts += 3_600) ohlc.push({ timestamp: String(ts), open: '100', high: '110', low: '90', close: '105.5', volume: '1' });
      return { body: JSON.stringify({ data: { pair: 'BTC/USD', ohlc } }) };
    });
    const bars = await fetchBitstampOhlc({ url: stub.url('/api/v2/ohlc/btcusd/'), timeoutMs: 1_000 }, new Date(first * 1000), new Date((first + 2_500 * 3_600) * 1000), 3_600);
    expect(bars).toHaveLength(2_500);
    expect(stub.count('/api/v2/ohlc/btcusd/')).toBe(3);
    expect(bars[0]!.close).toEqual(fraction(211n, 2n));
    await expect(fetchBitstampOhlc({ url: stub.url('/api/v2/ohlc/btcusd/'), timeoutMs: 1_000 }, new Date(), new Date(), 7)).rejects.toThrow(/steps/);
  });
});

describe.skipIf(testDatabaseUrl !== undefined)('zalog prices import and replay', () => {
  let dataDir: string;
  beforeAll(async () => { dataDir = await mkdtemp(path.join(tmpdir(), 'zalog-prices-')); });
  afterAll(async () => { await rm(dataDir, { recursive: true, force: true }); });

  const zalog = (args: string[]) => runZalog(args, { dataDir });

  it('imports the Bank of Russia CSV and replays the 2020-2022 crash windows, naming each breaker trip', async () => {
    const data = path.resolve('../shared/data');
    const imported = await zalog(['prices', 'import', '--csv', path.join(data, 'usd_rub_cbr_daily_1992-07-01_2024-05-31.csv'), '--column', 'usd_rub', '--pair', 'USD/RUB', '--interval', '86400']);
    expect(imported.output).toMatch(/imported 7350 USD\/RUB bars/);
    const replayed = await zalog(['prices', 'replay', '--name', 'crashes', '--btc-usd', path.join(data, 'btc_usd_hourly_crash_windows_bitstamp.csv'), '--usd-rub', path.join(data, 'usd_rub_cbr_daily_1992-07-01_2024-05-31.csv'), '--json']);
    expect(replayed.code).toBe(0);
    const summary = JSON.parse(replayed.output);
    expect(summary).toMatchObject({ stream: 'replay:crashes', cycles: 1_176, accepted: 1_176 });
    const trips = summary.changes.filter((c: { to: string }) => c.to === 'degraded').map((c: { at: string }) => c.at);
    expect(trips).toContain('2020-03-12T11:00:00.000Z');
    const bad = await zalog(['prices', 'import', '--csv', path.join(data, 'SOURCES.md'), '--pair', 'BTC/USD']);
    expect(bad.code).toBe(2);
  }, PROCESS_TEST_TIMEOUT_MS);
});
