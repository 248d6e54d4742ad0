import { SATS_PER_BTC } from '../money/money.js';
import { RATE_SCALE } from '../loans/interest.js';

/**
 * The LTV ladder, pure: which state a loan is in at a price, and the prices at which it moves.
 *
 * LTV = debt / (sats x price / 10^8 x (1 - haircut)), debt in kopecks (principal, interest,
 * penalties and fees owed), price in kopecks per BTC, thresholds in millionths (70% = 700,000).
 * Every comparison is exact integer arithmetic: LTV >= T  <=>  debt x 10^20 >= sats x price x
 * (10^6 - haircut) x T.
 *
 * States rise with LTV: healthy -> warning -> margin call -> accelerated call -> liquidation. A
 * state is entered when the LTV reaches its threshold, and left downwards only when the LTV falls
 * below a threshold by more than the hysteresis band (so a price wobbling around a threshold does
 * not send a notice a minute): warning clears below warning - band; a margin call (either kind) is
 * cured below marginCall - band, landing in warning or healthy by the same rule. Liquidation is not
 * left by price: the liquidation process takes the loan from there.
 *
 * Because LTV falls as the price rises, each threshold is a trigger price: the loan is at or above
 * threshold T exactly when price <= triggerPrice(T). A loan in a state has at most two prices that
 * matter: the price at or below which it worsens (`worsenAt`), and the price above which it
 * improves (`improveAbove`). The risk index orders loans by those two prices, so a new price only
 * touches the loans whose trigger it passed.
 */

export const STATES = ['healthy', 'warning', 'margin_call', 'accelerated_call', 'liquidation'] as const;
export type RiskState = (typeof STATES)[number];

export interface Ladder {
  readonly warning: bigint;
  readonly marginCall: bigint;
  /** Optional: a call above this LTV gets the short deadline. */
  readonly acceleratedCall?: bigint;
  readonly liquidation: bigint;
  /** Percentage points (millionths) below a threshold the LTV must fall to step down. */
  readonly band: bigint;
  readonly haircut: bigint;
  /** Cure periods in business hours (deadline.ts): the margin call's, and the accelerated call's. */
  readonly cureHours?: number;
  readonly acceleratedCureHours?: number;
}

export interface Exposure {
  /** Kopecks owed: principal, interest, penalties and fees, current and overdue. */
  readonly debt: bigint;
  /** Confirmed (and pledged) collateral. */
  readonly sats: bigint;
  /**
   * Kopecks the pledged machines count for (the second layer: weighted valuation, capped by the
   * product's share; 0 or absent without machines). Added to the BTC's value after haircut.
   */
  readonly equipment?: bigint;
}

/** The machines' part of the collateral value on the scale of sats x price x (10^6 - h): kopecks x 10^14. */
const EQUIPMENT_SCALE = SATS_PER_BTC * RATE_SCALE;

/** A trigger price no real price reaches: the loan is past the threshold at any price (no collateral). */
export const ANY_PRICE = (1n << 62n) - 1n;

/** A state's height on the ladder (healthy 0 .. liquidation 4). */
export const rank = (state: RiskState): number => STATES.indexOf(state);

/** Checks a ladder's order (the product validation says it in words; this guards the maths). */
export function assertLadder(ladder: Ladder): void {
  const steps = [ladder.warning, ladder.marginCall, ...(ladder.acceleratedCall === undefined ? [] : [ladder.acceleratedCall]), ladder.liquidation];
  for (let i = 1; i < steps.length; i += 1) if (steps[i]! <= steps[i - 1]!) throw new RangeError('the ladder must rise: warning < margin call < accelerated call < liquidation');
  if (ladder.band < 0n || ladder.band >= ladder.warning) throw new RangeError('the hysteresis band must be at least 0 and below the warning LTV');
  if (ladder.haircut < 0n || ladder.haircut >= RATE_SCALE) throw new RangeError('a haircut from 0 to below 100%');
}

/** Whether the LTV at `price` is at least `threshold` (millionths). */
export function atOrAbove(exposure: Exposure, price: bigint, threshold: bigint, haircut: bigint): boolean {
  if (exposure.debt <= 0n) return false;
  return exposure.debt * SATS_PER_BTC * RATE_SCALE * RATE_SCALE >= (exposure.sats * price * (RATE_SCALE - haircut) + (exposure.equipment ?? 0n) * EQUIPMENT_SCALE) * threshold;
}

/**
 * The highest price (kopecks per BTC) at which the LTV is at least `threshold`: at or below it the
 * loan is past the threshold. 0 when nothing is owed, or when the machines alone keep the LTV under
 * the threshold (never past); ANY_PRICE when neither sats nor machines do.
 */
export function triggerPrice(exposure: Exposure, threshold: bigint, haircut: bigint): bigint {
  const debt = exposure.debt * SATS_PER_BTC * RATE_SCALE * RATE_SCALE;
  return triggerOf(exposure.debt, debt - (exposure.equipment ?? 0n) * EQUIPMENT_SCALE * threshold, exposure.sats * (RATE_SCALE - haircut) * threshold);
}

/**
 * The trigger price from its two parts: (debt x 10^20 - E x 10^14 x threshold) over sats x
 * (10^6 - haircut) x threshold. With machines the first part may be 0 or less: then no positive
 * price reaches the threshold (0), unless there are no sats and the machines alone leave it there.
 */
