import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANY_PRICE, assertLadder, atOrAbove, levels, nextState, STATES, triggerPrice, triggersAt, type Exposure, type Ladder, type RiskState } from './ladder.js';
import { RiskIndex } from './risk-index.js';

const pct = (text: string) => BigInt(Math.round(Number(text) * 10_000)); // test literals only
// Ledn's 50/70/80 with a warning at 60%, Unchained's accelerated call, 5 points of hysteresis.
const LADDER: Ladder = { warning: pct('60'), marginCall: pct('70'), acceleratedCall: pct('75'), liquidation: pct('80'), band: pct('5'), haircut: 0n };
const RUB = 100n; // kopecks
const BTC = 100_000_000n;

// 1,000,000.00 RUB against 0.25 BTC: at 8,000,000.00 RUB/BTC the LTV is exactly 50%.
const half: Exposure = { debt: 1_000_000n * RUB, sats: BTC / 4n };
const P0 = 8_000_000n * RUB;

describe('trigger prices', () => {
  it('a loan at 50% LTV reaches 70% after a 28.6% fall and 85% after a 41.2% fall (BRIEF)', () => {
    const call = triggerPrice(half, pct('70'), 0n);
    const deep = triggerPrice(half, pct('85'), 0n);
    // 8,000,000 x 50/70 = 5,714,285.71...; the trigger is the highest whole kopeck at or past 70%.
    expect(call).toBe(571_428_571n);
    expect(Number(P0 - call) / Number(P0)).toBeCloseTo(0.2857, 4);
    expect(Number(P0 - deep) / Number(P0)).toBeCloseTo(0.4118, 4);
    expect(atOrAbove(half, call, pct('70'), 0n)).toBe(true);
    expect(atOrAbove(half, call + 1n, pct('70'), 0n)).toBe(false);
  });

  it('counts the haircut, is never past a threshold with nothing owed, and always past it without collateral', () => {
    const cut = triggerPrice(half, pct('70'), pct('10'));
    expect(cut).toBeGreaterThan(triggerPrice(half, pct('70'), 0n)); // the haircut brings the call nearer
    expect(triggerPrice({ debt: 0n, sats: BTC }, pct('70'), 0n)).toBe(0n);
    expect(atOrAbove({ debt: 0n, sats: 0n }, P0, pct('70'), 0n)).toBe(false);
    expect(triggerPrice({ debt: 1n, sats: 0n }, pct('70'), 0n)).toBe(ANY_PRICE);
  });

  it('atOrAbove holds exactly at and below the trigger price, with or without machines (property)', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: 10n ** 10n }), fc.bigInt({ min: 1n, max: 999_999n }),
      fc.bigInt({ min: 0n, max: 500_000n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 2n * 10n ** 12n })),
      (debt, sats, threshold, haircut, price, equipment) => {
        const exposure = { debt, sats, equipment };
        expect(atOrAbove(exposure, price, threshold, haircut)).toBe(price <= triggerPrice(exposure, threshold, haircut));
      }));
  });

  it('counts pledged machines beside the BTC: the call comes at a lower price, and never when they alone cover', () => {
    // 1,000,000.00 RUB against 0.25 BTC and machines counted at 500,000.00: at 8,000,000.00 the LTV is 40%.
    const layered: Exposure = { ...half, equipment: 500_000n * RUB };
    // 70% asks a cover of 1,428,571.43, of which the BTC gives 928,571.43: at 3,714,285.71 RUB/BTC.
    expect(triggerPrice(layered, pct('70'), 0n)).toBe(371_428_571n);
    expect(atOrAbove(layered, 371_428_571n, pct('70'), 0n)).toBe(true);
    expect(atOrAbove(layered, 371_428_572n, pct('70'), 0n)).toBe(false);
    // Machines worth 1,500,000.00 keep the LTV at 66.7% even with BTC at nothing: no price calls it.
    const covered: Exposure = { ...half, equipment: 1_500_000n * RUB };
    expect(triggerPrice(covered, pct('70'), 0n)).toBe(0n);
    expect(triggerPrice(covered, pct('60'), 0n)).toBeGreaterThan(0n);
    // Without sats: past at any price when the machines do not cover, never when they do.
    expect(triggerPrice({ debt: 1_000_000n * RUB, sats: 0n, equipment: 1_000_000n * RUB }, pct('70'), 0n)).toBe(ANY_PRICE);
    expect(triggerPrice({ debt: 700_000n * RUB, sats: 0n, equipment: 1_000_000n * RUB }, pct('70'), 0n)).toBe(ANY_PRICE); // exactly 70%
    expect(triggerPrice({ debt: 699_999n * RUB, sats: 0n, equipment: 1_000_000n * RUB }, pct('70'), 0n)).toBe(0n);
    // A breach that zeroes the machines brings the call back to the BTC's own price.
    expect(triggerPrice({ ...layered, equipment: 0n }, pct('70'), 0n)).toBe(triggerPrice(half, pct('70'), 0n));
  });
});

