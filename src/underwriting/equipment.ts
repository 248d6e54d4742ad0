import { applyBps, divide, fraction, type Bps, type Fraction, type Kopecks } from '../money/money.js';
import { efficiencyJPerTh, project, type MachineGroup, type NetworkState, type Scenario, type Site } from './mining.js';

/**
 * Machines as collateral, the second layer: valued conservatively, revalued on a schedule, never
 * liquidated by a price tick. A machine is worth the lower of
 * - the bank's price index for its efficiency tier (USD per TH/s, like Luxor's ASIC price index
 *   by J/TH: <19, 19-25, 25-38, 38-68, >68), converted at the official USD/RUB rate, and
 * - the margin it earns (revenue less power) until its first month without one, after the halving,
 *   within the horizon,
 * then depreciated straight-line over 5 years (as in the accounts) and cut by a haircut. A banned
 * area or registry breach makes it worth nothing (confiscation risk).
 */

export interface PriceTier {
  /** Upper bound of the tier in J/TH (exclusive); null for the last tier. */
  readonly maxJPerTh: Fraction | null;
  /** USD per TH/s, exact. */
  readonly usdPerTh: Fraction;
}

export interface EquipmentValuationInput {
  readonly machine: MachineGroup;
  readonly site: Site;
  readonly ageMonths: number;
  readonly tiers: readonly PriceTier[];
  readonly usdRub: Fraction;
  readonly network: NetworkState;
  readonly scenario: Scenario;
  readonly horizonMonths: number;
  readonly haircutBps: Bps;
  readonly breach: string | null;
}

export interface EquipmentValuation {
  readonly indexValueKopecks: Kopecks;
  readonly cashFlowValueKopecks: Kopecks;
  readonly method: 'index' | 'cash_flow';
  readonly depreciatedKopecks: Kopecks;
  readonly valueKopecks: Kopecks;
  readonly reason: string;
}

export const DEPRECIATION_MONTHS = 60;

function lessThan(a: Fraction, b: Fraction): boolean {
  return a.numerator * b.denominator < b.numerator * a.denominator;
}

export function valueEquipment(input: EquipmentValuationInput): EquipmentValuation {
  const { machine } = input;
  const efficiency = efficiencyJPerTh(machine);
  const tier = input.tiers.find((t) => t.maxJPerTh === null || lessThan(efficiency, t.maxJPerTh));
  if (tier === undefined) throw new RangeError('the price index has no tier for this efficiency; the last tier must be open-ended');
  // TH/s x count x USD/TH x RUB/USD x 100 kopecks (hashrate in GH/s: / 1000).
  const indexValue = divide(machine.hashrateGhs * machine.count * tier.usdPerTh.numerator * input.usdRub.numerator * 100n, 1_000n * tier.usdPerTh.denominator * input.usdRub.denominator, 'floor');
  const months = project({ machines: [machine], sites: [input.site], uptimeBps: 9_500n }, input.network, input.scenario, input.horizonMonths);
  let cashFlow = 0n;
  for (const month of months) {
    if (month.marginKopecks <= 0n && month.minedSats > 0n) break; // unprofitable: it would be switched off
    if (month.marginKopecks > 0n) cashFlow += month.marginKopecks;
  }
  const method = cashFlow < indexValue ? 'cash_flow' : 'index';
  const base = method === 'cash_flow' ? cashFlow : indexValue;
  const remaining = Math.max(0, DEPRECIATION_MONTHS - input.ageMonths);
  const depreciated = divide(base * BigInt(remaining), BigInt(DEPRECIATION_MONTHS), 'floor');
  const value = input.breach === null ? divide(depreciated * (10_000n - input.haircutBps), 10_000n, 'floor') : 0n;
  const reason = input.breach !== null
    ? `worth nothing as collateral: ${input.breach}`
    : `${method === 'index' ? 'price index tier' : 'cash flow until break-even'} (the lower), ${remaining}/${DEPRECIATION_MONTHS} of its life left, less a ${applyBps(100n, input.haircutBps, 'floor')}% haircut`;
  return { indexValueKopecks: indexValue as Kopecks, cashFlowValueKopecks: cashFlow as Kopecks, method, depreciatedKopecks: depreciated as Kopecks, valueKopecks: value as Kopecks, reason };
}

/** The Luxor-style tiers by J/TH, with the bank's USD/TH prices as data. */
export function tiers(prices: { below19: Fraction; from19to25: Fraction; from25to38: Fraction; from38to68: Fraction; above68: Fraction }): PriceTier[] {
  return [
    { maxJPerTh: fraction(19n, 1n), usdPerTh: prices.below19 },
    { maxJPerTh: fraction(25n, 1n), usdPerTh: prices.from19to25 },
    { maxJPerTh: fraction(38n, 1n), usdPerTh: prices.from25to38 },
    { maxJPerTh: fraction(68n, 1n), usdPerTh: prices.from38to68 },
    { maxJPerTh: null, usdPerTh: prices.above68 },
  ];
}