function triggerOf(debt: bigint, numerator: bigint, per: bigint): bigint {
  if (debt <= 0n) return 0n;
  if (per <= 0n) return numerator >= 0n ? ANY_PRICE : 0n;
  if (numerator <= 0n) return 0n;
  const price = numerator / per;
  return price > ANY_PRICE ? ANY_PRICE : price;
}

/**
 * A loan's thresholds as trigger prices, computed once per change of its debt or collateral: the
 * index then decides a move with comparisons alone (no division per tick). `P` is bigint for the
 * exact prices, number for the index's copy (`levelKeys`): the same comparisons on both.
 */
export interface Levels<P extends bigint | number = bigint> {
  readonly warning: P;
  readonly warningClear: P;
  readonly marginCall: P;
  readonly callCured: P;
  readonly acceleratedCall: P | undefined;
  readonly liquidation: P;
}

export function levels(exposure: Exposure, ladder: Ladder): Levels {
  // triggerPrice for each threshold, with the numerator and the collateral's part computed once
  // (a rebuild computes a million of these).
  const numerator = exposure.debt * SATS_PER_BTC * RATE_SCALE * RATE_SCALE;
  const base = exposure.sats * (RATE_SCALE - ladder.haircut);
  const machines = (exposure.equipment ?? 0n) * EQUIPMENT_SCALE;
  const at = machines === 0n
    ? (threshold: bigint): bigint => triggerOf(exposure.debt, numerator, base * threshold)
    : (threshold: bigint): bigint => triggerOf(exposure.debt, numerator - machines * threshold, base * threshold);
  return {
    warning: at(ladder.warning),
    warningClear: at(ladder.warning - ladder.band),
    marginCall: at(ladder.marginCall),
    callCured: at(ladder.marginCall - ladder.band),
    acceleratedCall: ladder.acceleratedCall === undefined ? undefined : at(ladder.acceleratedCall),
    liquidation: at(ladder.liquidation),
  };
}

/**
 * The largest price the index keeps as a JS number (2^53 - 1). Kopecks per BTC stay below it (90
 * trillion roubles a bitcoin); a trigger above it is clamped to it, which keeps every comparison
 * with a price below it true, so the number copy decides exactly as the bigint levels do.
 */
export const MAX_PRICE_KEY = Number.MAX_SAFE_INTEGER;
export const priceKey = (price: bigint): number => (price >= BigInt(MAX_PRICE_KEY) ? MAX_PRICE_KEY : Number(price));

/** The levels as numbers, for prices below MAX_PRICE_KEY (measured: bigint comparisons were a third of a tick). */
export function levelKeys(lv: Levels): Levels<number> {
  return {
    warning: priceKey(lv.warning), warningClear: priceKey(lv.warningClear), marginCall: priceKey(lv.marginCall),
    callCured: priceKey(lv.callCured), acceleratedCall: lv.acceleratedCall === undefined ? undefined : priceKey(lv.acceleratedCall),
    liquidation: priceKey(lv.liquidation),
  };
}

/** The highest state whose entry threshold the LTV has reached at `price`. */
function reached<P extends bigint | number>(price: P, lv: Levels<P>): RiskState {
  if (price <= lv.liquidation) return 'liquidation';
  if (lv.acceleratedCall !== undefined && price <= lv.acceleratedCall) return 'accelerated_call';
  if (price <= lv.marginCall) return 'margin_call';
  if (price <= lv.warning) return 'warning';
  return 'healthy';
}

/** The state a loan in `from` moves to at `price` (itself when it stays), from its levels. */
export function stateAt<P extends bigint | number>(from: RiskState, price: P, lv: Levels<P>): RiskState {
  const up = reached(price, lv);
  if (rank(up) > rank(from)) return up;
  if (from === 'liquidation') return from;
  if (from === 'margin_call' || from === 'accelerated_call') {
    if (price <= lv.callCured) return from;
    return price <= lv.warningClear ? 'warning' : 'healthy';
  }
  if (from === 'warning') return price <= lv.warningClear ? 'warning' : 'healthy';
  return from;
}

/** The state a loan in `from` moves to at `price`. */
export function nextState(from: RiskState, exposure: Exposure, price: bigint, ladder: Ladder): RiskState {
  return stateAt(from, price, levels(exposure, ladder));
}

export interface Triggers<P extends bigint | number = bigint> {
  /** At or below this price the loan worsens; undefined when it cannot (liquidation). */
  readonly worsenAt: P | undefined;
  /** Above this price the loan improves; undefined when it cannot (healthy, liquidation). */
  readonly improveAbove: P | undefined;
}

/** The two prices that matter for a loan in `state`. */
export function triggersAt<P extends bigint | number>(state: RiskState, lv: Levels<P>): Triggers<P> {
  switch (state) {
    case 'healthy': return { worsenAt: lv.warning, improveAbove: undefined };
    case 'warning': return { worsenAt: lv.marginCall, improveAbove: lv.warningClear };
    case 'margin_call': return { worsenAt: lv.acceleratedCall ?? lv.liquidation, improveAbove: lv.callCured };
    case 'accelerated_call': return { worsenAt: lv.liquidation, improveAbove: lv.callCured };
    case 'liquidation': return { worsenAt: undefined, improveAbove: undefined };
  }
}