describe('the ladder', () => {
  const at = (state: RiskState, price: bigint) => nextState(state, half, price, LADDER);
  const priceForLtv = (ltv: string) => triggerPrice(half, pct(ltv), 0n); // the highest price at that LTV or above

  it('climbs as the price falls, skipping steps on a gap', () => {
    expect(at('healthy', priceForLtv('59.9'))).toBe('healthy');
    expect(at('healthy', priceForLtv('60'))).toBe('warning');
    expect(at('warning', priceForLtv('70'))).toBe('margin_call');
    expect(at('margin_call', priceForLtv('75'))).toBe('accelerated_call');
    expect(at('healthy', priceForLtv('80'))).toBe('liquidation');
    expect(at('liquidation', P0)).toBe('liquidation'); // only the liquidation process leaves it
  });

  it('steps down only past the hysteresis band', () => {
    expect(at('warning', priceForLtv('56'))).toBe('warning');
    expect(at('warning', priceForLtv('55') + 1n)).toBe('healthy'); // below 55%
    expect(at('margin_call', priceForLtv('66'))).toBe('margin_call');
    expect(at('accelerated_call', priceForLtv('66'))).toBe('accelerated_call');
    expect(at('margin_call', priceForLtv('65') + 1n)).toBe('warning'); // cured, still above 55%
    expect(at('accelerated_call', priceForLtv('50'))).toBe('healthy');
  });

  it('refuses a ladder that does not rise', () => {
    expect(() => assertLadder({ ...LADDER, marginCall: pct('60') })).toThrow(/must rise/);
    expect(() => assertLadder({ ...LADDER, band: pct('60') })).toThrow(/band/);
    expect(() => assertLadder(LADDER)).not.toThrow();
  });

  // The ladder's rule written on the LTV itself, as the issue states it: the reference that the
  // trigger-price form (levels compared with the price) must agree with.
  const reference = (from: RiskState, e: Exposure, price: bigint, l: Ladder): RiskState => {
    const past = (t: bigint) => atOrAbove(e, price, t, l.haircut);
    const order: RiskState[] = ['healthy', 'warning', 'margin_call', 'accelerated_call', 'liquidation'];
    const reachedState: RiskState = past(l.liquidation) ? 'liquidation' : l.acceleratedCall !== undefined && past(l.acceleratedCall) ? 'accelerated_call'
      : past(l.marginCall) ? 'margin_call' : past(l.warning) ? 'warning' : 'healthy';
    if (order.indexOf(reachedState) > order.indexOf(from)) return reachedState;
    if (from === 'margin_call' || from === 'accelerated_call') return past(l.marginCall - l.band) ? from : past(l.warning - l.band) ? 'warning' : 'healthy';
    if (from === 'warning') return past(l.warning - l.band) ? 'warning' : 'healthy';
    return from;
  };

  it('decides by trigger prices exactly what the LTV rule decides, machines counted (property)', () => {
    fc.assert(fc.property(
      fc.constantFrom(...STATES), fc.bigInt({ min: 0n, max: 10n ** 11n }), fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.bigInt({ min: 1n, max: 10n ** 11n }),
      fc.boolean(), fc.bigInt({ min: 0n, max: 300_000n }), fc.constantFrom(-1n, 0n, 1n), fc.constantFrom(LADDER.warning, LADDER.marginCall, LADDER.liquidation),
      fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 2n * 10n ** 11n })),
      (state, debt, sats, price, accelerated, haircut, delta, edge, equipment) => {
        const ladder = { ...LADDER, haircut, ...(accelerated ? {} : { acceleratedCall: undefined }) };
        const exposure = { debt, sats, equipment };
        expect(nextState(state, exposure, price, ladder)).toBe(reference(state, exposure, price, ladder));
        // and at a threshold's own trigger price, a kopeck either side
        const near = triggerPrice(exposure, edge, haircut) + delta;
        if (near > 0n && near < ANY_PRICE) expect(nextState(state, exposure, near, ladder)).toBe(reference(state, exposure, near, ladder));
      }));
  });

  it('moves exactly when a price passes one of the state\'s two triggers (property)', () => {
    fc.assert(fc.property(
      fc.constantFrom(...STATES), fc.bigInt({ min: 0n, max: 10n ** 11n }), fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.bigInt({ min: 1n, max: 10n ** 11n }), fc.boolean(),
      (state, debt, sats, price, accelerated) => {
        const ladder = accelerated ? LADDER : { ...LADDER, acceleratedCall: undefined };
        const exposure = { debt, sats };
        const t = triggersAt(state, levels(exposure, ladder));
        const passes = (t.worsenAt !== undefined && price <= t.worsenAt) || (t.improveAbove !== undefined && price > t.improveAbove);
        expect(nextState(state, exposure, price, ladder) !== state).toBe(passes);
      }));
  });
});

