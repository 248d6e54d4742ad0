import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../calendar/business.js';
import { bankCalendar } from '../calendar/load.js';
import type { PriceService } from '../prices/price-service.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { originate, seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';
import { runEod } from './eod.js';
import { dayUnits, UNITS_PER_KOPECK } from './interest.js';
import { moscowDay, openBusinessDay } from './loan-store.js';
import { reconcileLoans } from './views.js';

/**
 * After any sequence of end-of-day runs, repayments and prepayments, every loan's balances equal
 * its ledger accounts, every settlement balance equals its account, and the pledges equal the
 * collateral held (reconcileLoans, set-based), and the loan's own numbers add up.
 */

let stub: HttpStub;
let t: TestApp;
let prices: PriceService;
let reference = 0;

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp();
  prices = await fixedPriceService(t.test.db, stub, '100000.00');
  await seedLendingWorld(t, stub, { openDay: '2025-01-13' });
}, 60_000);
afterAll(async () => {
  await t.close();
  await stub.close();
});

type Step =
  | { kind: 'eod'; days: number }
  | { kind: 'repay'; permille: number }
  | { kind: 'prepay'; permille: number; mode: 'shorter_term' | 'smaller_instalment' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('eod' as const), days: fc.integer({ min: 1, max: 25 }) }),
  fc.record({ kind: fc.constant('repay' as const), permille: fc.integer({ min: 1, max: 1_500 }) }),
  fc.record({ kind: fc.constant('prepay' as const), permille: fc.integer({ min: 1, max: 1_000 }), mode: fc.constantFrom('shorter_term' as const, 'smaller_instalment' as const) }),
);

const kop = (text: string) => BigInt(text.replace('.', ''));
const rub = (k: bigint) => `${k / 100n}.${(k % 100n).toString().padStart(2, '0')}`;

async function openOnBusinessDay(): Promise<void> {
  const calendar = await bankCalendar();
  const open = await openBusinessDay(t.test.db, new Date());
  const target = calendar.nextBusinessDay(open);
  if (target !== open && addDays(target, -1) < moscowDay(new Date())) await runEod(t.test.db, addDays(target, -1), { now: new Date() });
}

