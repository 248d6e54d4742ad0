import { addMonths, daysBetween, daysInMonth } from '../calendar/days.js';
import { divide, fraction, satsToKopecks, type Fraction, type Kopecks, type PriceKopecksPerBtc, type Sats } from '../money/money.js';

/**
 * Mining economics, pure and exact (integers and fractions; a projection is an estimate, but it
 * is computed without floating point so that it is reproducible to the satoshi and kopeck).
 *
 * - Network hashrate (H/s) = difficulty x 2^32 / 600 s.
 * - Hashprice (BTC per TH/s per day) = 144 blocks x (subsidy + mean fees per block) / hashrate in TH/s.
 * - Subsidy halves every 210,000 blocks: block 1,050,000 takes it from 3.125 to 1.5625 BTC.
 * - Difficulty retargets every 2,016 blocks (about 14 days at 144 blocks a day).
 * Figures are from ../shared/BRIEF.md, section 4.
 */

export const BLOCKS_PER_DAY = 144n;
export const BLOCKS_PER_EPOCH = 2_016n;
export const HALVING_INTERVAL = 210_000n;
export const INITIAL_SUBSIDY_SATS = 5_000_000_000n;
const TWO_POW_32 = 4_294_967_296n;
const TERA = 1_000_000_000_000n;

/** The block subsidy at a height, in sats (halved every 210,000 blocks, integer division as in consensus). */
export function subsidyAt(height: bigint): Sats {
  const halvings = height / HALVING_INTERVAL;
  return (halvings >= 64n ? 0n : INITIAL_SUBSIDY_SATS >> halvings) as Sats;
}

/** The next halving height after `height`. */
export function nextHalving(height: bigint): bigint {
  return (height / HALVING_INTERVAL + 1n) * HALVING_INTERVAL;
}

/** Network hashrate in TH/s implied by a difficulty, exact. */
export function networkHashrateThs(difficulty: bigint): Fraction {
  return fraction(difficulty * TWO_POW_32, 600n * TERA);
}

/** Satoshis one TH/s earns in a day, exact: 144 x (subsidy + fees) / network TH/s. */
export function hashpriceSatsPerThDay(difficulty: bigint, subsidySats: bigint, feesSatsPerBlock: bigint): Fraction {
  const hashrate = networkHashrateThs(difficulty);
  return fraction(BLOCKS_PER_DAY * (subsidySats + feesSatsPerBlock) * hashrate.denominator, hashrate.numerator);
}

// ---------------------------------------------------------------------------------------------
// The fleet and its sites.

export interface MachineGroup {
  readonly model: string;
  /** Nameplate hashrate of one machine in GH/s (integer: 13.5 TH/s = 13,500 GH/s). */
  readonly hashrateGhs: bigint;
  readonly powerWatts: bigint;
  readonly count: bigint;
  readonly siteId: string;
}

export interface Site {
  readonly id: string;
  /** RUB per kWh as an exact fraction (5.30 RUB = 53/10). */
  readonly tariffRubPerKwh: Fraction;
  /** Months (1-12) in which the site may not mine (seasonal bans); production is zero then. */
  readonly bannedMonths: readonly number[];
}

export interface Fleet {
  readonly machines: readonly MachineGroup[];
  readonly sites: readonly Site[];
  /** Share of the time machines run, in basis points (9,500 = 95%). */
  readonly uptimeBps: bigint;
}

/** Joules per TH (W per TH/s) of a machine, exact. */
export function efficiencyJPerTh(machine: Pick<MachineGroup, 'hashrateGhs' | 'powerWatts'>): Fraction {
  return fraction(machine.powerWatts * 1_000n, machine.hashrateGhs);
}

// ---------------------------------------------------------------------------------------------
// Scenarios and the month-by-month projection.

export interface Scenario {
  readonly name: string;
  /** BTC/RUB per month of the term, kopecks per BTC (the last value repeats if the path is short). */
  readonly pricePath: readonly PriceKopecksPerBtc[];
  /** Difficulty change per retarget, in parts per million (20,000 = +2% an epoch). */
  readonly difficultyGrowthPpmPerEpoch: bigint;
  /** Tariff change per year, in basis points, applied in steps every 12 months. */
  readonly tariffGrowthBpsPerYear: bigint;
}

