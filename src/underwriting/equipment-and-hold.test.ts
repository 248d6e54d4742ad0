import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bps, fraction, kopecks, priceKopecksPerBtc, sats } from '../money/money.js';
import { valueEquipment, tiers } from './equipment.js';
import { holdOrSell } from './hold-or-sell.js';

const network = { asOf: '2025-11-03', height: 922_500n, difficulty: 155_000_000_000_000n, feesSatsPerBlock: 2_000_000n };
const price = priceKopecksPerBtc(850_000_000n);
const flat = { name: 'flat', pricePath: [price], difficultyGrowthPpmPerEpoch: 10_000n, tariffGrowthBpsPerYear: 0n };
// A depressed index (5 USD/TH for the best tier) so that the index is the lower value; the brief's
// S21 XP at 25.70 USD/TH (Nov 2025) is used below where the cash flow is the lower.
const index = tiers({ below19: fraction(5n, 1n), from19to25: fraction(3n, 1n), from25to38: fraction(2n, 1n), from38to68: fraction(1n, 1n), above68: fraction(1n, 2n) });
const site = { id: 's', tariffRubPerKwh: fraction(4n, 1n), bannedMonths: [] };
const s21xp = { model: 'Antminer S21 XP', hashrateGhs: 270_000n, powerWatts: 3_645n, count: 1n, siteId: 's' };
const base = { machine: s21xp, site, ageMonths: 0, tiers: index, usdRub: fraction(80n, 1n), network, scenario: flat, horizonMonths: 36, haircutBps: bps(5_000n), breach: null };

describe('valuing machines as collateral', () => {
  it('takes the index price of the efficiency tier when it is the lower, depreciates and cuts it', () => {
    // S21 XP, 13.5 J/TH: the <19 tier at 5 USD/TH x 270 TH/s x 80 RUB = 108,000.00 RUB.
    const valued = valueEquipment(base);
    expect(valued.indexValueKopecks).toBe(10_800_000n);
    expect(valued.method).toBe('index');
    expect(valued.valueKopecks).toBe(5_400_000n); // new machine, 50% haircut
    expect(valueEquipment({ ...base, ageMonths: 30 }).valueKopecks).toBe(2_700_000n); // half its life left
    expect(valueEquipment({ ...base, ageMonths: 61 }).valueKopecks).toBe(0n);
  });

  it('takes the cash flow until break-even after the halving when that is the lower', () => {
    // At the brief's 25.70 USD/TH (555,120.00 RUB) the machine earns less before the halving and
    // rising difficulty leave it without a margin.
    const luxor = tiers({ below19: fraction(2_570n, 100n), from19to25: fraction(15n, 1n), from25to38: fraction(6n, 1n), from38to68: fraction(2n, 1n), above68: fraction(1n, 2n) });
    const valued = valueEquipment({ ...base, tiers: luxor });
    expect(valued.indexValueKopecks).toBe(55_512_000n);
    expect(valued.method).toBe('cash_flow');
    expect(valued.cashFlowValueKopecks < valued.indexValueKopecks && valued.cashFlowValueKopecks > 0n).toBe(true);
    expect(valued.valueKopecks).toBe(valued.cashFlowValueKopecks / 2n);
  });

  it('is worth nothing after a banned-area or registry breach', () => {
    const valued = valueEquipment({ ...base, breach: 'site in a banned area since 2025-04-07' });
    expect(valued.valueKopecks).toBe(0n);
    expect(valued.reason).toMatch(/banned area/);
  });
});

describe('hold or sell', () => {
  const input = {
    holdingsSats: sats(100_000_000n), // 1 BTC
    needKopecks: kopecks(300_000_000n), // 3,000,000 RUB
    priceNowKopecks: price, // 8,500,000 RUB/BTC
    loanCostKopecks: kopecks(70_500_000n), // 705,000 RUB of interest and fees
    pledgedSats: sats(70_588_236n),
    liquidationLtvBps: 8_000n,
    scenarios: [
      { name: 'BTC -30%', priceAtEndKopecks: priceKopecksPerBtc(595_000_000n) },
      { name: 'flat', priceAtEndKopecks: price },
      { name: 'BTC +50%', priceAtEndKopecks: priceKopecksPerBtc(1_275_000_000n) },
    ],
  };

  it('shows the price at which borrowing beats selling, and each scenario\'s outcome', () => {
    const result = holdOrSell(input);
    // P* = 8,500,000 x 3,705,000 / 3,000,000 = 10,497,500 RUB
    expect(result.breakEvenPriceKopecks).toBe(1_049_750_000n);
    expect(result.sellNowSats).toBe(35_294_118n);
    expect(result.outcomes.map((o) => o.better)).toEqual(['sell', 'sell', 'borrow']);
    // Liquidation: 3,705,000 / (0.70588236 BTC x 80%) = 6,560,937.44 RUB, rounded up to the kopeck.
    expect(result.liquidationPriceKopecks).toBe(656_093_744n);
  });

  it('borrowing wins exactly above the break-even price (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 100_000_000n, max: 5_000_000_000n }), (end) => {
      const result = holdOrSell({ ...input, scenarios: [{ name: 'p', priceAtEndKopecks: priceKopecksPerBtc(end) }] });
      const outcome = result.outcomes[0]!;
      if (end > result.breakEvenPriceKopecks + 1n) expect(outcome.better).toBe('borrow');
      if (end < result.breakEvenPriceKopecks - 1n) expect(outcome.better).toBe('sell');
    }));
  });

  it('refuses a need the holdings cannot cover', () => {
    expect(() => holdOrSell({ ...input, needKopecks: kopecks(900_000_000n) })).toThrow(/do not cover/);
  });
});
