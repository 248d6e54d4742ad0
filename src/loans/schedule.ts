import type { BusinessCalendar } from '../calendar/business.js';
import { daysBetween, daysInMonth, type Day } from '../calendar/days.js';
import { divide } from '../money/money.js';
import { accrue, RATE_SCALE, spanUnits } from './interest.js';

/**
 * Repayment schedules, pure. Instalments fall monthly on the day of the month the loan was
 * disbursed (the month's last day when it is shorter), moved to the next business day when that
 * day is not one; interest of each line is accrued on actual days from the previous due date
 * (or disbursement) to this one, by the rule of interest.ts, with the sub-kopeck remainder carried
 * from line to line. Three types:
 * - `annuity`: equal instalments A = B x i / (1 - (1 + i)^-n), i = rate / 12, rounded half-up to
 *   the kopeck; each line's principal is A less its interest; the last line clears the balance.
 * - `bullet`: interest every month, the whole principal with the last instalment.
 * - `interest_only`: interest only for the first `interestOnlyMonths` (default half the term),
 *   then annuity instalments that amortise the principal down to a balloon (`balloonBps` of the
 *   principal, default 50%) paid with the last instalment.
 * The principal of the lines always sums to the principal exactly; no line repays a negative amount.
 */

export type RepaymentType = 'annuity' | 'bullet' | 'interest_only';
/** The longest loan term, in months (a product narrows it). */
export const LOAN_MONTHS_MAX = 120;
export const REPAYMENT_TYPES: readonly RepaymentType[] = ['annuity', 'bullet', 'interest_only'];

export interface ScheduleTerms {
  readonly principal: bigint;
  readonly rateMillionths: bigint;
  /** The disbursement day. */
  readonly start: Day;
  readonly months: number;
  readonly type: RepaymentType;
  readonly interestOnlyMonths?: number;
  readonly balloonBps?: bigint;
}

export interface ScheduleLine {
  readonly number: number;
  /** The contractual day (same day of month), and the due date after the business-day shift. */
  readonly nominalDate: Day;
  readonly dueDate: Day;
  /** Days of interest in this line (from the previous due date). */
  readonly days: number;
  readonly principal: bigint;
  readonly interest: bigint;
  readonly payment: bigint;
  /** Principal outstanding after this line is paid. */
  readonly balance: bigint;
}

export interface Schedule {
  readonly lines: readonly ScheduleLine[];
  readonly totals: { readonly principal: bigint; readonly interest: bigint; readonly payment: bigint };
  /** Interest units below a kopeck left after the last line (interest.ts). */
  readonly remainder: bigint;
  /** The years whose days off no decree fixed (the statutory rule was used), and a note saying so. */
  readonly calendar: { readonly fallbackYears: readonly number[]; readonly note: string | null };
}

export class ScheduleTermsError extends RangeError {}

/** The day `months` after `start` with the same day of month, or the month's last day. */
export function sameDayMonthsLater(start: Day, months: number): Day {
  const [year, month, day] = start.split('-').map(Number) as [number, number, number];
  const index = year * 12 + (month - 1) + months;
  const first = `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}-01`;
  const last = daysInMonth(first);
  return `${first.slice(0, 8)}${String(Math.min(day, last)).padStart(2, '0')}`;
}

/** The annuity instalment on `amount` less the present value of a balloon, over `n` months at monthly rate num/den, half-up to the kopeck. */
function annuityPayment(amount: bigint, balloon: bigint, n: number, rateMillionths: bigint): bigint {
  if (rateMillionths === 0n) return divide(amount - balloon, BigInt(n), 'half_up');
  // i = rate / (12 x 10^6). A = (P - B / (1+i)^n) x i / (1 - (1+i)^-n)
  //   = (P (1+i)^n - B) x i / ((1+i)^n - 1), with (1+i)^n = g^n / d^n, g = d + r, d = 12 x 10^6.
  const d = 12n * RATE_SCALE;
  const g = d + rateMillionths;
  const gn = g ** BigInt(n);
  const dn = d ** BigInt(n);
  return divide((amount * gn - balloon * dn) * rateMillionths, d * (gn - dn), 'half_up');
}

