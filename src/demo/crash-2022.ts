import { fraction, parseDecimalQuote, type Fraction } from '../money/money.js';

/**
 * The demo bank's market: June 2022, when Bitcoin fell from about 31,000 to under 18,000 USD in
 * twelve days (the Terra/Luna collapse, then Celsius freezing withdrawals on 12 June and Three
 * Arrows Capital's default). A few dozen published daily figures, embedded so the demo runs
 * offline:
 *
 * - BTC/USD: Bitstamp's daily bars (UTC days: open, high, low, close), as published in
 *   CryptoDataDownload's Bitstamp BTCUSD daily export.
 * - USD/RUB: the Bank of Russia's official rate, by the date it takes effect (cbr.ru, "Официальные
 *   курсы валют"); a day without a new rate keeps the last one.
 * - Network: the difficulty of the epoch that began on 9 June 2022 (30,283,293,547,737) and the
 *   block height then (about 739,872), from the public chain.
 *
 * Between the published figures the price follows a stated path (see `usdAt`), not a made-up
 * market: each day runs from its open to its first extreme at 06:00 UTC, to its second extreme
 * at 16:00, and to its close at 24:00 (the next day's open), straight lines between. A day that
 * closed lower than it opened reaches its high first, then its low; a day that closed higher, the
 * reverse. So every published open, high, low and close is hit exactly, in a plausible order.
 */

export const CRASH_SOURCE = 'Bitstamp BTC/USD daily bars (CryptoDataDownload export); Bank of Russia official USD/RUB rates';

/** [UTC day, open, high, low, close] in USD. */
export const BTC_USD_DAILY: ReadonlyArray<readonly [string, string, string, string, string]> = [
  ['2022-06-05', '29834.06', '30153.18', '29514.96', '29888.98'],
  ['2022-06-06', '29905.46', '31737.31', '29868.16', '31351.21'],
  ['2022-06-07', '31351.10', '31536.11', '29184.25', '31115.82'],
  ['2022-06-08', '31108.30', '31310.53', '29831.85', '30185.58'],
  ['2022-06-09', '30190.31', '30672.56', '29920.56', '30089.03'],
  ['2022-06-10', '30068.53', '30333.81', '28832.83', '29065.66'],
  ['2022-06-11', '29065.66', '29403.62', '28085.75', '28390.94'],
  ['2022-06-12', '28397.38', '28523.06', '26500.00', '26585.10'],
  ['2022-06-13', '26538.63', '26845.63', '21910.26', '22450.43'],
  ['2022-06-14', '22407.53', '23288.88', '20816.35', '22097.30'],
  ['2022-06-15', '22077.83', '22756.00', '20079.72', '22555.27'],
  ['2022-06-16', '22563.82', '22957.01', '20200.00', '20382.88'],
  ['2022-06-17', '20387.66', '21325.06', '20220.16', '20440.70'],
  ['2022-06-18', '20428.19', '20758.00', '17592.78', '18956.80'],
  ['2022-06-19', '18952.14', '20783.48', '17930.70', '20552.82'],
  ['2022-06-20', '20557.20', '21036.89', '19616.10', '20555.44'],
  ['2022-06-21', '20555.44', '21708.76', '20332.07', '20712.29'],
  ['2022-06-22', '20710.01', '20863.44', '19743.99', '19963.68'],
  ['2022-06-23', '19977.24', '21204.14', '19869.63', '21093.42'],
  ['2022-06-24', '21102.75', '21538.40', '20713.77', '21215.42'],
  ['2022-06-25', '21229.66', '21586.67', '20890.00', '21486.80'],
  ['2022-06-26', '21486.67', '21868.00', '20968.85', '21028.69'],
  ['2022-06-27', '21029.19', '21516.85', '20491.28', '20699.72'],
  ['2022-06-28', '20722.27', '21178.73', '20176.00', '20261.34'],
  ['2022-06-29', '20253.88', '20398.99', '19827.00', '20093.18'],
  ['2022-06-30', '20098.00', '20131.06', '18595.60', '19924.89'],
];

