import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ltvMillionths } from '../loans/collateral.js';
import type { PriceKopecksPerBtc } from '../money/money.js';
import { cureAmounts } from './cure.js';
import { nextState, type Ladder } from './ladder.js';

const M = 10_000n;
const LADDER: Ladder = { warning: 60n * M, marginCall: 70n * M, acceleratedCall: 75n * M, liquidation: 80n * M, band: 5n * M, haircut: 0n };
const BTC = 100_000_000n;

describe('what cures a call', () => {
  it('a loan at 72%: the BTC to add and the roubles to repay to be back at 50%, and to be out of the call (under 65%)', () => {
    // 1,000,000.00 RUB against 0.25 BTC at 5,555,555.55: 72.0%.
    const exposure = { debt: 100_000_000n, sats: 25_000_000n };
    const price = 555_555_555n;
    const cure = cureAmounts(exposure, price, LADDER, 50n * M);
    expect(nextState('margin_call', exposure, price, LADDER)).toBe('margin_call');
    // Target: 0.36 BTC in all at 5,555,555.55 is 2,000,000.00 x ... : the least sats with LTV <= 50%.
    expect(ltvMillionths(exposure.debt, exposure.sats + cure.toTarget.addSats, price as PriceKopecksPerBtc, 0n)! <= 500_000n).toBe(true);
    expect(ltvMillionths(exposure.debt, exposure.sats + cure.toTarget.addSats - 1n, price as PriceKopecksPerBtc, 0n)! > 500_000n).toBe(true);
    expect(nextState('margin_call', { ...exposure, sats: exposure.sats + cure.toLeaveCall.addSats }, price, LADDER)).not.toBe('margin_call');
    expect(nextState('margin_call', { ...exposure, sats: exposure.sats + cure.toLeaveCall.addSats - 1n }, price, LADDER)).toBe('margin_call');
    expect(nextState('margin_call', { ...exposure, debt: exposure.debt - cure.toLeaveCall.repayKopecks }, price, LADDER)).not.toBe('margin_call');
    expect(nextState('margin_call', { ...exposure, debt: exposure.debt - cure.toLeaveCall.repayKopecks + 1n }, price, LADDER)).toBe('margin_call');
    expect(cure.callCuredBelow).toBe(65n * M);
  });

  it('with machines counted beside the BTC, asks only the BTC they leave to cover', () => {
    const exposure = { debt: 100_000_000n, sats: 25_000_000n };
    const price = 555_555_555n;
    const plain = cureAmounts(exposure, price, LADDER, 50n * M);
    // Machines counted at 200,000.00 RUB stand for that much of the cover: 0.036 BTC less to add
    // (200,000 / 5,555,555.55), or 100,000.00 less to repay (200,000 x 50%).
    const layered = cureAmounts({ ...exposure, equipment: 20_000_000n }, price, LADDER, 50n * M);
    expect(plain.toTarget.addSats - layered.toTarget.addSats).toBe(3_600_000n);
    expect(layered.toTarget.repayKopecks).toBe(plain.toTarget.repayKopecks - 10_000_000n);
    // Machines that alone hold the loan under the level ask nothing.
    expect(cureAmounts({ ...exposure, equipment: 300_000_000n }, price, LADDER, 50n * M).toTarget).toEqual({ addSats: 0n, repayKopecks: 0n });
  });

  it('property: each amount is the least that does it, by the ladder\'s own rule (machines or none)', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n * BTC }), fc.bigInt({ min: 1_000_000n, max: 3_000_000_000n }), fc.bigInt({ min: 0n, max: 30n * M }), fc.bigInt({ min: 10n * M, max: 60n * M }),
      fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 12n })),
      (debt, sats, price, haircut, target, equipment) => {
        const ladder = { ...LADDER, haircut };
        const exposure = { debt, sats, equipment };
        const cure = cureAmounts(exposure, price, ladder, target);
        const cured = (e: { debt: bigint; sats: bigint }) => {
          const to = nextState('margin_call', { ...e, equipment }, price, ladder);
          return to !== 'margin_call' && to !== 'accelerated_call' && to !== 'liquidation';
        };
        const atTarget = (e: { debt: bigint; sats: bigint }) => e.debt * BTC * 10n ** 12n <= (e.sats * price * (1_000_000n - haircut) + equipment * BTC * 1_000_000n) * target;
        expect(cured({ debt, sats: sats + cure.toLeaveCall.addSats })).toBe(true);
        if (cure.toLeaveCall.addSats > 0n) expect(cured({ debt, sats: sats + cure.toLeaveCall.addSats - 1n })).toBe(false);
        expect(cured({ debt: debt - cure.toLeaveCall.repayKopecks, sats }) || debt - cure.toLeaveCall.repayKopecks === 0n).toBe(true);
        if (cure.toLeaveCall.repayKopecks > 0n && cure.toLeaveCall.repayKopecks < debt) expect(cured({ debt: debt - cure.toLeaveCall.repayKopecks + 1n, sats })).toBe(false);
        expect(atTarget({ debt, sats: sats + cure.toTarget.addSats })).toBe(true);
        if (cure.toTarget.addSats > 0n) expect(atTarget({ debt, sats: sats + cure.toTarget.addSats - 1n })).toBe(false);
        expect(atTarget({ debt: debt - cure.toTarget.repayKopecks, sats })).toBe(true);
        if (cure.toTarget.repayKopecks > 0n) expect(atTarget({ debt: debt - cure.toTarget.repayKopecks + 1n, sats })).toBe(false);
      }), { numRuns: 2_000 });
  });
});
