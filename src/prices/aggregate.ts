import { divide, formatFraction, type Fraction, type PriceKopecksPerBtc } from '../money/money.js';

/**
 * From quotes to one accepted BTC/RUB price, pure. Every quote becomes a BTC/RUB candidate in
 * kopecks per BTC (a direct BTC/RUB quote as it is, a BTC/USD or BTC/USDT quote crossed with the
 * Bank of Russia's USD/RUB rate), then: drop stale candidates, take the median, reject outliers
 * beyond N% of it, and accept the median of what is left only with a quorum of sources. Each
 * candidate's fate is recorded, so every decision taken on the price can show what it stood on.
 */

export type Pair = 'BTC/USD' | 'BTC/USDT' | 'BTC/RUB' | 'USD/RUB';

export interface Quote {
  readonly source: string;
  readonly pair: Pair;
  /** Quote currency per one unit of the base currency, exact. */
  readonly price: Fraction;
  /** When the source says the price was observed (or when we received it, if it does not say). */
  readonly observedAt: Date;
  readonly receivedAt: Date;
}

export interface Candidate {
  readonly source: string;
  /** How many votes this source has in the median (configuration; 1 by default). */
  readonly weight?: number;
  readonly pair: Pair;
  readonly priceKopecks: PriceKopecksPerBtc;
  readonly observedAt: Date;
}

export interface AggregationConfig {
  /** A candidate older than this (by its observation time) is not counted. */
  readonly maxQuoteAgeSeconds: number;
  /** A candidate further than this from the median (in basis points of it) is an outlier. */
  readonly outlierBps: bigint;
  /** How many candidates must agree for a price to be accepted. */
  readonly quorum: number;
}

export type CandidateStatus = 'used' | 'stale' | 'outlier';

export interface Verdict {
  readonly source: string;
  readonly pair: Pair;
  readonly priceKopecks: PriceKopecksPerBtc;
  readonly observedAt: Date;
  readonly status: CandidateStatus;
}

export type Aggregation =
  | { readonly ok: true; readonly priceKopecks: PriceKopecksPerBtc; readonly verdicts: readonly Verdict[] }
  | { readonly ok: false; readonly reason: 'no_quorum'; readonly message: string; readonly verdicts: readonly Verdict[] };

/** BTC/USD(T) quotes need the USD/RUB rate; without one they yield no candidate. USDT counts as USD. */
export function toCandidates(quotes: readonly Quote[], usdRub: Fraction | undefined, weights: Readonly<Record<string, number>> = {}): Candidate[] {
  const candidates: Candidate[] = [];
  for (const quote of quotes) {
    const weight = weights[quote.source] ?? 1;
    if (quote.pair === 'BTC/RUB') {
      candidates.push({ source: quote.source, pair: quote.pair, weight, priceKopecks: divide(quote.price.numerator * 100n, quote.price.denominator, 'half_even') as PriceKopecksPerBtc, observedAt: quote.observedAt });
    } else if ((quote.pair === 'BTC/USD' || quote.pair === 'BTC/USDT') && usdRub !== undefined) {
      const kopecks = divide(quote.price.numerator * usdRub.numerator * 100n, quote.price.denominator * usdRub.denominator, 'half_even');
      candidates.push({ source: quote.source, pair: quote.pair, weight, priceKopecks: kopecks as PriceKopecksPerBtc, observedAt: quote.observedAt });
    }
  }
  return candidates;
}

/** The median; for an even count, the mean of the middle two rounded half-even. */
export function median(values: readonly bigint[]): bigint {
  if (values.length === 0) throw new RangeError('the median of nothing');
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : divide(sorted[middle - 1]! + sorted[middle]!, 2n, 'half_even');
}

export function aggregate(candidates: readonly Candidate[], now: Date, config: AggregationConfig): Aggregation {
  const oldest = now.getTime() - config.maxQuoteAgeSeconds * 1000;
  const fresh = candidates.filter((c) => c.observedAt.getTime() >= oldest && c.observedAt.getTime() <= now.getTime() + 5_000);
  const stale = (c: Candidate) => !fresh.includes(c);
  if (fresh.length === 0) {
    return { ok: false, reason: 'no_quorum', message: `no fresh quote (need ${config.quorum})`, verdicts: candidates.map((c) => ({ ...c, status: 'stale' as const })) };
  }
  // Weighted votes, but no source may outvote all the others together: its votes are capped at
  // the others' total minus one, so one source, however heavy, cannot carry the median alone.
  const votes = (list: readonly Candidate[]) => {
    const total = list.reduce((sum, c) => sum + Math.max(1, c.weight ?? 1), 0);
    return list.flatMap((c) => {
      const weight = Math.max(1, c.weight ?? 1);
      const others = total - weight;
      return Array<bigint>(Math.max(1, Math.min(weight, others - 1))).fill(c.priceKopecks);
    });
  };
  const centre = median(votes(fresh));
  const tolerance = divide(centre * config.outlierBps, 10_000n, 'floor');
  const isOutlier = (c: Candidate) => (c.priceKopecks > centre ? c.priceKopecks - centre : centre - c.priceKopecks) > tolerance;
  const used = fresh.filter((c) => !isOutlier(c));
  const verdicts: Verdict[] = candidates.map((c) => ({ ...c, status: stale(c) ? 'stale' : isOutlier(c) ? 'outlier' : 'used' }));
  // Distinct sources, not quotes: one source cannot make a quorum alone.
  const sources = new Set(used.map((c) => c.source)).size;
  if (sources < config.quorum) {
    return { ok: false, reason: 'no_quorum', message: `${sources} source(s) agree within ${formatFraction({ numerator: config.outlierBps, denominator: 100n }, 2)}%; need ${config.quorum}`, verdicts };
  }
  return { ok: true, priceKopecks: median(votes(used)) as PriceKopecksPerBtc, verdicts };
}
