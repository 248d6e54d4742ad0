import { divide, SATS_PER_BTC, type PriceKopecksPerBtc } from '../money/money.js';
import { RATE_SCALE } from './interest.js';

/**
 * Loan-to-value, pure. The collateral counts at its market value less the product's haircut:
 * value = sats x price / 10^8 x (1 - haircut). LTV = debt / value. Percentages are millionths
 * (50% = 500,000) as product.ts reads them.
 */

/** The fewest satoshis that cover `debt` kopecks at `ltv` (rounded up: the bank never asks too little). */
export function requiredSats(debt: bigint, price: PriceKopecksPerBtc, ltvMillionths: bigint, haircutMillionths: bigint): bigint {
  if (ltvMillionths <= 0n || haircutMillionths >= RATE_SCALE) throw new RangeError('an LTV above 0 and a haircut below 100%');
  // debt <= sats x price / 10^8 x (10^6 - h) / 10^6 x ltv / 10^6
  return divide(debt * SATS_PER_BTC * RATE_SCALE * RATE_SCALE, price * (RATE_SCALE - haircutMillionths) * ltvMillionths, 'ceil');
}

/** The LTV in millionths, rounded up (a loan is never shown safer than it is); undefined without collateral. */
export function ltvMillionths(debt: bigint, sats: bigint, price: PriceKopecksPerBtc, haircutMillionths: bigint): bigint | undefined {
  const denominator = sats * price * (RATE_SCALE - haircutMillionths);
  if (denominator === 0n) return undefined;
  return divide(debt * SATS_PER_BTC * RATE_SCALE * RATE_SCALE, denominator, 'ceil');
}

/** Whether `sats` cover `debt` at the LTV `limit`. */
export function covers(debt: bigint, sats: bigint, price: PriceKopecksPerBtc, haircutMillionths: bigint, limitMillionths: bigint): boolean {
  return debt * SATS_PER_BTC * RATE_SCALE * RATE_SCALE <= sats * price * (RATE_SCALE - haircutMillionths) * limitMillionths;
}
