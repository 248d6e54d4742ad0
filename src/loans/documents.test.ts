import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupDecimal, statementLines, type PostingRow } from './documents.js';

const p = (entryId: number, businessDate: string, kind: string, chartCode: string, amount: bigint): PostingRow => ({ entryId: BigInt(entryId), businessDate, kind, chartCode, amount });

describe('statement lines', () => {
  it('sum a month of end-of-day entries into one line, keep other entries apart, and skip those that change nothing', () => {
    const lines = statementLines([
      p(1, '2025-03-17', 'disbursement', 'loan_principal', 100_000_000n),
      p(2, '2025-03-17', 'collateral_in', 'collateral_pledged', -25_000_000n),
      p(3, '2025-03-17', 'fee', 'fee_receivable', 1_000_000n), p(3, '2025-03-17', 'fee', 'fee_receivable', -1_000_000n),
      p(4, '2025-03-18', 'eod', 'interest_receivable', 6_438n),
      p(5, '2025-03-19', 'eod', 'interest_receivable', 6_438n),
      p(6, '2025-04-01', 'eod', 'interest_receivable', 6_438n),
      p(7, '2025-04-17', 'repayment_allocation', 'interest_receivable', -19_316n), p(7, '2025-04-17', 'repayment_allocation', 'loan_principal', -7_444_459n),
    ]);
    expect(lines.map((l) => [l.from, l.to, l.kind, l.debtChange, l.debtAfter, l.btcChange, l.btcAfter])).toEqual([
      ['2025-03-17', '2025-03-17', 'disbursement', 100_000_000n, 100_000_000n, 0n, 0n],
      ['2025-03-17', '2025-03-17', 'collateral_in', 0n, 100_000_000n, 25_000_000n, 25_000_000n],
      ['2025-03-18', '2025-03-19', 'eod', 12_876n, 100_012_876n, 0n, 25_000_000n],
      ['2025-04-01', '2025-04-01', 'eod', 6_438n, 100_019_314n, 0n, 25_000_000n],
      ['2025-04-17', '2025-04-17', 'repayment_allocation', -7_463_775n, 92_555_539n, 0n, 25_000_000n],
    ]);
  });

  it('end on the sums of all postings (property)', () => {
    const posting = fc.record({ kind: fc.constantFrom('eod', 'fee', 'repayment_allocation'), chart: fc.constantFrom('loan_principal', 'interest_receivable', 'collateral_pledged', 'borrower_settlement'), amount: fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), day: fc.integer({ min: 1, max: 60 }) });
    fc.assert(fc.property(fc.array(posting, { maxLength: 60 }), (raw) => {
      const rows = raw.map((r, i) => p(i, new Date(Date.UTC(2025, 0, r.day)).toISOString().slice(0, 10), r.kind, r.chart, r.amount)).sort((a, b) => (a.businessDate < b.businessDate ? -1 : a.businessDate > b.businessDate ? 1 : Number(a.entryId - b.entryId)));
      const lines = statementLines(rows);
      const debt = rows.filter((r) => r.chartCode === 'loan_principal' || r.chartCode === 'interest_receivable').reduce((s, r) => s + r.amount, 0n);
      const btc = rows.filter((r) => r.chartCode === 'collateral_pledged').reduce((s, r) => s - r.amount, 0n);
      expect(lines.at(-1)?.debtAfter ?? 0n).toBe(lines.length === 0 ? 0n : debt);
      expect(lines.at(-1)?.btcAfter ?? 0n).toBe(lines.length === 0 ? 0n : btc);
      expect(lines.reduce((s, l) => s + l.debtChange, 0n)).toBe(debt);
    }));
  });
});

describe('grouped decimals', () => {
  it('in Russian with no-break spaces and a comma, in English with commas and a point, a true minus sign', () => {
    expect(groupDecimal('1234567.89', 'ru')).toBe('1\u00a0234\u00a0567,89');
    expect(groupDecimal('1234567.89', 'en')).toBe('1,234,567.89');
    expect(groupDecimal('-0.25000000', 'ru')).toBe('−0,25000000');
    expect(groupDecimal('999', 'en')).toBe('999');
  });
});