/** [effective date, RUB per USD]: the Bank of Russia's official rate. */
export const USD_RUB_CBR: ReadonlyArray<readonly [string, string]> = [
  ['2022-06-04', '61.9659'], ['2022-06-07', '61.1094'], ['2022-06-08', '60.9565'], ['2022-06-09', '60.2282'],
  ['2022-06-10', '58.3895'], ['2022-06-11', '57.7780'], ['2022-06-15', '57.0926'], ['2022-06-16', '56.6624'],
  ['2022-06-17', '56.8691'], ['2022-06-18', '56.7101'], ['2022-06-21', '56.1727'], ['2022-06-22', '54.7081'],
  ['2022-06-23', '53.2788'], ['2022-06-24', '53.3578'], ['2022-06-25', '53.3234'], ['2022-06-28', '53.3641'],
  ['2022-06-29', '52.9699'], ['2022-06-30', '51.1580'],
];

export const NETWORK_JUNE_2022 = { height: 739_872n, difficulty: 30_283_293_547_737n, observedAt: new Date('2022-06-09T00:00:00Z') } as const;

/** The first and last instants the embedded bars cover. */
export const CRASH_FIRST = new Date(`${BTC_USD_DAILY[0]![0]}T00:00:00Z`);
export const CRASH_LAST = new Date(Date.parse(`${BTC_USD_DAILY[BTC_USD_DAILY.length - 1]![0]}T00:00:00Z`) + 86_400_000);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function parse(text: string): Fraction {
  const parsed = parseDecimalQuote(text);
  if (!parsed.ok) throw new Error(`bad figure ${text}`);
  return parsed.value;
}

/** a + (b - a) x num / den, exactly. */
function lerp(a: Fraction, b: Fraction, num: bigint, den: bigint): Fraction {
  // a = p/q, b = r/s: a + (b - a) t = (p s den + (r q - p s) num) / (q s den)
  const numerator = a.numerator * b.denominator * den + (b.numerator * a.denominator - a.numerator * b.denominator) * num;
  return fraction(numerator, a.denominator * b.denominator * den);
}

/**
 * BTC/USD at an instant on the stated path, exact (a fraction), or undefined outside the bars.
 * Whole milliseconds: the path is linear between its points, so the price at any instant is a
 * ratio of integers.
 */
export function usdAt(at: Date): Fraction | undefined {
  const t = at.getTime();
  if (t < CRASH_FIRST.getTime() || t >= CRASH_LAST.getTime()) return undefined;
  const index = Math.floor((t - CRASH_FIRST.getTime()) / DAY);
  const [, open, high, low, close] = BTC_USD_DAILY[index]!;
  const o = parse(open); const h = parse(high); const l = parse(low); const c = parse(close);
  const falling = c.numerator * o.denominator < o.numerator * c.denominator;
  const [first, second] = falling ? [h, l] : [l, h];
  const into = BigInt(t - (CRASH_FIRST.getTime() + index * DAY));
  const points: Array<[bigint, Fraction]> = [[0n, o], [6n * BigInt(HOUR), first], [16n * BigInt(HOUR), second], [BigInt(DAY), c]];
  for (let i = 0; i < points.length - 1; i += 1) {
    const [t0, p0] = points[i]!;
    const [t1, p1] = points[i + 1]!;
    if (into >= t0 && into <= t1) return lerp(p0, p1, into - t0, t1 - t0);
  }
  return c;
}

/** The Bank of Russia's USD/RUB rate in force on a Moscow day (the last set on or before it). */
export function usdRubOn(day: string): { effectiveDate: string; rubPerUnit: Fraction } | undefined {
  let found: readonly [string, string] | undefined;
  for (const row of USD_RUB_CBR) if (row[0] <= day) found = row;
  return found === undefined ? undefined : { effectiveDate: found[0], rubPerUnit: parse(found[1]) };
}
