import { XMLParser } from 'fast-xml-parser';
import { fraction, type Fraction } from '../../money/money.js';
import type { Bar } from '../price-repository.js';
import { getBytes, SourceError } from '../../adapters/http.js';
import { price } from './source.js';

/**
 * The Bank of Russia's official rates, in its documented XML (windows-1251, decimal commas):
 * - daily, XML_daily.asp?date_req=DD/MM/YYYY: <ValCurs Date="DD.MM.YYYY"> with <Valute ID="R01235">
 *   (USD) holding <Nominal>, <Value> (RUB per Nominal units) and <VunitRate> (RUB per one unit);
 * - archive, XML_dynamic.asp?date_req1=…&date_req2=…&VAL_NM_RQ=R01235: <Record Date="…" Id="R01235">.
 * `Date` is the day a rate takes effect (it is set the working day before); there are no records
 * for Sundays, Mondays and holidays, the last rate stays in force.
 */

export const USD_CBR_ID = 'R01235';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, parseAttributeValue: false, isArray: (name) => name === 'Valute' || name === 'Record' });

function decodeXml(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('windows-1251', { fatal: true }).decode(bytes);
  } catch {
    throw new SourceError('malformed', 'the Bank of Russia response is not windows-1251 text');
  }
  if (!text.includes('<ValCurs')) throw new SourceError('malformed', `not a ValCurs document: ${text.slice(0, 80).replace(/\s+/g, ' ')}`);
  try {
    return parser.parse(text);
  } catch (error) {
    throw new SourceError('malformed', `bad XML: ${(error as Error).message}`);
  }
}

/** 'DD.MM.YYYY' -> 'YYYY-MM-DD', checked. */
function isoDate(text: unknown): string {
  const match = typeof text === 'string' ? /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(text) : null;
  const iso = match === null ? '' : `${match[3]}-${match[2]}-${match[1]}`;
  const date = new Date(`${iso}T00:00:00Z`);
  if (match === null || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== iso) throw new SourceError('malformed', `"${String(text)}" is not a DD.MM.YYYY date`);
  return iso;
}

/** RUB per one unit: Value / Nominal, exact (VunitRate, where present, must agree). */
function rate(node: Record<string, unknown>, what: string): Fraction {
  const value = price(String(node.Value ?? '').replace(',', '.'), `${what} Value`);
  const nominalText = String(node.Nominal ?? '');
  if (!/^[1-9][0-9]{0,6}$/.test(nominalText)) throw new SourceError('malformed', `${what} Nominal "${nominalText}" is not a positive integer`);
  return fraction(value.numerator, value.denominator * BigInt(nominalText));
}

export function cbrRequestDate(date: Date): string {
  const [year, month, day] = date.toISOString().slice(0, 10).split('-');
  return `${day}/${month}/${year}`;
}

export interface OfficialRate {
  /** The day the rate takes effect, YYYY-MM-DD. */
  readonly effectiveDate: string;
  readonly rubPerUnit: Fraction;
}

export function parseDaily(bytes: Uint8Array, valuteId = USD_CBR_ID): OfficialRate {
  const document = decodeXml(bytes) as { ValCurs?: { '@Date'?: string; Valute?: Array<Record<string, unknown>> } };
  const root = document.ValCurs;
  if (root === undefined || typeof root !== 'object') throw new SourceError('malformed', 'no ValCurs element');
  const valute = (root.Valute ?? []).find((node) => node['@ID'] === valuteId);
  if (valute === undefined) throw new SourceError('rejected', `the daily rates have no ${valuteId}`);
  return { effectiveDate: isoDate(root['@Date']), rubPerUnit: rate(valute, valuteId) };
}

/** The archive as step bars (open = high = low = close = the rate), one per effective date. */
export function parseDynamic(bytes: Uint8Array): Bar[] {
  const document = decodeXml(bytes) as { ValCurs?: { Record?: Array<Record<string, unknown>> } | string };
  const root = document.ValCurs;
  if (root === undefined) throw new SourceError('malformed', 'no ValCurs element');
  const records = typeof root === 'object' ? root.Record ?? [] : [];
  return records.map((record) => {
    const value = rate(record, `record ${String(record['@Date'])}`);
    return { start: new Date(`${isoDate(record['@Date'])}T00:00:00Z`), open: value, high: value, low: value, close: value };
  });
}

export function cbrDailyRate(options: { url: string; timeoutMs: number }) {
  return async (day: Date): Promise<OfficialRate> => parseDaily(await getBytes(`${options.url}?date_req=${cbrRequestDate(day)}`, options));
}

export async function fetchCbrArchive(options: { url: string; timeoutMs: number }, from: Date, to: Date, valuteId = USD_CBR_ID): Promise<Bar[]> {
  return parseDynamic(await getBytes(`${options.url}?date_req1=${cbrRequestDate(from)}&date_req2=${cbrRequestDate(to)}&VAL_NM_RQ=${valuteId}`, { ...options, maxBytes: 16_777_216 }));
}
