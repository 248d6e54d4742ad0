import { parse } from 'csv-parse/sync';
import { address as btcAddress } from 'bitcoinjs-lib';

/**
 * Sanctions and AML lists, pure: parsing the files the bank imports and reducing names, INNs and
 * bitcoin addresses to the forms they are compared in. Screening itself is an exact comparison of
 * these forms in SQL (src/compliance/screening.ts), so a list of any size screens the whole book
 * in one statement.
 *
 * Two formats:
 * - `zalog_csv`: the bank's own list (for instance compiled from the Rosfinmonitoring list of
 *   terrorists and extremists, or an internal stop list), a header row `kind,value,name,program`
 *   with kind `name`, `inn` or `btc_address`;
 * - `ofac_sdn_csv`: the US Treasury's SDN list as published (sdn.csv: no header, twelve columns,
 *   "-0-" for empty), the name in column 2, the program in column 4, and bitcoin addresses in the
 *   remarks as "Digital Currency Address - XBT <address>".
 *
 * Names are matched after normalisation (case, ё, punctuation, legal-form words, word order, and a
 * fixed transliteration of Cyrillic into Latin), so "Ivanov, Ivan" on a list meets "Иван Иванов"
 * in our records. This is an exact match of normalised forms, not fuzzy matching: a name spelt
 * differently in transliteration is missed, which is why INNs and addresses are screened too.
 */

export type ScreeningKind = 'name' | 'inn' | 'btc_address';
export type ListFormat = 'zalog_csv' | 'ofac_sdn_csv';
export const LIST_FORMATS: readonly ListFormat[] = ['zalog_csv', 'ofac_sdn_csv'];

export interface ListEntry {
  readonly kind: ScreeningKind;
  /** The normalised form screening compares. */
  readonly value: string;
  /** As the list gives it. */
  readonly display: string;
  readonly program: string;
}

export interface ParsedList {
  readonly entries: readonly ListEntry[];
  /** Lines or values skipped, with why (an unreadable address, an unknown kind). */
  readonly skipped: readonly string[];
}

// Transliteration of Russian letters into Latin, after the passport rules (Order 1/2017 of the
// Foreign Ministry, ICAO Doc 9303), so a name keyed in Cyrillic meets its foreign-list spelling.
const CYRILLIC: Record<string, string> = {
  А: 'A', Б: 'B', В: 'V', Г: 'G', Д: 'D', Е: 'E', Ё: 'E', Ж: 'ZH', З: 'Z', И: 'I', Й: 'I', К: 'K', Л: 'L', М: 'M', Н: 'N', О: 'O', П: 'P',
  Р: 'R', С: 'S', Т: 'T', У: 'U', Ф: 'F', Х: 'KH', Ц: 'TS', Ч: 'CH', Ш: 'SH', Щ: 'SHCH', Ъ: 'IE', Ы: 'Y', Ь: '', Э: 'E', Ю: 'IU', Я: 'IA',
};

/** Words naming a legal form, dropped before names are compared (after transliteration). */
const LEGAL_FORMS = new Set(['OOO', 'ZAO', 'OAO', 'PAO', 'AO', 'IP', 'LLC', 'LTD', 'LIMITED', 'INC', 'CORP', 'CORPORATION', 'JSC', 'PJSC', 'CJSC', 'OJSC', 'GMBH', 'SA', 'PLC', 'CO', 'COMPANY']);

export function normaliseName(name: string): string {
  const upper = name.normalize('NFKC').toUpperCase();
  let latin = '';
  for (const char of upper) latin += CYRILLIC[char] ?? char;
  const words = latin.split(/[^A-Z0-9]+/u).filter((word) => word.length > 0 && !LEGAL_FORMS.has(word));
  return words.sort().join(' ');
}

/** Digits of an INN (10 or 12), or undefined. */
export function normaliseInn(inn: string): string | undefined {
  const digits = inn.trim();
  return /^([0-9]{10}|[0-9]{12})$/.test(digits) ? digits : undefined;
}

