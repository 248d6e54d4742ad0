import type { Queryable } from '../db/database.js';
import type { Job } from '../jobs/schedule.js';
import { systemUser } from '../identity/identity-repository.js';
import { loadBanTable } from '../compliance/evaluation.js';
import { bansOn } from '../compliance/rules.js';
import { raiseComplianceEvent } from '../compliance/events.js';
import { daysBetween } from '../calendar/days.js';
import { applyBps, formatMinorUnits, parseDecimalQuote, type Bps, type Fraction, type PriceKopecksPerBtc } from '../money/money.js';
import { latestCycle } from '../prices/price-repository.js';
import { nextHalving } from './mining.js';
import { tiers, valueEquipment } from './equipment.js';
import { networkOn } from './network-data.js';
import { standardScenarios } from './underwrite.js';
import { bannedMonthsOf } from './underwriting-service.js';
import { refreshLoanEquipment } from '../risk/equipment-layer.js';

/**
 * Revaluing pledged machines (the second layer of collateral) from the records: the bank's price
 * index in force, the official USD/RUB rate of the latest price cycle, the network on the day, and
 * each site's tariff and bans. Pledged machines are the serials recorded on a machine group. A
 * site in a banned area, or a company or entrepreneur out of the miners' registry, makes the
 * machines worth nothing (confiscation risk) and raises a default event once. Each valuation is
 * appended with its inputs; the latest per group is its value. Revaluation runs on a schedule and
 * on request, never on a price tick. The loans the machines secure (src/risk/equipment-layer.ts)
 * take the new value in the same transaction, and a loan it moves on the ladder is recorded then.
 */

export const TIER_NAMES = ['below19', 'from19to25', 'from25to38', 'from38to68', 'above68'] as const;
export type TierName = (typeof TIER_NAMES)[number];

export interface EquipmentPolicy {
  readonly haircutBps: Bps;
  /** The share of the value that counts toward a loan's collateral value. */
  readonly weightBps: bigint;
}

/** Defaults: a 30% haircut and half the value counted (machines are worth least exactly when BTC falls). */
export const DEFAULT_EQUIPMENT_POLICY: EquipmentPolicy = { haircutBps: 3_000n as Bps, weightBps: 5_000n };

/** Age assumed for machines recorded without an installation date, in months. */
export const UNKNOWN_AGE_MONTHS = 24;

export type RevaluationProblem = { readonly code: 'no_price_index' | 'no_network_data' | 'no_price' | 'no_usd_rub'; readonly message: string };

export interface RevaluationSummary {
  readonly groups: number;
  readonly totalKopecks: bigint;
  readonly weightedKopecks: bigint;
  readonly breaches: number;
  readonly defaultEvents: number;
  /** Live loans whose counted machines changed, and those that moved on the ladder for it. */
  readonly loansChanged: number;
  readonly loansMoved: number;
}

async function priceIndexOn(db: Queryable, day: string): Promise<{ effectiveFrom: string; prices: Record<TierName, Fraction>; text: Record<string, string> } | undefined> {
  const rows = await db.query<{ effective_from: string; tier: TierName; usd_per_th: string }>(
    `SELECT effective_from, tier, usd_per_th FROM equipment_price_index
      WHERE effective_from = (SELECT max(effective_from) FROM equipment_price_index WHERE effective_from <= $1)`, [day]);
  if (rows.length !== TIER_NAMES.length) return undefined;
  const prices = {} as Record<TierName, Fraction>;
  const text: Record<string, string> = {};
  for (const row of rows) {
    const parsed = parseDecimalQuote(row.usd_per_th);
    if (!parsed.ok) throw new Error(`stored index price ${row.usd_per_th} is unreadable`);
    prices[row.tier] = parsed.value;
    text[row.tier] = row.usd_per_th;
  }
  return { effectiveFrom: rows[0]!.effective_from, prices, text };
}

/**
 * Revalues the pledged machines of one borrower (or all) as of a day, in the caller's transaction.
 */