export function buildSchedule(terms: ScheduleTerms, calendar: BusinessCalendar): Schedule {
  const { principal, rateMillionths, months, type } = terms;
  if (principal <= 0n) throw new ScheduleTermsError('the principal is positive');
  if (rateMillionths < 0n) throw new ScheduleTermsError('the rate is not negative');
  if (!Number.isInteger(months) || months < 1 || months > 600) throw new ScheduleTermsError('the term is 1 to 600 months');
  const interestOnlyMonths = type === 'interest_only' ? (terms.interestOnlyMonths ?? Math.floor(months / 2)) : 0;
  if (type === 'interest_only' && (!Number.isInteger(interestOnlyMonths) || interestOnlyMonths < 0 || interestOnlyMonths >= months)) throw new ScheduleTermsError('the interest-only months are fewer than the term');
  const balloon = type === 'interest_only' ? divide(principal * (terms.balloonBps ?? 5_000n), 10_000n, 'floor') : 0n;
  if (balloon < 0n || balloon > principal) throw new ScheduleTermsError('the balloon is 0 to 100% of the principal');
  const schedule = continueSchedule({ principal, rateMillionths, anchor: terms.start, firstLine: 1, lastLine: months, interestFrom: terms.start, remainder: 0n, type, interestOnlyThrough: interestOnlyMonths, balloon }, calendar);
  // A new loan keeps the term asked for, or is refused with the reason (a continued schedule of a
  // few kopecks left may end early: that is the borrower's gain, not the schedule's fault).
  if (schedule.lines.length < months) throw new ScheduleTermsError(`the schedule cannot keep ${months} instalments at this rate: it ends after ${schedule.lines.length}`);
  return schedule;
}

/**
 * The rest of a schedule from line `firstLine` to `lastLine` (line k falls k months after the
 * anchor, the disbursement day), for `principal` outstanding with interest accrued through
 * `interestFrom`: what a prepayment (smaller instalment, or shorter term by keeping `instalment`)
 * and a restructuring (a later `lastLine`) produce. `accruedInterest` (already accrued, not yet
 * paid) is added to the first line's interest.
 */
export interface Continuation {
  readonly principal: bigint;
  readonly rateMillionths: bigint;
  readonly anchor: Day;
  readonly firstLine: number;
  readonly lastLine: number;
  readonly interestFrom: Day;
  readonly remainder: bigint;
  readonly type: RepaymentType;
  /** Lines up to this number pay interest only (interest-only loans; 0 otherwise). */
  readonly interestOnlyThrough: number;
  /** Principal left for the last line (interest-only loans; 0 otherwise). */
  readonly balloon: bigint;
  /** Keep this instalment (annuity: the term shortens instead). */
  readonly instalment?: bigint;
  readonly accruedInterest?: bigint;
}

export function continueSchedule(plan: Continuation, calendar: BusinessCalendar): Schedule {
  const { principal, rateMillionths, firstLine, lastLine } = plan;
  if (principal < 0n || rateMillionths < 0n) throw new ScheduleTermsError('the principal and the rate are not negative');
  if (!Number.isInteger(firstLine) || !Number.isInteger(lastLine) || firstLine < 1 || lastLine < firstLine || lastLine > 600) throw new ScheduleTermsError('lines run from 1 to at most 600, first before last');
  const instalment = plan.instalment ?? solveInstalment(plan, calendar);
  const run = runLines(plan, calendar, instalment);
  const totals = run.lines.reduce((sum, line) => ({ principal: sum.principal + line.principal, interest: sum.interest + line.interest, payment: sum.payment + line.payment }), { principal: 0n, interest: 0n, payment: 0n });
  return { lines: run.lines, totals, remainder: run.remainder, calendar: calendar.fallbackNote(run.lines[0]?.dueDate ?? plan.interestFrom, run.lines.at(-1)?.dueDate ?? plan.interestFrom) };
}

