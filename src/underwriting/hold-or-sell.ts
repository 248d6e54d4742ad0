import { divide, satsToKopecks, type Kopecks, type PriceKopecksPerBtc, type Sats } from '../money/money.js';

/**
 * Hold or sell, for the miner: it needs `needKopecks` now. Either it borrows them against its BTC
 * and keeps the BTC (paying the loan's cost), or it sells enough BTC now. At the end of the term,
 * with BTC at price P, borrowing leaves it richer exactly when
 *     P > P0 x (need + cost) / need,
 * since borrowing keeps need/P0 more bitcoin (worth need x P / P0 then) and costs need + cost.
 * The calculator shows that break-even price, each option's outcome over price scenarios, and the
 * price at which the loan would be liquidated on the way.
 */

export interface HoldOrSellInput {
  readonly holdingsSats: Sats;
  readonly needKopecks: Kopecks;
  readonly priceNowKopecks: PriceKopecksPerBtc;
  /** Interest and fees over the term, kopecks. */
  readonly loanCostKopecks: Kopecks;
  /** Collateral pledged for the loan, and the LTV (bps) at which it would be liquidated. */
  readonly pledgedSats: Sats;
  readonly liquidationLtvBps: bigint;
  readonly scenarios: ReadonlyArray<{ readonly name: string; readonly priceAtEndKopecks: PriceKopecksPerBtc }>;
}

export interface HoldOrSellOutcome {
  readonly name: string;
  readonly priceAtEndKopecks: PriceKopecksPerBtc;
  /** Net worth at the end in RUB (BTC at that price, less what is owed). */
  readonly borrowKopecks: bigint;
  readonly sellKopecks: bigint;
  readonly better: 'borrow' | 'sell' | 'equal';
}

export interface HoldOrSellResult {
  /** BTC sold now to raise the need (rounded up: enough to cover it). */
  readonly sellNowSats: Sats;
  /** Above this end price borrowing wins. */
  readonly breakEvenPriceKopecks: PriceKopecksPerBtc;
  /** Below this price at any time the loan is liquidated (debt / (pledged x liquidation LTV)). */
  readonly liquidationPriceKopecks: PriceKopecksPerBtc;
  readonly outcomes: readonly HoldOrSellOutcome[];
}

export function holdOrSell(input: HoldOrSellInput): HoldOrSellResult {
  const sellNowSats = divide(input.needKopecks * 100_000_000n, input.priceNowKopecks, 'ceil') as Sats;
  if (sellNowSats > input.holdingsSats) throw new RangeError('the holdings do not cover the need at today\'s price');
  const owed = input.needKopecks + input.loanCostKopecks;
  const breakEven = divide(input.priceNowKopecks * owed, input.needKopecks, 'ceil') as PriceKopecksPerBtc;
  const liquidation = divide(owed * 100_000_000n * 10_000n, input.pledgedSats * input.liquidationLtvBps, 'ceil') as PriceKopecksPerBtc;
  const outcomes = input.scenarios.map((scenario) => {
    const borrow = satsToKopecks(input.holdingsSats, scenario.priceAtEndKopecks, 'floor') - owed;
    const sell = satsToKopecks((input.holdingsSats - sellNowSats) as Sats, scenario.priceAtEndKopecks, 'floor');
    return { name: scenario.name, priceAtEndKopecks: scenario.priceAtEndKopecks, borrowKopecks: borrow, sellKopecks: sell, better: borrow > sell ? 'borrow' as const : borrow < sell ? 'sell' as const : 'equal' as const };
  });
  return { sellNowSats, breakEvenPriceKopecks: breakEven, liquidationPriceKopecks: liquidation, outcomes };
}
