import { divide, SATS_PER_BTC } from '../money/money.js';
import { RATE_SCALE } from '../loans/interest.js';
import type { Exposure, Ladder } from './ladder.js';

/**
 * What a borrower can do about its LTV, pure and exact: the BTC to add, or the roubles to repay,
 * to bring the LTV at a price back to a level. Two levels matter to a borrower under a call: the
 * product's target LTV (where a liquidation would bring it), and the level below which the call is
 * cured (the margin-call threshold less the ladder's band: ladder.ts `stateAt`).
 *
 * With K = 10^20 (sats per BTC x millionths squared) and V(S) = S x P x (10^6 - h):
 * - at or under a level L:  D x K <= V(S) x L;
 * - strictly under it (cured):  D x K < V(S) x L.
 * Each amount is the least whole number of sats (or the least kopecks) that does it: one less does not.
 * Machines counted on the loan (E kopecks, the second layer) add E x 10^14 to V(S): the BTC asked
 * is what the machines do not already cover.
 */

export interface CureStep {
  /** Sats to add to the collateral (0 when already there). */
  readonly addSats: bigint;
  /** Kopecks of debt to repay (0 when already there); the whole debt when repaying alone cannot (no collateral). */
  readonly repayKopecks: bigint;
}

export interface Cure {
  /** Back at or under the target LTV. */
  readonly toTarget: CureStep;
  /** Out of the call: strictly under the margin-call threshold less the band. */
  readonly toLeaveCall: CureStep;
  /** The level the call is cured under (millionths). */
  readonly callCuredBelow: bigint;
}

const K = SATS_PER_BTC * RATE_SCALE * RATE_SCALE;
const max0 = (n: bigint) => (n > 0n ? n : 0n);

const machines = (exposure: Exposure, level: bigint) => (exposure.equipment ?? 0n) * SATS_PER_BTC * RATE_SCALE * level;

/** At or under `level`: the least total sats, and the most debt. */
function atOrUnder(exposure: Exposure, price: bigint, haircut: bigint, level: bigint): CureStep {
  const per = price * (RATE_SCALE - haircut) * level;
  const rest = exposure.debt * K - machines(exposure, level);
  const sats = per <= 0n ? undefined : rest <= 0n ? 0n : divide(rest, per, 'ceil');
  const maxDebt = divide(exposure.sats * per + machines(exposure, level), K, 'floor');
  return { addSats: sats === undefined ? 0n : max0(sats - exposure.sats), repayKopecks: max0(exposure.debt - maxDebt) };
}

/** Strictly under `level`: the least total sats, and the most debt. */
function under(exposure: Exposure, price: bigint, haircut: bigint, level: bigint): CureStep {
  if (exposure.debt <= 0n) return { addSats: 0n, repayKopecks: 0n };
  const per = price * (RATE_SCALE - haircut) * level;
  const rest = exposure.debt * K - machines(exposure, level);
  const sats = per <= 0n ? undefined : rest < 0n ? 0n : rest / per + 1n;
  const value = exposure.sats * per + machines(exposure, level);
  // D K < value  <=>  D <= ceil(value / K) - 1
  const maxDebt = value <= 0n ? 0n : divide(value, K, 'ceil') - 1n;
  return { addSats: sats === undefined ? 0n : max0(sats - exposure.sats), repayKopecks: max0(exposure.debt - maxDebt) };
}

export function cureAmounts(exposure: Exposure, price: bigint, ladder: Ladder, targetLtv: bigint): Cure {
  const cured = ladder.marginCall - ladder.band;
  return {
    toTarget: atOrUnder(exposure, price, ladder.haircut, targetLtv),
    toLeaveCall: under(exposure, price, ladder.haircut, cured),
    callCuredBelow: cured,
  };
}
