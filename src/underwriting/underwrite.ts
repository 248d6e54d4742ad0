import { divide, fraction, type Fraction, type Kopecks, type PriceKopecksPerBtc } from '../money/money.js';
import { cover, hashpriceSatsPerThDay, project, subsidyAt, type CoverResult, type Fleet, type NetworkState, type RepaymentShape, type Scenario } from './mining.js';

/**
 * Underwriting on mining economics, pure: from the fleet, its sites and the network, what the farm
 * earns and spends month by month under each scenario, where it breaks even, and the largest loan
 * the cover supports in the worst scenario. The report explains itself: every figure with the
 * inputs it came from.
 */

export interface UnderwritingRequest {
  readonly fleet: Fleet;
  readonly network: NetworkState;
  readonly priceKopecks: PriceKopecksPerBtc;
  readonly loan: { readonly annualRate: Fraction; readonly months: number; readonly shape: RepaymentShape; readonly dscrMinBps: bigint };
  readonly scenarios: readonly Scenario[];
}

export interface UnderwritingReport {
  readonly fleetHashrateGhs: bigint;
  readonly fleetPowerWatts: bigint;
  readonly fleetEfficiencyJPerTh: Fraction;
  /** Today's economics (the first projected month of the first scenario). */
  readonly hashpriceSatsPerThDay: Fraction;
  /** The tariff at which revenue just pays for power, RUB per kWh, at today's price and hashprice. */
  readonly breakEvenTariffRubPerKwh: Fraction;
  /** The BTC/RUB price at which revenue just pays for power at today's tariffs and hashprice. */
  readonly breakEvenPriceKopecks: Kopecks | null;
  readonly scenarios: readonly CoverResult[];
  /** The least of the scenarios' maximum principals: what the cover supports in the worst case. */
  readonly maxPrincipalKopecks: Kopecks;
  readonly bindingScenario: string;
  readonly crossesHalving: boolean;
}

/**
 * Default scenarios, until the bank's risk officers keep their own as data. Difficulty growth
 * compounds per epoch (about 26 a year): +1% an epoch is about +30% a year, +2% about +68%. The
 * issue's range goes to 4% an epoch (x2.8 a year); with a flat price over a term that crosses the
 * halving, that leaves no margin at all, so it is a stress to show, not a default to lend on
 * (see mining.test.ts).
 */
export function standardScenarios(price: PriceKopecksPerBtc): Scenario[] {
  const scaled = (bps: bigint) => divide(price * bps, 10_000n, 'floor') as PriceKopecksPerBtc;
  return [
    { name: 'flat price, difficulty +1%/epoch', pricePath: [price], difficultyGrowthPpmPerEpoch: 10_000n, tariffGrowthBpsPerYear: 0n },
    { name: 'flat price, difficulty +2%/epoch, tariff +10%/yr', pricePath: [price], difficultyGrowthPpmPerEpoch: 20_000n, tariffGrowthBpsPerYear: 1_000n },
    { name: 'price -30%, difficulty +1%/epoch', pricePath: [scaled(7_000n)], difficultyGrowthPpmPerEpoch: 10_000n, tariffGrowthBpsPerYear: 0n },
    { name: 'price -50%, difficulty flat, tariff +10%/yr', pricePath: [scaled(5_000n)], difficultyGrowthPpmPerEpoch: 0n, tariffGrowthBpsPerYear: 1_000n },
    { name: 'price -50% recovering over 2 years, difficulty +1%/epoch', pricePath: Array.from({ length: 36 }, (_, m) => scaled(5_000n + BigInt(Math.min(m, 24)) * 208n)), difficultyGrowthPpmPerEpoch: 10_000n, tariffGrowthBpsPerYear: 0n },
  ];
}

export function underwrite(request: UnderwritingRequest): UnderwritingReport {
  const { fleet, network } = request;
  let hashrate = 0n;
  let power = 0n;
  for (const machine of fleet.machines) {
    hashrate += machine.hashrateGhs * machine.count;
    power += machine.powerWatts * machine.count;
  }
  const results = request.scenarios.map((scenario) => cover(fleet, network, scenario, request.loan));
  let worst = results[0];
  for (const result of results) if (worst === undefined || result.maxPrincipalKopecks < worst.maxPrincipalKopecks) worst = result;

  // Today's economics per TH/s per day: revenue = hashprice x price; power = J/TH x 0.024 x tariff.
  const hashprice = hashpriceSatsPerThDay(network.difficulty, subsidyAt(network.height), network.feesSatsPerBlock);
  const efficiency = hashrate === 0n ? fraction(0n, 1n) : fraction(power * 1_000n, hashrate);
  // Break-even tariff (RUB/kWh) = hashprice in RUB per TH-day / (0.024 x J/TH).
  const revenuePerThDayKopecks = fraction(hashprice.numerator * request.priceKopecks, hashprice.denominator * 100_000_000n);
  const breakEvenTariff = efficiency.numerator === 0n ? fraction(0n, 1n) : fraction(revenuePerThDayKopecks.numerator * 1_000n * efficiency.denominator, revenuePerThDayKopecks.denominator * 24n * efficiency.numerator * 100n);
  // Break-even price: the price at which a month's revenue equals its power cost (first month, first scenario).
  const first = project(fleet, network, request.scenarios[0]!, 1)[0]!;
  const breakEvenPrice = first.minedSats === 0n ? null : (divide(first.powerCostKopecks * 100_000_000n, first.minedSats, 'ceil') as Kopecks);
  return {
    fleetHashrateGhs: hashrate,
    fleetPowerWatts: power,
    fleetEfficiencyJPerTh: efficiency,
    hashpriceSatsPerThDay: hashprice,
    breakEvenTariffRubPerKwh: breakEvenTariff,
    breakEvenPriceKopecks: breakEvenPrice,
    scenarios: results,
    maxPrincipalKopecks: (worst?.maxPrincipalKopecks ?? 0n) as Kopecks,
    bindingScenario: worst?.scenario ?? '',
    crossesHalving: (results[0]?.months ?? []).some((month) => month.subsidySats !== subsidyAt(network.height)),
  };
}
