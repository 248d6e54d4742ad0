import { daysBetween, type Day } from '../calendar/days.js';
import { divide, formatFraction, fraction } from '../money/money.js';
import { sameDayMonthsLater } from './schedule.js';

/**
 * The full cost of credit (ПСК), Federal Law 353-FZ art. 6 part 2, pure:
 *
 *   ПСК = i x ЧБП x 100,  where i solves  sum_k ДП_k / ((1 + e_k x i) x (1 + i)^q_k) = 0
 *
 * ДП_k the k-th cash flow (the loan with a minus sign, the borrower's payments with a plus), q_k the
 * whole base periods from the loan to flow k, e_k the rest of the way to flow k in parts of a base
 * period, ЧБП the base periods in a year. Our schedules pay monthly, so the base period is a month
 * (the interval the schedule uses most often) and ЧБП = 12; q_k counts whole months by the same
 * day of the month (the month's last day when shorter, as the schedule does), and e_k is the days
 * after the q_k-th month over 365/12 (the law counts a year as 365 days). This is our reading of
 * the formula; the bank's compliance officer should confirm it against the Bank of Russia's
 * explanations before loans to individuals go out.
 *
 * Exact: i is found by bisection on integers (i = I / 10^15), each side's sign decided with exact
 * bigint fractions, so the result does not depend on floating point; it is then rounded half-up to
 * three decimals of a percent, as the law prints it.
 */

export interface CashFlow {
  readonly date: Day;
  /** Kopecks: negative for money the borrower receives, positive for what it pays. */
  readonly amount: bigint;
}

export interface FullCost {
  /** Percent a year, three decimals, e.g. "25.347". */
  readonly percent: string;
  /** ПСК in money (353-FZ art. 6 part 1): the borrower's payments less what it received. */
  readonly money: bigint;
}

const SCALE = 10n ** 15n;
const BASE_PERIODS_PER_YEAR = 12n;

interface Term {
  readonly amount: bigint;
  readonly q: number;
  /** e_k = days x 12 / 365. */
  readonly days: bigint;
}

function termsOf(flows: readonly CashFlow[]): Term[] {
  const start = flows.reduce((min, flow) => (flow.date < min ? flow.date : min), flows[0]!.date);
  return flows.map((flow) => {
    let q = 0;
    while (sameDayMonthsLater(start, q + 1) <= flow.date) q += 1;
    return { amount: flow.amount, q, days: BigInt(daysBetween(sameDayMonthsLater(start, q), flow.date)) };
  });
}

/**
 * The sign of sum_k A_k / ((1 + e_k i)(1 + i)^q_k) at i = I / SCALE, exactly: each term is
 * A_k x 365 x SCALE^(q_k + 1) / ((365 x SCALE + 12 days_k I) x (SCALE + I)^q_k); multiplying by the
 * positive product of all denominators keeps the sign, so the sum is compared as one fraction.
 */
function npvSign(terms: readonly Term[], rate: bigint): number {
  let numerator = 0n;
  let denominator = 1n;
  for (const term of terms) {
    const termNumerator = term.amount * 365n * SCALE ** BigInt(term.q + 1);
    const termDenominator = (365n * SCALE + BASE_PERIODS_PER_YEAR * term.days * rate) * (SCALE + rate) ** BigInt(term.q);
    numerator = numerator * termDenominator + termNumerator * denominator;
    denominator *= termDenominator;
    // Keep the numbers small: reduce by the common factor now and then.
    if (denominator > 10n ** 4000n) {
      const f = fraction(numerator, denominator);
      numerator = f.numerator;
      denominator = f.denominator;
    }
  }
  return numerator === 0n ? 0 : numerator > 0n ? 1 : -1;
}

export class FullCostError extends RangeError {}

export function fullCostOfCredit(flows: readonly CashFlow[]): FullCost {
  if (flows.length < 2) throw new FullCostError('a loan has at least the disbursement and one payment');
  const received = flows.filter((f) => f.amount < 0n).reduce((s, f) => s - f.amount, 0n);
  const paid = flows.filter((f) => f.amount > 0n).reduce((s, f) => s + f.amount, 0n);
  if (received === 0n || paid === 0n) throw new FullCostError('the flows need money lent and money repaid');
  const terms = termsOf(flows);
  // The borrower pays back at least what it received, so the rate is not negative; search up to
  // 1000% a month. NPV falls as the rate rises (money out first, in later).
  let low = 0n;
  let high = 10n * SCALE;
  if (npvSign(terms, low) < 0) throw new FullCostError('the payments are below the money lent: the cost would be negative');
  if (npvSign(terms, high) > 0) throw new FullCostError('the cost is above 12,000% a year');
  while (high - low > 1n) {
    const middle = (low + high) / 2n;
    if (npvSign(terms, middle) >= 0) low = middle;
    else high = middle;
  }
  // percent = i x 12 x 100 = low x 1200 / SCALE, half-up to 3 decimals.
  const thousandths = divide(low * BASE_PERIODS_PER_YEAR * 100n * 1000n, SCALE, 'half_up');
  return { percent: formatFraction(fraction(thousandths, 1000n), 3), money: paid - received };
}
