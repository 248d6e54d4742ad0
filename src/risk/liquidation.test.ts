import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatRate } from '../loans/origination.js';
import { DEFAULT_PRODUCT } from '../loans/product.js';
import type { PriceKopecksPerBtc } from '../money/money.js';
import { bookedNet, fillProblem, floorPrice, liquidationTermsOf, planLiquidation, summariseFills, type LiquidationTerms, type PlanInput } from './liquidation.js';
import { simulateFills, DEFAULT_SLIPPAGE } from './venues.js';

const M = 10_000n; // millionths per percent
const BTC = 100_000_000n;
const P = 800_000_000n as PriceKopecksPerBtc; // 8,000,000.00 RUB/BTC
const TERMS: LiquidationTerms = { targetLtv: 50n * M, haircut: 0n, feeMillionths: 1n * M, maxDiscountMillionths: 5n * M, minimumRemainingKopecks: 10_000_000n, surplus: 'btc', slippageAllowanceMillionths: 0n };
const input = (over: Partial<PlanInput> = {}): PlanInput => ({ debt: 4_000_000_00n, sats: 60_000_000n, reference: P, venueFeeMillionths: 1_000n, pastMaturity: false, terms: TERMS, ...over });

/** The price the plan expects to sell at: the reference less the slippage allowance, never under the floor. */
const salePrice = (i: PlanInput) => {
  const expected = (i.reference * (1_000_000n - i.terms.slippageAllowanceMillionths)) / 1_000_000n;
  const floor = floorPrice(i.reference, i.terms.maxDiscountMillionths);
  return expected < floor ? floor : expected;
};

/**
 * Selling `s` at the expected price, with the proceeds as booking counts them (gross floored to the
 * kopeck, the venue's fee rounded up, the bank's down), restores the target at the reference.
 */
const restores = (i: PlanInput, s: bigint) => {
  const gross = (s * salePrice(i)) / BTC;
  const net = gross - (gross * i.venueFeeMillionths + 999_999n) / 1_000_000n - (gross * i.terms.feeMillionths) / 1_000_000n;
  const left = net >= i.debt ? 0n : i.debt - net;
  return left * BTC * 10n ** 12n <= i.terms.targetLtv * ((i.sats - s) * i.reference * (1_000_000n - i.terms.haircut) + (i.equipment ?? 0n) * BTC * 1_000_000n);
};

