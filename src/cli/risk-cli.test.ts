import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import { migrate } from '../db/migrate.js';
import { openPglite } from '../db/pglite.js';
import { DEFAULT_PRODUCT, type ProductTerms } from '../loans/product.js';
import { seedLoans } from '../loans/seed.js';
import { testDatabaseUrl } from '../test-support/database.js';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';

/**
 * `zalog stress` and `zalog backtest` as the real process on a PGlite data directory: the stress of
 * a seeded book, and backtests over the daily and the hourly Bitstamp files in ../shared/data.
 */

const DATA = path.resolve('../shared/data');
const DAILY = `${DATA}/btc_usd_daily_bitstamp_2014-11-28_2023-02-11.csv`;
const HOURLY = `${DATA}/btc_usd_hourly_bitstamp_2018-05-15_2023-02-11.csv`;
const USD_RUB = `${DATA}/usd_rub_cbr_daily_1992-07-01_2024-05-31.csv`;

describe.skipIf(testDatabaseUrl !== undefined)('zalog stress and zalog backtest', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'zalog-risk-cli-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  const zalog = (args: string[]) => runZalog(args, { dataDir: path.join(dir, 'data') });

  it('stress: needs a price; shocks the seeded book by -30% and -50%', async () => {
    const none = await zalog(['stress', '--shock', '-30%']);
    expect(none.code).toBe(2);
    expect(none.output).toMatch(/no BTC\/RUB price yet/);
    // 20 loans of 1,000,000.00 against 0.25 to 0.40 BTC; the live price 8,000,000.00 (40% to 50%).
    const db = await openPglite({ dataDir: path.join(dir, 'data', 'pglite') });
    await migrate(db);
    await seedLoans(db, { count: 20, disbursedOn: '2026-01-15', calendar: await loadCalendar(), satsRange: { min: 25_000_000n, max: 40_000_000n } });
    await db.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, inputs) VALUES ('live', now(), 800000000, 800000000, 'normal', '[]')`);
    await db.close();
    const mildRun = await zalog(['stress', '--shock', '-30%', '--json']);
    expect(mildRun.code, mildRun.output).toBe(0);
    const mild = JSON.parse(mildRun.stdout);
    expect(mild).toMatchObject({ loans: 20, price: '8000000.00', shockedPrice: '5600000.00' });
    expect(mild.liquidation.loans).toBe(0);
    const deep = JSON.parse((await zalog(['stress', '--shock=-50%', '--depth-btc-per-hour', '0.5', '--json'])).stdout);
    expect(deep.shockedPrice).toBe('4000000.00');
    // 1,000,000 against 0.25 BTC at 4,000,000 is 100%: every loan under 0.3125 BTC is liquidated.
    expect(deep.liquidation.loans, JSON.stringify(deep)).toBeGreaterThan(0);
    expect(deep.states.liquidation.after).toBe(deep.liquidation.loans);
    expect(deep.queue.hoursToClear).toBeGreaterThan(0);
    const text = await zalog(['stress', '--shock', '-50%']);
    expect(text.output).toMatch(/20 live loans; BTC\/RUB 8000000.00 -> 4000000.00/);
    expect((await zalog(['stress', '--shock', '-100%'])).code).toBe(2);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('backtest over the daily file: two ladders side by side, each run checked', async () => {
    const standard: ProductTerms = { ...DEFAULT_PRODUCT, rate: { kind: 'fixed', percent: '20' } };
    const aggressive: ProductTerms = { ...standard, collateral: { ...standard.collateral, ltv: { origination: '65', warning: '70', marginCall: '75', acceleratedCall: '80', liquidation: '85', target: '60' } } };
    await writeFile(path.join(dir, 'standard.json'), JSON.stringify(standard));
    await writeFile(path.join(dir, 'aggressive.json'), JSON.stringify(aggressive));
    const run = await zalog(['backtest', '--product', path.join(dir, 'standard.json'), path.join(dir, 'aggressive.json'), '--btc-usd', DAILY, '--usd-rub', USD_RUB,
      '--from', '2021-10-01', '--to', '2022-07-15', '--originate', 'monthly', '--loans', '4', '--json']);
    expect(run.code, run.output).toBe(0);
    const { runs } = JSON.parse(run.stdout);
    expect(runs.map((r: { product: { code: string } }) => r.product.code)).toEqual(['STANDARD', 'AGGRESSIVE']);
    for (const r of runs) {
      expect(r.window).toMatchObject({ intervalSeconds: 86_400, bars: 288 });
      expect(r.book).toMatchObject({ originations: 10, loans: 40, lentRub: '40000000.00' });
      expect(r.checks).toEqual({ ledgerBalanced: true, loansReconciled: true, transitionsOutOfOrder: 0, liquidatedAboveThreshold: 0, fillsBelowFloor: 0, unbookedSales: 0 });
    }
    // BTC fell from about 4.4 to 1.2 million roubles: lending at 65% liquidates more than at 50%.
    expect(runs[1].outcomes.liquidations).toBeGreaterThan(runs[0].outcomes.liquidations);
    expect(runs[0].outcomes.marginCalls).toBeGreaterThan(0);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('backtest over the hourly file (June 2022); refuses what it cannot run', async () => {
    await writeFile(path.join(dir, 'standard.json'), JSON.stringify({ ...DEFAULT_PRODUCT, rate: { kind: 'fixed', percent: '20' } }));
    const run = await zalog(['backtest', '--product', path.join(dir, 'standard.json'), '--btc-usd', HOURLY, '--usd-rub', USD_RUB, '--from', '2022-06-01', '--to', '2022-06-25', '--originate', 'weekly', '--loans', '3', '--top-up-share', '50', '--top-up-after-hours', '6', '--loans-csv', path.join(dir, 'trail.csv')]);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/STANDARD: ladder/);
    expect(run.output).toMatch(/collateral: every loan lent at the product's origination LTV \(50%\); LTV at lending 50%\.\.50%/);
    // The per-loan trail: 4 weekly cohorts of 3 loans, each lent then moved.
    const trail = (await readFile(path.join(dir, 'trail.csv'), 'utf8')).trim().split('\n');
    expect(trail[0]).toBe('product,loan,at_utc,moscow_day,event,from_state,to_state,price_rub_per_btc,ltv_percent,debt_rub,collateral_btc,call_deadline_utc');
    expect(trail.filter((line) => line.includes(',lent,'))).toHaveLength(12);
    expect(run.output).toMatch(/wrote \d+ rows \(12 loans\) to .*trail.csv/);
    expect((await zalog(['backtest', '--product', path.join(dir, 'standard.json'), '--btc-usd', HOURLY, '--usd-rub', USD_RUB, '--from', '2022-06-01', '--to', '2022-06-02', '--collateral-spread', 'lots'])).code).toBe(2);
    expect(run.output).toMatch(/577 bars of 3600 s/);
    expect(run.output).toMatch(/by a top-up or repayment; \d+ top-ups, \d+\.\d{8} BTC\)/);
    expect((await zalog(['backtest', '--product', path.join(dir, 'standard.json'), '--btc-usd', HOURLY, '--usd-rub', USD_RUB, '--from', '2022-06-01', '--to', '2022-06-02', '--top-up-share', '101'])).code).toBe(2);
    expect(run.output).toMatch(/"liquidatedAboveThreshold":0,"fillsBelowFloor":0,"unbookedSales":0/);
    const nope = await zalog(['backtest', '--product', 'NOPE', '--btc-usd', HOURLY, '--usd-rub', USD_RUB, '--from', '2022-06-01', '--to', '2022-06-02']);
    expect(nope.code).toBe(2);
    expect(nope.output).toMatch(/no loan product NOPE/);
    await writeFile(path.join(dir, 'floating.json'), JSON.stringify(DEFAULT_PRODUCT));
    const floating = await zalog(['backtest', '--product', path.join(dir, 'floating.json'), '--btc-usd', HOURLY, '--usd-rub', USD_RUB, '--from', '2022-06-01', '--to', '2022-06-02']);
    expect(floating.code).toBe(2);
    expect(floating.output).toMatch(/floating rate/);
    const small = await zalog(['backtest', '--product', path.join(dir, 'standard.json'), '--btc-usd', HOURLY, '--usd-rub', USD_RUB, '--from', '2022-06-01', '--to', '2022-06-02', '--amount', '1.00']);
    expect(small.code).toBe(2);
    expect(small.output).toMatch(/the amount is 100000.00 to \d+\.00 RUB under product STANDARD/);
  }, PROCESS_TEST_TIMEOUT_MS);
});
