import type { Queryable } from '../db/database.js';
import type { ProductTerms } from '../loans/product.js';

/**
 * The sale's legal channel (issue 20). BTC is not a means of payment in Russia (259-FZ); pledged BTC
 * is sold through a channel the law allows at the time:
 *
 * - `licensed_venue`: a trading venue licensed in Russia, once the law provides one;
 * - `experimental_regime`: the Bank of Russia's experimental legal regime for cross-border
 *   settlements in digital currency (223-FZ of 08.08.2024);
 * - `otc_abroad`: an OTC desk abroad, where the bank's lawyers say the law allows it.
 *
 * Which channels the bank may use on a day is effective-dated (`sale_channel_rules`, four eyes); a
 * product may narrow them (`collateral.liquidation.channels`). Each sale records its channel, the
 * venue, the counterparty and the counterparty's jurisdiction; a sale through a channel not
 * allowed on its day is refused.
 */

export const SALE_CHANNELS = ['licensed_venue', 'experimental_regime', 'otc_abroad'] as const;
export type SaleChannelKind = (typeof SALE_CHANNELS)[number];

export interface SaleChannel {
  readonly channel: SaleChannelKind;
  readonly venue: string;
  readonly counterparty: string;
  /** ISO 3166-1 alpha-2 of the counterparty's jurisdiction, e.g. "RU", "AE". */
  readonly jurisdiction: string;
}

export function saleChannelProblem(value: unknown): string | undefined {
  const c = value as Partial<SaleChannel> | null | undefined;
  if (c === null || typeof c !== 'object') return 'channel: the sale\'s channel, venue, counterparty and jurisdiction';
  if (typeof c.channel !== 'string' || !(SALE_CHANNELS as readonly string[]).includes(c.channel)) return `channel.channel: one of ${SALE_CHANNELS.join(', ')}`;
  if (typeof c.venue !== 'string' || c.venue.length < 1 || c.venue.length > 200) return 'channel.venue: 1 to 200 characters';
  if (typeof c.counterparty !== 'string' || c.counterparty.length < 1 || c.counterparty.length > 200) return 'channel.counterparty: 1 to 200 characters';
  if (typeof c.jurisdiction !== 'string' || !/^[A-Z]{2}$/.test(c.jurisdiction)) return 'channel.jurisdiction: a two-letter country code (ISO 3166-1), e.g. "AE"';
  return undefined;
}

export function sameChannel(a: SaleChannel, b: SaleChannel): boolean {
  return a.channel === b.channel && a.venue === b.venue && a.counterparty === b.counterparty && a.jurisdiction === b.jurisdiction;
}

export type ChannelVerdict = { allowed: true } | { allowed: false; reason: string };

/** Whether a product's terms allow a channel (all do when they name none). */
export function productVerdict(terms: ProductTerms, channel: SaleChannelKind): ChannelVerdict {
  const listed = terms.collateral.liquidation?.channels;
  return listed === undefined || listed.includes(channel) ? { allowed: true } : { allowed: false, reason: `the product sells collateral only through ${listed.join(', ')}, not ${channel}` };
}

/** Whether a channel may be used on a day: the bank's rule in force, narrowed by a product's list when one is given. */
export async function channelVerdict(db: Queryable, channel: SaleChannelKind, day: string, terms?: ProductTerms): Promise<ChannelVerdict> {
  const product = terms === undefined ? undefined : productVerdict(terms, channel);
  if (product !== undefined && !product.allowed) return product;
  const [rule] = await db.query<{ allowed: boolean; effective_from: string; legal_basis: string }>(
    'SELECT allowed, effective_from, legal_basis FROM sale_channel_rules WHERE channel = $1 AND effective_from <= $2 ORDER BY effective_from DESC, id DESC LIMIT 1', [channel, day]);
  if (rule === undefined) return { allowed: false, reason: `no rule allows selling through ${channel} on ${day}` };
  if (!rule.allowed) return { allowed: false, reason: `selling through ${channel} is not allowed from ${rule.effective_from} (${rule.legal_basis})` };
  return { allowed: true };
}

export async function recordChannel(tx: Queryable, liquidationId: bigint, channel: SaleChannel): Promise<void> {
  await tx.query('UPDATE liquidations SET sale_channel = $2, sale_venue = $3, sale_counterparty = $4, sale_jurisdiction = $5 WHERE id = $1',
    [liquidationId, channel.channel, channel.venue, channel.counterparty, channel.jurisdiction]);
}

// ---------------------------------------------------------------------------------------------
// The report of sales by channel and period.

export interface SaleRow {
  readonly liquidation: string;
  readonly loan: string;
  readonly borrower: string;
  readonly status: string;
  readonly channel: SaleChannelKind | null;
  readonly venue: string | null;
  readonly counterparty: string | null;
  readonly jurisdiction: string | null;
  readonly soldAt: string;
  readonly sats: bigint;
  readonly gross: bigint;
  readonly fees: bigint;
}

/**
 * Every sale (sold or booked liquidation) whose sale finished in [from, to], Moscow days, with
 * what its fills sold and raised: gross is each fill's BTC x price floored to the kopeck (as
 * booked), fees the venue's. A sale recorded before channels were kept has none.
 */
export async function salesBetween(db: Queryable, from: string, to: string): Promise<SaleRow[]> {
  const start = new Date(`${from}T00:00:00+03:00`);
  const end = new Date(new Date(`${to}T00:00:00+03:00`).getTime() + 86_400_000);
  const rows = await db.query<{ id: bigint; loan: string; borrower: string; status: string; sale_channel: SaleChannelKind | null; sale_venue: string | null; sale_counterparty: string | null; sale_jurisdiction: string | null; sold_at: Date; sats: bigint; gross: bigint; fees: bigint }>(
    `SELECT q.id, l.ref AS loan, b.ref AS borrower, q.status, q.sale_channel, q.sale_venue, q.sale_counterparty, q.sale_jurisdiction, q.sold_at,
            sum(f.sats)::int8 AS sats, sum(div(f.sats::numeric * f.price_kopecks, 100000000))::int8 AS gross, sum(f.fee_kopecks)::int8 AS fees
       FROM liquidations q JOIN loans l ON l.id = q.loan_id JOIN borrowers b ON b.id = l.borrower_id JOIN liquidation_fills f ON f.liquidation_id = q.id
      WHERE q.status IN ('sold', 'booked') AND q.sold_at >= $1 AND q.sold_at < $2
      GROUP BY q.id, l.ref, b.ref ORDER BY q.sold_at, q.id`, [start, end]);
  return rows.map((r) => ({ liquidation: r.id.toString(), loan: r.loan, borrower: r.borrower, status: r.status, channel: r.sale_channel, venue: r.sale_venue, counterparty: r.sale_counterparty, jurisdiction: r.sale_jurisdiction, soldAt: r.sold_at.toISOString(), sats: r.sats, gross: r.gross, fees: r.fees }));
}

/** Totals by channel (a sale with none under "none"), channels in a fixed order. */
export function salesByChannel(rows: readonly SaleRow[]): { channel: SaleChannelKind | 'none'; sales: number; sats: bigint; gross: bigint; fees: bigint }[] {
  const order: (SaleChannelKind | 'none')[] = [...SALE_CHANNELS, 'none'];
  return order.map((channel) => {
    const of = rows.filter((r) => (r.channel ?? 'none') === channel);
    return { channel, sales: of.length, sats: of.reduce((s, r) => s + r.sats, 0n), gross: of.reduce((s, r) => s + r.gross, 0n), fees: of.reduce((s, r) => s + r.fees, 0n) };
  }).filter((t) => t.sales > 0);
}
