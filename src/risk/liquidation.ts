import { ltvMillionths } from '../loans/collateral.js';
import { RATE_SCALE, rateFromPercent } from '../loans/interest.js';
import { LIQUIDATION_DEFAULTS, type ProductTerms } from '../loans/product.js';
import { divide, parseKopecks, SATS_PER_BTC, type PriceKopecksPerBtc } from '../money/money.js';

/**
 * Liquidation, pure: how much collateral to sell, at what lowest price, and what a sale's fills
 * come to. All amounts are integers (kopecks, sats, kopecks per BTC); ratios are millionths.
 *
 * - **Partial first.** Sell the fewest sats that bring the loan back to the product's target LTV
 *   after fees, valued at the reference price: the proceeds (less the venue's and the bank's fees)
 *   pay debt down, the rest of the collateral stays pledged.
 * - **Full** when the remainder would owe less than the product's minimum, when selling cannot
 *   restore the target (the fees eat the gain), when even all the collateral is not enough, or
 *   when the loan is past maturity. A full sale covers the whole debt even at the floor price
 *   (the unsold BTC goes back to the borrower), or sells everything when the product returns
 *   surplus in roubles.
 * - **Never below the floor**: reference x (1 - max discount), rounded up (a sale at the floor is
 *   never below the discount the contract allows).
 *
 * The plan values the collateral at the reference price and prices the sale a little lower, by the
 * product's slippage allowance (the venue's and the OTC desk's fills land under the reference),
 * with the venue's expected fee and the bank's; and it counts proceeds as booking will: gross
 * floored to the kopeck, the venue's fee rounded up, the bank's rounded down. So a sale that fills
 * within the allowance leaves the loan at or under its target; one that fills worse leaves it
 * above, and booking queues the next sale at once (liquidations.ts).
 */

export interface LiquidationTerms {
  /** The LTV a partial sale restores (product's `collateral.ltv.target`), millionths. */
  readonly targetLtv: bigint;
  readonly haircut: bigint;
  /** The bank's liquidation fee, millionths of gross proceeds. */
  readonly feeMillionths: bigint;
  /** The floor: reference x (1 - maxDiscount). */
  readonly maxDiscountMillionths: bigint;
  /** A partial sale that would leave less debt than this sells in full. */
  readonly minimumRemainingKopecks: bigint;
  /** What the borrower gets back from a full sale: the unsold BTC, or everything sold and roubles. */
  readonly surplus: 'btc' | 'rub';
  /** How far under the reference the plan expects the fills, millionths (the product's slippage allowance). */
  readonly slippageAllowanceMillionths: bigint;
}

export interface PlanInput {
  readonly debt: bigint;
  readonly sats: bigint;
  readonly reference: PriceKopecksPerBtc;
  /** The venue's expected fee, millionths of gross proceeds (added to the bank's). */
  readonly venueFeeMillionths: bigint;
  readonly pastMaturity: boolean;
  readonly terms: LiquidationTerms;
  /**
   * Kopecks the loan's machines count for (the second layer). They are never sold here, but they
   * are part of the cover the sale restores: a loan with machines sells fewer sats to reach target.
   */
  readonly equipment?: bigint;
}

export type PlanReason = 'target_ltv' | 'below_minimum' | 'cannot_restore' | 'not_enough_collateral' | 'past_maturity';

export type Plan =
  | { readonly kind: 'none'; readonly ltvBefore: bigint | undefined }
  | { readonly kind: 'partial' | 'full'; readonly reason: PlanReason; readonly sats: bigint; readonly floor: PriceKopecksPerBtc; readonly ltvBefore: bigint | undefined; readonly ltvAfter: bigint | undefined };

const SCALE2 = RATE_SCALE * RATE_SCALE;

export function floorPrice(reference: PriceKopecksPerBtc, maxDiscountMillionths: bigint): PriceKopecksPerBtc {
  return divide(reference * (RATE_SCALE - maxDiscountMillionths), RATE_SCALE, 'ceil') as PriceKopecksPerBtc;
}

/** Net roubles of selling `sats` at `price` after fees (rounded down: the plan never counts on a kopeck it may not get). */
export function netProceeds(sats: bigint, price: bigint, feeMillionths: bigint): bigint {
  return divide(sats * price * (RATE_SCALE - feeMillionths), SATS_PER_BTC * RATE_SCALE, 'floor');
}

/**
 * The net roubles a sale of `sats` at `price` books (servicing.ts bookLiquidationSale): gross
 * floored to the kopeck, less the venue's fee (rounded up) and the bank's (rounded down).
 */
