import { afterAll, describe, expect, it } from 'vitest';
import { bankCalendar } from '../calendar/load.js';
import { DEFAULT_PRODUCT, type ProductTerms } from '../loans/product.js';
import { readBarsCsv, readRateCsv } from '../prices/history-files.js';
import { loadPricesConfig, pipelineConfig } from '../prices/prices-config.js';
import { historyPipeline } from '../prices/replay.js';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { formatRate } from '../loans/origination.js';
import { invariants, loanTrailCsv, originationDays, runBacktest } from './backtest.js';

const calendar = await bankCalendar();

describe('the days a backtest lends on', () => {
  it('monthly: the first business day of each month (2025: 1-8 January are holidays, 1 March is a Saturday)', () => {
    expect([...originationDays('2025-01-01', '2025-04-01', 'monthly', calendar)]).toEqual(['2025-01-09', '2025-02-03', '2025-03-03']);
  });

  it('weekly: each Monday, or the next business day (12 May 2025 follows the Victory Day holidays)', () => {
    expect([...originationDays('2025-05-01', '2025-05-20', 'weekly', calendar)]).toEqual(['2025-05-05', '2025-05-12', '2025-05-19']);
  });

  it('daily: every business day; never on or after the end', () => {
    expect([...originationDays('2025-05-07', '2025-05-14', 'daily', calendar)]).toEqual(['2025-05-07', '2025-05-12', '2025-05-13']);
    expect([...originationDays('2025-01-01', '2025-01-09', 'monthly', calendar)]).toEqual([]);
  });
});

