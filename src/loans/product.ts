import { parseKopecks } from '../money/money.js';
import { rateFromPercent } from './interest.js';
import { REPAYMENT_TYPES, type RepaymentType } from './schedule.js';
import { waterfallProblem, type Bucket } from './waterfall.js';

/**
 * Loan products, pure: the terms an admin configures, checked as a whole. A product is versioned:
 * a change is a new version, and a loan keeps the version it was issued under. Amounts are decimal
 * strings of roubles, rates and LTVs percentages as decimal strings (parsed exactly here).
 *
 * Defaults follow ../shared/BRIEF.md: Sovcombank's product (key rate + 7 pp, up to 2 years) and
 * Ledn's ladder (open at 50%, call at 70% restoring to 50%, liquidate at 80%) with Unchained's
 * 48-hour cure. Loans to individuals cap the late-payment penalty (353-FZ art. 5 part 21: at most
 * 20% a year while interest keeps accruing on the overdue amount, which it does here).
 */

export type BorrowerKind = 'company' | 'entrepreneur' | 'individual';
export const CUSTODY_MODES = ['custodial', 'bank', 'collaborative'] as const;
export type CustodyMode = (typeof CUSTODY_MODES)[number];
/** A product's custody when its terms say none. */
export const CUSTODY_DEFAULTS = { modes: CUSTODY_MODES, confirmations: 3, recoveryPath: 'optional' } as const;

export interface ProductTerms {
  readonly name: string;
  readonly borrowerKinds: readonly BorrowerKind[];
  /**
   * The least age of a company or entrepreneur, whole months from its state registration to the
   * application (Sovcombank's product: a legal entity operating at least a year). Absent: none.
   */
  readonly borrowerMinAgeMonths?: number;
  readonly amount: { readonly min: string; readonly max: string };
  readonly months: { readonly min: number; readonly max: number };
  readonly rate: { readonly kind: 'fixed'; readonly percent: string } | { readonly kind: 'floating'; readonly marginPercent: string; readonly reset: 'monthly' | 'quarterly' };
  readonly dayCount: 'actual/actual';
  readonly repaymentTypes: readonly RepaymentType[];
  /** Interest-only products: months of interest alone (default half the term) and the balloon. */
  readonly interestOnly?: { readonly months?: number; readonly balloonPercent: string };
  readonly originationFeePercent: string;
  readonly penaltyPercentPerDay: string;
  readonly collateral: {
    readonly accepted: readonly 'BTC'[];
    readonly haircutPercent: string;
    readonly ltv: {
      readonly origination: string; readonly warning: string; readonly marginCall: string; readonly liquidation: string; readonly target: string;
      /** A call above this LTV gets the short deadline (Unchained's accelerated call); none when absent. */
      readonly acceleratedCall?: string;
      /** Points below a threshold the LTV must fall to step down the ladder (default 5). */
      readonly hysteresisPoints?: string;
    };
    readonly curePeriodHours: number;
    /** The accelerated call's cure period, with acceleratedCall. */
    readonly acceleratedCureHours?: number;
    /**
     * Where the collateral is held (src/vaults): which custody modes the product allows
     * ('custodial': a custodian reports by reference; 'bank': a vault of the bank's keys;
     * 'collaborative': a 2-of-3 vault with the borrower and a key agent), the confirmations a
     * vault deposit needs at least before it counts (default 3), and whether a vault must give the
     * borrower a recovery path. Absent: every mode, 3 confirmations, recovery path optional.
     */
    readonly custody?: { readonly modes: readonly CustodyMode[]; readonly confirmations?: number; readonly recoveryPath?: 'required' | 'optional' };
    /** How collateral is sold (risk/liquidation.ts); LIQUIDATION_DEFAULTS where absent. */
    readonly liquidation?: {
      /** The floor: no fill below the reference price less this (default 5). */
      readonly maxDiscountPercent?: string;
      /** The bank's fee on gross proceeds (default 1). */
      readonly feePercent?: string;
      /** A partial sale leaving less debt than this (roubles) sells in full (default amount.min). */
      readonly minimumRemaining?: string;
      /** A full sale returns the unsold BTC (default) or sells everything and returns roubles. */
      readonly surplus?: 'btc' | 'rub';
      /** How far under the reference price the plan expects the fills, percent (default 1, at most maxDiscountPercent). */
      readonly slippageAllowancePercent?: string;
      /** The sale channels this product allows (risk/sale-channels.ts); absent: every channel the bank's rules allow on the day. */
      readonly channels?: readonly ('licensed_venue' | 'experimental_regime' | 'otc_abroad')[];
    };
    /**
     * Machines as a second layer (src/underwriting/equipment-service.ts): pledged machine groups
     * count at their latest weighted valuation toward the cover, at most `maxSharePercent` of the
     * cover the origination LTV asks (fixed in kopecks at approval). `stressPercent`: the part of
     * that the stress and the backtest keep when BTC falls (machines are worth least exactly
     * then; default 0, they count for nothing). Absent: machines are not accepted.
     */
    readonly equipment?: { readonly maxSharePercent: string; readonly stressPercent?: string };
  };
  readonly calendar: 'ru';
  /** The order repayments settle debts (waterfall.ts); the default when absent. */
  readonly waterfall?: readonly Bucket[];
}

