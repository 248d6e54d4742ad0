import { applyBps, divide, formatKopecks, ratioBps, satsToKopecks, type Bps, type PriceKopecksPerBtc, type Sats } from '../money/money.js';

/**
 * The bank's side of the book, pure: what the bank has lent against crypto measured against its
 * Tier 1 capital and its limits (src/db/migrations/0027_exposure.sql says where the defaults come
 * from). No I/O: the store feeds it rows, the property test feeds it random books.
 *
 * What counts. A live loan's exposure is everything it owes (principal, interest, penalties and
 * fees, current and overdue); a loan approved but not yet paid out counts as its amount plus its fee,
 * the commitment the bank has made. BTC is not collateral the Bank of Russia recognises to reduce
 * an exposure, so the figures are gross; the BTC shows only in the stress figures, as the part of
 * the debt it would no longer cover after a fall.
 *
 * Arithmetic. Amounts are kopecks (bigint). A ratio is compared exactly: an exposure E is within a
 * limit of L basis points of capital C when E x 10,000 <= L x C. "Crossing" a limit is going above
 * it; reaching it exactly is still within. Ratios shown to people are percentages rounded up to
 * two decimals (a figure never looks better than it is). Risk-weighted amounts round up per
 * borrower kind: ceil(sum(exposure) x weight / 10,000).
 */

export type LimitKind = 'crypto_book' | 'borrower' | 'group' | 'region';
export const LIMIT_KINDS: readonly LimitKind[] = ['crypto_book', 'borrower', 'group', 'region'];
export type BorrowerKind = 'company' | 'entrepreneur' | 'individual';
export type Judgement = 'within' | 'soft' | 'hard';

export interface Limit {
  readonly id: bigint;
  readonly kind: LimitKind;
  /** Region limits only: null is every region without a row of its own. */
  readonly regionCode: string | null;
  readonly softBps: number;
  readonly hardBps: number;
  readonly effectiveFrom: string;
  readonly legalBasis: string;
}

export interface WeightRule {
  readonly id: bigint;
  readonly borrowerKind: BorrowerKind | null;
  readonly collateral: 'btc' | 'equipment';
  readonly weightBps: number;
  readonly effectiveFrom: string;
  readonly legalBasis: string;
}

export interface Capital {
  readonly id: bigint;
  readonly tier1: bigint;
  readonly effectiveFrom: string;
  readonly legalBasis: string;
}

/** The rules in force on one day. */
export interface Rules {
  readonly day: string;
  readonly capital: Capital | null;
  readonly limits: readonly Limit[];
  readonly weights: readonly WeightRule[];
}

/** One loan as the book sees it. */
export interface BookLoan {
  readonly borrowerId: bigint;
  readonly borrowerKind: BorrowerKind;
  readonly regionCode: string;
  readonly groupRef: string | null;
  readonly exposure: bigint;
}

/** A live loan as the risk engine holds it (loan_risk): its debt and confirmed collateral, for the stress figures. */
export interface RiskPosition {
  readonly debt: bigint;
  readonly sats: bigint;
}

/** The limit that applies: a region's own row before the general one. */
export function limitFor(limits: readonly Limit[], kind: LimitKind, regionCode?: string): Limit | undefined {
  if (kind === 'region' && regionCode !== undefined) {
    const own = limits.find((l) => l.kind === 'region' && l.regionCode === regionCode);
    if (own !== undefined) return own;
  }
  return limits.find((l) => l.kind === kind && l.regionCode === null);
}

/** The weight for a borrower kind on BTC: the kind's own rule, else the rule for any kind, else 100%. */
export function weightFor(weights: readonly WeightRule[], kind: BorrowerKind, collateral: 'btc' | 'equipment' = 'btc'): number {
  return (weights.find((w) => w.collateral === collateral && w.borrowerKind === kind) ?? weights.find((w) => w.collateral === collateral && w.borrowerKind === null))?.weightBps ?? 10_000;
}

export function judge(exposure: bigint, capital: bigint, limit: Pick<Limit, 'softBps' | 'hardBps'>): Judgement {
  const scaled = exposure * 10_000n;
  if (scaled > BigInt(limit.hardBps) * capital) return 'hard';
  if (scaled > BigInt(limit.softBps) * capital) return 'soft';
  return 'within';
}

/** The largest exposure still within `bps` of capital: floor(bps x capital / 10,000). */
export function headroomCeiling(bps: number, capital: bigint): bigint {
  return (BigInt(bps) * capital) / 10_000n;
}