describe('a backtest through a made-up crash (hand-checked)', () => {
  // 100,000 USD/BTC at 100 RUB/USD (10,000,000 RUB/BTC) from Monday 3 March 2025; on Wednesday at
  // 12:00 UTC one bar falls 60% to 40,000 and the price stays there. Six loans of 1,000,000.00 RUB
  // are lent on the Monday with the explicit spread option (50% to open: 0.2 BTC, spread up to
  // 0.4 BTC by loan id, --collateral-spread 100: 0.344, 0.289,
  // 0.233, 0.377, 0.322, 0.266 BTC). At 4,000,000 RUB/BTC their LTVs are 72.6%, 86.6%, 107.3%,
  // 66.2%, 77.7% and 93.9%: loans 2, 3 and 6 reach liquidation, and loan 3's collateral does not
  // cover its debt. The fall is a sharp move: the breaker degrades the price for an hour, then
  // the new price stands.
  const opened: TestDatabase[] = [];
  afterAll(async () => {
    for (const each of opened) await each.close();
  });
  async function crash(topUp?: { sharePercent: number; afterHours: number }, equipment?: { maxSharePercent: string; stressPercent: string }) {
    const test = await openTestDatabase();
    opened.push(test);
    const lines = ['datetime_utc,open,high,low,close'];
    for (let h = 0; h < 24 * 6; h += 1) {
      const at = new Date(Date.UTC(2025, 2, 3, h));
      const price = h < 60 ? '100000' : '40000';
      lines.push(`${at.toISOString().replace('.000', '')},${price},${price},${price},${price}`);
    }
    const btcUsd = readBarsCsv(lines.join('\n'));
    const usdRub = readRateCsv('date,usd_rub\n2025-02-28,100\n', 'usd_rub');
    const plain: ProductTerms = { ...DEFAULT_PRODUCT, rate: { kind: 'fixed', percent: '20' } };
    const terms: ProductTerms = equipment === undefined ? plain : { ...plain, collateral: { ...plain.collateral, equipment } };
    const report = await runBacktest({
      db: test.db, product: { code: 'STANDARD', terms }, btcUsd, intervalSeconds: 3_600, usdRub, from: new Date('2025-03-03T00:00:00Z'), to: new Date('2025-03-09T00:00:00Z'),
      originate: 'monthly', loansPerOrigination: 6, amountKopecks: 100_000_000n, months: 12, repaymentType: 'annuity',
      pipeline: historyPipeline(pipelineConfig(await loadPricesConfig()), 3_600), calendar, capSats: 50n * 100_000_000n, ...(topUp === undefined ? {} : { topUp }),
      collateralSpreadPercent: 100,
    });
    return { test, report };
  }

  it('reports the calls, the five sales, the one shortfall written off under four eyes, and the day', async () => {
    const { test, report } = await crash();
    expect(report.book).toMatchObject({ originations: 1, loans: 6, lentRub: '6000000.00' });
    // The spread is stated: loans began between 25% and 50% LTV, not at the product's 50%.
    expect(report.book.collateral).toMatchObject({ spreadPercent: 100, originationLtvPercent: '50', rule: expect.stringMatching(/explicit option/) });
    expect(Number(report.book.collateral.ltvAtLendingPercent.min)).toBeLessThan(30);
    expect(report.prices).toMatchObject({ firstRub: '10000000.00', lastRub: '4000000.00', lowRub: '4000000.00', maxDrawdownPercent: '60.00' });
    expect(report.window.degradedBars).toBeGreaterThan(0);
    // At 14:00 UTC (the bar after the fall, once the breaker lets the price stand): loan 4 (66.2%)
    // is warned, loan 1 (72.6%) called with 48 business hours, loan 5 (77.7%) called with the
    // accelerated 4 hours; loans 2, 3 and 6 liquidate at once (2 partially; 6 in full, the rest
    // would owe under the minimum; 3 in full and short). Loan 5's call expires that evening and
    // loan 1's on Friday: each sold partially. Five sales, four of them on Wednesday (Moscow).
    expect(report.outcomes).toMatchObject({ warnings: 1, marginCalls: 1, acceleratedCalls: 1, cures: 0, callsExpired: 2, liquidations: 5, partial: 3, full: 2, loansWithShortfall: 1 });
    expect(report.worstDay).toMatchObject({ day: '2025-03-05', enteredLiquidation: 4 });
    // The shortfall was written off at once, and that is the loss.
    const [off] = await test.db.query<{ ref: string; amount_kopecks: bigint; status: string }>('SELECT l.ref, w.amount_kopecks, l.status FROM loan_write_offs w JOIN loans l ON l.id = w.loan_id');
    expect(off).toMatchObject({ ref: 'LN-3', status: 'closed' });
    expect(report.outcomes.writtenOffRub).toBe(report.outcomes.lossesRub);
    expect(BigInt(report.outcomes.lossesRub.replace('.', ''))).toBe(off!.amount_kopecks);
    // LN-3: 0.23306885 BTC sold at no less than the floor of 3,800,000 leaves at least 1,000,000 - 0.233 x 4,000,000 owed.
    expect(off!.amount_kopecks > 100_000_000n - 93_227_540n && off!.amount_kopecks < 100_000_000n - 87_000_000n).toBe(true);
    const approvals = await test.db.query<{ action_type: string; status: string; proposed_by: bigint; decided_by: bigint }>('SELECT action_type, status, proposed_by, decided_by FROM approvals');
    expect(approvals).toHaveLength(1);
    expect(approvals[0]).toMatchObject({ action_type: 'loans.write_off', status: 'approved' });
    expect(approvals[0]!.proposed_by).not.toBe(approvals[0]!.decided_by);
    expect(report.checks).toEqual({ ledgerBalanced: true, loansReconciled: true, transitionsOutOfOrder: 0, liquidatedAboveThreshold: 0, fillsBelowFloor: 0, unbookedSales: 0 });
    expect(await invariants(test.db)).toMatchObject({ ledgerBalanced: true, loansReconciled: true });
  }, 120_000);

  it('borrowers who top up two hours after the call cure both calls (the accelerated one before its 4-hour deadline); the rest is as before', async () => {
    const { test, report } = await crash({ sharePercent: 100, afterHours: 2 });
    expect(report.outcomes).toMatchObject({ warnings: 1, marginCalls: 1, acceleratedCalls: 1, cures: 2, curesByBorrower: 2, topUps: 2, callsExpired: 0, liquidations: 3, loansWithShortfall: 1 });
    // Each top-up brought its loan back to the 50% target at 4,000,000 RUB/BTC: 1,000,000-odd RUB owed needs 0.5 BTC.
    const positions = await test.db.query<{ ref: string; sats: bigint }>(`SELECT l.ref, sum(p.sats)::int8 AS sats FROM collateral_positions p JOIN loans l ON l.id = p.loan_id WHERE p.state = 'pledged' AND l.ref IN ('LN-1', 'LN-5') GROUP BY l.ref ORDER BY l.ref`);
    expect(positions).toHaveLength(2);
    for (const p of positions) expect(p.sats > 50_000_000n && p.sats < 50_100_000n, `${p.ref} holds ${p.sats}`).toBe(true);
    const confirmations = await test.db.query<{ n: bigint }>(`SELECT count(*)::int8 AS n FROM approvals WHERE action_type = 'collateral.confirm' AND status = 'approved'`);
    expect(confirmations[0]!.n).toBe(2n);
    expect(report.checks).toEqual({ ledgerBalanced: true, loansReconciled: true, transitionsOutOfOrder: 0, liquidatedAboveThreshold: 0, fillsBelowFloor: 0, unbookedSales: 0 });
  }, 120_000);

  // The same crash, under products counting machines for 20% of the cover: each loan is lent with
  // 400,000.00 RUB of machines and 0.16 BTC (spread to 0.32) instead of 0.2. Through history the
  // machines keep what the product says: all of it, or nothing.
  it('counts a product\'s machines as it says: kept whole they save loans the BTC alone would lose; kept at nothing the thinner BTC loses more', async () => {
    const plain = (await crash()).report;
    const kept = await crash(undefined, { maxSharePercent: '20', stressPercent: '100' });
    const none = await crash(undefined, { maxSharePercent: '20', stressPercent: '0' });
    expect(kept.report.book.collateral.machines).toMatchObject({ countedAtLendingRub: '400000.00', countedThroughHistoryRub: '400000.00', rule: expect.stringMatching(/20% of the cover.*100% of that/) });
    expect(none.report.book.collateral.machines).toMatchObject({ countedAtLendingRub: '400000.00', countedThroughHistoryRub: '0.00', recoveredRub: '0.00' });
    expect(plain.book.collateral.machines).toBeNull();
    // Lent at or under 50% with the machines: 1,000,000 / (0.16 x 10,000,000 + 400,000) at the most.
    expect(Number(kept.report.book.collateral.ltvAtLendingPercent.max)).toBeLessThanOrEqual(50);
    const sold = (r: typeof plain) => r.outcomes.liquidations;
    expect(sold(kept.report)).toBeLessThan(sold(plain));
    expect(sold(none.report)).toBeGreaterThanOrEqual(sold(plain));
    expect(BigInt(none.report.outcomes.lossesRub.replace('.', ''))).toBeGreaterThan(BigInt(plain.outcomes.lossesRub.replace('.', '')));
    for (const run of [kept, none]) {
      expect(run.report.checks).toEqual({ ledgerBalanced: true, loansReconciled: true, transitionsOutOfOrder: 0, liquidatedAboveThreshold: 0, fillsBelowFloor: 0, unbookedSales: 0 });
    }
    // Where the BTC was all sold with debt left, the machines' value was recovered before any write-off.
    const left = await kept.test.db.query<{ n: bigint }>(`SELECT count(*)::int8 AS n FROM repayments WHERE reference LIKE 'backtest/%/machines'`);
    expect(BigInt(kept.report.book.collateral.machines!.recoveredRub.replace('.', ''))).toBe(left[0]!.n * 40_000_000n);
  }, 300_000);
});

