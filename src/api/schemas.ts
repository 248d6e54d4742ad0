import { Type } from 'typebox';

/** Shared pieces of the API's JSON schemas. Money is always a decimal string. */

export const RubAmount = Type.String({
  maxLength: 40,
  description: 'Roubles as a decimal string with at most 2 decimals, e.g. "1500000.00". JSON numbers are refused.',
  examples: ['1500000.00'],
});

export const BtcAmount = Type.String({
  maxLength: 40,
  description: 'Bitcoin as a decimal string with at most 8 decimals, e.g. "0.50000000". JSON numbers are refused.',
  examples: ['0.50000000'],
});

export const Amount = Type.String({
  maxLength: 40,
  description: 'A decimal string in the currency of its context: RUB with at most 2 decimals, BTC with at most 8. JSON numbers are refused.',
  examples: ['1500000.00', '0.50000000'],
});

/** A percentage as a decimal string, up to 999.9999 (no sign, exponent or "%"). */
export const Percent = Type.String({ pattern: '^(0|[1-9][0-9]{0,2})(\\.[0-9]{1,4})?$', description: 'a percentage, e.g. "23.5"' });

export const Currency = Type.Union([Type.Literal('RUB'), Type.Literal('BTC')]);

// At most 18 digits: every such id fits PostgreSQL's bigint (19 digits could overflow it).
export const Id = Type.String({ pattern: '^[1-9][0-9]{0,17}$', description: 'A positive integer id, as a string' });

export const Instant = Type.String({ description: 'RFC 3339 instant with Z or an offset, e.g. "2026-11-24T10:00:00Z"', maxLength: 40 });

export const CalendarDate = Type.String({ description: 'Calendar date YYYY-MM-DD', maxLength: 10 });

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'Required: the same key and body replays the first response; the same key with another body is refused (422).' })),
});