/** exposure / capital as a percentage string with two decimals (basis points), rounded up. */
export function ratioPercent(exposure: bigint, capital: bigint): string {
  return bpsPercent(ratioBps(exposure, capital, 'ceil'));
}

/** Basis points as a percentage with two decimals: 150 -> "1.50". */
export function bpsPercent(bps: number | bigint): string {
  const value = BigInt(bps);
  return `${value / 100n}.${(value % 100n).toString().padStart(2, '0')}`;
}

function worse(a: Judgement, b: Judgement): Judgement {
  const order: Judgement[] = ['within', 'soft', 'hard'];
  return order.indexOf(a) >= order.indexOf(b) ? a : b;
}

export interface Measured {
  readonly key: string;
  readonly exposure: bigint;
}

/** The figures of one limit over a set of measured exposures (borrowers, groups or regions). */
export interface LimitFigures {
  readonly kind: LimitKind;
  readonly limitId: string | null;
  readonly softPercent: string | null;
  readonly hardPercent: string | null;
  /** The largest of the measured exposures and whose it is. */
  readonly largest: { readonly key: string; readonly amount: string; readonly percent: string | null } | null;
  readonly overSoft: number;
  readonly overHard: number;
  readonly judgement: Judgement;
}

export interface StressFigure {
  readonly shockPercent: string;
  readonly price: string;
  /** The debt the BTC would no longer cover at the shocked price, summed over loans. */
  readonly uncovered: string;
  readonly percentOfCapital: string | null;
}

export interface BookFigures {
  readonly day: string;
  readonly capital: { readonly id: string; readonly tier1: string; readonly effectiveFrom: string; readonly legalBasis: string } | null;
  readonly book: string;
  readonly bookPercent: string | null;
  readonly riskWeighted: string;
  readonly riskWeightedPercent: string | null;
  readonly loans: number;
  readonly borrowers: number;
  readonly limits: readonly LimitFigures[];
  readonly regions: readonly { readonly region: string; readonly amount: string; readonly percent: string | null; readonly judgement: Judgement | null }[];
  readonly topBorrowers: readonly { readonly key: string; readonly amount: string; readonly percent: string | null }[];
  readonly topGroups: readonly { readonly key: string; readonly amount: string; readonly percent: string | null }[];
  readonly stress: readonly StressFigure[];
}

/** The aggregates the figures are made of; the SQL computes the same ones (exposure-store.ts). */
export interface BookAggregates {
  readonly loans: number;
  readonly book: bigint;
  /** By borrower kind, for the risk weights. */
  readonly byKind: ReadonlyMap<BorrowerKind, bigint>;
  readonly byRegion: ReadonlyMap<string, bigint>;
  readonly borrowers: number;
  /** The largest borrowers and groups (ties by key), at most TOP of each. */
  readonly topBorrowers: readonly Measured[];
  readonly topGroups: readonly Measured[];
  /** How many borrowers and groups are above each limit's soft and hard ceilings. */
  readonly borrowersOver: { readonly soft: number; readonly hard: number };
  readonly groupsOver: { readonly soft: number; readonly hard: number };
  /** Uncovered debt per shock (same order as the shocks), over the risk engine's live positions. */
  readonly uncovered: readonly bigint[];
}

export const TOP = 20;
/** The stress shocks the book is shown under: falls of the BTC price, in percent. */
export const STRESS_SHOCKS_PERCENT = [20, 35, 50, 70] as const;

/** The shocked price: price x (100 - shock) / 100, rounded down. */
export function shockedPrice(price: bigint, shockPercent: number): bigint {
  return divide(price * BigInt(100 - shockPercent), 100n, 'floor');
}

function byKeyDescending(a: Measured, b: Measured): number {
  return a.exposure === b.exposure ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.exposure > b.exposure ? -1 : 1;
}

/**
 * The aggregates, by brute force over every loan: the reference the SQL is tested against, and
 * what a small book uses directly. Borrowers are keyed by id, groups by ref.
 */