describe('the plan', () => {
  it('the default product: floor 5% under the reference, fee 1%, minimum = the smallest loan, BTC back', () => {
    expect(liquidationTermsOf(DEFAULT_PRODUCT)).toEqual({ targetLtv: 50n * M, haircut: 0n, feeMillionths: 1n * M, maxDiscountMillionths: 5n * M, minimumRemainingKopecks: 10_000_000n, surplus: 'btc', slippageAllowanceMillionths: 1n * M });
  });

  it('a loan at 83% sells just enough to be back at 50% after fees: one sat less would not do', () => {
    const i = input(); // 4,000,000 RUB against 0.6 BTC at 8,000,000 = 83.3%
    const plan = planLiquidation(i);
    expect(plan.kind).toBe('partial');
    if (plan.kind !== 'partial') return;
    expect(plan.reason).toBe('target_ltv');
    expect(restores(i, plan.sats)).toBe(true);
    expect(restores(i, plan.sats - 1n)).toBe(false);
    expect(plan.floor).toBe(760_000_000n);
    expect(plan.ltvBefore).toBe(833_334n);
    expect(plan.ltvAfter! <= 500_001n).toBe(true);
  });

  it('property: a partial plan is the least number of sats that restores the target; a full one sells what it must', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 1_000_000n, max: 10n ** 12n }), fc.bigInt({ min: 1_000n, max: 10n ** 11n }), fc.bigInt({ min: 100_000_000n, max: 2_000_000_000n }),
      fc.bigInt({ min: 10n * M, max: 70n * M }), fc.bigInt({ min: 0n, max: 5n * M }), fc.bigInt({ min: 0n, max: 30n * M }), fc.boolean(), fc.bigInt({ min: 0n, max: 5n * M }),
      fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 12n })),
      (debt, sats, price, target, fee, haircut, rub, allowance, equipment) => {
        const i = input({ debt, sats, reference: price as PriceKopecksPerBtc, venueFeeMillionths: 1_000n, equipment, terms: { ...TERMS, targetLtv: target, feeMillionths: fee, haircut, surplus: rub ? 'rub' : 'btc', slippageAllowanceMillionths: allowance } });
        const plan = planLiquidation(i);
        if (plan.kind === 'none') expect(restores(i, 0n)).toBe(true);
        else if (plan.kind === 'partial') {
          expect(plan.sats > 0n && plan.sats < sats).toBe(true);
          expect(restores(i, plan.sats)).toBe(true);
          expect(restores(i, plan.sats - 1n)).toBe(false);
          expect(debt - bookedNet(plan.sats, salePrice(i), 1_000n, fee) >= TERMS.minimumRemainingKopecks).toBe(true);
        } else {
          expect(plan.sats > 0n && plan.sats <= sats).toBe(true);
          if (rub) expect(plan.sats).toBe(sats);
          // Enough to cover the debt at the floor, or all there is.
          else expect(plan.sats === sats || bookedNet(plan.sats, plan.floor, 1_000n, fee) >= debt).toBe(true);
        }
      }), { numRuns: 2_000 });
  });

  it('counts pledged machines in the cover it restores, and never sells them: fewer sats for the same loan', () => {
    const plain = planLiquidation(input());
    const layered = input({ equipment: 50_000_000n }); // machines counted at 500,000.00 RUB
    const plan = planLiquidation(layered);
    expect(plan.kind === 'partial' && plain.kind === 'partial' && plan.sats < plain.sats).toBe(true);
    if (plan.kind !== 'partial') return;
    expect(restores(layered, plan.sats)).toBe(true);
    expect(restores(layered, plan.sats - 1n)).toBe(false);
    // Machines worth the target's whole cover leave nothing to sell.
    expect(planLiquidation(input({ equipment: 8_000_000_00n })).kind).toBe('none');
  });

  it('full when past maturity, below the minimum, or when all of it is not enough; none when at the target already', () => {
    const mature = planLiquidation(input({ pastMaturity: true }));
    expect(mature).toMatchObject({ kind: 'full', reason: 'past_maturity' });
    // Covers 4,000,000 at the floor with fees, as booked: the least s with floor(s x 7,600,000.00 / 1e8) net of fees >= 4,000,000.00.
    expect(mature.kind === 'full' && mature.sats).toBe(53_216_966n);
    expect(bookedNet(53_216_966n, 760_000_000n, 1_000n, 1n * M) >= 400_000_000n && bookedNet(53_216_965n, 760_000_000n, 1_000n, 1n * M) < 400_000_000n).toBe(true);
    expect(planLiquidation(input({ debt: 50_000_000n, sats: 5_000_000n }))).toMatchObject({ kind: 'full', reason: 'not_enough_collateral', sats: 5_000_000n });
    expect(planLiquidation(input({ debt: 20_000_000n, sats: 3_000_000n, terms: { ...TERMS, minimumRemainingKopecks: 15_000_000n } }))).toMatchObject({ kind: 'full', reason: 'below_minimum' });
    expect(planLiquidation(input({ pastMaturity: true, terms: { ...TERMS, surplus: 'rub' } }))).toMatchObject({ kind: 'full', sats: 60_000_000n });
    expect(planLiquidation(input({ debt: 2_400_000_00n }))).toMatchObject({ kind: 'none' }); // exactly 50%
    expect(planLiquidation(input({ debt: 0n })).kind).toBe('none');
  });

  it('fees so high that selling cannot bring the LTV down sell in full', () => {
    expect(planLiquidation(input({ debt: 4_750_000_00n, terms: { ...TERMS, targetLtv: 98n * M, feeMillionths: 2n * M } }))).toMatchObject({ kind: 'full', reason: 'cannot_restore' });
  });

  it('plans on the proceeds as they will be booked: selling the plan and booking it leaves the loan at or under the target, at realistic and absurd prices (item 22)', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 1_000_000n, max: 10n ** 12n }), fc.bigInt({ min: 1_000n, max: 10n ** 11n }), fc.oneof(fc.bigInt({ min: 100_000_000n, max: 2_000_000_000n }), fc.bigInt({ min: 1n, max: 10_000n })),
      (debt, sats, price) => {
        const i = input({ debt, sats, reference: price as PriceKopecksPerBtc });
        const plan = planLiquidation(i);
        if (plan.kind !== 'partial') return;
        // The sale filled at the reference (no slippage: the allowance is 0 here) and booked with its roundings.
        const [fill] = simulateFills({ liquidationId: 1n, sats: plan.sats, reference: i.reference, floor: plan.floor }, { spreadMillionths: 0n, impactMillionths: 0n, depthSats: BTC, sliceSats: plan.sats, feeMillionths: i.venueFeeMillionths }).fills;
        const summary = summariseFills([fill!], i.reference, i.terms.feeMillionths);
        const left = debt - summary.netKopecks;
        expect(left * BTC * 10n ** 12n <= i.terms.targetLtv * (sats - plan.sats) * i.reference * 1_000_000n).toBe(true);
      }), { numRuns: 2_000 });
  });

  it('prices the sale under the reference by the product\'s slippage allowance, so a fill that slips that far still restores the target (item 13)', () => {
    const allowed = input({ terms: { ...TERMS, slippageAllowanceMillionths: 1n * M } });
    const plan = planLiquidation(allowed);
    const exact = planLiquidation(input());
    expect(plan.kind === 'partial' && exact.kind === 'partial' && plan.sats > exact.sats).toBe(true);
    // Filled 1% under the reference (the allowance), booked: at or under 50%.
    const price = (P * 99n) / 100n;
    const gross = (plan.kind === 'partial' ? plan.sats : 0n) * price / BTC;
    const net = gross - (gross * 1_000n + 999_999n) / 1_000_000n - gross / 100n;
    expect(plan.kind === 'partial' && (4_000_000_00n - net) * BTC * 10n ** 12n <= 50n * M * (60_000_000n - plan.sats) * P * 1_000_000n).toBe(true);
  });

  it('the floor is never below the allowed discount (rounded up)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 500_000n }), (ref, d) => {
      const floor = floorPrice(ref as PriceKopecksPerBtc, d);
      expect(floor * 1_000_000n >= ref * (1_000_000n - d)).toBe(true);
      expect((floor - 1n) * 1_000_000n < ref * (1_000_000n - d)).toBe(true);
    }));
  });
});

