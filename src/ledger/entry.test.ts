import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checkBalanced,
  contentHash,
  formatAccountAddress,
  isCalendarDate,
  parseAccountAddress,
  parseInstant,
  reversePostings,
  validateEntryRequest,
  type EntryRequest,
  type PostingDraft,
} from './entry.js';

const good: EntryRequest = {
  idempotencyKey: 'k-1',
  businessDate: '2026-11-24',
  reason: 'capital injection',
  postings: [
    { account: 'cash_correspondent', currency: 'RUB', debit: '1000.00' },
    { account: 'bank_equity', currency: 'RUB', credit: '1000.00' },
  ],
};

function code(request: EntryRequest): string | undefined {
  const result = validateEntryRequest(request);
  return result.ok ? undefined : result.error.code;
}

describe('validating an entry request', () => {
  it('turns debits and credits into signed minor units', () => {
    const result = validateEntryRequest(good);
    expect(result.ok && result.value.postings.map((p) => p.amount)).toEqual([100_000n, -100_000n]);
  });

  it.each<[string, Partial<EntryRequest>, string]>([
    ['float amount', { postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: 1000 }, { account: 'bank_equity', currency: 'RUB', credit: '1000.00' }] }, 'invalid_amount'],
    ['exponent', { postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '1e3' }, { account: 'bank_equity', currency: 'RUB', credit: '1000.00' }] }, 'invalid_amount'],
    ['kopeck fractions', { postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '0.001' }, { account: 'bank_equity', currency: 'RUB', credit: '0.001' }] }, 'invalid_amount'],
    ['negative zero', { postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '-0' }, { account: 'bank_equity', currency: 'RUB', credit: '-0' }] }, 'invalid_amount'],
    ['negative amount', { postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '-5.00' }, { account: 'bank_equity', currency: 'RUB', credit: '-5.00' }] }, 'invalid_amount'],
    ['40 digits', { postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '1234567890123456789012345678901234567890' }, { account: 'bank_equity', currency: 'RUB', credit: '1.00' }] }, 'invalid_amount'],
    ['debit and credit on one posting', { postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '1.00', credit: '1.00' }, { account: 'bank_equity', currency: 'RUB', credit: '1.00' }] }, 'invalid_amount'],
    ['neither debit nor credit', { postings: [{ account: 'cash_correspondent', currency: 'RUB' }, { account: 'bank_equity', currency: 'RUB', credit: '1.00' }] }, 'invalid_amount'],
    ['unbalanced', { postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '1000.00' }, { account: 'bank_equity', currency: 'RUB', credit: '999.99' }] }, 'entry_unbalanced'],
    ['mixed currencies in a pair', { postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '1.00' }, { account: 'collateral_pledged:LN-1', currency: 'BTC', credit: '1.00' }] }, 'entry_unbalanced'],
    ['one posting', { postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '1.00' }] }, 'entry_too_few_postings'],
    ['unknown currency', { postings: [{ account: 'cash_correspondent', currency: 'USD', debit: '1.00' }, { account: 'bank_equity', currency: 'USD', credit: '1.00' }] }, 'invalid_currency'],
    ['bad account address', { postings: [{ account: 'Cash Account', currency: 'RUB', debit: '1.00' }, { account: 'bank_equity', currency: 'RUB', credit: '1.00' }] }, 'invalid_account'],
    ['impossible date', { businessDate: '2026-02-30' }, 'invalid_business_date'],
    ['date with time', { businessDate: '2026-11-24T00:00:00Z' }, 'invalid_business_date'],
    ['value time without offset', { valueTime: '2026-11-24T10:00:00' }, 'invalid_value_time'],
    ['empty reason', { reason: '   ' }, 'invalid_reason'],
    ['key with spaces', { idempotencyKey: 'a key' }, 'invalid_idempotency_key'],
    ['empty key', { idempotencyKey: '' }, 'invalid_idempotency_key'],
  ])('refuses %s', (_name, change, expected) => {
    expect(code({ ...good, ...change })).toBe(expected);
  });

  it('refuses more than 64 postings', () => {
    const postings = Array.from({ length: 66 }, (_, i) => ({ account: 'cash_correspondent', currency: 'RUB', ...(i % 2 === 0 ? { debit: '1.00' } : { credit: '1.00' }) }));
    expect(code({ ...good, postings })).toBe('entry_too_many_postings');
  });

  it('balances per currency, not across currencies', () => {
    const rub = (amount: bigint): PostingDraft => ({ account: { chartCode: 'cash_correspondent', subledgerKey: '' }, currency: 'RUB', amount });
    const btc = (amount: bigint): PostingDraft => ({ account: { chartCode: 'collateral_held', subledgerKey: '' }, currency: 'BTC', amount });
    expect(checkBalanced([rub(100n), rub(-100n), btc(5n), btc(-5n)]).ok).toBe(true);
    expect(checkBalanced([rub(100n), btc(-100n)]).ok).toBe(false);
  });
});

