import type { Queryable } from '../db/database.js';
import type { PriceKopecksPerBtc } from '../money/money.js';
import { cycleAt, latestCycle, type StoredCycle } from './price-repository.js';

/**
 * "The current price, or why not" for decisions that move money (offers, disbursements): the live
 * stream's latest published price, only when the service stands behind it: not degraded, and not
 * older than the staleness limit (a stopped feed does not write a degraded cycle, so age is judged
 * here, as /prices/current does). A manual price set by four eyes counts.
 */
export type CurrentPrice =
  | { readonly ok: true; readonly price: PriceKopecksPerBtc; readonly cycle: StoredCycle }
  | { readonly ok: false; readonly code: 'price_unavailable'; readonly message: string };

export async function currentPrice(db: Queryable, now: Date, staleAfterSeconds: number): Promise<CurrentPrice> {
  return judge(await latestCycle(db, 'live'), now, staleAfterSeconds);
}

/**
 * The same judgement on the cycle in force at `at` (the last one at or before it): for the risk
 * engine, whose clock is simulated in a backtest and whose decisions must rest on the price of
 * their own moment, never on one published after it. In the running service the two agree.
 */
export async function priceInForce(db: Queryable, at: Date, staleAfterSeconds: number): Promise<CurrentPrice> {
  return judge(await cycleAt(db, 'live', at), at, staleAfterSeconds);
}

/** The judgement itself, on a cycle already read. */
export function judge(cycle: StoredCycle | undefined, now: Date, staleAfterSeconds: number): CurrentPrice {
  if (cycle === undefined || cycle.publishedKopecks === null) return { ok: false, code: 'price_unavailable', message: 'the price service has no BTC/RUB price yet' };
  if (cycle.status === 'degraded') return { ok: false, code: 'price_unavailable', message: `the BTC/RUB price is degraded (${cycle.reasons.join(', ')}); wait for the feed or a manual price` };
  const age = (now.getTime() - cycle.at.getTime()) / 1000;
  if (age > staleAfterSeconds) return { ok: false, code: 'price_unavailable', message: `the latest BTC/RUB price is ${Math.round(age)} s old (limit ${staleAfterSeconds} s)` };
  return { ok: true, price: cycle.publishedKopecks as PriceKopecksPerBtc, cycle };
}
