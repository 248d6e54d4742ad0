import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fraction, priceKopecksPerBtc, type Fraction } from '../money/money.js';
import { cover, hashpriceSatsPerThDay, networkHashrateThs, nextHalving, project, referencePayments, subsidyAt, type Fleet, type NetworkState, type Scenario } from './mining.js';
import { standardScenarios, underwrite } from './underwrite.js';

const asNumber = (value: Fraction) => Number(value.numerator) / Number(value.denominator);

/** Mining economics against the brief's published figures (../shared/BRIEF.md, section 4). */

describe('hashprice', () => {
  it('reproduces the published figure of 3 November 2025 within 1%', () => {
    // Difficulty 155 T, subsidy 3.125 BTC, fees about 0.02 BTC a block -> 0.000408 BTC/PH/day;
    // published 0.00040577.
    const perTh = hashpriceSatsPerThDay(155_000_000_000_000n, 312_500_000n, 2_000_000n);
    const btcPerPhDay = (asNumber(perTh) * 1_000) / 1e8;
    expect(Math.abs(btcPerPhDay - 0.00040577) / 0.00040577).toBeLessThan(0.01);
  });

  it('derives the network hashrate from the difficulty (difficulty x 2^32 / 600)', () => {
    // 155 T x 2^32 / 600 = 1.1095e21 H/s = 1.1095e9 TH/s
    expect(asNumber(networkHashrateThs(155_000_000_000_000n)) / 1e9).toBeCloseTo(1.1095, 3);
  });

  it('halves the subsidy every 210,000 blocks, 3.125 -> 1.5625 BTC at block 1,050,000', () => {
    expect(subsidyAt(1_049_999n)).toBe(312_500_000n);
    expect(subsidyAt(1_050_000n)).toBe(156_250_000n);
    expect(subsidyAt(0n)).toBe(5_000_000_000n);
    expect(nextHalving(922_500n)).toBe(1_050_000n);
  });
});

describe('loan payments for the cover', () => {
  it('gives the textbook annuity: 1,000,000.00 at 12% over 12 months = 88,848.79 a month', () => {
    expect(referencePayments(fraction(12n, 100n), 12, 'annuity')).toEqual(Array(12).fill(8_884_879n));
  });
  it('puts the principal in the last interest-only payment', () => {
    const payments = referencePayments(fraction(12n, 100n), 3, 'interest_only');
    expect(payments).toEqual([1_000_000n, 1_000_000n, 101_000_000n]);
  });
});

// Twenty S21 XP (270 TH/s, 3,645 W) at 5.30 RUB/kWh; the network of 3 November 2025.
const site = { id: 'irkutsk-1', tariffRubPerKwh: fraction(53n, 10n), bannedMonths: [] };
const fleet: Fleet = { machines: [{ model: 'Antminer S21 XP', hashrateGhs: 270_000n, powerWatts: 3_645n, count: 20n, siteId: site.id }], sites: [site], uptimeBps: 9_500n };
const network: NetworkState = { asOf: '2025-11-03', height: 922_500n, difficulty: 155_000_000_000_000n, feesSatsPerBlock: 2_000_000n };
const price = priceKopecksPerBtc(850_000_000n); // 8,500,000 RUB per BTC
const flat: Scenario = { name: 'flat', pricePath: [price], difficultyGrowthPpmPerEpoch: 0n, tariffGrowthBpsPerYear: 0n };

describe('the monthly projection', () => {
  it('mines what the fleet\'s share of the network earns, and pays for its power', () => {
    const [first] = project(fleet, network, flat, 1);
    // December 2025, 31 days: 20 x 270 TH/s x 95% = 5,130 TH/s of 1.1095e9 -> 4.62e-6 of 31 x 144 x 3.145 BTC.
    expect(first!.start).toBe('2025-12-01');
    expect(Number(first!.minedSats) / 1e8).toBeCloseTo(0.0649, 3);
    // 20 x 3,645 W x 24 h x 31 days x 95% = 51,525.72 kWh (51,526 rounded up), at 5.30 RUB:
    // 273,086.316 RUB -> 273,086.32 (cost rounds up to the kopeck).
    expect(first!.powerKwh).toBe(51_526n);
    expect(first!.powerCostKopecks).toBe(27_308_632n);
  });

  it('halves revenue across the halving, as the brief says (fees are under 1% of rewards)', () => {
    const months = project(fleet, network, flat, 36);
    const halvingMonth = months.findIndex((month, i) => i > 0 && month.subsidySats < months[i - 1]!.subsidySats);
    expect(halvingMonth).toBeGreaterThan(0);
    const before = months[halvingMonth - 2]!;
    const after = months[halvingMonth]!;
    const perDay = (m: typeof before) => Number(m.minedSats) / m.days;
    // (1.5625 + 0.02) / (3.125 + 0.02) = 0.503
    expect(perDay(after) / perDay(before)).toBeCloseTo(0.503, 2);
    const result = cover(fleet, network, flat, { annualRate: fraction(235n, 1_000n), months: 36, shape: 'annuity', dscrMinBps: 12_500n });
    expect(result.referenceDscrBps[halvingMonth]! < result.referenceDscrBps[halvingMonth - 2]!).toBe(true);
  });

  it('stops production in a seasonally banned month', () => {
    const seasonal: Fleet = { ...fleet, sites: [{ ...site, bannedMonths: [12, 1, 2, 3] }] };
    const months = project(seasonal, network, flat, 6);
    expect(months.map((m) => m.minedSats > 0n)).toEqual([false, false, false, false, true, true]);
    expect(months[0]!.powerCostKopecks).toBe(0n);
  });
});

