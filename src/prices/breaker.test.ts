import { describe, expect, it } from 'vitest';
import type { PriceKopecksPerBtc } from '../money/money.js';
import type { Aggregation } from './aggregate.js';
import { confirmPrice, INITIAL_BREAKER, step } from './breaker.js';

const config = { maxMoveBps: 1_000n, moveWindowSeconds: 3_600, staleAfterSeconds: 120 };
const accepted = (kopecks: bigint): Aggregation => ({ ok: true, priceKopecks: kopecks as PriceKopecksPerBtc, verdicts: [] });
const none: Aggregation = { ok: false, reason: 'no_quorum', message: 'down', verdicts: [] };
const at = (minutes: number) => new Date(Date.UTC(2026, 10, 24, 0, minutes));

describe('the circuit breaker', () => {
  it('sees a fall after an outage longer than its window, against the last accepted price', () => {
    let state = step(INITIAL_BREAKER, accepted(800_000_000n), at(0), config).state;
    for (let minute = 1; minute <= 180; minute += 10) state = step(state, none, at(minute), config).state; // three hours without quorum
    const { published } = step(state, accepted(400_000_000n), at(190), config);
    expect(published.status).toBe('degraded');
    expect(published.reasons).toEqual(['sharp_move']);
  });

  it('trips on a move within the window and recovers a window after the last one', () => {
    let state = step(INITIAL_BREAKER, accepted(800_000_000n), at(0), config).state;
    const tripped = step(state, accepted(700_000_000n), at(1), config);
    expect(tripped.published.reasons).toEqual(['sharp_move']);
    state = tripped.state;
    expect(step(state, accepted(700_000_000n), at(30), config).published.reasons).toEqual(['sharp_move']);
    expect(step(state, accepted(700_000_000n), at(62), config).published.status).toBe('normal');
  });

  it('clears on confirmation, and restarts its window from the confirmed price', () => {
    let state = step(INITIAL_BREAKER, accepted(800_000_000n), at(0), config).state;
    state = step(state, accepted(600_000_000n), at(1), config).state;
    state = confirmPrice(state);
    expect(step(state, accepted(600_000_000n), at(2), config).published.status).toBe('normal');
  });
});
