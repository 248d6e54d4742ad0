import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import { LOCKOUT, lockSeconds, rolesProblem } from './roles.js';

describe('passwords', () => {
  it('hash with scrypt and a fresh salt, and verify only the right password', async () => {
    const first = await hashPassword('a long enough password');
    const second = await hashPassword('a long enough password');
    expect(first).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(first).not.toBe(second);
    expect(await verifyPassword('a long enough password', first)).toBe(true);
    expect(await verifyPassword('a long enough passworD', first)).toBe(false);
    expect(await verifyPassword('a long enough password', undefined)).toBe(false);
    expect(await verifyPassword('a long enough password', '!')).toBe(false);
  });

  it('refuse short and overlong passwords', () => {
    expect(passwordProblem('short')).toMatch(/at least 12/);
    expect(passwordProblem('x'.repeat(257))).toMatch(/at most 256/);
    expect(passwordProblem(12345678901234)).toMatch(/string/);
    expect(passwordProblem('twelve chars')).toBeUndefined();
  });
});

describe('role sets', () => {
  it.each<[string[], string | null, RegExp | undefined]>([
    [['credit_officer', 'risk_officer'], null, undefined],
    [['borrower'], 'B-1', undefined],
    [['borrower'], null, /bound to a borrower/],
    [['borrower', 'auditor'], 'B-1', /no other role/],
    [['credit_officer'], 'B-1', /only a borrower/],
    [['system'], null, /unassignable/],
    [['wizard'], null, /unknown/],
    [[], null, /at least one/],
    [['admin', 'admin'], null, /twice/],
  ])('%j with borrower %s', (roles, borrowerId, problem) => {
    const found = rolesProblem(roles, borrowerId);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

describe('lock-out back-off', () => {
  it('is free for 4 failures, then 1, 2, 4 ... minutes, at most an hour', () => {
    expect([1, 2, 3, 4].map(lockSeconds)).toEqual([0, 0, 0, 0]);
    expect([5, 6, 7, 8].map(lockSeconds)).toEqual([60, 120, 240, 480]);
    expect(lockSeconds(50)).toBe(LOCKOUT.maxLockSeconds);
  });

  it('never shortens as failures grow (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000 }), (n) => {
      expect(lockSeconds(n + 1)).toBeGreaterThanOrEqual(lockSeconds(n));
      expect(lockSeconds(n)).toBeLessThanOrEqual(LOCKOUT.maxLockSeconds);
    }));
  });
});