export function aggregate(loans: readonly BookLoan[], rules: Rules, price: bigint | null, positions: readonly RiskPosition[] = []): BookAggregates {
  const byBorrower = new Map<string, bigint>();
  const byGroup = new Map<string, bigint>();
  const byRegion = new Map<string, bigint>();
  const byKind = new Map<BorrowerKind, bigint>();
  const uncovered = STRESS_SHOCKS_PERCENT.map(() => 0n);
  let book = 0n;
  for (const loan of loans) {
    book += loan.exposure;
    const add = <K>(map: Map<K, bigint>, key: K) => map.set(key, (map.get(key) ?? 0n) + loan.exposure);
    add(byBorrower, loan.borrowerId.toString());
    if (loan.groupRef !== null) add(byGroup, loan.groupRef);
    add(byRegion, loan.regionCode);
    add(byKind, loan.borrowerKind);
  }
  if (price !== null) {
    for (const position of positions) {
      STRESS_SHOCKS_PERCENT.forEach((shock, i) => {
        // Collateral value rounds down: the uncovered debt never looks smaller than it is.
        const short = position.debt - satsToKopecks(position.sats as Sats, shockedPrice(price, shock) as PriceKopecksPerBtc, 'floor');
        if (short > 0n) uncovered[i] = uncovered[i]! + short;
      });
    }
  }
  const over = (values: Iterable<bigint>, limit: Limit | undefined) => {
    let soft = 0;
    let hard = 0;
    if (limit === undefined || rules.capital === null) return { soft, hard };
    for (const value of values) {
      const j = judge(value, rules.capital.tier1, limit);
      if (j !== 'within') soft += 1;
      if (j === 'hard') hard += 1;
    }
    return { soft, hard };
  };
  const top = (map: Map<string, bigint>) => [...map].map(([key, exposure]) => ({ key, exposure })).sort(byKeyDescending).slice(0, TOP);
  return {
    loans: loans.length, book, byKind, byRegion, borrowers: byBorrower.size,
    topBorrowers: top(byBorrower), topGroups: top(byGroup),
    borrowersOver: over(byBorrower.values(), limitFor(rules.limits, 'borrower')),
    groupsOver: over(byGroup.values(), limitFor(rules.limits, 'group')),
    uncovered: price === null ? [] : uncovered,
  };
}

/** The book against every limit, from its aggregates. */
export function bookFigures(agg: BookAggregates, rules: Rules, price: bigint | null, labels?: ReadonlyMap<string, string>): BookFigures {
  const capital = rules.capital?.tier1 ?? null;
  const pct = (amount: bigint) => (capital === null ? null : ratioPercent(amount, capital));
  const j = (amount: bigint, limit: Limit | undefined): Judgement | null => (capital === null || limit === undefined ? null : judge(amount, capital, limit));
  let weighted = 0n;
  for (const [kind, amount] of agg.byKind) weighted += applyBps(amount, BigInt(weightFor(rules.weights, kind)) as Bps, 'ceil');
  const label = (key: string) => labels?.get(key) ?? key;
  const measured = (m: Measured) => ({ key: label(m.key), amount: formatKopecks(m.exposure), percent: pct(m.exposure) });
  const limitFigures = (kind: LimitKind, largest: Measured | undefined, overSoft: number, overHard: number, judgement: Judgement): LimitFigures => {
    const limit = limitFor(rules.limits, kind);
    return {
      kind, limitId: limit?.id.toString() ?? null, softPercent: limit === undefined ? null : bpsPercent(limit.softBps), hardPercent: limit === undefined ? null : bpsPercent(limit.hardBps),
      largest: largest === undefined ? null : measured(largest), overSoft, overHard, judgement,
    };
  };
  const byRegion = [...agg.byRegion].map(([key, exposure]) => ({ key, exposure })).sort(byKeyDescending);
  const regions = byRegion.map(({ key, exposure }) => ({ region: key, amount: formatKopecks(exposure), percent: pct(exposure), judgement: j(exposure, limitFor(rules.limits, 'region', key)) }));
  const regionJudgement = regions.reduce<Judgement>((acc, r) => worse(acc, r.judgement ?? 'within'), 'within');
  const regionOver = (level: Judgement) => regions.filter((r) => r.judgement === level || (level === 'soft' && r.judgement === 'hard')).length;
  const bookJudgement = j(agg.book, limitFor(rules.limits, 'crypto_book')) ?? 'within';
  const overJudgement = (o: { soft: number; hard: number }): Judgement => (o.hard > 0 ? 'hard' : o.soft > 0 ? 'soft' : 'within');
  return {
    day: rules.day,
    capital: rules.capital === null ? null : { id: rules.capital.id.toString(), tier1: formatKopecks(rules.capital.tier1), effectiveFrom: rules.capital.effectiveFrom, legalBasis: rules.capital.legalBasis },
    book: formatKopecks(agg.book), bookPercent: pct(agg.book),
    riskWeighted: formatKopecks(weighted), riskWeightedPercent: pct(weighted),
    loans: agg.loans, borrowers: agg.borrowers,
    limits: [
      limitFigures('crypto_book', { key: 'book', exposure: agg.book }, bookJudgement === 'within' ? 0 : 1, bookJudgement === 'hard' ? 1 : 0, bookJudgement),
      limitFigures('borrower', agg.topBorrowers[0], agg.borrowersOver.soft, agg.borrowersOver.hard, overJudgement(agg.borrowersOver)),
      limitFigures('group', agg.topGroups[0], agg.groupsOver.soft, agg.groupsOver.hard, overJudgement(agg.groupsOver)),
      limitFigures('region', byRegion[0], regionOver('soft'), regionOver('hard'), regionJudgement),
    ],
    regions,
    topBorrowers: agg.topBorrowers.map(measured),
    topGroups: agg.topGroups.map(measured),
    stress: price === null ? [] : STRESS_SHOCKS_PERCENT.map((shock, i) => ({ shockPercent: String(shock), price: formatKopecks(shockedPrice(price, shock)), uncovered: formatKopecks(agg.uncovered[i]!), percentOfCapital: pct(agg.uncovered[i]!) })),
  };
}

