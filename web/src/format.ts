/**
 * How people read money, numbers and times, in Russian first: `1 234 567,89 ₽`, `0,50000000 BTC`,
 * `27.11.2026, 14:05 МСК`. The server sends money as exact decimal strings and does every sum;
 * these functions only re-punctuate the string (group the digits, swap the decimal point), so no
 * amount ever passes through a JS number on its way to the screen.
 */

export type Locale = 'ru' | 'en';

const GROUP: Record<Locale, string> = { ru: '\u00a0', en: ',' };
const POINT: Record<Locale, string> = { ru: ',', en: '.' };

/** A decimal string ("-1234567.8") with its digits grouped and the locale's decimal sign; `decimals` pads or keeps. */
export function formatDecimal(text: string, locale: Locale, decimals?: number): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (match === null) return text;
  const [, sign, whole, fraction = ''] = match;
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, GROUP[locale]);
  const frac = decimals === undefined ? fraction : fraction.padEnd(decimals, '0');
  return `${sign === '-' ? '−' : ''}${grouped}${frac === '' ? '' : `${POINT[locale]}${frac}`}`;
}

/** Roubles: two decimals and the sign ₽ after a no-break space. */
export function formatRub(text: string | null | undefined, locale: Locale): string {
  if (text === null || text === undefined) return '—';
  return `${formatDecimal(text, locale, 2)}\u00a0₽`;
}

/** Bitcoin: always eight decimals, so a reader can compare amounts digit by digit. */
export function formatBtc(text: string | null | undefined, locale: Locale): string {
  if (text === null || text === undefined) return '—';
  return `${formatDecimal(text, locale, 8)}\u00a0BTC`;
}

/** A percentage as the server computed it ("62.5" → "62,5 %"). */
export function formatPercent(text: string | null | undefined, locale: Locale): string {
  if (text === null || text === undefined) return '—';
  return `${formatDecimal(text, locale)}\u00a0%`;
}

const MOSCOW = 'Europe/Moscow';

// Making an Intl.DateTimeFormat costs about a millisecond (it loads the zone and the locale's
// patterns); one per locale, made once, instead of one per time on the page.
const moscowFormats = new Map<Locale, Intl.DateTimeFormat>();
function moscowFormat(locale: Locale): Intl.DateTimeFormat {
  let format = moscowFormats.get(locale);
  if (format === undefined) {
    format = new Intl.DateTimeFormat(locale === 'ru' ? 'ru-RU' : 'en-GB', { timeZone: MOSCOW, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
    moscowFormats.set(locale, format);
  }
  return format;
}

/** An instant (stored in UTC) in Moscow time, with the zone named. */
export function formatMoscowTime(iso: string | null | undefined, locale: Locale): string {
  if (iso === null || iso === undefined) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const text = moscowFormat(locale).format(date);
  return `${text}\u00a0${locale === 'ru' ? 'МСК' : 'MSK'}`;
}

/** A calendar day (YYYY-MM-DD, a business date: no time zone) as 27.11.2026 or 27 Nov 2026. */
export function formatDay(day: string | null | undefined, locale: Locale): string {
  if (day === null || day === undefined) return '—';
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (match === null) return day;
  if (locale === 'ru') return `${match[3]}.${match[2]}.${match[1]}`;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${Number(match[3])} ${months[Number(match[2]) - 1]} ${match[1]}`;
}

/** A duration in whole seconds as hours and minutes ("47 ч 05 мин"): a call's countdown. */
export function formatDuration(seconds: number, locale: Locale): string {
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const mm = String(minutes).padStart(2, '0');
  return locale === 'ru' ? `${hours}\u00a0ч ${mm}\u00a0мин` : `${hours}\u00a0h ${mm}\u00a0min`;
}

/** Basis points as a decimal percentage string for formatPercent: 150 -> "1.50". */
export function bpsToPercent(bps: number): string {
  return `${Math.trunc(bps / 100)}.${String(bps % 100).padStart(2, '0')}`;
}
