/**
 * The what-if bar's arithmetic, exact and in the browser: a loan's LTV at a price the miner drags
 * to, from the debt (kopecks) and collateral (sats) the server sends as integer strings, and the
 * product's thresholds. The same formula as the server's (loans/collateral.ts ltvMillionths):
 * LTV = debt / (sats x price x (1 - haircut) + machines), rounded up, in millionths, where the
 * machines (the second layer, kopecks) do not move with the price. BigInt throughout; the
 * dragged price is whole roubles per BTC, a price, never an amount of money.
 */

const RATE = 1_000_000n;
const SATS_PER_BTC = 100_000_000n;

/** "62.5" -> 625000 millionths (the server's percent strings have at most four decimals). */
export function percentMillionths(text: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,4}))?$/.exec(text);
  if (match === null) throw new RangeError(`not a percentage: ${text}`);
  return BigInt(match[1]!) * 10_000n + BigInt((match[2] ?? '').padEnd(4, '0'));
}

/** "6666666.66" -> 666666666n kopecks. */
export function kopecksOf(text: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (match === null) throw new RangeError(`not an amount: ${text}`);
  return BigInt(match[1]!) * 100n + BigInt((match[2] ?? '').padEnd(2, '0'));
}

/** The LTV in millionths at `priceKopecks` per BTC; null without collateral or price. */
export function ltvAt(debtKopecks: bigint, sats: bigint, priceKopecks: bigint, haircutMillionths: bigint, equipmentKopecks = 0n): bigint | null {
  const denominator = sats * priceKopecks * (RATE - haircutMillionths) + equipmentKopecks * SATS_PER_BTC * RATE;
  if (denominator <= 0n) return null;
  const numerator = debtKopecks * SATS_PER_BTC * RATE * RATE;
  return (numerator + denominator - 1n) / denominator;
}

export interface Thresholds { readonly warning: bigint; readonly marginCall: bigint; readonly liquidation: bigint }

/**
 * Where a loan sits on the ladder at a price: compared exactly (debt x 10^20 against value x
 * threshold, as the server's ladder.ts atOrAbove), not through the rounded LTV, which at a
 * threshold's edge would put a loan a hair under it into the next rung. Without the hysteresis
 * band a real move down must also clear.
 */
export function rungAt(debtKopecks: bigint, sats: bigint, priceKopecks: bigint, haircutMillionths: bigint, thresholds: Thresholds, equipmentKopecks = 0n): 'healthy' | 'warning' | 'margin_call' | 'liquidation' {
  if (debtKopecks <= 0n) return 'healthy';
  const owed = debtKopecks * SATS_PER_BTC * RATE * RATE;
  const value = sats * priceKopecks * (RATE - haircutMillionths) + equipmentKopecks * SATS_PER_BTC * RATE;
  const atOrAbove = (threshold: bigint) => owed >= value * threshold;
  if (atOrAbove(thresholds.liquidation)) return 'liquidation';
  if (atOrAbove(thresholds.marginCall)) return 'margin_call';
  if (atOrAbove(thresholds.warning)) return 'warning';
  return 'healthy';
}

/** Millionths as the server's percent text (loans/origination.ts formatRate): 625000 -> "62.5", 719425 -> "71.9425". */
export function percentText(millionths: bigint): string {
  const whole = millionths / 10_000n;
  const rest = (millionths % 10_000n).toString().padStart(4, '0').replace(/0+$/, '');
  return rest === '' ? whole.toString() : `${whole}.${rest}`;
}