describe('loan balances and the ledger', () => {
  it('agree after any sequence of end of day, repayments and prepayments (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom('annuity' as const, 'bullet' as const, 'interest_only' as const), fc.array(step, { minLength: 3, maxLength: 8 }), async (type, steps) => {
      await openOnBusinessDay();
      await prices.cycle();
      const { ref } = await originate(t, { amount: '1000000.00', months: 6, type, collateral: '0.25' });
      let eodSteps = 0;
      for (const s of steps) {
        const loan = (await t.as('officer').get(`/api/v1/loans/${ref}`)).json();
        if (loan.status === 'closed') break;
        if (s.kind === 'eod') {
          if (eodSteps >= 3) continue; // keep the calendar within today for the whole run
          eodSteps += 1;
          const open = await openBusinessDay(t.test.db, new Date());
          // Never past yesterday in Moscow: the runs (and fast-check's shrinking, which replays
          // them) walk the calendar forward from 2025, and end of day refuses a day not yet over.
          const yesterday = addDays(moscowDay(new Date()), -1);
          const through = addDays(open, s.days - 1) < yesterday ? addDays(open, s.days - 1) : yesterday;
          if (through >= open) await runEod(t.test.db, through, { now: new Date() });
        } else if (s.kind === 'repay') {
          const amount = (kop(loan.balances.total) * BigInt(s.permille)) / 1_000n + 1n;
          reference += 1;
          const paid = await t.as('treasury').post(`/api/v1/loans/${ref}/repayments`, { reference: `PROP-${reference}`, amount: rub(amount) });
          expect(paid.statusCode, paid.body).toBe(201);
        } else {
          const [b] = await t.test.db.query<{ settlement_kopecks: bigint }>(`SELECT settlement_kopecks FROM borrowers WHERE ref = 'B-1'`);
          const owed = kop(loan.balances.total);
          const available = b!.settlement_kopecks < owed ? b!.settlement_kopecks : owed;
          const amount = (available * BigInt(s.permille)) / 1_000n;
          if (amount === 0n) continue;
          const prepaid = await t.as('officer').post(`/api/v1/loans/${ref}/prepayments`, { amount: rub(amount), mode: s.mode });
          if (s.mode === 'shorter_term' && type !== 'annuity') expect(prepaid.json().error.code).toBe('prepayment_mode_unsupported');
          else expect(prepaid.statusCode, prepaid.body).toBe(201);
        }
        expect(await reconcileLoans(t.test.db)).toEqual([]);
      }
      // The loan's own numbers: principal outstanding is the schedule's lines not yet repaid.
      const loan = (await t.as('officer').get(`/api/v1/loans/${ref}`)).json();
      const ledger = (await t.as('officer').get(`/api/v1/loans/${ref}/balances`)).json();
      expect({ principal: ledger.principal, principalOverdue: ledger.principalOverdue, interest: ledger.interest, interestOverdue: ledger.interestOverdue, penalty: ledger.penalty })
        .toEqual({ principal: loan.balances.principal, principalOverdue: loan.balances.principalOverdue, interest: loan.balances.interest, interestOverdue: loan.balances.interestOverdue, penalty: loan.balances.penalty });
      if (loan.status !== 'closed') {
        const schedule = (await t.as('officer').get(`/api/v1/loans/${ref}/schedule`)).json();
        const future = schedule.lines.filter((l: { status: string }) => l.status === 'future' || l.status === 'due').reduce((sum: bigint, l: { principal: string }) => sum + kop(l.principal), 0n);
        expect(future).toBe(kop(loan.balances.principal));
      }
    }), { numRuns: Number(process.env.PROP_RUNS ?? 6) }); // PROP_RUNS=200 to hunt harder
  }, 300_000);

  it('charges interest on the opening balance of every day from the day after disbursement through the day of repayment (39-P): total interest is their day-by-day sum, whatever the repayments (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 6 }), async (steps) => {
      await openOnBusinessDay();
      await prices.cycle();
      const { ref } = await originate(t, { amount: '1000000.00', months: 6, type: 'annuity', collateral: '0.25' });
      let eodSteps = 0;
      for (const s of steps) {
        const loan = (await t.as('officer').get(`/api/v1/loans/${ref}`)).json();
        if (loan.status === 'closed') break;
        if (s.kind === 'eod') {
          if (eodSteps >= 2) continue;
          eodSteps += 1;
          const open = await openBusinessDay(t.test.db, new Date());
          const yesterday = addDays(moscowDay(new Date()), -1);
          const through = addDays(open, s.days - 1) < yesterday ? addDays(open, s.days - 1) : yesterday;
          if (through >= open) await runEod(t.test.db, through, { now: new Date() });
        } else {
          reference += 1;
          // A payment in, then (for a prepay step) part of the principal prepaid from it.
          const amount = (kop(loan.balances.total) * BigInt(s.permille)) / 2_000n + 1n;
          const paid = await t.as('treasury').post(`/api/v1/loans/${ref}/repayments`, { reference: `OPEN-${reference}`, amount: rub(amount) });
          expect(paid.statusCode, paid.body).toBe(201);
          if (s.kind === 'prepay') {
            const [b] = await t.test.db.query<{ settlement_kopecks: bigint }>(`SELECT settlement_kopecks FROM borrowers WHERE ref = 'B-1'`);
            const owed = kop((await t.as('officer').get(`/api/v1/loans/${ref}`)).json().balances.total);
            const part = b!.settlement_kopecks / 2n < owed ? b!.settlement_kopecks / 2n : owed;
            const prepaid = part > 0n ? await t.as('officer').post(`/api/v1/loans/${ref}/prepayments`, { amount: rub(part), mode: 'smaller_instalment' }) : undefined;
            if (prepaid !== undefined) expect(prepaid.statusCode, prepaid.body).toBe(201);
          }
        }
      }
      // Repaid in full on the open day: enough paid in, then everything prepaid.
      const before = (await t.as('officer').get(`/api/v1/loans/${ref}`)).json();
      if (before.status !== 'closed') {
        reference += 1;
        const topUp = await t.as('treasury').post(`/api/v1/loans/${ref}/repayments`, { reference: `OPEN-${reference}`, amount: rub(kop(before.balances.total) + 100_000n) });
        expect(topUp.statusCode, topUp.body).toBe(201);
        const full = await t.as('officer').post(`/api/v1/loans/${ref}/prepayments`, { mode: 'smaller_instalment' });
        expect(full.statusCode, full.body).toBe(201);
        expect(full.json().status).toBe('closed');
      }
      const [loan] = await t.test.db.query<{ disbursed_on: string; closed_on: string; rate_millionths: bigint }>('SELECT disbursed_on::text, closed_on::text, rate_millionths FROM loans WHERE ref = $1', [ref]);
      // Every day's opening balance: principal (current and overdue) at the end of the day before.
      const days = await t.test.db.query<{ day: string; opening: bigint }>(`
        SELECT d::date::text AS day, coalesce((SELECT sum(p.amount) FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id JOIN ledger_accounts a ON a.id = p.account_id
                                                WHERE a.subledger_key = $1 AND a.chart_code IN ('loan_principal', 'loan_principal_overdue') AND e.business_date < d::date), 0)::int8 AS opening
          FROM generate_series($2::date + 1, $3::date, interval '1 day') d`, [ref, loan!.disbursed_on, loan!.closed_on]);
      const units = days.reduce((sum, d) => sum + dayUnits(d.opening, loan!.rate_millionths, Number(d.day.slice(0, 4))), 0n);
      const [accrued] = await t.test.db.query<{ total: bigint }>(`SELECT coalesce(sum(p.amount), 0)::int8 AS total FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
                                                                  WHERE a.chart_code = 'interest_receivable' AND a.subledger_key = $1 AND p.amount > 0`, [ref]);
      expect(accrued!.total).toBe(units / UNITS_PER_KOPECK);
      expect(await reconcileLoans(t.test.db)).toEqual([]);
    }), { numRuns: 6 });
  }, 300_000);
});