export const DEFAULT_PRODUCT: ProductTerms = {
  name: 'Miner loan against BTC',
  borrowerKinds: ['company', 'entrepreneur'],
  amount: { min: '100000.00', max: '30000000.00' },
  months: { min: 3, max: 24 },
  rate: { kind: 'floating', marginPercent: '7', reset: 'monthly' },
  dayCount: 'actual/actual',
  repaymentTypes: ['annuity', 'bullet', 'interest_only'],
  interestOnly: { balloonPercent: '50' },
  originationFeePercent: '1',
  penaltyPercentPerDay: '0.1',
  collateral: { accepted: ['BTC'], haircutPercent: '0', ltv: { origination: '50', warning: '60', marginCall: '70', acceleratedCall: '75', liquidation: '80', target: '50' }, curePeriodHours: 48, acceleratedCureHours: 4 },
  calendar: 'ru',
};

/**
 * The published terms of the market's first product for miners (Sovcombank, February 2026;
 * ../shared/BRIEF.md section 1): rouble loans to legal entities operating at least a year, at the
 * key rate + 7 points, for up to two years, with a 50% discount on the BTC. The ladder is ours
 * (the bank publishes none), on the discounted value. An example product; the demo ships it.
 */
export const MARKET_PRODUCT_2026: ProductTerms = {
  ...DEFAULT_PRODUCT,
  name: 'Key rate + 7 for mining companies (published terms, 2026)',
  borrowerKinds: ['company'],
  borrowerMinAgeMonths: 12,
  months: { min: 3, max: 24 },
  rate: { kind: 'floating', marginPercent: '7', reset: 'monthly' },
  collateral: { ...DEFAULT_PRODUCT.collateral, haircutPercent: '50' },
};

/** A product's machine terms in millionths, or undefined when it takes no machines. */
export function equipmentTermsOf(terms: ProductTerms): { readonly shareMillionths: bigint; readonly stressMillionths: bigint } | undefined {
  const machines = terms.collateral.equipment;
  if (machines === undefined) return undefined;
  return { shareMillionths: rateFromPercent(machines.maxSharePercent)!, stressMillionths: rateFromPercent(machines.stressPercent ?? '0')! };
}

export const LIQUIDATION_DEFAULTS = { maxDiscountPercent: '5', feePercent: '1', surplus: 'btc', slippageAllowancePercent: '1' } as const;

/** 353-FZ art. 5 part 21: a penalty on loans to individuals while interest accrues: at most 20% a year. */
export const INDIVIDUAL_PENALTY_CAP_MILLIONTHS_PER_YEAR = 200_000n;

export interface ProductProblem {
  readonly field: string;
  readonly message: string;
}

/** Millionths of a percentage string ("50" -> 500,000), or undefined. */
function millionths(text: unknown): bigint | undefined {
  return typeof text === 'string' ? rateFromPercent(text) : undefined;
}