export function bookedNet(sats: bigint, price: bigint, venueFeeMillionths: bigint, bankFeeMillionths: bigint): bigint {
  const gross = divide(sats * price, SATS_PER_BTC, 'floor');
  return gross - divide(gross * venueFeeMillionths, RATE_SCALE, 'ceil') - divide(gross * bankFeeMillionths, RATE_SCALE, 'floor');
}

/**
 * The least n in [from, to] with ok(n), searching up from `from` (ok holds from some point on,
 * give or take the kopeck roundings): doubling steps, then halving. Undefined when none up to `to`.
 */
function leastFrom(from: bigint, to: bigint, ok: (n: bigint) => boolean): bigint | undefined {
  if (from > to) return undefined;
  if (ok(from)) return from;
  let step = 1n;
  let low = from; // !ok(low)
  while (low + step <= to && !ok(low + step)) {
    low += step;
    step *= 2n;
  }
  let high = low + step <= to ? low + step : to;
  if (!ok(high)) return undefined;
  while (high - low > 1n) {
    const middle = (low + high) / 2n;
    if (ok(middle)) high = middle; else low = middle;
  }
  return high;
}

export function planLiquidation(input: PlanInput): Plan {
  const { debt, sats, reference, terms } = input;
  if (debt <= 0n || sats <= 0n || reference <= 0n) return { kind: 'none', ltvBefore: undefined };
  const fee = terms.feeMillionths + input.venueFeeMillionths;
  if (fee >= RATE_SCALE) throw new RangeError('fees of 100% or more');
  const floor = floorPrice(reference, terms.maxDiscountMillionths);
  // The price the plan expects to sell at: the reference less the slippage allowance (never below the floor).
  const expected = divide(reference * (RATE_SCALE - terms.slippageAllowanceMillionths), RATE_SCALE, 'floor');
  const salePrice = expected < floor ? floor : expected;
  const net = (sold: bigint, price: bigint) => bookedNet(sold, price, input.venueFeeMillionths, terms.feeMillionths);
  const equipment = input.equipment ?? 0n;
  const machines = equipment * SATS_PER_BTC * RATE_SCALE; // on the scale of sats x price x (10^6 - h)
  const ltvBefore = ltvMillionths(debt, sats, reference, terms.haircut, equipment);
  const debtAfter = (sold: bigint) => debt - minBig(debt, net(sold, salePrice));
  const after = (sold: bigint) => ltvMillionths(debtAfter(sold), sats - sold, reference, terms.haircut, equipment);
  // LTV after <= T, at the reference:  debtAfter x 10^20 <= T ((S - s) P (10^6 - h) + E 10^14)
  const restores = (sold: bigint) => debtAfter(sold) * SATS_PER_BTC * SCALE2 <= terms.targetLtv * ((sats - sold) * reference * (RATE_SCALE - terms.haircut) + machines);
  const full = (reason: PlanReason): Plan => {
    // Enough to cover the debt even if every sat goes at the floor, as booked; all of it for a rouble surplus.
    const start = divide(debt * SATS_PER_BTC * RATE_SCALE, floor * (RATE_SCALE - fee), 'ceil');
    const cover = terms.surplus === 'rub' ? undefined : leastFrom(start < sats ? start : sats, sats, (n) => net(n, floor) >= debt);
    const sold = cover ?? sats;
    return { kind: 'full', reason, sats: sold, floor, ltvBefore, ltvAfter: after(sold) };
  };
  if (input.pastMaturity) return full('past_maturity');
  if (restores(0n)) return { kind: 'none', ltvBefore };
  // Solved exactly on unrounded proceeds at the expected price, then searched up under the booked
  // rule. Booked proceeds are at most one kopeck above the unrounded (the bank's fee rounds down),
  // so solving for a debt one kopeck smaller gives a bound no booked solution lies under:
  //   (D - 1 - s P' (1-f)) <= T ((S - s) P (1-h) + E)   =>   s >= ((D-1) 10^20 - T (S P (10^6-h) + E 10^14)) / (P' (10^6-f) 10^6 - T P (10^6-h))
  const need = (debt - 1n) * SATS_PER_BTC * SCALE2 - terms.targetLtv * (sats * reference * (RATE_SCALE - terms.haircut) + machines);
  const perSat = salePrice * (RATE_SCALE - fee) * RATE_SCALE - terms.targetLtv * reference * (RATE_SCALE - terms.haircut);
  if (perSat <= 0n) return full('cannot_restore');
  const lower = need <= 0n ? 1n : divide(need, perSat, 'ceil');
  const sold = lower >= sats ? undefined : leastFrom(lower, sats - 1n, restores);
  if (sold === undefined) return full('not_enough_collateral');
  if (debt - net(sold, salePrice) < terms.minimumRemainingKopecks) return full('below_minimum');
  return { kind: 'partial', reason: 'target_ltv', sats: sold, floor, ltvBefore, ltvAfter: after(sold) };
}

