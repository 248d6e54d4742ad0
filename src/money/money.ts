/**
 * Exact money. Pure: no I/O, no dependencies.
 *
 * Roubles are counted in kopecks and bitcoin in satoshis, always as `bigint`; a JS `number` never
 * carries an amount. Prices are integers (kopecks per whole BTC) and ratios are basis points or
 * exact fractions, so every conversion is one integer division with a named rounding mode.
 *
 * Written by hand rather than with a decimal library: what we need is a strict parser for the API's
 * decimal strings (refusing what a general-purpose decimal parser accepts, like "1e3" or "-0") and
 * integer division with explicit rounding, both a few lines over native `bigint`.
 */

declare const kopecksBrand: unique symbol;
declare const satsBrand: unique symbol;
declare const priceBrand: unique symbol;
declare const bpsBrand: unique symbol;

/** Roubles in kopecks (1 RUB = 100 kopecks). */
export type Kopecks = bigint & { readonly [kopecksBrand]: true };
/** Bitcoin in satoshis (1 BTC = 100,000,000 sats). */
export type Sats = bigint & { readonly [satsBrand]: true };
/** BTC/RUB price: kopecks for one whole bitcoin. Always positive. */
export type PriceKopecksPerBtc = bigint & { readonly [priceBrand]: true };
/** A ratio in basis points: 10,000 bps = 100%. */
export type Bps = bigint & { readonly [bpsBrand]: true };

export type Currency = 'RUB' | 'BTC';

export const SATS_PER_BTC = 100_000_000n;
export const KOPECKS_PER_RUB = 100n;
export const BPS_PER_UNIT = 10_000n;

/**
 * The largest amount the system accepts in one figure, per currency. RUB: 10 trillion roubles
 * (10^15 kopecks), far beyond any loan book, yet sums of thousands of such figures still fit a
 * PostgreSQL bigint. BTC: the 21 million coin supply cap. The ledger's CHECK constraints use the
 * same limits.
 */
export const CURRENCY_SPEC = {
  RUB: { decimals: 2, minorUnitsMax: 1_000_000_000_000_000n, minorUnitName: 'kopecks' },
  BTC: { decimals: 8, minorUnitsMax: 2_100_000_000_000_000n, minorUnitName: 'satoshis' },
} as const satisfies Record<Currency, { decimals: number; minorUnitsMax: bigint; minorUnitName: string }>;

export function isCurrency(value: unknown): value is Currency {
  return value === 'RUB' || value === 'BTC';
}

// ---------------------------------------------------------------------------------------------
// Parsing and formatting decimal strings.

export type AmountErrorCode =
  | 'amount_not_a_string'
  | 'amount_format'
  | 'amount_precision'
  | 'amount_sign'
  | 'amount_range';

export interface AmountError {
  readonly code: AmountErrorCode;
  readonly message: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: AmountError };

/** Which signs an amount may take where it is parsed. */
export type SignRule = 'positive' | 'non_negative' | 'any';

/** Longest text we even look at: a 40-digit number is refused as out of range before parsing. */
const AMOUNT_TEXT_LENGTH_MAX = 32;
const DECIMAL_PATTERN = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

function fail<T>(code: AmountErrorCode, message: string): Parsed<T> {
  return { ok: false, error: { code, message } };
}

/**
 * Parses a plain decimal string ("1500000.00", "0.5", "-12") into minor units of `currency`.
 * Refused: anything not a string (JSON numbers included), exponents, signs other than a leading
 * "-", leading zeros, "-0", a bare or trailing ".", thousands separators, more decimals than the currency has, values
 * beyond the currency's limit, and signs the `sign` rule does not allow.
 */
export function parseMinorUnits(text: unknown, currency: Currency, sign: SignRule): Parsed<bigint> {
  const spec = CURRENCY_SPEC[currency];
  if (typeof text !== 'string') {
    return fail('amount_not_a_string', `a ${currency} amount must be a decimal string such as "${example(currency)}", not a JSON ${typeof text}`);
  }
  if (text.length > AMOUNT_TEXT_LENGTH_MAX) {
    return fail('amount_range', `a ${currency} amount may not be longer than ${AMOUNT_TEXT_LENGTH_MAX} characters`);
  }
  const match = DECIMAL_PATTERN.exec(text);
  if (match === null) {
    return fail('amount_format', `"${text}" is not a plain decimal amount such as "${example(currency)}" (no exponent, spaces, "+" or leading zeros)`);
  }
  const [, minus = '', whole = '', fraction = ''] = match;
  if (fraction.length > spec.decimals) {
    return fail('amount_precision', `${currency} amounts have at most ${spec.decimals} decimals; "${text}" has ${fraction.length}`);
  }
  const magnitude = BigInt(whole) * 10n ** BigInt(spec.decimals) + BigInt(fraction.padEnd(spec.decimals, '0') || '0');
  if (minus === '-' && magnitude === 0n) {
    return fail('amount_format', `"${text}" is a negative zero; write "0"`);
  }
  if (magnitude > spec.minorUnitsMax) {
    return fail('amount_range', `${currency} amounts may not exceed ${formatMinorUnits(spec.minorUnitsMax, currency)}`);
  }
  const value = minus === '-' ? -magnitude : magnitude;
  if (sign === 'positive' && value <= 0n) {
    return fail('amount_sign', `the ${currency} amount must be greater than zero; got "${text}"`);
  }
  if (sign === 'non_negative' && value < 0n) {
    return fail('amount_sign', `the ${currency} amount may not be negative; got "${text}"`);
  }
  return { ok: true, value };
}

