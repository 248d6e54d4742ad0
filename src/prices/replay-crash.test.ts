import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { readBarsCsv, readRateCsv } from './history-files.js';
import { replay } from './replay.js';
import { cyclesBetween } from './price-repository.js';
import type { PipelineConfig } from './pipeline.js';

/**
 * Real history through the real pipeline: the Bitstamp hourly bars of the March 2020 crash and the
 * Bank of Russia's USD/RUB rate, from ../shared/data (read there, never copied into the repo).
 */

const DATA = path.resolve('../shared/data');
// History has one source, so a quorum of one; the breaker: more than 10% within an hour.
const config: PipelineConfig = {
  aggregation: { maxQuoteAgeSeconds: 7_200, outlierBps: 500n, quorum: 1 },
  breaker: { maxMoveBps: 1_000n, moveWindowSeconds: 3_600, staleAfterSeconds: 7_200 },
  weights: {},
};

let test: TestDatabase;
let crash: ReturnType<typeof readBarsCsv>;
let usdRub: ReturnType<typeof readRateCsv>;

beforeAll(async () => {
  test = await openTestDatabase();
  const hourly = await readFile(path.join(DATA, 'btc_usd_hourly_crash_windows_bitstamp.csv'), 'utf8');
  const march2020 = hourly.split('\n').filter((line, index) => index === 0 || line.startsWith('2020-03,')).join('\n');
  crash = readBarsCsv(march2020);
  usdRub = readRateCsv(await readFile(path.join(DATA, 'usd_rub_cbr_daily_1992-07-01_2024-05-31.csv'), 'utf8'), 'usd_rub');
});
afterAll(() => test.close());

describe('replaying 12 March 2020', () => {
  it('trips the breaker on the first hourly fall beyond 10%, and the record says why', async () => {
    const summary = await replay(test.db, { name: 'crash-2020-03', series: crash, pair: 'BTC/USD', intervalSeconds: 3_600, usdRub, config, speed: 'max', batchSize: 50 });
    expect(summary.cycles).toBe(216);
    expect(summary.accepted).toBe(216);

    const firstTrip = summary.changes.find((change) => change.to === 'degraded');
    // The 10:00 bar of 12 March closed at 6,334.44 after 7,342.49 (-13.7%); its close is seen at 11:00.
    expect(firstTrip?.at.toISOString()).toBe('2020-03-12T11:00:00.000Z');
    expect(firstTrip?.reasons).toEqual(['sharp_move']);
    // At the Bank of Russia's rate effective on 12 March 2020, 71.4720 RUB per USD:
    // 7,342.49 x 71.472 = 524,782.44528 RUB -> 52,478,245 kopecks (half-even);
    // 6,334.44 x 71.472 = 452,735.09568 RUB -> 45,273,510 kopecks; the fall is 1,372 bps (floor).
    expect(firstTrip?.detail.sharpMove).toMatchObject({ fromKopecks: '52478245', toKopecks: '45273510', moveBps: '1372' });

    const stored = await cyclesBetween(test.db, summary.stream, new Date('2020-03-12T11:00:00Z'), new Date('2020-03-12T11:00:01Z'), 10);
    expect(stored[0]).toMatchObject({ status: 'degraded', reasons: ['sharp_move'], acceptedKopecks: 45_273_510n, usdRub: '71.472' });
    expect(stored[0]?.detail.sharpMove).toMatchObject({ moveBps: '1372' });
    expect(stored[0]?.inputs).toEqual([{ source: 'history:crash-2020-03', pair: 'BTC/USD', priceKopecks: '45273510', observedAt: '2020-03-12T11:00:00.000Z', status: 'used' }]);

    // It recovers on its own an hour after the last sharp move, and trips again at the 23:00 fall.
    expect(summary.changes.some((change) => change.to === 'normal' && change.at > firstTrip!.at)).toBe(true);
    expect(summary.changes.filter((change) => change.to === 'degraded').map((change) => change.at.toISOString())).toContain('2020-03-13T00:00:00.000Z');
  });

  it('does not trip where the breaker is set wider than the fall', async () => {
    const wide = { ...config, breaker: { ...config.breaker, maxMoveBps: 2_500n } };
    const summary = await replay(test.db, { name: 'crash-wide', series: crash, pair: 'BTC/USD', intervalSeconds: 3_600, usdRub, config: wide, speed: 'max' });
    expect(summary.changes.filter((change) => change.to === 'degraded')).toEqual([]);
  });
});
