import type { Queryable } from '../db/database.js';
import { figuresDay } from '../loans/loan-store.js';
import { RATE_SCALE } from '../loans/interest.js';
import { equipmentTermsOf, type ProductTerms } from '../loans/product.js';
import { divide, formatKopecks, formatPrice, formatSats, type PriceKopecksPerBtc } from '../money/money.js';
import { latestCycle } from '../prices/price-repository.js';
import { liquidationTermsOf, type LiquidationTerms } from './liquidation.js';
import { exposuresAfter, ladderKey, loadLadders } from './risk-store.js';
import { stressBook, type StressLoan, type StressResult } from './stress.js';
import type { SlippageModel } from './venues.js';

/**
 * The stress test on the live book: every live loan's exposure and state as the risk engine keeps
 * them (loan_risk), its product version's ladder and liquidation terms, and whether it is past
 * maturity (judged on the bank's open day, as the liquidation job does; while end of day is
 * closing a day, on that day: a stress does not wait for end of day).
 * The price is the live stream's latest published price unless one is given.
 */

export class NoPriceError extends Error {}

export interface LiveStressOptions {
  readonly shockMillionths: bigint;
  readonly venue: SlippageModel;
  readonly depthSatsPerHour: bigint;
  readonly now: Date;
  readonly price?: PriceKopecksPerBtc;
  readonly maxHours?: number;
}

export interface LiveStress extends StressResult {
  /** The cycle whose price was shocked (none when the price was given). */
  readonly cycle: { readonly id: bigint; readonly at: Date; readonly status: string } | null;
}

export async function stressLiveBook(db: Queryable, options: LiveStressOptions): Promise<LiveStress> {
  let price = options.price;
  let cycle: LiveStress['cycle'] = null;
  if (price === undefined) {
    const latest = await latestCycle(db, 'live');
    if (latest?.publishedKopecks == null) throw new NoPriceError('the price service has no BTC/RUB price yet; give one');
    price = latest.publishedKopecks;
    cycle = { id: latest.id, at: latest.at, status: latest.status };
  }
  const ladders = await loadLadders(db);
  const sale = new Map<string, LiquidationTerms>();
  // The part of the machines' value a stress keeps, as the product says (none when it says nothing).
  const machinesKept = new Map<string, bigint>();
  for (const row of await db.query<{ product_code: string; version: number; terms: ProductTerms }>('SELECT product_code, version, terms FROM loan_product_versions')) {
    sale.set(ladderKey(row.product_code, row.version), liquidationTermsOf(row.terms));
    machinesKept.set(ladderKey(row.product_code, row.version), equipmentTermsOf(row.terms)?.stressMillionths ?? 0n);
  }
  const today = await figuresDay(db, options.now);
  const pastMaturity = new Set((await db.query<{ id: bigint }>(`SELECT id FROM loans WHERE status IN ('active', 'overdue') AND maturity_on < $1::date`, [today])).map((r) => r.id));
  const loans: StressLoan[] = [];
  for (const r of await exposuresAfter(db, -1n)) {
    if (r.live) loans.push({ id: r.loanId, state: r.state, exposure: { debt: r.debt, sats: r.sats, equipment: stressedEquipment(r.equipment, machinesKept.get(r.ladderKey)!) }, ladder: ladders.get(r.ladderKey)!, sale: sale.get(r.ladderKey)!, pastMaturity: pastMaturity.has(r.loanId) });
  }
  return { ...stressBook(loans, { price, shockMillionths: options.shockMillionths, venue: options.venue, depthSatsPerHour: options.depthSatsPerHour, ...(options.maxHours === undefined ? {} : { maxHours: options.maxHours }) }), cycle };
}

/** The machines' kopecks a stress counts: the product's share of them, rounded down. */
export function stressedEquipment(kopecks: bigint, keptMillionths: bigint): bigint {
  return kopecks === 0n ? 0n : divide(kopecks * keptMillionths, RATE_SCALE, 'floor');
}

/** The result as the API and the CLI show it: amounts as decimal strings. */
export function stressView(result: LiveStress) {
  const l = result.liquidation;
  return {
    price: formatPrice(result.price), shockedPrice: formatPrice(result.shocked),
    cycle: result.cycle === null ? null : { id: result.cycle.id.toString(), at: result.cycle.at.toISOString(), status: result.cycle.status },
    loans: result.loans, states: result.states, moves: result.moves,
    liquidation: {
      loans: l.loans, partial: l.partial, full: l.full, debt: formatKopecks(l.debtKopecks), btcPlanned: formatSats(l.satsPlanned), btcSold: formatSats(l.satsSold),
      gross: formatKopecks(l.grossKopecks), net: formatKopecks(l.netKopecks), expectedShortfall: formatKopecks(l.shortfallKopecks), loansWithShortfall: l.loansWithShortfall, btcUnsoldAtFloor: formatSats(l.unsoldSats),
    },
    queue: {
      hoursToClear: result.queue.hoursToClear,
      timeline: result.queue.timeline.map((h) => ({ hour: h.hour, loansWaiting: h.loansWaiting, btcWaiting: formatSats(h.satsWaiting), btcSold: formatSats(h.satsSold), netProceeds: formatKopecks(h.netProceedsKopecks) })),
    },
  };
}
