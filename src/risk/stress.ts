import { RATE_SCALE } from '../loans/interest.js';
import { divide, type PriceKopecksPerBtc } from '../money/money.js';
import { nextState, STATES, type Exposure, type Ladder, type RiskState } from './ladder.js';
import { netProceeds, planLiquidation, summariseFills, type LiquidationTerms } from './liquidation.js';
import { simulateFills, type SlippageModel } from './venues.js';

/**
 * A stress test of the live book, pure: the price falls (or rises) by a shock at once; which state
 * each loan lands in (the same ladder rule as the engine, from its current state), what the loans
 * that reach liquidation would sell (the same plan as the liquidation job, at the shocked price),
 * what the sales would raise at the venue's slippage model, the shortfall left where the collateral
 * does not cover the debt, and how long the queue takes to clear when the market absorbs only so
 * many BTC an hour (worst LTV first, as the job admits them).
 *
 * What it leaves out, on purpose: cure periods (a call that expires turns into a liquidation later;
 * the shock shows where loans stand at once), and the market impact of one sale on the next (each
 * order is priced from the shocked reference by the slippage model; the hourly depth is what
 * spreads the queue over time). Sales are planned and priced with the slippage model's fee,
 * whichever venue the service uses (the OTC desk's fee is whatever the desk charges). A loan
 * whose sale is already in flight is planned again at the shocked price, as if it had not begun.
 *
 * The expected shortfall of a loan is the debt its sale leaves that even the rest of its
 * collateral, sold at the floor, would not cover: the whole of it when everything is sold, and
 * what a later sale at no better than the floor would leave when the venue model stops at the
 * floor (a large order).
 */

export interface StressLoan {
  readonly id: bigint;
  readonly state: RiskState;
  readonly exposure: Exposure;
  readonly ladder: Ladder;
  readonly sale: LiquidationTerms;
  readonly pastMaturity: boolean;
}

export interface StressOptions {
  readonly price: PriceKopecksPerBtc;
  /** The move, millionths (-300,000 is -30%); above -100%. */
  readonly shockMillionths: bigint;
  readonly venue: SlippageModel;
  /** What the market takes an hour without moving beyond the slippage model (sats). */
  readonly depthSatsPerHour: bigint;
  /** Hours listed in the queue's timeline, at most (the hours to clear are counted regardless). */
  readonly maxHours?: number;
}

export interface QueueHour {
  /** At the end of hour `hour` after the shock (hour 1 is the first hour). */
  readonly hour: number;
  readonly loansWaiting: number;
  readonly satsWaiting: bigint;
  readonly satsSold: bigint;
  readonly netProceedsKopecks: bigint;
}

export interface StressResult {
  readonly price: PriceKopecksPerBtc;
  readonly shocked: PriceKopecksPerBtc;
  readonly loans: number;
  /** Loans per state before and after. */
  readonly states: Readonly<Record<RiskState, { readonly before: number; readonly after: number }>>;
  /** Non-zero moves between states. */
  readonly moves: ReadonlyArray<{ readonly from: RiskState; readonly to: RiskState; readonly loans: number }>;
  readonly liquidation: {
    readonly loans: number;
    readonly partial: number;
    readonly full: number;
    readonly debtKopecks: bigint;
    /** Collateral the plans sell, and what the venue model fills of it (it stops at each floor). */
    readonly satsPlanned: bigint;
    readonly satsSold: bigint;
    readonly grossKopecks: bigint;
    /** Gross less the venue's and the bank's fees: what pays the debts. */
    readonly netKopecks: bigint;
    /** Debt the sales leave that the rest of the collateral, valued at the floor, does not cover. */
    readonly shortfallKopecks: bigint;
    readonly loansWithShortfall: number;
    /** Planned but not filled above the floor (those loans stay in liquidation). */
    readonly unsoldSats: bigint;
  };
  readonly queue: { readonly hoursToClear: number; readonly timeline: readonly QueueHour[] };
}

/** A shock as people write it: "-30%", "-30", "-12.5%", "+10%": millionths, or undefined (above -100%, at most +1000%, up to 4 decimals). */
export function parseShock(text: string): bigint | undefined {
  const match = /^([+-]?)(\d{1,4})(?:\.(\d{1,4}))?%?$/.exec(text.trim());
  if (match === null) return undefined;
  const magnitude = BigInt(match[2]!) * 10_000n + BigInt((match[3] ?? '').padEnd(4, '0'));
  const value = match[1] === '-' ? -magnitude : magnitude;
  return value <= -RATE_SCALE || value > 10n * RATE_SCALE ? undefined : value;
}