export async function revalueEquipment(tx: Queryable, options: { asOf: string; now: Date; valuedBy: bigint; borrowerId?: bigint; policy?: EquipmentPolicy }): Promise<RevaluationSummary | RevaluationProblem> {
  const policy = options.policy ?? DEFAULT_EQUIPMENT_POLICY;
  const index = await priceIndexOn(tx, options.asOf);
  if (index === undefined) return { code: 'no_price_index', message: `no complete ASIC price index (five tiers) in force on ${options.asOf}: a risk officer sets one` };
  const network = await networkOn(tx, options.asOf);
  if (network === undefined) return { code: 'no_network_data', message: `no network data at or before ${options.asOf}` };
  const cycle = await latestCycle(tx, 'live');
  if (cycle === undefined || cycle.publishedKopecks === null) return { code: 'no_price', message: 'the price service has no BTC/RUB price yet' };
  if (cycle.usdRub === null) return { code: 'no_usd_rub', message: 'the latest price cycle has no official USD/RUB rate' };
  const usdRub = parseDecimalQuote(cycle.usdRub);
  if (!usdRub.ok) throw new Error(`stored USD/RUB ${cycle.usdRub} is unreadable`);
  const price = cycle.publishedKopecks as PriceKopecksPerBtc;
  // Cash flow until break-even after the halving: the horizon runs a year past the next halving.
  const monthsToHalving = Math.ceil(Number(nextHalving(network.state.height) - network.state.height) / (144 * 30));
  const horizon = Math.min(60, monthsToHalving + 12);
  const scenario = standardScenarios(price)[1]!;

  const groups = await tx.query<{ id: bigint; borrower_id: bigint; kind: string; model: string; serials: string[]; installed_on: string | null; site_id: bigint; region_code: string; municipality: string; hashrate_ghs: bigint; power_watts: number; rub_per_kwh: string | null; registry_status: string | null }>(
    `SELECT m.id, s.borrower_id, b.kind, m.model, m.serials, m.installed_on, s.id AS site_id, s.region_code, s.municipality, a.hashrate_ghs, a.power_watts, t.rub_per_kwh, r.status AS registry_status
       FROM site_machines m JOIN mining_sites s ON s.id = m.site_id JOIN borrowers b ON b.id = s.borrower_id JOIN asic_models a ON a.model = m.model
       LEFT JOIN LATERAL (SELECT rub_per_kwh FROM site_tariffs WHERE site_id = s.id AND effective_from <= $1 ORDER BY effective_from DESC LIMIT 1) t ON true
       LEFT JOIN LATERAL (SELECT status FROM registry_records WHERE borrower_id = b.id ORDER BY checked_on DESC, id DESC LIMIT 1) r ON true
      WHERE cardinality(m.serials) > 0 AND m.retired_on IS NULL AND ($2::bigint IS NULL OR s.borrower_id = $2)
      ORDER BY m.id`, [options.asOf, options.borrowerId ?? null]);
  const bans = await loadBanTable(tx);
  let total = 0n;
  let weighted = 0n;
  let breaches = 0;
  let events = 0;
  for (const group of groups) {
    const location = { siteId: group.site_id.toString(), regionCode: group.region_code, municipality: group.municipality };
    const banned = bansOn(bans, location, options.asOf);
    const outOfRegistry = group.kind !== 'individual' && group.registry_status !== 'included';
    const breach = banned.length > 0 ? `the site is in a banned area (${banned.map((b) => b.id).join(', ')}) on ${options.asOf}`
      : outOfRegistry ? `the borrower is not in the FNS miners' registry (${group.registry_status ?? 'never checked'})` : null;
    const tariff = parseDecimalQuote(group.rub_per_kwh ?? '');
    const ageMonths = group.installed_on === null ? UNKNOWN_AGE_MONTHS : Math.max(0, Math.floor(daysBetween(group.installed_on, options.asOf) / 30));
    const pledged = BigInt(group.serials.length);
    const valuation = valueEquipment({
      machine: { model: group.model, hashrateGhs: group.hashrate_ghs, powerWatts: BigInt(group.power_watts), count: pledged, siteId: location.siteId },
      // A site without a tariff in force earns nothing: its cash-flow value is zero.
      site: { id: location.siteId, tariffRubPerKwh: tariff.ok ? tariff.value : { numerator: 1_000_000n, denominator: 1n }, bannedMonths: bannedMonthsOf(bans, location, options.asOf) },
      ageMonths, tiers: tiers(index.prices), usdRub: usdRub.value, network: network.state, scenario, horizonMonths: horizon, haircutBps: policy.haircutBps, breach,
    });
    const weightedValue = applyBps(valuation.valueKopecks, policy.weightBps as Bps, 'floor');
    const [previous] = await tx.query<{ breach: string | null }>('SELECT breach FROM equipment_valuations WHERE machines_id = $1 ORDER BY id DESC LIMIT 1', [group.id]);
    const inputs = {
      priceIndex: { effectiveFrom: index.effectiveFrom, usdPerTh: index.text }, usdRub: cycle.usdRub, priceCycleId: cycle.id.toString(), btcRub: formatMinorUnits(price, 'RUB'),
      network: { source: network.source, height: network.state.height.toString(), difficulty: network.state.difficulty.toString(), feesSatsPerBlock: network.state.feesSatsPerBlock.toString(), notes: network.notes },
      scenario: scenario.name, horizonMonths: horizon, ageMonths, ageAssumed: group.installed_on === null, tariffRubPerKwh: group.rub_per_kwh, serials: group.serials,
      haircutBps: policy.haircutBps.toString(), weightBps: policy.weightBps.toString(),
    };
    await tx.query(
      `INSERT INTO equipment_valuations (borrower_id, machines_id, valued_on, pledged_count, index_value_kopecks, cash_flow_value_kopecks, method, value_kopecks, weight_bps, breach, reason, inputs, valued_by, valued_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14)`,
      [group.borrower_id, group.id, options.asOf, group.serials.length, valuation.indexValueKopecks, valuation.cashFlowValueKopecks, valuation.method, valuation.valueKopecks, Number(policy.weightBps), breach, valuation.reason, JSON.stringify(inputs), options.valuedBy, options.now],
    );
    if (breach !== null) {
      breaches += 1;
      if (previous === undefined || previous.breach === null) {
        events += 1;
        await raiseComplianceEvent(tx, { borrowerId: group.borrower_id, rule: 'equipment_collateral', kind: 'started_failing', reason: `pledged ${group.model} x${group.serials.length} worth nothing as collateral: ${breach}: a default event for a live loan`, at: options.now });
      }
    }
    total += valuation.valueKopecks;
    weighted += weightedValue;
  }
  // The loans these machines secure count their new value now, and any that it moves on the
  // ladder (a breach's call) is recorded here, in the transaction of the compliance event.
  const layer = await refreshLoanEquipment(tx, { now: options.now, ...(options.borrowerId === undefined ? {} : { borrowerId: options.borrowerId }) });
  return { groups: groups.length, totalKopecks: total, weightedKopecks: weighted, breaches, defaultEvents: events, loansChanged: layer.changed, loansMoved: layer.moved };
}

/** The daily revaluation of every pledged machine (a job in `src/jobs/schedule.ts`). */
export const equipmentRevaluationJob: Job = {
  name: 'equipment revaluation',
  lockKey: 7_207_003,
  everyMs: 24 * 3_600_000,
  async run(db) {
    const now = new Date();
    const valuedBy = (await systemUser(db)).id;
    const result = await db.transaction((tx) => revalueEquipment(tx, { asOf: now.toISOString().slice(0, 10), now, valuedBy }));
    return 'code' in result ? { skipped: result.message } : { ...result, totalKopecks: result.totalKopecks.toString(), weightedKopecks: result.weightedKopecks.toString() };
  },
};
