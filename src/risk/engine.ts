import { ltvMillionths } from '../loans/collateral.js';
import type { PriceKopecksPerBtc } from '../money/money.js';
import { rank, type RiskState } from './ladder.js';
import type { Move, RiskIndex } from './risk-index.js';

/**
 * The risk engine's tick: a new accepted price moves the loans whose triggers it passes (the index
 * finds them), and each move becomes a transition (what, at which price, decided on which LTV) and
 * the message that tells the borrower, handed to the store in one call so that a store backed by
 * a database writes both in one transaction (the transactional outbox). The store is an interface:
 * in memory for the benchmark's in-memory figure and for backtests, PostgreSQL for the service.
 */

export interface Transition {
  readonly loanId: bigint;
  readonly from: RiskState;
  readonly to: RiskState;
  readonly price: bigint;
  /** The accepted price's reference (the price cycle that published it, with its source quotes). */
  readonly priceRef: string;
  readonly ltvMillionths: bigint | undefined;
  readonly at: Date;
}

export interface OutboxMessage {
  /** One message per transition and channel; the key makes a redelivery recognisable. */
  readonly key: string;
  readonly loanId: bigint;
  readonly topic: `risk.${RiskState}` | 'risk.improved';
  readonly payload: Readonly<Record<string, string | null>>;
}

export interface RiskStore {
  /** Writes the tick's transitions and their messages together (all or nothing). */
  record(transitions: readonly Transition[], messages: readonly OutboxMessage[]): Promise<void>;
}

/** A store in memory: the benchmark's in-memory figure, and backtests. */
export class MemoryRiskStore implements RiskStore {
  readonly transitions: Transition[] = [];
  readonly outbox: OutboxMessage[] = [];

  async record(transitions: readonly Transition[], messages: readonly OutboxMessage[]): Promise<void> {
    this.transitions.push(...transitions);
    this.outbox.push(...messages);
  }
}

/** Applies an accepted price: moves, their transitions and messages, recorded together. */
export async function applyPrice(index: RiskIndex, store: RiskStore, price: PriceKopecksPerBtc, priceRef: string, at: Date): Promise<Transition[]> {
  const moves = index.apply(price);
  if (moves.length === 0) return [];
  const transitions = moves.map((move) => transitionOf(move, price, priceRef, at));
  const when = at.toISOString();
  await store.record(transitions, transitions.map((t) => messageOf(t, when)));
  return transitions;
}

function transitionOf(move: Move, price: PriceKopecksPerBtc, priceRef: string, at: Date): Transition {
  return { loanId: move.id, from: move.from, to: move.to, price, priceRef, ltvMillionths: ltvMillionths(move.exposure.debt, move.exposure.sats, price, move.ladder.haircut), at };
}

function messageOf(t: Transition, when: string): OutboxMessage {
  const worse = rank(t.to) > rank(t.from);
  return {
    key: `risk:${t.loanId}:${when}:${t.to}`,
    loanId: t.loanId,
    topic: worse ? `risk.${t.to}` : 'risk.improved',
    payload: { from: t.from, to: t.to, price: t.price.toString(), priceRef: t.priceRef, ltvMillionths: t.ltvMillionths?.toString() ?? null, at: when },
  };
}
