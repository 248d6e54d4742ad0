import type { PriceKopecksPerBtc } from '../money/money.js';
import type { Move, RiskIndex } from './risk-index.js';

/**
 * The risk engine's tick: a new accepted price moves the loans whose triggers it passes (the index
 * finds them), and the store records each move as a transition (what, at which price, decided on
 * which LTV) with the message that tells the borrower, all in one call so that a store backed by
 * a database writes both in one transaction (the transactional outbox). The store is an interface:
 * in memory for the benchmark's in-memory figure and for backtests, PostgreSQL for the service.
 *
 * A tick hands the store its moves as they are (one object per moved loan): the transitions' LTVs
 * and the messages' text are derived from them where they are written or delivered, not per move
 * inside the tick (measured: building them per move was a third of a 1% tick and most of its
 * garbage).
 */

/** An accepted price: its value, the price cycle that published it (whose row holds the source quotes; none in backtests), and when. */
export interface AcceptedPrice {
  readonly price: PriceKopecksPerBtc;
  readonly cycleId: bigint | undefined;
  readonly at: Date;
}

/**
 * Why loans moved: a new price; a change of their debt or collateral (a repayment, a top-up,
 * accrual) decided at the last price; or a call that expired uncured.
 */
export type Cause = 'price' | 'exposure' | 'deadline';

export interface Tick extends AcceptedPrice {
  readonly cause: Cause;
  readonly moves: readonly Move[];
}

export interface RiskStore {
  /** Records the tick's moves as transitions, each with its outbox rows, all or nothing. */
  record(tick: Tick): Promise<void>;
}

/** A store in memory: the benchmark's in-memory figure, and backtests. */
export class MemoryRiskStore implements RiskStore {
  readonly ticks: Tick[] = [];

  async record(tick: Tick): Promise<void> {
    this.ticks.push(tick);
  }
}

/** Applies an accepted price: the loans it moves, recorded (transitions and outbox) before it returns. */
export async function applyPrice(index: RiskIndex, store: RiskStore, accepted: AcceptedPrice): Promise<Tick> {
  const tick: Tick = { ...accepted, cause: 'price', moves: index.apply(accepted.price) };
  if (tick.moves.length > 0) await store.record(tick);
  return tick;
}