describe('content hash for idempotency', () => {
  const draft = (request: EntryRequest) => {
    const result = validateEntryRequest(request);
    if (!result.ok) throw new Error(result.error.message);
    return result.value;
  };

  it('is the same for the same amounts however written', () => {
    const written = { ...good, postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '1000' }, { account: 'bank_equity', currency: 'RUB', credit: '1000.0' }] };
    expect(contentHash(draft(written))).toBe(contentHash(draft(good)));
  });

  it('differs when anything that matters differs', () => {
    const base = contentHash(draft(good));
    expect(contentHash(draft({ ...good, reason: 'other' }))).not.toBe(base);
    expect(contentHash(draft({ ...good, businessDate: '2026-11-25' }))).not.toBe(base);
    expect(contentHash(draft({ ...good, valueTime: '2026-11-24T10:00:00Z' }))).not.toBe(base);
    expect(contentHash(draft({ ...good, postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '1000.01' }, { account: 'bank_equity', currency: 'RUB', credit: '1000.01' }] }))).not.toBe(base);
  });
});

describe('addresses, dates and reversals', () => {
  it('round-trips account addresses', () => {
    for (const text of ['cash_correspondent', 'loan_principal:LN-2027-000001', 'borrower_settlement:B.7_x']) {
      const parsed = parseAccountAddress(text);
      expect(parsed.ok && formatAccountAddress(parsed.value)).toBe(text);
    }
    expect(parseAccountAddress('loan_principal:').ok).toBe(false);
    expect(parseAccountAddress('loan_principal:a:b').ok).toBe(false);
  });

  it('knows real calendar days, leap years included', () => {
    expect(isCalendarDate('2024-02-29')).toBe(true);
    expect(isCalendarDate('2025-02-29')).toBe(false);
    expect(isCalendarDate('2026-13-01')).toBe(false);
  });

  it('reads instants only with an explicit offset', () => {
    expect(parseInstant('2026-11-24T13:00:00+03:00')?.toISOString()).toBe('2026-11-24T10:00:00.000Z');
    expect(parseInstant('2026-11-24T10:00:00.123Z')?.toISOString()).toBe('2026-11-24T10:00:00.123Z');
    expect(parseInstant('2026-11-24 10:00:00Z')).toBeUndefined();
    expect(parseInstant('2026-02-30T10:00:00Z')).toBeUndefined();
  });

  it('a reversal negates every posting and so still balances (property)', () => {
    fc.assert(fc.property(fc.array(fc.bigInt({ min: 1n, max: 10n ** 15n }), { minLength: 1, maxLength: 31 }), (amounts) => {
      const postings: PostingDraft[] = amounts.flatMap((amount) => [
        { account: { chartCode: 'cash_correspondent', subledgerKey: '' }, currency: 'RUB' as const, amount },
        { account: { chartCode: 'suspense', subledgerKey: '' }, currency: 'RUB' as const, amount: -amount },
      ]);
      const reversed = reversePostings(postings);
      expect(checkBalanced(reversed).ok).toBe(true);
      reversed.forEach((posting, index) => expect(posting.amount).toBe(-postings[index]!.amount));
    }));
  });
});