function example(currency: Currency): string {
  return currency === 'RUB' ? '1500000.00' : '0.50000000';
}

/** Formats minor units as a decimal string with all of the currency's decimals ("1500000.00"). */
export function formatMinorUnits(amount: bigint, currency: Currency): string {
  const decimals = CURRENCY_SPEC[currency].decimals;
  const magnitude = amount < 0n ? -amount : amount;
  const digits = magnitude.toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals);
  return `${amount < 0n ? '-' : ''}${whole}.${fraction}`;
}

export function parseKopecks(text: unknown, sign: SignRule = 'positive'): Parsed<Kopecks> {
  return parseMinorUnits(text, 'RUB', sign) as Parsed<Kopecks>;
}

export function parseSats(text: unknown, sign: SignRule = 'positive'): Parsed<Sats> {
  return parseMinorUnits(text, 'BTC', sign) as Parsed<Sats>;
}

export function formatKopecks(amount: Kopecks | bigint): string {
  return formatMinorUnits(amount, 'RUB');
}

export function formatSats(amount: Sats | bigint): string {
  return formatMinorUnits(amount, 'BTC');
}

/** A BTC/RUB price given as roubles per bitcoin, e.g. "8543210.55". */
export function parsePrice(text: unknown): Parsed<PriceKopecksPerBtc> {
  return parseMinorUnits(text, 'RUB', 'positive') as Parsed<PriceKopecksPerBtc>;
}

export function formatPrice(price: PriceKopecksPerBtc): string {
  return formatMinorUnits(price, 'RUB');
}

// ---------------------------------------------------------------------------------------------
// Constructors for values that are already integers (from the database, from arithmetic).
// An out-of-range value here is a programmer error, so they throw.

function assertWithin(value: bigint, currency: Currency, allowNegative: boolean): void {
  const max = CURRENCY_SPEC[currency].minorUnitsMax;
  if (value > max || value < (allowNegative ? -max : 0n)) {
    throw new RangeError(`${value} ${CURRENCY_SPEC[currency].minorUnitName} is outside the accepted range`);
  }
}

export function kopecks(value: bigint, options: { allowNegative?: boolean } = {}): Kopecks {
  assertWithin(value, 'RUB', options.allowNegative ?? false);
  return value as Kopecks;
}

export function sats(value: bigint, options: { allowNegative?: boolean } = {}): Sats {
  assertWithin(value, 'BTC', options.allowNegative ?? false);
  return value as Sats;
}

export function priceKopecksPerBtc(value: bigint): PriceKopecksPerBtc {
  if (value <= 0n) throw new RangeError(`a price must be positive; got ${value}`);
  assertWithin(value, 'RUB', false);
  return value as PriceKopecksPerBtc;
}

export function bps(value: bigint): Bps {
  return value as Bps;
}

// ---------------------------------------------------------------------------------------------
// Exact division and conversions.

/**
 * How a quotient that is not whole becomes an integer:
 * - `floor` / `ceil`: towards minus / plus infinity (use the one that favours the bank's safety:
 *   collateral value rounds down, collateral required rounds up);
 * - `half_even`: to the nearest, ties to the even neighbour (banker's rounding, no drift over sums);
 * - `half_up`: to the nearest, ties away from zero (the usual rounding of published figures);
 * - `trunc`: towards zero.
 */
export type Rounding = 'floor' | 'ceil' | 'half_even' | 'half_up' | 'trunc';

export const ROUNDINGS: readonly Rounding[] = ['floor', 'ceil', 'half_even', 'half_up', 'trunc'];

/** `numerator / denominator` rounded as asked. Exact for any bigints; denominator must not be 0. */
export function divide(numerator: bigint, denominator: bigint, rounding: Rounding): bigint {
  if (denominator === 0n) throw new RangeError('division by zero');
  if (denominator < 0n) return divide(-numerator, -denominator, rounding);
  const quotient = numerator / denominator; // truncates towards zero
  const remainder = numerator - quotient * denominator; // same sign as numerator
  if (remainder === 0n) return quotient;
  const negative = numerator < 0n;
  switch (rounding) {
    case 'trunc':
      return quotient;
    case 'floor':
      return negative ? quotient - 1n : quotient;
    case 'ceil':
      return negative ? quotient : quotient + 1n;
    case 'half_up':
    case 'half_even': {
      const twice = (negative ? -remainder : remainder) * 2n;
      const awayFromZero = negative ? quotient - 1n : quotient + 1n;
      if (twice > denominator) return awayFromZero;
      if (twice < denominator) return quotient;
      if (rounding === 'half_up') return awayFromZero;
      return quotient % 2n === 0n ? quotient : awayFromZero;
    }
  }
}

