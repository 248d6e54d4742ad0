import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { bankCalendar } from '../calendar/load.js';
import { rateFromPercent } from '../loans/interest.js';
import { DEFAULT_PRODUCT, type ProductTerms } from '../loans/product.js';
import type { PriceKopecksPerBtc } from '../money/money.js';
import { readBarsCsv, readRateCsv } from '../prices/history-files.js';
import { loadPricesConfig, pipelineConfig } from '../prices/prices-config.js';
import { historyPipeline } from '../prices/replay.js';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { invariants, runBacktest, type BacktestReport } from './backtest.js';
import { atOrAbove } from './ladder.js';
import { floorPrice } from './liquidation.js';

/**
 * The crashes of 12 March 2020 (BTC about -50% intraday) and 19 May 2021 (about -30%) replayed
 * hour by hour from the recorded Bitstamp candles (../shared/data) through the price pipeline, the
 * risk engine, end of day and the liquidation job (simulated venue), over a book lent every
 * business day of the window (the backtest's machinery, src/risk/backtest.ts). After each: the
 * transitions are in time order, no loan entered liquidation above its threshold (checked here
 * loan by loan with the ladder's own rule, not only by the backtest's SQL), no fill is below its
 * floor (recomputed here from the reference), every sale is booked, and the ledger balances and
 * agrees with every loan and its collateral.
 *
 * Two products: the default ladder (open 50%, call 70%, liquidate 80%, 48 h to cure) and an
 * aggressive one that lends at 65% and liquidates at 85%, so both crashes also liquidate.
 */

const DATA = '../shared/data';
const calendar = await bankCalendar();
const btcUsd = readBarsCsv(await readFile(`${DATA}/btc_usd_hourly_crash_windows_bitstamp.csv`, 'utf8'));
const usdRub = readRateCsv(await readFile(`${DATA}/usd_rub_cbr_daily_1992-07-01_2024-05-31.csv`, 'utf8'), 'usd_rub');
const pipeline = historyPipeline(pipelineConfig(await loadPricesConfig()), 3_600);

const STANDARD: ProductTerms = { ...DEFAULT_PRODUCT, name: 'Standard, fixed 20%', rate: { kind: 'fixed', percent: '20' } };
const AGGRESSIVE: ProductTerms = {
  ...STANDARD, name: 'Aggressive',
  collateral: { ...STANDARD.collateral, ltv: { origination: '65', warning: '70', marginCall: '75', acceleratedCall: '80', liquidation: '85', target: '60' } },
};

const EVENTS = [
  { name: '12 March 2020', from: '2020-03-08T00:00:00Z', to: '2020-03-17T00:00:00Z' },
  { name: '19 May 2021', from: '2021-05-16T00:00:00Z', to: '2021-05-25T00:00:00Z' },
];
const opened: TestDatabase[] = [];
afterAll(async () => {
  for (const test of opened) await test.close();
});

async function replayCrash(event: (typeof EVENTS)[number], code: string, terms: ProductTerms): Promise<{ report: BacktestReport; test: TestDatabase }> {
  const test = await openTestDatabase();
  opened.push(test);
  const report = await runBacktest({
    db: test.db, product: { code, terms }, btcUsd, intervalSeconds: 3_600, usdRub, from: new Date(event.from), to: new Date(event.to),
    originate: 'daily', loansPerOrigination: 8, amountKopecks: 100_000_000n, months: 12, repaymentType: 'annuity', pipeline, calendar, capSats: 50n * 100_000_000n,
  });
  return { report, test };
}

