import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { parsePercent, type Fraction } from '../money/money.js';
import type { Pair } from './aggregate.js';
import type { PipelineConfig } from './pipeline.js';
import { binanceSource } from './sources/binance.js';
import { bitstampSource } from './sources/bitstamp.js';
import { bybitSource } from './sources/bybit.js';
import { coinbaseSource } from './sources/coinbase.js';
import { jsonPathSource } from './sources/json-path.js';
import { krakenSource } from './sources/kraken.js';
import type { PriceSource } from './sources/source.js';

/**
 * The price service's configuration: sources, their pairs and weights, and every threshold, in
 * a JSON file (config/prices.json by default, ZALOG_PRICES_CONFIG to use another). Checked when
 * loaded; percentages are decimal strings read exactly.
 */

const PairSchema = Type.Union([Type.Literal('BTC/USD'), Type.Literal('BTC/USDT'), Type.Literal('BTC/RUB')]);
const Percent = Type.String({ pattern: '^(0|[1-9][0-9]{0,2})(\\.[0-9]{1,4})?$' });
const Common = { name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{1,31}$' }), pair: PairSchema, weight: Type.Integer({ minimum: 1, maximum: 10 }), url: Type.String({ pattern: '^https?://' }), enabled: Type.Optional(Type.Boolean()) };
const SourceSchema = Type.Union([
  Type.Object({ kind: Type.Union([Type.Literal('coinbase'), Type.Literal('kraken'), Type.Literal('bitstamp')]), ...Common }, { additionalProperties: false }),
  Type.Object({ kind: Type.Union([Type.Literal('binance'), Type.Literal('bybit')]), symbol: Type.String({ pattern: '^[A-Z0-9]{4,20}$' }), ...Common }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('json'), pricePath: Type.String({ minLength: 1 }), timePath: Type.Optional(Type.String()), timeUnit: Type.Optional(Type.Union([Type.Literal('seconds'), Type.Literal('milliseconds'), Type.Literal('iso')])), ...Common }, { additionalProperties: false }),
]);

export const PricesConfigSchema = Type.Object({
  cycleSeconds: Type.Integer({ minimum: 1, maximum: 3_600 }),
  aggregation: Type.Object({ maxQuoteAgeSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }), outlierPercent: Percent, quorum: Type.Integer({ minimum: 1, maximum: 20 }) }, { additionalProperties: false }),
  breaker: Type.Object({ maxMovePercent: Percent, moveWindowMinutes: Type.Integer({ minimum: 1, maximum: 1_440 }), staleAfterSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }) }, { additionalProperties: false }),
  http: Type.Object({ timeoutMs: Type.Integer({ minimum: 50, maximum: 60_000 }), retries: Type.Integer({ minimum: 0, maximum: 5 }), backoffMs: Type.Integer({ minimum: 0, maximum: 10_000 }) }, { additionalProperties: false }),
  usdRub: Type.Object({ url: Type.String({ pattern: '^https?://' }), refreshMinutes: Type.Integer({ minimum: 1, maximum: 1_440 }), maxAgeDays: Type.Integer({ minimum: 1, maximum: 14 }) }, { additionalProperties: false }),
  sources: Type.Array(SourceSchema, { minItems: 1, maxItems: 20 }),
}, { additionalProperties: false });

export type PricesConfig = Static<typeof PricesConfigSchema>;

export const DEFAULT_PRICES_CONFIG = fileURLToPath(new URL('../../config/prices.json', import.meta.url).href.replace('/dist/config/', '/config/'));

export class PricesConfigError extends Error {
  override readonly name = 'PricesConfigError';
}

export function checkPricesConfig(value: unknown): PricesConfig {
  if (!Value.Check(PricesConfigSchema, value)) {
    const first = [...Value.Errors(PricesConfigSchema, value)][0];
    throw new PricesConfigError(`price configuration: ${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}`);
  }
  const names = value.sources.map((source) => source.name);
  if (new Set(names).size !== names.length) throw new PricesConfigError('price configuration: source names must be unique');
  return value;
}

export async function loadPricesConfig(path: string = DEFAULT_PRICES_CONFIG): Promise<PricesConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new PricesConfigError(`cannot read the price configuration ${path}`);
  }
  try {
    return checkPricesConfig(JSON.parse(text));
  } catch (error) {
    if (error instanceof PricesConfigError) throw error;
    throw new PricesConfigError(`${path} is not JSON: ${(error as Error).message}`);
  }
}

function fractionOf(percent: string): Fraction {
  const parsed = parsePercent(percent);
  if (!parsed.ok) throw new PricesConfigError(`price configuration: ${parsed.error.message}`);
  return parsed.value;
}

/** Basis points from a percent string: "2" -> 200, "10.5" -> 1050 (exact; sub-bps precision is refused). */
function bps(percent: string): bigint {
  const value = fractionOf(percent);
  const scaled = value.numerator * 10_000n;
  if (scaled % value.denominator !== 0n) throw new PricesConfigError(`price configuration: ${percent}% is finer than a basis point`);
  return scaled / value.denominator;
}

export function pipelineConfig(config: PricesConfig): PipelineConfig {
  return {
    aggregation: { maxQuoteAgeSeconds: config.aggregation.maxQuoteAgeSeconds, outlierBps: bps(config.aggregation.outlierPercent), quorum: config.aggregation.quorum },
    breaker: { maxMoveBps: bps(config.breaker.maxMovePercent), moveWindowSeconds: config.breaker.moveWindowMinutes * 60, staleAfterSeconds: config.breaker.staleAfterSeconds },
    weights: Object.fromEntries(config.sources.map((source) => [source.name, source.weight])),
  };
}

export function buildSources(config: PricesConfig): PriceSource[] {
  const timeoutMs = config.http.timeoutMs;
  return config.sources.filter((source) => source.enabled !== false).map((source) => {
    const base = { name: source.name, url: source.url, pair: source.pair as Pair, timeoutMs };
    switch (source.kind) {
      case 'coinbase': return coinbaseSource(base);
      case 'kraken': return krakenSource(base);
      case 'bitstamp': return bitstampSource(base);
      case 'binance': return binanceSource({ ...base, symbol: source.symbol });
      case 'bybit': return bybitSource({ ...base, symbol: source.symbol });
      case 'json': return jsonPathSource({ ...base, pricePath: source.pricePath, ...(source.timePath !== undefined ? { timePath: source.timePath } : {}), ...(source.timeUnit !== undefined ? { timeUnit: source.timeUnit } : {}) });
    }
  });
}