const minBig = (a: bigint, b: bigint) => (a < b ? a : b);

export interface Fill {
  /** The venue's id of the fill (unique per liquidation): a replayed report records it once. */
  readonly venueFillId: string;
  readonly sats: bigint;
  /** Kopecks per BTC. */
  readonly price: bigint;
  /** The venue's fee in kopecks, taken from the proceeds. */
  readonly feeKopecks: bigint;
}

export interface SaleSummary {
  readonly sats: bigint;
  /** Sum of sats x price, rounded down per fill. */
  readonly grossKopecks: bigint;
  readonly venueFeesKopecks: bigint;
  /** The bank's liquidation fee on the gross (rounded down: never more than the terms say). */
  readonly bankFeeKopecks: bigint;
  /** What pays the debt: gross less both fees. */
  readonly netKopecks: bigint;
  /** Volume-weighted average price, kopecks per BTC (rounded down); undefined without fills. */
  readonly averagePrice: bigint | undefined;
  /** (reference - average) / reference, millionths, rounded up (slippage is never understated). */
  readonly slippageMillionths: bigint | undefined;
}

/** How far under the reference a price is: (reference - price) / reference in millionths, rounded up (never understated; negative above the reference). */
export function slippageMillionths(reference: bigint, price: bigint): bigint {
  return divide((reference - price) * RATE_SCALE, reference, 'ceil');
}

export function fillGross(fill: Fill): bigint {
  return divide(fill.sats * fill.price, SATS_PER_BTC, 'floor');
}

export function summariseFills(fills: readonly Fill[], reference: PriceKopecksPerBtc, bankFeeMillionths: bigint): SaleSummary {
  let soldSats = 0n, gross = 0n, venueFees = 0n;
  for (const f of fills) {
    soldSats += f.sats;
    gross += fillGross(f);
    venueFees += f.feeKopecks;
  }
  const bankFee = divide(gross * bankFeeMillionths, RATE_SCALE, 'floor');
  const net = gross - venueFees - bankFee;
  if (net < 0n) throw new RangeError('fees above the proceeds');
  const average = soldSats === 0n ? undefined : divide(gross * SATS_PER_BTC, soldSats, 'floor');
  const slippage = average === undefined ? undefined : slippageMillionths(reference, average);
  return { sats: soldSats, grossKopecks: gross, venueFeesKopecks: venueFees, bankFeeKopecks: bankFee, netKopecks: net, averagePrice: average, slippageMillionths: slippage };
}

/** Why a fill may not be recorded, or undefined. */
export function fillProblem(fill: Fill, floor: bigint, remainingSats: bigint): string | undefined {
  if (fill.sats <= 0n) return 'a fill sells a positive number of sats';
  if (fill.sats > remainingSats) return `the fill sells ${fill.sats} sats; ${remainingSats} are left to sell`;
  if (fill.price < floor) return `the fill's price is below the floor of ${floor} kopecks per BTC`;
  if (fill.feeKopecks < 0n || fill.feeKopecks > fillGross(fill)) return 'a fee from zero to the fill\'s proceeds';
  return undefined;
}

/** A product's liquidation terms, its defaults filled in (products are validated when stored). */
export function liquidationTermsOf(terms: ProductTerms): LiquidationTerms {
  const c = terms.collateral;
  const sale = c.liquidation ?? {};
  return {
    targetLtv: rateFromPercent(c.ltv.target)!,
    haircut: rateFromPercent(c.haircutPercent)!,
    feeMillionths: rateFromPercent(sale.feePercent ?? LIQUIDATION_DEFAULTS.feePercent)!,
    maxDiscountMillionths: rateFromPercent(sale.maxDiscountPercent ?? LIQUIDATION_DEFAULTS.maxDiscountPercent)!,
    minimumRemainingKopecks: (parseKopecks(sale.minimumRemaining ?? terms.amount.min, 'non_negative') as { ok: true; value: bigint }).value,
    surplus: sale.surplus ?? LIQUIDATION_DEFAULTS.surplus,
    slippageAllowanceMillionths: rateFromPercent(sale.slippageAllowancePercent ?? LIQUIDATION_DEFAULTS.slippageAllowancePercent)!,
  };
}