export function productProblems(terms: ProductTerms): ProductProblem[] {
  const problems: ProductProblem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });
  if (typeof terms.name !== 'string' || terms.name.length < 1 || terms.name.length > 200) add('name', '1 to 200 characters');
  if (!Array.isArray(terms.borrowerKinds) || terms.borrowerKinds.length === 0 || terms.borrowerKinds.some((k) => !['company', 'entrepreneur', 'individual'].includes(k))) add('borrowerKinds', 'one or more of company, entrepreneur, individual');
  if (terms.borrowerMinAgeMonths !== undefined && (!Number.isInteger(terms.borrowerMinAgeMonths) || terms.borrowerMinAgeMonths < 1 || terms.borrowerMinAgeMonths > 600)) add('borrowerMinAgeMonths', 'whole months from 1 to 600');
  const min = parseKopecks(terms.amount?.min);
  const max = parseKopecks(terms.amount?.max);
  if (!min.ok) add('amount.min', min.error.message);
  if (!max.ok) add('amount.max', max.error.message);
  if (min.ok && max.ok && min.value > max.value) add('amount', 'the minimum is not above the maximum');
  if (!Number.isInteger(terms.months?.min) || !Number.isInteger(terms.months?.max) || terms.months.min < 1 || terms.months.max > 120 || terms.months.min > terms.months.max) add('months', 'whole months, 1 <= min <= max <= 120');
  if (terms.rate?.kind === 'fixed') {
    if (millionths(terms.rate.percent) === undefined) add('rate.percent', 'a percentage such as "23.5"');
  } else if (terms.rate?.kind === 'floating') {
    if (millionths(terms.rate.marginPercent) === undefined) add('rate.marginPercent', 'a percentage such as "7"');
    if (terms.rate.reset !== 'monthly' && terms.rate.reset !== 'quarterly') add('rate.reset', 'monthly or quarterly');
  } else add('rate.kind', 'fixed or floating');
  if (terms.dayCount !== 'actual/actual') add('dayCount', 'actual/actual (365 or 366 days as the calendar year has) is the only day count');
  if (!Array.isArray(terms.repaymentTypes) || terms.repaymentTypes.length === 0 || terms.repaymentTypes.some((t) => !REPAYMENT_TYPES.includes(t))) add('repaymentTypes', `one or more of ${REPAYMENT_TYPES.join(', ')}`);
  if (terms.repaymentTypes?.includes('interest_only')) {
    const balloon = millionths(terms.interestOnly?.balloonPercent);
    if (balloon === undefined || balloon > 1_000_000n) add('interestOnly.balloonPercent', 'a percentage from 0 to 100');
    if (terms.interestOnly?.months !== undefined && (!Number.isInteger(terms.interestOnly.months) || terms.interestOnly.months < 0 || terms.interestOnly.months >= terms.months.min)) add('interestOnly.months', 'fewer than the shortest term');
  }
  const fee = millionths(terms.originationFeePercent);
  if (fee === undefined || fee > 100_000n) add('originationFeePercent', 'a percentage from 0 to 10');
  const penalty = millionths(terms.penaltyPercentPerDay);
  if (penalty === undefined || penalty > 10_000n) add('penaltyPercentPerDay', 'a percentage a day from 0 to 1');
  const c = terms.collateral;
  if (c === undefined || !Array.isArray(c.accepted) || c.accepted.length !== 1 || c.accepted[0] !== 'BTC') add('collateral.accepted', 'BTC is the accepted collateral');
  const haircut = millionths(c?.haircutPercent);
  if (haircut === undefined || haircut >= 1_000_000n) add('collateral.haircutPercent', 'a percentage below 100');
  const ladder = ['origination', 'warning', 'marginCall', 'liquidation'] as const;
  const values = ladder.map((step) => millionths(c?.ltv?.[step]));
  const target = millionths(c?.ltv?.target);
  if (values.some((v) => v === undefined || v === 0n) || target === undefined) add('collateral.ltv', 'origination, warning, marginCall, liquidation and target are percentages');
  else {
    for (let i = 1; i < values.length; i += 1) if (values[i]! <= values[i - 1]!) add(`collateral.ltv.${ladder[i]}`, `above ${ladder[i - 1]} (the ladder rises: origination < warning < margin call < liquidation)`);
    if (values[3]! > 1_000_000n) add('collateral.ltv.liquidation', 'at most 100');
    if (target === 0n || target > values[0]!) add('collateral.ltv.target', 'above 0 and at most the origination LTV (a partial liquidation restores at least the opening cover)');
  }
  if (!Number.isInteger(c?.curePeriodHours) || c.curePeriodHours < 1 || c.curePeriodHours > 720) add('collateral.curePeriodHours', '1 to 720 hours');
  if (c?.ltv?.acceleratedCall !== undefined) {
    const accelerated = millionths(c.ltv.acceleratedCall);
    if (accelerated === undefined || values[2] === undefined || values[3] === undefined || accelerated <= values[2] || accelerated >= values[3]) add('collateral.ltv.acceleratedCall', 'a percentage between marginCall and liquidation');
    if (!Number.isInteger(c.acceleratedCureHours) || c.acceleratedCureHours! < 1 || c.acceleratedCureHours! > c.curePeriodHours) add('collateral.acceleratedCureHours', 'whole hours from 1 to the cure period (the accelerated call is the shorter one)');
  } else if (c?.acceleratedCureHours !== undefined) add('collateral.acceleratedCureHours', 'only with collateral.ltv.acceleratedCall');
  if (c?.ltv?.hysteresisPoints !== undefined) {
    const band = millionths(c.ltv.hysteresisPoints);
    if (band === undefined || values[1] === undefined || band >= values[1]) add('collateral.ltv.hysteresisPoints', 'percentage points from 0 to below the warning LTV');
  }
  const custody = c?.custody;
  if (custody !== undefined) {
    if (!Array.isArray(custody.modes) || custody.modes.length === 0 || !custody.modes.every((mode) => (CUSTODY_MODES as readonly string[]).includes(mode)) || new Set(custody.modes).size !== custody.modes.length) add('collateral.custody.modes', `one or more of ${CUSTODY_MODES.join(', ')}, each once`);
    if (custody.confirmations !== undefined && (!Number.isInteger(custody.confirmations) || custody.confirmations < 1 || custody.confirmations > 100)) add('collateral.custody.confirmations', 'a whole number of blocks from 1 to 100');
    if (custody.recoveryPath !== undefined && custody.recoveryPath !== 'required' && custody.recoveryPath !== 'optional') add('collateral.custody.recoveryPath', 'required or optional');
    if (custody.recoveryPath === 'required' && Array.isArray(custody.modes) && custody.modes.includes('custodial')) add('collateral.custody.recoveryPath', 'a required recovery path needs a vault: leave custodial out of the modes');
  }
  const sale = c?.liquidation;
  if (sale !== undefined) {
    const discount = millionths(sale.maxDiscountPercent ?? LIQUIDATION_DEFAULTS.maxDiscountPercent);
    if (discount === undefined || discount === 0n || discount > 500_000n) add('collateral.liquidation.maxDiscountPercent', 'a percentage above 0 and at most 50');
    const fee = millionths(sale.feePercent ?? LIQUIDATION_DEFAULTS.feePercent);
    if (fee === undefined || fee > 100_000n) add('collateral.liquidation.feePercent', 'a percentage from 0 to 10');
    if (sale.minimumRemaining !== undefined && !parseKopecks(sale.minimumRemaining, 'non_negative').ok) add('collateral.liquidation.minimumRemaining', 'an amount of roubles such as "100000.00"');
    if (sale.surplus !== undefined && sale.surplus !== 'btc' && sale.surplus !== 'rub') add('collateral.liquidation.surplus', 'btc or rub');
    const allowance = millionths(sale.slippageAllowancePercent ?? LIQUIDATION_DEFAULTS.slippageAllowancePercent);
    if (allowance === undefined || (discount !== undefined && discount > 0n && discount <= 500_000n && allowance > discount)) add('collateral.liquidation.slippageAllowancePercent', 'a percentage from 0 to the maximum discount: how far under the reference the plan expects fills');
    if (sale.channels !== undefined && (!Array.isArray(sale.channels) || sale.channels.length === 0 || new Set(sale.channels).size !== sale.channels.length || sale.channels.some((c) => !['licensed_venue', 'experimental_regime', 'otc_abroad'].includes(c)))) add('collateral.liquidation.channels', 'one or more of licensed_venue, experimental_regime, otc_abroad, each once');
  }
  const machines = c?.equipment;
  if (machines !== undefined) {
    const share = millionths(machines.maxSharePercent);
    if (share === undefined || share === 0n || share > 500_000n) add('collateral.equipment.maxSharePercent', 'a percentage above 0 and at most 50: BTC stays the first layer');
    const stress = millionths(machines.stressPercent ?? '0');
    if (stress === undefined || stress > 1_000_000n) add('collateral.equipment.stressPercent', 'a percentage from 0 to 100');
  }
  if (terms.calendar !== 'ru') add('calendar', 'ru (the Russian business calendar) is the only calendar');
  if (terms.waterfall !== undefined) {
    const problem = waterfallProblem(terms.waterfall);
    if (problem !== undefined) add('waterfall', problem);
    // 353-FZ art. 5 part 20 fixes the order for consumer loans: overdue debts before penalties.
    else if (terms.borrowerKinds.includes('individual') && terms.waterfall.indexOf('penalty') < terms.waterfall.indexOf('principal_overdue')) add('waterfall', 'loans to individuals settle overdue interest and principal before penalties (353-FZ art. 5 part 20)');
  } else if (terms.borrowerKinds?.includes('individual')) add('waterfall', 'a product for individuals states its waterfall; the law\'s order is interest_overdue, principal_overdue, penalty, interest, principal, fee');
  return problems;
}

/**
 * The penalty rate for a loan, millionths a day: the product's, capped for individuals at 20% a
 * year over the year's days (rounded down: the cap is never exceeded).
 */
export function penaltyMillionthsPerDay(terms: ProductTerms, kind: BorrowerKind, daysInYear: 365 | 366): bigint {
  const rate = rateFromPercent(terms.penaltyPercentPerDay)!;
  if (kind !== 'individual') return rate;
  const cap = INDIVIDUAL_PENALTY_CAP_MILLIONTHS_PER_YEAR / BigInt(daysInYear);
  return rate < cap ? rate : cap;
}
