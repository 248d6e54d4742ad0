import { divide, type PriceKopecksPerBtc } from '../money/money.js';
import type { Aggregation } from './aggregate.js';

/**
 * The circuit breaker, pure: a state machine stepped once per price cycle. The service is
 * DEGRADED while any of these holds, and says why:
 * - `no_quorum`: this cycle could not accept a price;
 * - `stale_price`: the last accepted price is older than `staleAfterSeconds`;
 * - `sharp_move`: an accepted price moved more than `maxMoveBps` from any price accepted within
 *   the last `moveWindowSeconds`; it stays until a whole window passes without another such move,
 *   or a risk officer confirms the price.
 * Prices keep being published while degraded (margin calls still need them); the risk engine holds
 * automatic liquidations. A MANUAL price (set through four eyes, for a bounded time) replaces the
 * feed until it expires. Recovery from the other states is automatic.
 */

export type DegradeReason = 'no_quorum' | 'stale_price' | 'sharp_move';
export type PriceStatus = 'normal' | 'degraded' | 'manual';

export interface BreakerConfig {
  readonly maxMoveBps: bigint;
  readonly moveWindowSeconds: number;
  readonly staleAfterSeconds: number;
}

export interface ManualPrice {
  readonly priceKopecks: PriceKopecksPerBtc;
  readonly until: Date;
  readonly reason: string;
  readonly approvalId: string;
}

export interface BreakerState {
  /** Accepted feed prices within the move window, oldest first. */
  readonly recent: ReadonlyArray<{ readonly at: Date; readonly priceKopecks: PriceKopecksPerBtc }>;
  readonly lastAccepted: { readonly at: Date; readonly priceKopecks: PriceKopecksPerBtc } | null;
  /** Set by a sharp move; the move reason holds until then. */
  readonly sharpMoveUntil: Date | null;
  readonly sharpMove: { readonly fromKopecks: PriceKopecksPerBtc; readonly toKopecks: PriceKopecksPerBtc; readonly moveBps: bigint; readonly at: Date } | null;
  readonly manual: ManualPrice | null;
}

export const INITIAL_BREAKER: BreakerState = { recent: [], lastAccepted: null, sharpMoveUntil: null, sharpMove: null, manual: null };

export interface Published {
  /** The price consumers should use now, if any: the manual one, or the last accepted. */
  readonly priceKopecks: PriceKopecksPerBtc | null;
  readonly priceAt: Date | null;
  readonly status: PriceStatus;
  readonly reasons: readonly DegradeReason[];
  /** Whether this cycle accepted a new feed price. */
  readonly accepted: boolean;
}

function moveBps(from: bigint, to: bigint): bigint {
  return divide((to > from ? to - from : from - to) * 10_000n, from, 'floor');
}

export function step(state: BreakerState, aggregation: Aggregation, now: Date, config: BreakerConfig): { state: BreakerState; published: Published } {
  const windowStart = now.getTime() - config.moveWindowSeconds * 1000;
  let recent = state.recent.filter((p) => p.at.getTime() >= windowStart);
  let { lastAccepted, sharpMoveUntil, sharpMove } = state;
  const manual = state.manual !== null && state.manual.until > now ? state.manual : null;

  if (aggregation.ok) {
    const price = aggregation.priceKopecks;
    // The largest move against any price accepted within the window, and against the last
    // accepted price however old (after an outage or a restart longer than the window, a fall
    // must still be seen as one).
    let worst: { from: PriceKopecksPerBtc; bps: bigint } | null = null;
    const references = lastAccepted !== null && !recent.some((p) => p.at.getTime() === lastAccepted!.at.getTime()) ? [...recent, lastAccepted] : recent;
    for (const earlier of references) {
      const bps = moveBps(earlier.priceKopecks, price);
      if (worst === null || bps > worst.bps) worst = { from: earlier.priceKopecks, bps };
    }
    if (worst !== null && worst.bps > config.maxMoveBps) {
      sharpMoveUntil = new Date(now.getTime() + config.moveWindowSeconds * 1000);
      sharpMove = { fromKopecks: worst.from, toKopecks: price, moveBps: worst.bps, at: now };
    }
    recent = [...recent, { at: now, priceKopecks: price }];
    lastAccepted = { at: now, priceKopecks: price };
  }

  const reasons: DegradeReason[] = [];
  if (!aggregation.ok) reasons.push('no_quorum');
  if (lastAccepted === null || now.getTime() - lastAccepted.at.getTime() > config.staleAfterSeconds * 1000) reasons.push('stale_price');
  if (sharpMoveUntil !== null && sharpMoveUntil > now) reasons.push('sharp_move');
  else {
    sharpMoveUntil = null;
    sharpMove = null;
  }

  const next: BreakerState = { recent, lastAccepted, sharpMoveUntil, sharpMove, manual };
  const status: PriceStatus = manual !== null ? 'manual' : reasons.length > 0 ? 'degraded' : 'normal';
  return {
    state: next,
    published: {
      priceKopecks: manual?.priceKopecks ?? lastAccepted?.priceKopecks ?? null,
      priceAt: manual !== null ? now : lastAccepted?.at ?? null,
      status,
      reasons,
      accepted: aggregation.ok,
    },
  };
}

/**
 * A risk officer confirms the current feed price after a sharp move: the move no longer degrades,
 * and the window restarts from the confirmed price (the prices before the move would otherwise
 * trip the breaker again on the next cycle).
 */
export function confirmPrice(state: BreakerState): BreakerState {
  return { ...state, recent: state.lastAccepted === null ? [] : [state.lastAccepted], sharpMoveUntil: null, sharpMove: null };
}

export function setManual(state: BreakerState, manual: ManualPrice | null): BreakerState {
  return { ...state, manual };
}