// ---------------------------------------------------------------------------------------------
// The check before one new loan.

/** What the bank has out before the loan, where the loan would add to it. */
export interface Before {
  readonly book: bigint;
  readonly borrower: bigint;
  /** Null when the borrower belongs to no group. */
  readonly group: bigint | null;
  readonly region: bigint;
}

export interface CheckLine {
  readonly kind: LimitKind;
  readonly limitId: string | null;
  readonly softBps: number | null;
  readonly hardBps: number | null;
  readonly before: string;
  readonly after: string;
  readonly beforePercent: string;
  readonly afterPercent: string;
  readonly judgement: Judgement;
}

export interface Check {
  readonly decision: Judgement | 'no_capital';
  readonly capital: { readonly id: string; readonly tier1: string } | null;
  readonly day: string;
  readonly amount: string;
  readonly lines: readonly CheckLine[];
  /** Why, in words, when the decision is not 'within'. */
  readonly reasons: readonly string[];
}

const KIND_WORDS: Record<LimitKind, string> = { crypto_book: 'the crypto book', borrower: 'the borrower', group: 'the group of connected borrowers', region: 'the region' };

/**
 * Judges a new exposure of `amount` against every limit in force: refused ('hard') exactly when
 * some figure after the loan would cross a hard limit, a risk officer's approval ('soft') when
 * some would cross only a soft one. A limit is judged on the figure after the loan, so a book
 * already above a limit (the limit was lowered) takes no further loan that adds to it.
 */
export function checkLoan(before: Before, amount: bigint, rules: Rules, regionCode: string): Check {
  const capital = rules.capital;
  if (capital === null) {
    return { decision: 'no_capital', capital: null, day: rules.day, amount: formatKopecks(amount), lines: [], reasons: [`no Tier 1 capital is on record for ${rules.day}: record it (POST /api/v1/exposure/capital) before approving loans`] };
  }
  const lines: CheckLine[] = [];
  const reasons: string[] = [];
  let decision: Judgement = 'within';
  const measure = (kind: LimitKind, was: bigint | null, limit: Limit | undefined) => {
    if (was === null) return;
    const after = was + amount;
    const judgement = limit === undefined ? 'within' : judge(after, capital.tier1, limit);
    decision = worse(decision, judgement);
    const line: CheckLine = {
      kind, limitId: limit?.id.toString() ?? null, softBps: limit?.softBps ?? null, hardBps: limit?.hardBps ?? null,
      before: formatKopecks(was), after: formatKopecks(after), beforePercent: ratioPercent(was, capital.tier1), afterPercent: ratioPercent(after, capital.tier1), judgement,
    };
    lines.push(line);
    if (judgement !== 'within' && limit !== undefined) {
      const bound = judgement === 'hard' ? limit.hardBps : limit.softBps;
      reasons.push(`${KIND_WORDS[kind]}${kind === 'region' ? ` ${regionCode}` : ''} would be ${line.afterPercent}% of Tier 1 capital, above its ${judgement} limit of ${bpsPercent(bound)}% (${limit.legalBasis})`);
    }
  };
  measure('crypto_book', before.book, limitFor(rules.limits, 'crypto_book'));
  measure('borrower', before.borrower, limitFor(rules.limits, 'borrower'));
  measure('group', before.group, limitFor(rules.limits, 'group'));
  measure('region', before.region, limitFor(rules.limits, 'region', regionCode));
  return { decision, capital: { id: capital.id.toString(), tier1: formatKopecks(capital.tier1) }, day: rules.day, amount: formatKopecks(amount), lines, reasons };
}
