import { divide, SATS_PER_BTC, type PriceKopecksPerBtc } from '../money/money.js';
import { RATE_SCALE } from './interest.js';

/**
 * Loan-to-value, pure. The collateral counts at its market value less the product's haircut:
 * value = sats x price / 10^8 x (1 - haircut). LTV = debt / value. Percentages are millionths
 * (50% = 500,000) as product.ts reads them.
 */

/** Kopecks of machines on the scale of sats x price x (10^6 - h): x 10^14. */
const EQUIPMENT_SCALE = SATS_PER_BTC * RATE_SCALE;

/**
 * The fewest satoshis that, with `equipmentKopecks` of machines counted beside them, cover `debt`
 * kopecks at `ltv` (rounded up: the bank never asks too little; 0 when the machines alone do).
 */
export function requiredSats(debt: bigint, price: PriceKopecksPerBtc, ltvMillionths: bigint, haircutMillionths: bigint, equipmentKopecks = 0n): bigint {
  if (ltvMillionths <= 0n || haircutMillionths >= RATE_SCALE) throw new RangeError('an LTV above 0 and a haircut below 100%');
  // debt <= (sats x price / 10^8 x (10^6 - h) / 10^6 + E) x ltv / 10^6
  const rest = debt * SATS_PER_BTC * RATE_SCALE * RATE_SCALE - equipmentKopecks * EQUIPMENT_SCALE * ltvMillionths;
  return rest <= 0n ? 0n : divide(rest, price * (RATE_SCALE - haircutMillionths) * ltvMillionths, 'ceil');
}

/**
 * The LTV in millionths, rounded up (a loan is never shown safer than it is): debt over the BTC's
 * value after haircut plus the machines counted; undefined with neither.
 */
export function ltvMillionths(debt: bigint, sats: bigint, price: PriceKopecksPerBtc, haircutMillionths: bigint, equipmentKopecks = 0n): bigint | undefined {
  const denominator = sats * price * (RATE_SCALE - haircutMillionths) + equipmentKopecks * EQUIPMENT_SCALE;
  if (denominator === 0n) return undefined;
  return divide(debt * SATS_PER_BTC * RATE_SCALE * RATE_SCALE, denominator, 'ceil');
}

/** Whether `sats`, with `equipmentKopecks` of machines beside them, cover `debt` at the LTV `limit`. */
export function covers(debt: bigint, sats: bigint, price: PriceKopecksPerBtc, haircutMillionths: bigint, limitMillionths: bigint, equipmentKopecks = 0n): boolean {
  return debt * SATS_PER_BTC * RATE_SCALE * RATE_SCALE <= (sats * price * (RATE_SCALE - haircutMillionths) + equipmentKopecks * EQUIPMENT_SCALE) * limitMillionths;
}
