import { RATE_SCALE } from '../loans/interest.js';
import { divide, SATS_PER_BTC, type PriceKopecksPerBtc } from '../money/money.js';
import type { Fill } from './liquidation.js';

/**
 * Where collateral is sold. A venue takes a sale order (sats, the reference price, the floor) and
 * reports fills; it must be idempotent by the liquidation's id (the order id a real venue is given
 * as its client order id), because a crash between the venue's fills and their recording sends
 * the order again.
 *
 * - `otc`: the bank's OTC desk. Nothing happens automatically: treasury records the desk's fills
 *   and a second treasurer approves them (`liquidation.fills`, four eyes).
 * - `simulated`: a deterministic market with a linear price impact, for demonstrations, stress
 *   runs and backtests; it never fills below the floor (what is left stays unsold).
 */

export interface SaleOrder {
  readonly liquidationId: bigint;
  readonly sats: bigint;
  readonly reference: PriceKopecksPerBtc;
  readonly floor: PriceKopecksPerBtc;
}

export interface VenueResult {
  readonly fills: readonly Fill[];
  /** The order is finished (filled, or nothing more can be sold above the floor). */
  readonly done: boolean;
}

export interface Venue {
  readonly name: 'otc' | 'simulated';
  /** Sold by the engine's job; false: people record the fills. */
  readonly automatic: boolean;
  /** The fee the plan expects, millionths of gross proceeds. */
  readonly feeMillionths: bigint;
  execute(order: SaleOrder): Promise<VenueResult>;
}

export const otcVenue: Venue = {
  name: 'otc',
  automatic: false,
  feeMillionths: 0n,
  execute: async () => ({ fills: [], done: false }),
};

export interface SlippageModel {
  /** Half the bid-ask spread, millionths below the reference. */
  readonly spreadMillionths: bigint;
  /** The price falls by `impactMillionths` for every `depthSats` sold (linear impact). */
  readonly impactMillionths: bigint;
  readonly depthSats: bigint;
  /** The order is sold in slices of this size. */
  readonly sliceSats: bigint;
  readonly feeMillionths: bigint;
}

/** Spread 0.1%, -1% per 5 BTC sold, slices of 0.5 BTC, fee 0.1%. */
export const DEFAULT_SLIPPAGE: SlippageModel = { spreadMillionths: 1_000n, impactMillionths: 10_000n, depthSats: 5n * SATS_PER_BTC, sliceSats: SATS_PER_BTC / 2n, feeMillionths: 1_000n };

/**
 * The fills of selling `sats` into the model's book from the reference: each slice at the price
 * of its middle (reference x (1 - spread - impact x mid / depth), rounded down), until a slice
 * would go below the floor.
 */
export function simulateFills(order: SaleOrder, model: SlippageModel): VenueResult {
  const fills: Fill[] = [];
  let sold = 0n;
  while (sold < order.sats) {
    const size = order.sats - sold < model.sliceSats ? order.sats - sold : model.sliceSats;
    const mid2 = 2n * sold + size; // twice the slice's middle, kept integral
    const price = divide(order.reference * (2n * model.depthSats * (RATE_SCALE - model.spreadMillionths) - model.impactMillionths * mid2), 2n * model.depthSats * RATE_SCALE, 'floor');
    if (price < order.floor) return { fills, done: true };
    const gross = divide(size * price, SATS_PER_BTC, 'floor');
    fills.push({ venueFillId: `${order.liquidationId}-${fills.length + 1}`, sats: size, price, feeKopecks: divide(gross * model.feeMillionths, RATE_SCALE, 'ceil') });
    sold += size;
  }
  return { fills, done: true };
}

export function simulatedVenue(model: SlippageModel = DEFAULT_SLIPPAGE): Venue {
  return { name: 'simulated', automatic: true, feeMillionths: model.feeMillionths, execute: async (order) => simulateFills(order, model) };
}