describe('underwriting', () => {
  const loan = { annualRate: fraction(235n, 1_000n), months: 36, shape: 'annuity' as const, dscrMinBps: 12_500n };

  it('reports break-evens and the largest loan the worst scenario supports', () => {
    const report = underwrite({ fleet, network, priceKopecks: price, loan, scenarios: standardScenarios(price) });
    expect(report.scenarios).toHaveLength(5);
    expect(report.crossesHalving).toBe(true);
    expect(report.maxPrincipalKopecks).toBe(report.scenarios.reduce((min, s) => (s.maxPrincipalKopecks < min ? s.maxPrincipalKopecks : min), report.scenarios[0]!.maxPrincipalKopecks));
    // Break-even tariff = hashprice in RUB / (0.024 x J/TH): 40.82 sats x 85,000 RUB/BTC... / (0.024 x 13.5)
    expect(asNumber(report.breakEvenTariffRubPerKwh)).toBeCloseTo((40.817 * 0.085) / (0.024 * 13.5), 1);
    expect(report.breakEvenPriceKopecks).not.toBeNull();
  });

  it('supports no 36-month loan when difficulty grows 4% an epoch at a flat price (the stress the default scenarios leave out)', () => {
    const stress: Scenario = { name: 'flat price, difficulty +4%/epoch', pricePath: [price], difficultyGrowthPpmPerEpoch: 40_000n, tariffGrowthBpsPerYear: 0n };
    const result = cover(fleet, network, stress, loan);
    expect(result.maxPrincipalKopecks).toBe(0n);
    expect(result.months.at(-1)!.marginKopecks < 0n).toBe(true);
  });

  it('supports a 12-month loan for an efficient farm on cheap power under the default scenarios, and none at 5.30 RUB/kWh', () => {
    // At 5.30 RUB/kWh an S21 XP breaks even near half today's price, which one default scenario assumes.
    const expensive = underwrite({ fleet, network, priceKopecks: price, loan: { ...loan, months: 12 }, scenarios: standardScenarios(price) });
    expect(expensive.maxPrincipalKopecks).toBe(0n);
    expect(expensive.bindingScenario).toMatch(/price -50%/);
    const cheap: Fleet = { ...fleet, sites: [{ ...site, tariffRubPerKwh: fraction(3n, 1n) }] };
    const report = underwrite({ fleet: cheap, network, priceKopecks: price, loan: { ...loan, months: 12 }, scenarios: standardScenarios(price) });
    // About 929,000 RUB, bound by the -50% price scenario in month 3 (margin ~109,600 RUB a month).
    expect(report.maxPrincipalKopecks > 50_000_000n && report.maxPrincipalKopecks < 150_000_000n).toBe(true);
    expect(report.bindingScenario).toMatch(/price -50%/);
  });

  it('a more efficient fleet never gets a lower maximum loan, all else equal (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 50, max: 500 }),
      fc.integer({ min: 1_000, max: 6_000 }),
      fc.integer({ min: 1, max: 1_000 }),
      fc.integer({ min: 1, max: 40 }),
      (terahash, watts, saving, count) => {
        const base: Fleet = { machines: [{ model: 'm', hashrateGhs: BigInt(terahash) * 1_000n, powerWatts: BigInt(watts), count: BigInt(count), siteId: site.id }], sites: [site], uptimeBps: 9_500n };
        const better: Fleet = { ...base, machines: [{ ...base.machines[0]!, powerWatts: BigInt(Math.max(1, watts - saving)) }] };
        const terms = { ...loan, months: 12 };
        const scenarios = [flat];
        const a = underwrite({ fleet: base, network, priceKopecks: price, loan: terms, scenarios });
        const b = underwrite({ fleet: better, network, priceKopecks: price, loan: terms, scenarios });
        expect(b.maxPrincipalKopecks >= a.maxPrincipalKopecks).toBe(true);
      },
    ), { numRuns: 50 });
  });
});