/** The lines with a given instalment (undefined: bullet, interest only, or only a last line amortising). */
function runLines(plan: Continuation, calendar: BusinessCalendar, instalment: bigint | undefined): { lines: ScheduleLine[]; remainder: bigint } {
  const { principal, rateMillionths, type, firstLine, lastLine } = plan;
  const balloon = plan.balloon > principal ? principal : plan.balloon;
  const lines: ScheduleLine[] = [];
  let balance = principal;
  let remainder = plan.remainder;
  let previous = plan.interestFrom;
  for (let k = firstLine; k <= lastLine && (balance > 0n || k === firstLine); k += 1) {
    const nominalDate = sameDayMonthsLater(plan.anchor, k);
    const dueDate = calendar.nextBusinessDay(nominalDate);
    if (dueDate <= previous) throw new ScheduleTermsError(`line ${k} (${dueDate}) is not after ${previous}`);
    const accrued = accrue(remainder, spanUnits(balance, rateMillionths, previous, dueDate));
    remainder = accrued.remainder;
    const interest = accrued.kopecks + (k === firstLine ? (plan.accruedInterest ?? 0n) : 0n);
    let repaid: bigint;
    if (k === lastLine) repaid = balance;
    else if (type === 'bullet' || k <= plan.interestOnlyThrough || instalment === undefined) repaid = 0n;
    else {
      repaid = instalment - accrued.kopecks;
      if (repaid < 0n) repaid = 0n; // a long holiday period's interest can exceed the instalment
      if (repaid > balance - balloon) repaid = balance - balloon;
    }
    balance -= repaid;
    lines.push({ number: k, nominalDate, dueDate, days: daysBetween(previous, dueDate), principal: repaid, interest, payment: repaid + interest, balance });
    previous = dueDate;
  }
  return { lines, remainder };
}

/**
 * The instalment that amortises the principal (down to the balloon) over exactly the lines asked
 * for, on actual days: the least whole-kopeck instalment whose last line (less the balloon) is not
 * above it, so the last line differs from the others only by the rounding of the instalment to a
 * kopeck. The textbook formula A = B i / (1 - (1 + i)^-n), with i = rate / 12, assumes equal months;
 * at high rates over long terms a long holiday period's interest is more than that A, and the loan
 * would be repaid before its term (25%, 120 months from 2026-01-31: 118 lines). The formula's A is
 * the search's first guess. Undefined for schedules with no equal instalments.
 */
function solveInstalment(plan: Continuation, calendar: BusinessCalendar): bigint | undefined {
  if (plan.type === 'bullet' || plan.principal === 0n) return undefined;
  const amortisedFrom = Math.max(plan.firstLine, plan.interestOnlyThrough + 1);
  const count = plan.lastLine - amortisedFrom + 1;
  if (count <= 1) return undefined;
  const balloon = plan.balloon > plan.principal ? plan.principal : plan.balloon;
  const lines = plan.lastLine - plan.firstLine + 1;
  // Positive while the instalment is too small: what the last line asks beyond it.
  const excess = (instalment: bigint): bigint => {
    const run = runLines(plan, calendar, instalment);
    if (run.lines.length < lines) return -1n; // repaid before the last line: too large
    return run.lines.at(-1)!.payment - balloon - instalment;
  };
  let high = annuityPayment(plan.principal, balloon, count, plan.rateMillionths);
  if (high < 1n) high = 1n;
  while (excess(high) > 0n) high *= 2n;
  let low = high / 2n;
  while (low > 0n && excess(low) <= 0n) {
    high = low;
    low /= 2n;
  }
  // excess(low) > 0 (or low = 0), excess(high) <= 0: the least such high.
  while (high - low > 1n) {
    const middle = (low + high) / 2n;
    if (excess(middle) <= 0n) high = middle; else low = middle;
  }
  return high;
}