export function shockedPrice(price: PriceKopecksPerBtc, shockMillionths: bigint): PriceKopecksPerBtc {
  if (shockMillionths <= -RATE_SCALE) throw new RangeError('a shock of -100% or more leaves no price');
  const shocked = divide(price * (RATE_SCALE + shockMillionths), RATE_SCALE, 'floor');
  return (shocked < 1n ? 1n : shocked) as PriceKopecksPerBtc;
}

export function stressBook(loans: Iterable<StressLoan>, options: StressOptions): StressResult {
  if (options.depthSatsPerHour <= 0n) throw new RangeError('the hourly depth is a positive number of sats');
  const shocked = shockedPrice(options.price, options.shockMillionths);
  const states = Object.fromEntries(STATES.map((s) => [s, { before: 0, after: 0 }])) as Record<RiskState, { before: number; after: number }>;
  const moves = new Map<string, number>();
  const sales: Array<{ id: bigint; debt: bigint; exposureSats: bigint; sats: bigint; net: bigint }> = [];
  const total = { partial: 0, full: 0, debt: 0n, planned: 0n, sold: 0n, gross: 0n, net: 0n, shortfall: 0n, short: 0 };
  let count = 0;
  for (const loan of loans) {
    count += 1;
    const after = nextState(loan.state, loan.exposure, shocked, loan.ladder);
    states[loan.state].before += 1;
    states[after].after += 1;
    if (after !== loan.state) moves.set(`${loan.state}>${after}`, (moves.get(`${loan.state}>${after}`) ?? 0) + 1);
    if (after !== 'liquidation') continue;
    const { debt, sats } = loan.exposure;
    const plan = planLiquidation({ debt, sats, reference: shocked, venueFeeMillionths: options.venue.feeMillionths, pastMaturity: loan.pastMaturity, terms: loan.sale, equipment: loan.exposure.equipment ?? 0n });
    if (plan.kind === 'none') continue;
    const fills = simulateFills({ liquidationId: loan.id, sats: plan.sats, reference: shocked, floor: plan.floor }, options.venue).fills;
    const sale = summariseFills(fills, shocked, loan.sale.feeMillionths);
    const paid = sale.netKopecks < debt ? sale.netKopecks : debt;
    if (plan.kind === 'partial') total.partial += 1;
    else total.full += 1;
    total.debt += debt;
    total.planned += plan.sats;
    total.sold += sale.sats;
    total.gross += sale.grossKopecks;
    total.net += sale.netKopecks;
    const uncovered = debt - paid - netProceeds(sats - sale.sats, plan.floor, loan.sale.feeMillionths + options.venue.feeMillionths);
    if (uncovered > 0n) {
      total.shortfall += uncovered;
      total.short += 1;
    }
    sales.push({ id: loan.id, debt, exposureSats: sats, sats: sale.sats, net: sale.netKopecks });
  }
  // Worst first by debt per sat (ties by id), as the job admits them; a loan is done in the hour its last sat sells.
  sales.sort((a, b) => {
    const worse = a.debt * b.exposureSats - b.debt * a.exposureSats;
    return worse === 0n ? (a.id < b.id ? -1 : 1) : worse > 0n ? -1 : 1;
  });
  const depth = options.depthSatsPerHour;
  const hoursToClear = Number(divide(total.sold, depth, 'ceil'));
  const listed = Math.min(hoursToClear, options.maxHours ?? 72);
  const timeline: QueueHour[] = [];
  let i = 0;
  let sold = 0n;
  let net = 0n;
  for (let hour = 1; hour <= listed; hour += 1) {
    const capacity = BigInt(hour) * depth;
    while (i < sales.length && sold + sales[i]!.sats <= capacity) {
      sold += sales[i]!.sats;
      net += sales[i]!.net;
      i += 1;
    }
    const soldByNow = capacity < total.sold ? capacity : total.sold;
    timeline.push({ hour, loansWaiting: sales.length - i, satsWaiting: total.sold - soldByNow, satsSold: soldByNow, netProceedsKopecks: net });
  }
  return {
    price: options.price, shocked, loans: count, states,
    moves: [...moves].map(([key, loans]) => {
      const [from, to] = key.split('>') as [RiskState, RiskState];
      return { from, to, loans };
    }).sort((a, b) => STATES.indexOf(a.from) - STATES.indexOf(b.from) || STATES.indexOf(a.to) - STATES.indexOf(b.to)),
    liquidation: {
      loans: sales.length, partial: total.partial, full: total.full, debtKopecks: total.debt, satsPlanned: total.planned, satsSold: total.sold,
      grossKopecks: total.gross, netKopecks: total.net, shortfallKopecks: total.shortfall, loansWithShortfall: total.short, unsoldSats: total.planned - total.sold,
    },
    queue: { hoursToClear, timeline },
  };
}
