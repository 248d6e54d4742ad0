import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { HttpStub } from './http-stub.js';
import { fraction } from '../money/money.js';
import { PriceService } from '../prices/price-service.js';
import { buildSources, checkPricesConfig, pipelineConfig } from '../prices/prices-config.js';

/**
 * A price service for tests: the sources given (pointing at a local stub), the thresholds of
 * config/prices.json (60 s staleness, 2% outliers, quorum 3; a 10% move within 60 minutes, 120 s
 * stale price), no retries, and the Bank of Russia rate fixed at 80.0000 RUB per USD, effective on
 * the clock's day. So a BTC/USD quote of 60,000.00 is 480,000,000 kopecks.
 */
export function testPriceService(options: { db: Database; sources: readonly unknown[]; cbrUrl: string; now: () => Date; logger?: Logger }): PriceService {
  const config = checkPricesConfig({
    cycleSeconds: 10,
    aggregation: { maxQuoteAgeSeconds: 60, outlierPercent: '2', quorum: 3 },
    breaker: { maxMovePercent: '10', moveWindowMinutes: 60, staleAfterSeconds: 120 },
    // The sources are local stubs, but on a busy 2-core CI machine three of them answering within
    // 500 ms is not a given, and a cycle without its quorum publishes no price (seen in CI: a
    // world's first cycle came out empty). A slow answer here is load, not the behaviour under test.
    http: { timeoutMs: 5_000, retries: 0, backoffMs: 0 },
    usdRub: { url: options.cbrUrl, refreshMinutes: 60, maxAgeDays: 4 },
    sources: options.sources,
  });
  return new PriceService({
    db: options.db,
    sources: buildSources(config),
    usdRub: async () => ({ effectiveDate: options.now().toISOString().slice(0, 10), rubPerUnit: fraction(80n, 1n) }),
    usdRubRefreshSeconds: 3_600,
    usdRubMaxAgeDays: 4,
    pipeline: pipelineConfig(config),
    retry: config.http,
    cycleSeconds: config.cycleSeconds,
    now: options.now,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
}

/**
 * A price service whose three sources (on `stub`) all quote BTC/USD at `usd`, with one cycle run:
 * the accepted BTC/RUB price is usd x 80 (for tests that need "the current price" to exist).
 */
export async function fixedPriceService(db: Database, stub: HttpStub, usd: string): Promise<PriceService> {
  const names = ['ex-a', 'ex-b', 'ex-c'];
  for (const name of names) stub.set(`/${name}`, () => ({ body: JSON.stringify({ price: usd, time: new Date().toISOString() }) }));
  const service = testPriceService({ db, sources: names.map((name) => ({ name, kind: 'coinbase', pair: 'BTC/USD', weight: 1, url: stub.url(`/${name}`) })), cbrUrl: stub.url('/cbr'), now: () => new Date() });
  await service.init();
  await service.cycle();
  return service;
}