describe('fills', () => {
  it('sums gross, fees, net, average and slippage exactly', () => {
    const s = summariseFills([
      { venueFillId: 'a', sats: 10_000_000n, price: 790_000_000n, feeKopecks: 7_900n },
      { venueFillId: 'b', sats: 5_000_000n, price: 780_000_001n, feeKopecks: 3_900n },
    ], P, 1n * M);
    expect(s.grossKopecks).toBe(79_000_000n + 39_000_000n); // the second fill's odd kopeck rounds down
    expect(s.venueFeesKopecks).toBe(11_800n);
    expect(s.bankFeeKopecks).toBe(1_180_000n);
    expect(s.netKopecks).toBe(118_000_000n - 11_800n - 1_180_000n);
    expect(s.averagePrice).toBe(786_666_666n);
    expect(s.slippageMillionths).toBe(16_667n);
  });

  it('a fill above the reference is negative slippage, shown with its sign', () => {
    const s = summariseFills([{ venueFillId: 'a', sats: BTC, price: 804_000_000n, feeKopecks: 0n }], P, 0n);
    expect(s.slippageMillionths).toBe(-5_000n);
    expect(formatRate(s.slippageMillionths!)).toBe('-0.5');
    expect(formatRate(-1n)).toBe('-0.0001');
  });

  it('a fill below the floor, above what is left, or with a fee above its proceeds is refused', () => {
    const fill = { venueFillId: 'x', sats: 1_000n, price: 760_000_000n, feeKopecks: 0n };
    expect(fillProblem(fill, 760_000_000n, 1_000n)).toBeUndefined();
    expect(fillProblem({ ...fill, price: 759_999_999n }, 760_000_000n, 1_000n)).toMatch(/below the floor/);
    expect(fillProblem(fill, 760_000_000n, 999n)).toMatch(/left to sell/);
    expect(fillProblem({ ...fill, feeKopecks: 7_601n }, 760_000_000n, 1_000n)).toMatch(/fee/);
  });

  it('the simulated venue: deterministic, prices falling with size, never below the floor, what is left unsold', () => {
    const order = { liquidationId: 7n, sats: 40n * BTC, reference: P, floor: floorPrice(P, 5n * M) };
    const first = simulateFills(order, DEFAULT_SLIPPAGE);
    expect(simulateFills(order, DEFAULT_SLIPPAGE)).toEqual(first);
    expect(first.done).toBe(true);
    const prices = first.fills.map((f) => f.price);
    expect(prices.every((p, k) => p >= order.floor && (k === 0 || p < prices[k - 1]!))).toBe(true);
    const sold = first.fills.reduce((s, f) => s + f.sats, 0n);
    // -1% per 5 BTC from 0.1% under: the floor (-5%) is reached after about 24.5 BTC.
    expect(sold).toBe(24n * BTC + BTC / 2n);
    expect(first.fills[0]).toEqual({ venueFillId: '7-1', sats: BTC / 2n, price: 798_800_000n, feeKopecks: 399_400n }); // at its middle: -0.1% - 1% x 0.25 / 5
    const small = simulateFills({ ...order, sats: 12_345n }, DEFAULT_SLIPPAGE);
    expect(small.fills).toHaveLength(1);
    expect(small.fills[0]!.sats).toBe(12_345n);
  });
});
