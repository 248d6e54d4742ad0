import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregate, bookFigures, checkLoan, judge, ratioPercent, type BookLoan, type Limit, type Rules } from './exposure.js';

const limit = (kind: Limit['kind'], softBps: number, hardBps: number, regionCode: string | null = null, id = 1n): Limit => ({ id, kind, regionCode, softBps, hardBps, effectiveFrom: '2025-01-01', legalBasis: 'test' });
const rules = (tier1: bigint | null, limits: Limit[]): Rules => ({ day: '2026-12-07', capital: tier1 === null ? null : { id: 1n, tier1, effectiveFrom: '2025-01-01', legalBasis: 'test' }, limits, weights: [] });

describe('a limit judged exactly', () => {
  it('is within at exactly the limit and crossed one kopeck above it', () => {
    // 1% of 1,000,000.00 RUB is 10,000.00 RUB.
    const capital = 100_000_000n;
    expect(judge(1_000_000n, capital, { softBps: 100, hardBps: 200 })).toBe('within');
    expect(judge(1_000_001n, capital, { softBps: 100, hardBps: 200 })).toBe('soft');
    expect(judge(2_000_000n, capital, { softBps: 100, hardBps: 200 })).toBe('soft');
    expect(judge(2_000_001n, capital, { softBps: 100, hardBps: 200 })).toBe('hard');
  });

  it('shows ratios rounded up to two decimals', () => {
    expect(ratioPercent(1_000_000n, 100_000_000n)).toBe('1.00');
    expect(ratioPercent(1_000_001n, 100_000_000n)).toBe('1.01');
    expect(ratioPercent(0n, 100_000_000n)).toBe('0.00');
    expect(ratioPercent(1n, 3n)).toBe('33.34');
  });
});

describe('the check before a loan (property)', () => {
  it('is refused exactly when some figure after the loan would cross a hard limit, and needs a risk officer exactly when it crosses only a soft one', () => {
    const bps = fc.integer({ min: 1, max: 10_000 });
    fc.assert(fc.property(
      fc.bigInt({ min: 1n, max: 10n ** 15n }), fc.bigInt({ min: 1n, max: 10n ** 12n }),
      fc.record({ book: fc.bigInt({ min: 0n, max: 10n ** 14n }), borrower: fc.bigInt({ min: 0n, max: 10n ** 12n }), group: fc.option(fc.bigInt({ min: 0n, max: 10n ** 13n }), { nil: null }), region: fc.bigInt({ min: 0n, max: 10n ** 13n }) }),
      fc.array(fc.tuple(fc.constantFrom<Limit['kind']>('crypto_book', 'borrower', 'group', 'region'), bps, bps, fc.boolean()), { maxLength: 6 }),
      (capital, amount, before, raw) => {
        const limits = raw.map(([kind, a, b, own], i) => limit(kind, Math.min(a, b), Math.max(a, b), kind === 'region' && own ? '38' : null, BigInt(i + 1)));
        // The limit that applies to a kind: a region's own before the general; the first of a kind otherwise.
        const applies = (kind: Limit['kind']) => (kind === 'region' ? limits.find((l) => l.kind === 'region' && l.regionCode === '38') : undefined) ?? limits.find((l) => l.kind === kind && l.regionCode === null);
        const figures: [Limit['kind'], bigint | null][] = [['crypto_book', before.book], ['borrower', before.borrower], ['group', before.group], ['region', before.region]];
        let hard = false;
        let soft = false;
        for (const [kind, was] of figures) {
          const l = applies(kind);
          if (was === null || l === undefined) continue;
          if ((was + amount) * 10_000n > BigInt(l.hardBps) * capital) hard = true;
          else if ((was + amount) * 10_000n > BigInt(l.softBps) * capital) soft = true;
        }
        const check = checkLoan(before, amount, rules(capital, limits), '38');
        expect(check.decision).toBe(hard ? 'hard' : soft ? 'soft' : 'within');
        expect(check.reasons.length > 0).toBe(hard || soft);
      },
    ), { numRuns: 2_000 });
  });

  it('is the largest amount still approvable that lands exactly on the hard limit', () => {
    const capital = 250_000_000_000_00n;
    const book = 3_000_000_000_00n; // 1.2%
    const limits = [limit('crypto_book', 100, 200)];
    const room = (capital * 200n) / 10_000n - book;
    expect(checkLoan({ book, borrower: 0n, group: null, region: 0n }, room, rules(capital, limits), '77').decision).toBe('soft');
    const over = checkLoan({ book, borrower: 0n, group: null, region: 0n }, room + 1n, rules(capital, limits), '77');
    expect(over.decision).toBe('hard');
    expect(over.reasons[0]).toContain('above its hard limit of 2.00%');
  });

  it('cannot be made without capital on record', () => {
    expect(checkLoan({ book: 0n, borrower: 0n, group: null, region: 0n }, 1n, rules(null, []), '77').decision).toBe('no_capital');
  });
});

describe('the book figures', () => {
  it('count borrowers and groups over their limits and the uncovered debt under each shock', () => {
    const loan = (borrowerId: bigint, exposure: bigint, groupRef: string | null, regionCode: string): BookLoan => ({ borrowerId, borrowerKind: 'company', regionCode, groupRef, exposure });
    const book = [
      loan(1n, 30_000_000n, 'G', '38'), // 300,000 RUB owed against 1 BTC (the position below)
      loan(1n, 10_000_000n, 'G', '38'),
      loan(2n, 5_000_000n, 'G', '77'),
      loan(3n, 1_000_000n, null, '77'),
    ];
    // Capital 1,000,000.00 RUB: borrower soft 20% (200,000.00) hard 25% (250,000.00).
    const r = rules(100_000_000n, [limit('borrower', 2000, 2500), limit('group', 2000, 4500), limit('region', 3000, 3500), limit('crypto_book', 100, 200)]);
    const agg = aggregate(book, r, 40_000_000n, [{ debt: 30_000_000n, sats: 100_000_000n }, { debt: 0n, sats: 5_000_000n }]); // 400,000 RUB/BTC
    expect(agg.book).toBe(46_000_000n);
    expect(agg.borrowersOver).toEqual({ soft: 1, hard: 1 });
    expect(agg.groupsOver).toEqual({ soft: 1, hard: 0 });
    // 20% fall: 1 BTC at 320,000 covers the 300,000 owed; 35%: 260,000 leaves 40,000.00 uncovered.
    expect(agg.uncovered).toEqual([0n, 4_000_000n, 10_000_000n, 18_000_000n]);
    const figures = bookFigures(agg, r, 40_000_000n);
    expect(figures.bookPercent).toBe('46.00');
    expect(figures.limits.find((l) => l.kind === 'region')).toMatchObject({ overSoft: 1, overHard: 1, judgement: 'hard', largest: { key: '38', amount: '400000.00', percent: '40.00' } });
    expect(figures.riskWeighted).toBe('460000.00'); // no weight rule: 100%
    expect(figures.stress[1]).toMatchObject({ shockPercent: '35', price: '260000.00', uncovered: '40000.00', percentOfCapital: '4.00' });
  });
});

describe('percentages given for rules', () => {
  it('become basis points exactly, up to two decimals and 9,999.99%', async () => {
    const { percentToBps } = await import('./rules-action.js');
    expect(percentToBps('1')).toBe(100);
    expect(percentToBps('0.5')).toBe(50);
    expect(percentToBps('1250')).toBe(125_000);
    expect(percentToBps('25.05')).toBe(2_505);
    for (const bad of ['1.005', '-1', '01', '1e2', '', '10000']) expect(percentToBps(bad), bad).toBeUndefined();
  });
});
