import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { accountProblem, bikProblem, innProblem, kppProblem, ogrnipProblem, ogrnProblem } from './identifiers.js';

/** Published identifiers of real organisations and banks, and their one-digit corruptions. */

describe('INN', () => {
  it.each(['7707083893', '7736207543', '7830002293'])('accepts the published organisation INN %s', (inn) => {
    expect(innProblem(inn, 'organisation')).toBeUndefined();
  });
  it('accepts a published 12-digit INN', () => {
    expect(innProblem('500100732259', 'person')).toBeUndefined();
  });
  it.each([
    ['7707083894', /control digit/],
    ['500100732258', /control digits/],
    ['500100732249', /control digits/],
    ['770708389', /10 digits/],
    ['77070838931', /10 digits/],
    ['77070838 3', /10 digits/],
  ])('refuses %s', (inn, problem) => {
    expect(innProblem(inn)).toMatch(problem);
  });
  it('refuses a 10-digit INN where a person\'s is needed, and the other way round', () => {
    expect(innProblem('7707083893', 'person')).toMatch(/12 digits/);
    expect(innProblem('500100732259', 'organisation')).toMatch(/10 digits/);
  });
});

describe('OGRN and OGRNIP', () => {
  it.each(['1027700132195', '1027700229193'])('accepts the published OGRN %s', (ogrn) => {
    expect(ogrnProblem(ogrn)).toBeUndefined();
  });
  it('accepts a published OGRNIP', () => {
    expect(ogrnipProblem('304500116000157')).toBeUndefined();
  });
  it.each([['1027700132196', /control digit/], ['7027700132195', /starting with 1 or 5/], ['102770013219', /13 digits/]])('refuses OGRN %s', (ogrn, problem) => {
    expect(ogrnProblem(ogrn)).toMatch(problem);
  });
  it.each([['304500116000158', /control digit/], ['104500116000157', /starting with 3/]])('refuses OGRNIP %s', (ogrnip, problem) => {
    expect(ogrnipProblem(ogrnip)).toMatch(problem);
  });
});

describe('KPP and BIK', () => {
  it('accepts published KPPs, including letters in the reason code', () => {
    expect(kppProblem('773601001')).toBeUndefined();
    expect(kppProblem('7736AB001')).toBeUndefined();
    expect(kppProblem('77360100')).toMatch(/9 characters/);
    expect(kppProblem('7736ab001')).toMatch(/9 characters/);
  });
  it('knows a BIK', () => {
    expect(bikProblem('044525225')).toBeUndefined();
    expect(bikProblem('144525225')).toMatch(/starting with 04/);
  });
});

describe('bank accounts against the BIK', () => {
  it.each([
    ['044525225', '30101810400000000225'], // Sberbank
    ['044525974', '30101810145250000974'], // T-Bank
    ['044525593', '30101810200000000593'], // Alfa-Bank
    ['044525187', '30101810700000000187'], // VTB
  ])('accepts the published correspondent account of BIK %s', (bik, account) => {
    expect(accountProblem(bik, account)).toBeUndefined();
  });
  it('refuses an account under another bank\'s BIK, and a corrupted one', () => {
    expect(accountProblem('044525974', '30101810400000000225')).toMatch(/last three digits/);
    expect(accountProblem('044525225', '30101810400000001225')).toMatch(/does not match/);
    expect(accountProblem('044525225', '3010181040000000022')).toMatch(/20 digits/);
  });
  it('exactly one key digit makes any account valid, and any one-digit change breaks it (property)', () => {
    fc.assert(fc.property(fc.stringMatching(/^4070[0-9]{16}$/), fc.integer({ min: 0, max: 19 }), fc.integer({ min: 1, max: 9 }), (account, position, delta) => {
      const withKey = (key: number) => `${account.slice(0, 8)}${key}${account.slice(9)}`;
      const valid = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter((key) => accountProblem('044525225', withKey(key)) === undefined);
      expect(valid).toHaveLength(1);
      const good = withKey(valid[0]!);
      const digits = [...good].map(Number);
      digits[position] = (digits[position]! + delta) % 10;
      expect(accountProblem('044525225', digits.join(''))).toBeDefined();
    }));
  });
});