/** The checks of the issue, made here from the rows with the pure rules. */
async function checkBooks(test: TestDatabase, terms: ProductTerms): Promise<void> {
  const db = test.db;
  const transitions = await db.query<{ id: bigint; from_state: string; to_state: string; cause: string; price_kopecks: bigint; debt_kopecks: bigint; sats: bigint; at: Date }>('SELECT * FROM risk_transitions ORDER BY id');
  for (let i = 1; i < transitions.length; i += 1) expect(transitions[i]!.at >= transitions[i - 1]!.at, `transition ${transitions[i]!.id} is before the one recorded ahead of it`).toBe(true);
  const liquidationLtv = rateFromPercent(terms.collateral.ltv.liquidation)!;
  const haircut = rateFromPercent(terms.collateral.haircutPercent)!;
  for (const t of transitions.filter((row) => row.to_state === 'liquidation' && row.from_state !== 'liquidation')) {
    if (t.cause === 'deadline') {
      // The loan was still in the call its previous transition opened, and the deadline had passed.
      const [previous] = await db.query<{ to_state: string; call_deadline: Date | null }>(`SELECT to_state, call_deadline FROM risk_transitions WHERE loan_id = (SELECT loan_id FROM risk_transitions WHERE id = $1) AND id < $1 ORDER BY id DESC LIMIT 1`, [t.id]);
      expect(['margin_call', 'accelerated_call'], `transition ${t.id}: expired a call the loan was not in`).toContain(previous!.to_state);
      expect(previous!.call_deadline! <= t.at, `transition ${t.id}: liquidated before its call's deadline`).toBe(true);
    } else {
      expect(atOrAbove({ debt: t.debt_kopecks, sats: t.sats }, t.price_kopecks, liquidationLtv, haircut), `transition ${t.id}: liquidated above its threshold's price`).toBe(true);
    }
  }
  const fills = await db.query<{ price_kopecks: bigint; reference_kopecks: bigint; floor_kopecks: bigint }>('SELECT f.price_kopecks, q.reference_kopecks, q.floor_kopecks FROM liquidation_fills f JOIN liquidations q ON q.id = f.liquidation_id');
  for (const f of fills) {
    expect(f.floor_kopecks).toBe(floorPrice(f.reference_kopecks as PriceKopecksPerBtc, 50_000n));
    expect(f.price_kopecks >= f.floor_kopecks).toBe(true);
  }
  expect(await db.query(`SELECT id FROM liquidations WHERE status NOT IN ('booked', 'cancelled')`)).toEqual([]);
  const checks = await invariants(db);
  expect(checks).toEqual({ ledgerBalanced: true, loansReconciled: true, transitionsOutOfOrder: 0, liquidatedAboveThreshold: 0, fillsBelowFloor: 0 });
  // The BTC in custody is the collateral still pledged or confirmed.
  const [custody] = await db.query<{ ledger: bigint; positions: bigint }>(`
    SELECT (SELECT coalesce(sum(p.amount), 0) FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE a.chart_code = 'collateral_held')::int8 AS ledger,
           (SELECT coalesce(sum(sats), 0) FROM collateral_positions WHERE state IN ('pledged', 'confirmed'))::int8 AS positions`);
  expect(custody!.ledger).toBe(custody!.positions);
}

describe.each(EVENTS)('the crash of $name, replayed hour by hour', (event) => {
  it('standard ladder: calls, cures and liquidations in order, never above the threshold or below the floor; the books balance', async () => {
    const { report, test } = await replayCrash(event, 'STANDARD', STANDARD);
    expect(report.window.bars).toBe(216);
    expect(report.book.loans).toBeGreaterThan(0);
    if (event.from.startsWith('2020')) {
      // 12 March 2020 calls loans and the calls that were not cured by 16 March liquidate.
      expect(report.outcomes.marginCalls + report.outcomes.acceleratedCalls).toBeGreaterThan(0);
      expect(report.outcomes.liquidations).toBeGreaterThan(0);
    }
    expect(report.checks).toMatchObject({ unbookedSales: 0, fillsBelowFloor: 0, liquidatedAboveThreshold: 0, ledgerBalanced: true, loansReconciled: true });
    await checkBooks(test, STANDARD);
  }, 120_000);

  it('aggressive ladder: the crash liquidates; the same checks hold, and would catch a forgery', async () => {
    const { report, test } = await replayCrash(event, 'AGGRESSIVE', AGGRESSIVE);
    expect(report.outcomes.liquidations).toBeGreaterThan(0);
    expect(report.worstDay).not.toBeNull();
    await checkBooks(test, AGGRESSIVE);
    // The checker can fail: a fill under its floor, a liquidation at a low LTV, one by a deadline
    // on a loan that was in no call, and a transition recorded before the one ahead of it are each
    // counted (written in a transaction that is rolled back).
    class Rollback extends Error {}
    await expect(test.db.transaction(async (tx) => {
      const [sale] = await tx.query<{ id: bigint; floor_kopecks: bigint; loan_id: bigint }>(`SELECT id, floor_kopecks, loan_id FROM liquidations WHERE status = 'booked' LIMIT 1`);
      await tx.query(`INSERT INTO liquidation_fills (liquidation_id, venue_fill_id, sats, price_kopecks, fee_kopecks, at) VALUES ($1, 'forged', 1, $2, 0, now())`, [sale!.id, sale!.floor_kopecks - 1n]);
      const forge = (from: string, cause: string, at: string) => tx.query(`INSERT INTO risk_transitions (loan_id, from_state, to_state, cause, price_kopecks, debt_kopecks, sats, ltv_millionths, product_code, product_version, at)
                         VALUES ($1, $2, 'liquidation', $3, 1, 1, 1, 10, 'AGGRESSIVE', 1, $4)`, [sale!.loan_id, from, cause, at]);
      await forge('warning', 'price', '2030-01-01T00:00:00Z');
      await forge('healthy', 'deadline', '2030-01-02T00:00:00Z');
      await forge('warning', 'price', '2020-01-01T00:00:00Z');
      expect(await invariants(tx)).toMatchObject({ fillsBelowFloor: 1, liquidatedAboveThreshold: 3, transitionsOutOfOrder: 1 });
      throw new Rollback();
    })).rejects.toThrow(Rollback);
    expect(await invariants(test.db)).toMatchObject({ fillsBelowFloor: 0, liquidatedAboveThreshold: 0, transitionsOutOfOrder: 0 });
  }, 120_000);
});
