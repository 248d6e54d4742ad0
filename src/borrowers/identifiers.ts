/**
 * Russian identifiers and their check digits, pure. Each validator returns undefined when the
 * value is valid, or a sentence saying what is wrong.
 *
 * - INN (taxpayer number): 10 digits for organisations (one control digit), 12 for individuals and
 *   individual entrepreneurs (two). Weighted sums mod 11, then mod 10.
 * - OGRN (13 digits, organisations): the 13th digit is (the first 12 as a number mod 11) mod 10.
 * - OGRNIP (15 digits, individual entrepreneurs): the 15th is (the first 14 mod 13) mod 10.
 * - KPP (9 characters): 4 digits of the tax office, 2 of the reason (digits or capital letters
 *   A-Z), 3 digits.
 * - BIK (9 digits) and a 20-digit account: the account's key is checked over 23 digits, the bank
 *   part then the account, weights 7, 1, 3 repeated, sum mod 10 = 0. The bank part is the BIK's
 *   last 3 digits for an account at a credit institution, or "0" and the BIK's 5th and 6th digits
 *   for an account at a Bank of Russia settlement centre (correspondent accounts, 30101..., which
 *   also end in the bank's last three BIK digits).
 */

function digitsOf(text: string): number[] {
  return [...text].map(Number);
}

function weighted(digits: readonly number[], weights: readonly number[]): number {
  return weights.reduce((sum, weight, index) => sum + weight * digits[index]!, 0);
}

const INN10_WEIGHTS = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_WEIGHTS_1 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_WEIGHTS_2 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

export function innProblem(value: unknown, kind: 'organisation' | 'person' | 'any' = 'any'): string | undefined {
  if (typeof value !== 'string' || !/^\d{10}(\d{2})?$/.test(value)) return 'an INN is 10 digits (organisation) or 12 digits (individual or entrepreneur)';
  if (kind === 'organisation' && value.length !== 10) return 'an organisation\'s INN has 10 digits';
  if (kind === 'person' && value.length !== 12) return 'an individual\'s or entrepreneur\'s INN has 12 digits';
  const d = digitsOf(value);
  if (value.length === 10) {
    return (weighted(d, INN10_WEIGHTS) % 11) % 10 === d[9] ? undefined : 'the INN\'s control digit is wrong';
  }
  const first = (weighted(d, INN12_WEIGHTS_1) % 11) % 10;
  const second = (weighted(d, INN12_WEIGHTS_2) % 11) % 10;
  return first === d[10] && second === d[11] ? undefined : 'the INN\'s control digits are wrong';
}

export function ogrnProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^[125]\d{12}$/.test(value)) return 'an OGRN is 13 digits starting with 1 or 5';
  return Number(BigInt(value.slice(0, 12)) % 11n) % 10 === Number(value[12]) ? undefined : 'the OGRN\'s control digit is wrong';
}

export function ogrnipProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^3\d{14}$/.test(value)) return 'an OGRNIP is 15 digits starting with 3';
  return Number(BigInt(value.slice(0, 14)) % 13n) % 10 === Number(value[14]) ? undefined : 'the OGRNIP\'s control digit is wrong';
}

export function kppProblem(value: unknown): string | undefined {
  return typeof value === 'string' && /^\d{4}[\dA-Z]{2}\d{3}$/.test(value) ? undefined : 'a KPP is 9 characters: 4 digits, 2 digits or capital letters, 3 digits';
}

export function bikProblem(value: unknown): string | undefined {
  return typeof value === 'string' && /^04\d{7}$/.test(value) ? undefined : 'a BIK is 9 digits starting with 04';
}

const ACCOUNT_WEIGHTS = Array.from({ length: 23 }, (_, i) => [7, 1, 3][i % 3]!);

/** Checks a 20-digit account against its bank's BIK (the control key, digit 9 of the account). */
export function accountProblem(bik: unknown, account: unknown): string | undefined {
  const bikIssue = bikProblem(bik);
  if (bikIssue !== undefined) return bikIssue;
  if (typeof account !== 'string' || !/^\d{20}$/.test(account)) return 'a bank account number is 20 digits';
  const b = bik as string;
  // Correspondent accounts are kept at a Bank of Russia settlement centre, whose digits all the
  // banks it serves share; such an account also ends in its bank's last three BIK digits.
  const correspondent = account.startsWith('30101');
  if (correspondent && account.slice(17) !== b.slice(6)) return 'a correspondent account ends in the last three digits of its bank\'s BIK';
  const bankPart = correspondent ? `0${b.slice(4, 6)}` : b.slice(6, 9);
  const sum = weighted(digitsOf(bankPart + account), ACCOUNT_WEIGHTS);
  return sum % 10 === 0 ? undefined : 'the account number does not match the BIK (control key)';
}

/** A settlement account at `bik` from its 19 other digits: the control key (digit 9) that makes it valid. */
export function withAccountKey(bik: string, body19: string): string {
  for (let key = 0; key <= 9; key += 1) {
    const account = `${body19.slice(0, 8)}${key}${body19.slice(8)}`;
    if (accountProblem(bik, account) === undefined) return account;
  }
  throw new RangeError(`no control key makes ${body19} an account at ${bik}`);
}

/** The federal subject (region) code the first two digits of an INN carry. */
export function innRegion(inn: string): string {
  return inn.slice(0, 2);
}
