import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, BusinessCalendar } from '../calendar/business.js';
import { priceKopecksPerBtc } from '../money/money.js';
import { covers, ltvMillionths, requiredSats } from './collateral.js';
import { fullCostOfCredit, FullCostError } from './psk.js';
import { buildSchedule, continueSchedule } from './schedule.js';
import { allocate, BUCKETS, DEFAULT_WATERFALL, waterfallProblem, type Buckets } from './waterfall.js';

const calendar = new BusinessCalendar([]);

describe('the waterfall', () => {
  const due: Buckets = { penalty: 100n, interest_overdue: 200n, principal_overdue: 300n, interest: 400n, principal: 500n, fee: 600n };

  it('overdue-then-partial-repayment-waterfall: penalties, overdue interest, overdue principal, then current, in full before the next', () => {
    expect(allocate(450n, due, DEFAULT_WATERFALL)).toEqual({ allocated: { penalty: 100n, interest_overdue: 200n, principal_overdue: 150n, interest: 0n, principal: 0n, fee: 0n }, left: 0n });
  });

  it('leaves an overpayment over', () => {
    expect(allocate(2_500n, due, DEFAULT_WATERFALL).left).toBe(400n);
  });

  it('follows another order when the product says so', () => {
    const order = ['fee', 'principal', 'interest', 'principal_overdue', 'interest_overdue', 'penalty'] as const;
    expect(allocate(700n, due, order).allocated).toMatchObject({ fee: 600n, principal: 100n, penalty: 0n });
  });

  it('refuses an order that misses or repeats a bucket', () => {
    expect(waterfallProblem(DEFAULT_WATERFALL)).toBeUndefined();
    expect(waterfallProblem(['penalty', 'penalty', 'interest', 'principal', 'fee', 'interest_overdue'])).toBeDefined();
    expect(waterfallProblem(BUCKETS.slice(1))).toBeDefined();
  });

  it('never allocates more than paid or owed, and loses nothing (property)', () => {
    const amount = fc.bigInt({ min: 0n, max: 10n ** 12n });
    fc.assert(fc.property(amount, fc.tuple(amount, amount, amount, amount, amount, amount), fc.shuffledSubarray([...BUCKETS], { minLength: 6, maxLength: 6 }), (paid, owed, order) => {
      const debts = Object.fromEntries(BUCKETS.map((b, i) => [b, owed[i]!])) as unknown as Buckets;
      const { allocated, left } = allocate(paid, debts, order);
      expect(BUCKETS.reduce((s, b) => s + allocated[b], 0n) + left).toBe(paid);
      for (const b of BUCKETS) expect(allocated[b] >= 0n && allocated[b] <= debts[b]).toBe(true);
      // A later bucket gets money only when every earlier one is settled.
      order.forEach((bucket, i) => { if (allocated[bucket] > 0n) for (const earlier of order.slice(0, i)) expect(allocated[earlier]).toBe(debts[earlier]); });
    }), { numRuns: 300 });
  });
});

describe('the full cost of credit (353-FZ art. 6)', () => {
  it('one payment a year later: (1 + i)^12 = 1.1 gives 9.569%', () => {
    expect(fullCostOfCredit([{ date: '2027-03-10', amount: -10_000_000n }, { date: '2028-03-10', amount: 11_000_000n }])).toEqual({ percent: '9.569', money: 1_000_000n });
  });

  it('one month at 1% is 12.000%; half a month (15 days) counts e_k = 15 x 12 / 365', () => {
    expect(fullCostOfCredit([{ date: '2027-03-10', amount: -10_000_000n }, { date: '2027-04-10', amount: 10_100_000n }]).percent).toBe('12.000');
    // 1 + e i = 1.005, e = 180/365: i = 0.0101389, x 1200 = 12.167
    expect(fullCostOfCredit([{ date: '2027-03-10', amount: -10_000_000n }, { date: '2027-03-25', amount: 10_050_000n }]).percent).toBe('12.167');
  });

  it('an annuity at 23.5% with no fee costs a little over 23.5% (monthly compounding over uneven months)', () => {
    const schedule = buildSchedule({ principal: 150_000_000n, rateMillionths: 235_000n, start: '2027-03-15', months: 12, type: 'annuity' }, calendar);
    const flows = [{ date: '2027-03-15', amount: -150_000_000n }, ...schedule.lines.map((l) => ({ date: l.dueDate, amount: l.payment }))];
    const cost = fullCostOfCredit(flows);
    expect(Number(cost.percent)).toBeGreaterThan(23.4);
    expect(Number(cost.percent)).toBeLessThan(24);
    expect(cost.money).toBe(schedule.totals.interest);
    // A 1% fee withheld raises it.
    const withFee = fullCostOfCredit([{ date: '2027-03-15', amount: -148_500_000n }, ...flows.slice(1)]);
    expect(Number(withFee.percent)).toBeGreaterThan(Number(cost.percent) + 1);
  });

  it('refuses flows that repay less than lent', () => {
    expect(() => fullCostOfCredit([{ date: '2027-03-10', amount: -100n }, { date: '2027-04-10', amount: 90n }])).toThrow(FullCostError);
  });
});