describe('a backtest at the product\'s origination LTV (the default)', () => {
  // 100,000 USD/BTC at 100 RUB/USD from Monday 3 March 2025. Six loans of 1,000,000.00 RUB lent on
  // the Monday, each with exactly the 0.2 BTC the product's 50% origination LTV asks. On Tuesday at
  // 06:00 UTC the price falls to 69,000 (LTV 72.46%: a margin call, once the breaker lets the sharp
  // move stand), at 16:00 to 64,500 (77.52%: the call escalates to an accelerated one) and at 18:00
  // it is back at 100,000 (50%: cured, within the accelerated call's 4 hours).
  const opened: TestDatabase[] = [];
  afterAll(async () => {
    for (const each of opened) await each.close();
  });

  it('lends every loan at 50%, counts the escalation as an entry into the accelerated call, and gives each loan\'s life row by row', async () => {
    const test = await openTestDatabase();
    opened.push(test);
    const lines = ['datetime_utc,open,high,low,close'];
    for (let h = 0; h < 24 * 4; h += 1) {
      const at = new Date(Date.UTC(2025, 2, 3, h));
      const price = h >= 30 && h < 40 ? '69000' : h >= 40 && h < 42 ? '64500' : '100000';
      lines.push(`${at.toISOString().replace('.000', '')},${price},${price},${price},${price}`);
    }
    const report = await runBacktest({
      db: test.db, product: { code: 'STANDARD', terms: { ...DEFAULT_PRODUCT, rate: { kind: 'fixed', percent: '20' } } }, btcUsd: readBarsCsv(lines.join('\n')), intervalSeconds: 3_600,
      usdRub: readRateCsv('date,usd_rub\n2025-02-28,100\n', 'usd_rub'), from: new Date('2025-03-03T00:00:00Z'), to: new Date('2025-03-07T00:00:00Z'),
      originate: 'monthly', loansPerOrigination: 6, amountKopecks: 100_000_000n, months: 12, repaymentType: 'annuity',
      pipeline: historyPipeline(pipelineConfig(await loadPricesConfig()), 3_600), calendar, capSats: 50n * 100_000_000n, loanTrail: true,
    });
    expect(report.book.collateral).toEqual({ rule: "every loan lent at the product's origination LTV (50%)", originationLtvPercent: '50', spreadPercent: 0, ltvAtLendingPercent: { min: '50', max: '50' }, machines: null });
    // Every loan: called, escalated, cured. The old count (entries from healthy or warning only) said 0 accelerated calls.
    expect(report.outcomes).toMatchObject({ warnings: 0, marginCalls: 6, acceleratedCalls: 6, enteredLiquidation: 0, cures: 6, callsExpired: 0, liquidations: 0 });
    expect(report.checks).toEqual({ ledgerBalanced: true, loansReconciled: true, transitionsOutOfOrder: 0, liquidatedAboveThreshold: 0, fillsBelowFloor: 0, unbookedSales: 0 });
    const trail = report.loanTrail!;
    const ln1 = trail.filter((r) => r.loan === 'LN-1');
    expect(ln1.map((r) => `${r.event}:${r.from}->${r.to}`)).toEqual(['lent:->healthy', 'price:healthy->margin_call', 'price:margin_call->accelerated_call', 'price:accelerated_call->healthy']);
    expect(ln1[0]).toMatchObject({ moscowDay: '2025-03-03', priceRub: '10000000.00', ltvPercent: '50', debtRub: '1000000.00', btc: '0.20000000' });
    expect(ln1[1]).toMatchObject({ priceRub: '6900000.00', callDeadline: expect.stringMatching(/^2025-03-0/) });
    expect(ln1[2]).toMatchObject({ priceRub: '6450000.00' });
    // Each row's LTV is its debt over its collateral at its price (haircut 0), to the rate's 4 places, rounded up.
    for (const row of trail.filter((r) => r.event !== 'lent')) {
      const debt = BigInt(row.debtRub.replace('.', ''));
      const sats = BigInt(row.btc.replace('.', ''));
      const price = BigInt(row.priceRub.replace('.', ''));
      const millionths = (debt * 100_000_000n * 1_000_000n + sats * price - 1n) / (sats * price);
      expect(row.ltvPercent, `${row.loan} at ${row.at}`).toBe(formatRate(millionths));
    }
    const csv = loanTrailCsv(trail).split('\n');
    expect(csv[0]).toBe('product,loan,at_utc,moscow_day,event,from_state,to_state,price_rub_per_btc,ltv_percent,debt_rub,collateral_btc,call_deadline_utc');
    expect(csv[1]).toMatch(/^STANDARD,LN-1,2025-03-03T\d\d:00:00.000Z,2025-03-03,lent,,healthy,10000000.00,50,1000000.00,0.20000000,$/);
  }, 120_000);
});
