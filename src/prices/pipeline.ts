import type { Fraction, PriceKopecksPerBtc } from '../money/money.js';
import { aggregate, toCandidates, type AggregationConfig, type Quote, type Verdict } from './aggregate.js';
import { step, type BreakerConfig, type BreakerState, type Published } from './breaker.js';

/**
 * One price cycle, pure: quotes in, a decision out. The live service and the replay of history
 * run exactly this, so a replayed crash exercises the code that guards the live book.
 */

export interface PipelineConfig {
  readonly aggregation: AggregationConfig;
  readonly breaker: BreakerConfig;
  /** Votes per source in the median; 1 when absent. */
  readonly weights: Readonly<Record<string, number>>;
}

export interface CycleRecord {
  readonly at: Date;
  readonly acceptedKopecks: PriceKopecksPerBtc | null;
  readonly published: Published;
  readonly usdRub: Fraction | null;
  readonly quotes: readonly Quote[];
  readonly verdicts: readonly Verdict[];
  /** Why the cycle ended as it did, for the record: the aggregation's refusal, the sharp move. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export function runCycle(state: BreakerState, quotes: readonly Quote[], usdRub: Fraction | undefined, now: Date, config: PipelineConfig): { state: BreakerState; record: CycleRecord } {
  const usdQuotes = quotes.some((q) => q.pair === 'BTC/USD' || q.pair === 'BTC/USDT');
  const aggregation = aggregate(toCandidates(quotes, usdRub, config.weights), now, config.aggregation);
  const next = step(state, aggregation, now, config.breaker);
  const detail: Record<string, unknown> = {};
  if (!aggregation.ok) detail.noQuorum = aggregation.message;
  if (usdQuotes && usdRub === undefined) detail.usdRub = 'no USD/RUB rate: USD quotes could not be crossed';
  if (next.state.sharpMove !== null) {
    const move = next.state.sharpMove;
    detail.sharpMove = { fromKopecks: move.fromKopecks.toString(), toKopecks: move.toKopecks.toString(), moveBps: move.moveBps.toString(), at: move.at.toISOString(), until: next.state.sharpMoveUntil?.toISOString() ?? null };
  }
  if (next.state.manual !== null) detail.manual = { approvalId: next.state.manual.approvalId, until: next.state.manual.until.toISOString(), reason: next.state.manual.reason };
  return {
    state: next.state,
    record: { at: now, acceptedKopecks: aggregation.ok ? aggregation.priceKopecks : null, published: next.published, usdRub: usdRub ?? null, quotes, verdicts: aggregation.verdicts, detail },
  };
}