describe('collateral cover', () => {
  const price = priceKopecksPerBtc(800_000_000n); // 8,000,000.00 RUB/BTC

  it('asks the fewest sats that cover the debt at the LTV, rounded up', () => {
    // 1,000,000.00 RUB at 50%: 2,000,000 RUB of BTC = 0.25 BTC
    expect(requiredSats(100_000_000n, price, 500_000n, 0n)).toBe(25_000_000n);
    // With a 10% haircut: 0.25 / 0.9 = 0.2777777.. -> 27,777,778
    expect(requiredSats(100_000_000n, price, 500_000n, 100_000n)).toBe(27_777_778n);
    expect(ltvMillionths(100_000_000n, 25_000_000n, price, 0n)).toBe(500_000n);
  });

  it('requiredSats covers and one sat less does not (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 10n ** 13n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 1_000_000n }), fc.bigInt({ min: 0n, max: 999_999n }), (debt, p, ltv, haircut) => {
      const need = requiredSats(debt, priceKopecksPerBtc(p), ltv, haircut);
      expect(covers(debt, need, priceKopecksPerBtc(p), haircut, ltv)).toBe(true);
      expect(covers(debt, need - 1n, priceKopecksPerBtc(p), haircut, ltv)).toBe(false);
    }), { numRuns: 300 });
  });
});

describe('schedules continued after a prepayment or a restructuring', () => {
  const base = buildSchedule({ principal: 120_000_000n, rateMillionths: 200_000n, start: '2027-01-20', months: 12, type: 'annuity' }, calendar);

  it('prepayment-smaller-instalment: same dates, lower equal instalments, principal sums exactly', () => {
    const after = base.lines[2]!;
    const rest = continueSchedule({ principal: after.balance - 30_000_000n, rateMillionths: 200_000n, anchor: '2027-01-20', firstLine: 4, lastLine: 12, interestFrom: addDays(after.dueDate, 5), remainder: 0n, type: 'annuity', interestOnlyThrough: 0, balloon: 0n }, calendar);
    expect(rest.lines.map((l) => l.dueDate)).toEqual(base.lines.slice(3).map((l) => l.dueDate));
    expect(rest.totals.principal).toBe(after.balance - 30_000_000n);
    expect(rest.lines[1]!.payment).toBeLessThan(base.lines[4]!.payment);
  });

  it('prepayment-shorter-term: the instalment stays, the loan ends sooner', () => {
    const after = base.lines[2]!;
    const rest = continueSchedule({ principal: after.balance - 30_000_000n, rateMillionths: 200_000n, anchor: '2027-01-20', firstLine: 4, lastLine: 12, interestFrom: after.dueDate, remainder: 0n, type: 'annuity', interestOnlyThrough: 0, balloon: 0n, instalment: base.lines[0]!.payment }, calendar);
    expect(rest.lines.length).toBeLessThan(9);
    expect(rest.totals.principal).toBe(after.balance - 30_000_000n);
    for (const line of rest.lines.slice(0, -1)) expect(line.payment).toBe(base.lines[0]!.payment);
  });

  it('restructuring-extends-term: more lines, smaller instalments, the accrued interest on the first', () => {
    const rest = continueSchedule({ principal: 80_000_000n, rateMillionths: 200_000n, anchor: '2027-01-20', firstLine: 5, lastLine: 18, interestFrom: '2027-05-25', remainder: 0n, type: 'annuity', interestOnlyThrough: 0, balloon: 0n, accruedInterest: 12_345n }, calendar);
    expect(rest.lines).toHaveLength(14);
    expect(rest.totals.principal).toBe(80_000_000n);
  });

  it('continued schedules sum to the principal for any cut (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 36 }), fc.integer({ min: 1, max: 36 }), fc.bigInt({ min: 1n, max: 10n ** 10n }), fc.constantFrom('annuity' as const, 'bullet' as const, 'interest_only' as const), fc.boolean(), (months, cut, principal, type, keep) => {
      const first = Math.min(cut, months);
      const full = buildSchedule({ principal: 10n ** 10n, rateMillionths: 230_000n, start: '2027-02-28', months, type }, calendar);
      const from = first === 1 ? '2027-02-28' : full.lines[first - 2]!.dueDate;
      const rest = continueSchedule({ principal, rateMillionths: 230_000n, anchor: '2027-02-28', firstLine: first, lastLine: months, interestFrom: from, remainder: 0n, type, interestOnlyThrough: type === 'interest_only' ? Math.floor(months / 2) : 0, balloon: type === 'interest_only' ? principal / 2n : 0n, ...(keep && type === 'annuity' ? { instalment: full.lines[0]!.payment } : {}) }, calendar);
      expect(rest.totals.principal).toBe(principal);
      for (const line of rest.lines) expect(line.principal >= 0n).toBe(true);
    }), { numRuns: 200 });
  });
});
