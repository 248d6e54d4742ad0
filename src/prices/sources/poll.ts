import { setTimeout as sleep } from 'node:timers/promises';
import type { Quote } from '../aggregate.js';
import type { SourceHealth } from '../price-repository.js';
import { SourceError } from '../../adapters/http.js';
import type { PriceSource } from './source.js';

/**
 * Polls one source with retries and exponential back-off, and keeps its health. Never throws: a
 * source that fails, however it fails, is marked unhealthy with the reason and yields no quote.
 */

export interface RetryPolicy {
  readonly retries: number;
  readonly backoffMs: number;
}

export type PollResult = { readonly ok: true; readonly quote: Quote } | { readonly ok: false; readonly reason: string };

export async function pollSource(source: PriceSource, policy: RetryPolicy, now: () => Date): Promise<PollResult> {
  let reason = 'not tried';
  for (let attempt = 0; attempt <= policy.retries; attempt += 1) {
    if (attempt > 0) await sleep(policy.backoffMs * 2 ** (attempt - 1));
    try {
      return { ok: true, quote: await source.fetchQuote(now) };
    } catch (error) {
      reason = error instanceof SourceError ? `${error.kind}: ${error.message}` : `unexpected: ${(error as Error).message ?? String(error)}`;
      // A source that answered and refused (unknown pair, bad format) will not change its mind.
      if (error instanceof SourceError && (error.kind === 'rejected' || error.kind === 'malformed')) break;
    }
  }
  return { ok: false, reason: reason.slice(0, 500) };
}

export function nextHealth(previous: SourceHealth | undefined, source: PriceSource, result: PollResult, now: Date): SourceHealth {
  if (result.ok) {
    return { source: source.name, pair: source.pair, healthy: true, lastOkAt: now, lastErrorAt: previous?.lastErrorAt ?? null, lastError: previous?.lastError ?? null, consecutiveFailures: 0 };
  }
  return { source: source.name, pair: source.pair, healthy: false, lastOkAt: previous?.lastOkAt ?? null, lastErrorAt: now, lastError: result.reason, consecutiveFailures: (previous?.consecutiveFailures ?? 0) + 1 };
}