export interface NetworkState {
  /** A calendar date 'YYYY-MM-DD' the state is as of. */
  readonly asOf: string;
  readonly height: bigint;
  readonly difficulty: bigint;
  readonly feesSatsPerBlock: bigint;
}

export interface MonthProjection {
  readonly month: number;
  /** First day of the month, 'YYYY-MM-DD'. */
  readonly start: string;
  readonly days: number;
  readonly difficulty: bigint;
  readonly subsidySats: Sats;
  readonly hashpriceSatsPerThDay: Fraction;
  readonly minedSats: Sats;
  readonly revenueKopecks: Kopecks;
  readonly powerKwh: bigint;
  readonly powerCostKopecks: Kopecks;
  /** Revenue less power: what is left to serve debt. May be negative. */
  readonly marginKopecks: bigint;
}

/**
 * Projects the fleet month by month from the month after `network.asOf`. Blocks are assumed at
 * 144 a day, so the height (and with it the subsidy and the difficulty epochs) follows the
 * calendar; a month that crosses a halving is counted block by block on each side of it.
 */
export function project(fleet: Fleet, network: NetworkState, scenario: Scenario, months: number): MonthProjection[] {
  const sites = new Map(fleet.sites.map((site) => [site.id, site]));
  const firstMonth = addMonths(network.asOf, 1);
  const result: MonthProjection[] = [];
  for (let m = 0; m < months; m += 1) {
    const start = addMonths(firstMonth, m);
    const days = daysInMonth(start);
    const calendarMonth = Number(start.slice(5, 7));
    const heightStart = network.height + BigInt(daysBetween(network.asOf, start)) * BLOCKS_PER_DAY;
    const heightEnd = heightStart + BigInt(days) * BLOCKS_PER_DAY;
    // Difficulty at the month's start, compounding one step per epoch elapsed (rounded each step).
    let difficulty = network.difficulty;
    const epochs = (heightStart - network.height) / BLOCKS_PER_EPOCH;
    for (let e = 0n; e < epochs; e += 1n) difficulty = divide(difficulty * (1_000_000n + scenario.difficultyGrowthPpmPerEpoch), 1_000_000n, 'half_even');
    // Block rewards in the month: blocks before and after a halving inside it.
    const halving = nextHalving(heightStart);
    const blocksBefore = halving < heightEnd ? halving - heightStart : heightEnd - heightStart;
    const blocksAfter = heightEnd - heightStart - blocksBefore;
    const rewardSats = blocksBefore * (subsidyAt(heightStart) + network.feesSatsPerBlock) + blocksAfter * (subsidyAt(halving) + network.feesSatsPerBlock);
    const hashrate = networkHashrateThs(difficulty);
    // Sats per TH per day over the month (the mean over its days).
    const perThDay = fraction(rewardSats * hashrate.denominator, hashrate.numerator * BigInt(days));

    // GH/s x uptime (bps) of the machines allowed to run this month; kWh x 10^7 (Wh x bps).
    let runningGhsBps = 0n;
    let wattHoursBps = 0n;
    let costNumerator = 0n;
    let costDenominator = 1n;
    for (const machine of fleet.machines) {
      const site = sites.get(machine.siteId);
      if (site === undefined) throw new RangeError(`machine group ${machine.model} names an unknown site ${machine.siteId}`);
      if (site.bannedMonths.includes(calendarMonth)) continue;
      runningGhsBps += machine.hashrateGhs * machine.count * fleet.uptimeBps;
      const wattHours = machine.powerWatts * machine.count * 24n * BigInt(days) * fleet.uptimeBps; // x 10,000
      wattHoursBps += wattHours;
      const tariffSteps = BigInt(Math.floor(m / 12));
      let tariff = site.tariffRubPerKwh;
      for (let s = 0n; s < tariffSteps; s += 1n) tariff = fraction(tariff.numerator * (10_000n + scenario.tariffGrowthBpsPerYear), tariff.denominator * 10_000n);
      // kopecks = Wh/1000 (kWh) x tariff RUB x 100; wattHours carries x 10,000 from uptime.
      const term = fraction(wattHours * tariff.numerator * 100n, tariff.denominator * 1_000n * 10_000n);
      costNumerator = costNumerator * term.denominator + term.numerator * costDenominator;
      costDenominator *= term.denominator;
      const reduced = fraction(costNumerator, costDenominator);
      costNumerator = reduced.numerator;
      costDenominator = reduced.denominator;
    }
    // The fleet's share of the network (TH/s x uptime / network TH/s) times the month's rewards.
    const minedSats = divide(runningGhsBps * rewardSats * hashrate.denominator, hashrate.numerator * 1_000n * 10_000n, 'floor') as Sats;
    const price = scenario.pricePath[Math.min(m, scenario.pricePath.length - 1)]!;
    const revenueKopecks = satsToKopecks(minedSats, price, 'floor');
    const powerCostKopecks = divide(costNumerator, costDenominator, 'ceil') as Kopecks;
    result.push({
      month: m + 1,
      start,
      days,
      difficulty,
      subsidySats: subsidyAt(heightStart),
      hashpriceSatsPerThDay: perThDay,
      minedSats,
      revenueKopecks,
      powerKwh: divide(wattHoursBps, 1_000n * 10_000n, 'ceil'),
      powerCostKopecks,
      marginKopecks: revenueKopecks - powerCostKopecks,
    });
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Debt service cover.

/**
 * Debt service per month for a loan of 1,000,000.00 RUB (a reference principal: payments scale
 * with the principal, so the maximum loan follows by proportion). Interest accrues on actual days
 * over a 365- or 366-day year as the calendar year has (Bank of Russia Regulation 39-P practice).
 */
export const REFERENCE_PRINCIPAL_KOPECKS = 100_000_000n;

export type RepaymentShape = 'annuity' | 'interest_only';

/** Payments (kopecks) per month for the reference principal: exact enough for underwriting. */
export function referencePayments(annualRate: Fraction, months: number, shape: RepaymentShape): bigint[] {
  const principal = REFERENCE_PRINCIPAL_KOPECKS;
  if (shape === 'interest_only') {
    // Interest each month, principal with the last payment.
    const monthly = divide(principal * annualRate.numerator, annualRate.denominator * 12n, 'ceil');
    return Array.from({ length: months }, (_, i) => (i === months - 1 ? monthly + principal : monthly));
  }
  // Annuity at rate r = annual/12: P x r / (1 - (1 + r)^-n), exact as a fraction, rounded up.
  if (annualRate.numerator === 0n) return Array.from({ length: months }, () => divide(principal, BigInt(months), 'ceil'));
  const rNum = annualRate.numerator;
  const rDen = annualRate.denominator * 12n;
  const growthNum = (rDen + rNum) ** BigInt(months);
  const growthDen = rDen ** BigInt(months);
  const payment = divide(principal * rNum * growthNum, rDen * (growthNum - growthDen), 'ceil');
  return Array.from({ length: months }, () => payment);
}

export interface CoverResult {
  readonly scenario: string;
  readonly months: readonly MonthProjection[];
  /** DSCR per month for the reference principal, in bps (margin / payment). */
  readonly referenceDscrBps: readonly bigint[];
  /** The largest principal whose DSCR stays at or above the minimum in every month of this scenario. */
  readonly maxPrincipalKopecks: Kopecks;
  /** The month that binds the maximum (the weakest), 1-based. */
  readonly bindingMonth: number;
}

/**
 * The maximum loan a scenario supports: payments scale with the principal, so in each month
 * principal <= margin / (dscrMin x payment per unit principal); the weakest month binds. A month
 * with no margin supports nothing.
 */
export function cover(fleet: Fleet, network: NetworkState, scenario: Scenario, loan: { annualRate: Fraction; months: number; shape: RepaymentShape; dscrMinBps: bigint }): CoverResult {
  const months = project(fleet, network, scenario, loan.months);
  const payments = referencePayments(loan.annualRate, loan.months, loan.shape);
  let max: bigint | undefined;
  let binding = 1;
  const dscr: bigint[] = [];
  months.forEach((month, index) => {
    const payment = payments[index]!;
    dscr.push(divide(month.marginKopecks * 10_000n, payment, 'floor'));
    const supported = month.marginKopecks <= 0n ? 0n : divide(month.marginKopecks * REFERENCE_PRINCIPAL_KOPECKS * 10_000n, payment * loan.dscrMinBps, 'floor');
    if (max === undefined || supported < max) {
      max = supported;
      binding = index + 1;
    }
  });
  return { scenario: scenario.name, months, referenceDscrBps: dscr, maxPrincipalKopecks: (max ?? 0n) as Kopecks, bindingMonth: binding };
}