/**
 * A mainnet bitcoin address in the form it is compared in (bech32 in lower case, base58 as is), or
 * undefined when its checksum or shape is wrong. Checked with bitcoinjs-lib's decoders.
 */
export function normaliseBtcAddress(text: string): string | undefined {
  const candidate = text.trim();
  if (candidate.length < 14 || candidate.length > 90) return undefined;
  try {
    if (/^bc1/i.test(candidate)) {
      const decoded = btcAddress.fromBech32(candidate);
      return decoded.prefix === 'bc' ? candidate.toLowerCase() : undefined;
    }
    const decoded = btcAddress.fromBase58Check(candidate);
    return decoded.version === 0x00 || decoded.version === 0x05 ? candidate : undefined;
  } catch {
    return undefined;
  }
}

export function normalise(kind: ScreeningKind, value: string): string | undefined {
  if (kind === 'name') {
    const name = normaliseName(value);
    return name.length > 0 ? name : undefined;
  }
  return kind === 'inn' ? normaliseInn(value) : normaliseBtcAddress(value);
}

function parseZalogCsv(text: string): ParsedList {
  const rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Array<Record<string, string | undefined>>;
  const entries: ListEntry[] = [];
  const skipped: string[] = [];
  rows.forEach((row, index) => {
    const line = index + 2;
    const kind = row['kind'];
    const value = row['value'] ?? '';
    if (kind !== 'name' && kind !== 'inn' && kind !== 'btc_address') {
      skipped.push(`line ${line}: kind "${kind ?? ''}" is not name, inn or btc_address`);
      return;
    }
    const normalised = normalise(kind, value);
    if (normalised === undefined) {
      skipped.push(`line ${line}: "${value}" is not a valid ${kind}`);
      return;
    }
    entries.push({ kind, value: normalised, display: (row['name'] ?? '').length > 0 ? `${row['name']} (${value})` : value, program: row['program'] ?? '' });
  });
  return { entries, skipped };
}

const OFAC_EMPTY = '-0-';

function parseOfacSdnCsv(text: string): ParsedList {
  const rows = parse(text, { skip_empty_lines: true, relax_column_count: true, trim: true, bom: true }) as string[][];
  const entries: ListEntry[] = [];
  const skipped: string[] = [];
  rows.forEach((row, index) => {
    if (row.length < 12) {
      // The file ends with a control character on a line of its own; anything else short is noted.
      if (row.join('').replace(/[\s\x1a]/g, '').length > 0) skipped.push(`line ${index + 1}: ${row.length} columns, expected 12`);
      return;
    }
    const [entNum, sdnName, , program, , , , , , , , remarks] = row as [string, string, string, string, string, string, string, string, string, string, string, string];
    const programs = program === OFAC_EMPTY ? 'OFAC SDN' : `OFAC SDN ${program}`;
    const name = normaliseName(sdnName);
    if (sdnName !== OFAC_EMPTY && name.length > 0) entries.push({ kind: 'name', value: name, display: `${sdnName} (SDN ${entNum})`, program: programs });
    for (const match of remarks.matchAll(/Digital Currency Address - XBT\s+([A-Za-z0-9]+)/g)) {
      const address = normaliseBtcAddress(match[1]!);
      if (address === undefined) skipped.push(`SDN ${entNum}: "${match[1]}" is not a valid bitcoin address`);
      else entries.push({ kind: 'btc_address', value: address, display: `${match[1]} (${sdnName}, SDN ${entNum})`, program: programs });
    }
  });
  return { entries, skipped };
}

/** Parses a list file; throws a SyntaxError naming the problem when the file is not of its format. */
export function parseList(format: ListFormat, text: string): ParsedList {
  try {
    return format === 'zalog_csv' ? parseZalogCsv(text) : parseOfacSdnCsv(text);
  } catch (error) {
    throw new SyntaxError(`not a readable ${format} file: ${(error as Error).message}`);
  }
}