describe('the risk index', () => {
  type Op =
    | { kind: 'price'; price: bigint }
    | { kind: 'edge'; loan: number; threshold: bigint; delta: bigint }
    | { kind: 'debt'; loan: number; debt: bigint }
    | { kind: 'collateral'; loan: number; sats: bigint }
    | { kind: 'machines'; loan: number; equipment: bigint };

  it('after any sequence of prices, accruals, repayments and top-ups, each loan\'s state is what a full rescan decides (property)', () => {
    const price = fc.bigInt({ min: 100_000_000n, max: 1_500_000_000n }); // 1,000,000 to 15,000,000 RUB/BTC
    const op: fc.Arbitrary<Op> = fc.oneof(
      { arbitrary: price.map((p) => ({ kind: 'price' as const, price: p })), weight: 3 },
      // Prices exactly at a loan's threshold, or a kopeck either side: where off-by-ones live.
      { arbitrary: fc.record({ loan: fc.nat(29), threshold: fc.constantFrom(LADDER.warning - LADDER.band, LADDER.warning, LADDER.marginCall - LADDER.band, LADDER.marginCall, LADDER.acceleratedCall!, LADDER.liquidation), delta: fc.constantFrom(-1n, 0n, 1n) })
        .map((r) => ({ kind: 'edge' as const, ...r })), weight: 2 },
      { arbitrary: fc.record({ loan: fc.nat(29), debt: fc.bigInt({ min: 0n, max: 300_000_000n }) }).map((r) => ({ kind: 'debt' as const, ...r })), weight: 1 },
      { arbitrary: fc.record({ loan: fc.nat(29), sats: fc.bigInt({ min: 0n, max: 50_000_000n }) }).map((r) => ({ kind: 'collateral' as const, ...r })), weight: 1 },
      // A revaluation of pledged machines, or a breach that zeroes them.
      { arbitrary: fc.record({ loan: fc.nat(29), equipment: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 300_000_000n })) }).map((r) => ({ kind: 'machines' as const, ...r })), weight: 1 },
    );
    const loan: fc.Arbitrary<Exposure> = fc.record({ debt: fc.bigInt({ min: 0n, max: 300_000_000n }), sats: fc.bigInt({ min: 0n, max: 50_000_000n }) });
    fc.assert(fc.property(price, fc.array(loan, { minLength: 30, maxLength: 30 }), fc.array(op, { maxLength: 60 }), (start, loans, ops) => {
      const index = new RiskIndex(start);
      // The rescan: every loan, every step, from its own previous state.
      const rescan = loans.map((exposure) => ({ exposure, state: nextState('healthy', exposure, start, LADDER) }));
      loans.forEach((exposure, i) => index.put({ id: BigInt(i + 1), state: 'healthy', exposure, ladder: LADDER }));
      let current = start;
      for (const o of ops) {
        if (o.kind === 'price' || o.kind === 'edge') {
          const next = o.kind === 'price' ? o.price : triggerPrice(rescan[o.loan]!.exposure, o.threshold, 0n) + o.delta;
          if (next <= 0n || next >= 2n ** 53n - 1n) continue; // only prices a bitcoin can have
          current = next;
          index.apply(current);
          for (const r of rescan) r.state = nextState(r.state, r.exposure, current, LADDER);
        } else {
          const r = rescan[o.loan]!;
          r.exposure = o.kind === 'debt' ? { ...r.exposure, debt: o.debt } : o.kind === 'collateral' ? { ...r.exposure, sats: o.sats } : { ...r.exposure, equipment: o.equipment };
          r.state = nextState(r.state, r.exposure, current, LADDER);
          const held = index.get(BigInt(o.loan + 1))!;
          index.put({ ...held, exposure: r.exposure });
        }
        for (let i = 0; i < rescan.length; i += 1) expect(index.get(BigInt(i + 1))!.state).toBe(rescan[i]!.state);
      }
    }), { numRuns: 200 });
  });

  it('a price that crosses no trigger touches no loan', () => {
    const index = new RiskIndex(P0);
    index.put({ id: 1n, state: 'healthy', exposure: half, ladder: LADDER });
    expect(index.candidates(P0 - 1n)).toEqual([]);
    expect(index.apply(P0 - 1n)).toEqual([]);
    expect(index.apply(6_000_000n * RUB)).toMatchObject([{ id: 1n, from: 'healthy', to: 'warning' }]); // 66.7%
    expect(index.candidates(6_000_000n * RUB)).toEqual([]);
  });
});