/** The rouble value of `amount` satoshis at `price`. */
export function satsToKopecks(amount: Sats, price: PriceKopecksPerBtc, rounding: Rounding): Kopecks {
  return divide(amount * price, SATS_PER_BTC, rounding) as Kopecks;
}

/** How many satoshis `amount` kopecks buy at `price`. */
export function kopecksToSats(amount: Kopecks, price: PriceKopecksPerBtc, rounding: Rounding): Sats {
  return divide(amount * SATS_PER_BTC, price, rounding) as Sats;
}

/** `numerator / denominator` as basis points, e.g. an LTV: debt / collateral value. */
export function ratioBps(numerator: bigint, denominator: bigint, rounding: Rounding): Bps {
  return divide(numerator * BPS_PER_UNIT, denominator, rounding) as Bps;
}

/** `amount x ratio`, e.g. a haircut or a fee: 1,000.00 RUB x 150 bps = 15.00 RUB. */
export function applyBps(amount: bigint, ratio: Bps, rounding: Rounding): bigint {
  return divide(amount * ratio, BPS_PER_UNIT, rounding);
}

// ---------------------------------------------------------------------------------------------
// Exact fractions, for rates that basis points cannot carry (e.g. a key rate of 16.25% + 7.125%).

/** numerator / denominator in lowest terms, denominator > 0. */
export interface Fraction {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

export function fraction(numerator: bigint, denominator: bigint): Fraction {
  if (denominator === 0n) throw new RangeError('a fraction needs a non-zero denominator');
  const sign = denominator < 0n ? -1n : 1n;
  const divisor = gcd(numerator, denominator) || 1n;
  return { numerator: (sign * numerator) / divisor, denominator: (sign * denominator) / divisor };
}

/** `amount x f`, rounded. */
export function applyFraction(amount: bigint, f: Fraction, rounding: Rounding): bigint {
  return divide(amount * f.numerator, f.denominator, rounding);
}

/**
 * Parses a non-negative percentage written as a decimal ("23.5", "16.25") into an exact fraction
 * of one (23.5% -> 47/200). At most `decimalsMax` decimals and at most 1000%.
 */
export function parsePercent(text: unknown, decimalsMax = 4): Parsed<Fraction> {
  if (typeof text !== 'string') return fail('amount_not_a_string', 'a percentage must be a decimal string such as "23.5"');
  const match = /^(0|[1-9][0-9]{0,3})(?:\.([0-9]+))?$/.exec(text);
  if (match === null) return fail('amount_format', `"${text}" is not a percentage such as "23.5" (no sign, exponent or "%")`);
  const [, whole = '', decimals = ''] = match;
  if (decimals.length > decimalsMax) return fail('amount_precision', `a percentage has at most ${decimalsMax} decimals; "${text}" has ${decimals.length}`);
  const scale = 10n ** BigInt(decimals.length);
  const hundredths = BigInt(whole) * scale + BigInt(decimals || '0');
  if (hundredths > 1000n * scale) return fail('amount_range', `a percentage may not exceed 1000; got "${text}"`);
  return { ok: true, value: fraction(hundredths, 100n * scale) };
}

/**
 * Parses a positive decimal quote such as "43567.12000000" (an exchange's price) into an exact
 * fraction. Up to 12 decimals and 15 integer digits; no sign, exponent or separators.
 */
export function parseDecimalQuote(text: unknown): Parsed<Fraction> {
  if (typeof text !== 'string') return fail('amount_not_a_string', 'a quote must be a decimal string');
  const match = /^(0|[1-9][0-9]{0,14})(?:\.([0-9]{1,12}))?$/.exec(text);
  if (match === null) return fail('amount_format', `"${text.slice(0, 40)}" is not a plain positive decimal`);
  const [, whole = '', decimals = ''] = match;
  const scale = 10n ** BigInt(decimals.length);
  const numerator = BigInt(whole) * scale + BigInt(decimals || '0');
  if (numerator === 0n) return fail('amount_sign', 'a quote must be greater than zero');
  return { ok: true, value: fraction(numerator, scale) };
}

/** A fraction as a decimal string with `decimals` places, rounded half-even (for display and logs). */
export function formatFraction(value: Fraction, decimals: number): string {
  const scaled = divide(value.numerator * 10n ** BigInt(decimals), value.denominator, 'half_even');
  const negative = scaled < 0n;
  const digits = (negative ? -scaled : scaled).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  return `${negative ? '-' : ''}${whole}${decimals > 0 ? `.${digits.slice(digits.length - decimals)}` : ''}`;
}
