import type { Queryable } from '../db/database.js';
import type { Borrower } from '../borrowers/borrower-repository.js';
import { addMonths, daysBetween, daysInMonth } from '../calendar/days.js';
import { evaluateBorrower, loadBanTable } from '../compliance/evaluation.js';
import { bansOn, type BanEntry } from '../compliance/rules.js';
import { formatFraction, formatKopecks, fraction, parseDecimalQuote, type Fraction, type Kopecks, type PriceKopecksPerBtc } from '../money/money.js';
import { latestCycle } from '../prices/price-repository.js';
import type { Fleet, MachineGroup, RepaymentShape, Site } from './mining.js';
import { networkOn } from './network-data.js';
import { standardScenarios, underwrite, type UnderwritingReport } from './underwrite.js';

/**
 * Underwriting a borrower from its records: its fleet and sites (tariffs in force, months a
 * seasonal ban stops the site), the network on the day, the accepted BTC/RUB price, and its
 * compliance evaluation; the pure `underwrite` does the sums. The stored report carries every
 * figure with its inputs and a recommendation.
 */

export interface UnderwritingTerms {
  readonly asOf: string;
  readonly amountKopecks: Kopecks | null;
  readonly months: number;
  readonly annualRate: Fraction;
  readonly shape: RepaymentShape;
  readonly dscrMinBps: bigint;
  readonly uptimeBps: bigint;
}

export type UnderwritingProblem =
  | { readonly code: 'no_fleet'; readonly message: string }
  | { readonly code: 'stale_network_data'; readonly message: string }
  | { readonly code: 'no_tariff'; readonly message: string }
  | { readonly code: 'no_network_data'; readonly message: string }
  | { readonly code: 'no_price'; readonly message: string };

/** Months (1-12) in which some day of the next twelve months from `asOf` a ban stops the site: counted as whole months lost (conservative). */
export function bannedMonthsOf(table: readonly BanEntry[], site: { siteId: string; regionCode: string; municipality: string }, asOf: string): number[] {
  const months = new Set<number>();
  for (let m = 1; m <= 12; m += 1) {
    const first = addMonths(asOf, m);
    const days = daysInMonth(first);
    for (let d = 1; d <= days; d += 1) {
      if (bansOn(table, site, `${first.slice(0, 8)}${String(d).padStart(2, '0')}`).length > 0) {
        months.add(Number(first.slice(5, 7)));
        break;
      }
    }
  }
  return [...months].sort((a, b) => a - b);
}

export async function fleetOf(db: Queryable, borrower: Borrower, asOf: string, uptimeBps: bigint): Promise<{ fleet: Fleet; inputs: object } | UnderwritingProblem> {
  const sites = await db.query<{ id: bigint; name: string; region_code: string; municipality: string; rub_per_kwh: string | null; tariff_from: string | null }>(
    `SELECT s.id, s.name, s.region_code, s.municipality, t.rub_per_kwh, t.effective_from AS tariff_from
       FROM mining_sites s
       LEFT JOIN LATERAL (SELECT rub_per_kwh, effective_from FROM site_tariffs WHERE site_id = s.id AND effective_from <= $2 ORDER BY effective_from DESC LIMIT 1) t ON true
      WHERE s.borrower_id = $1 ORDER BY s.id`, [borrower.id, asOf]);
  const machines = await db.query<{ model: string; count: number; site_id: bigint; hashrate_ghs: bigint; power_watts: number }>(
    `SELECT m.model, m.count, m.site_id, a.hashrate_ghs, a.power_watts FROM site_machines m JOIN mining_sites s ON s.id = m.site_id JOIN asic_models a ON a.model = m.model
      WHERE s.borrower_id = $1 AND m.retired_on IS NULL ORDER BY m.id`, [borrower.id]);
  if (machines.length === 0) return { code: 'no_fleet', message: 'the borrower has no machines recorded: record its sites and fleet first' };
  const bans = await loadBanTable(db);
  const fleetSites: Site[] = [];
  const siteInputs: object[] = [];
  for (const site of sites) {
    if (site.rub_per_kwh === null) return { code: 'no_tariff', message: `site ${site.id} (${site.name}) has no tariff in force on ${asOf}` };
    const tariff = parseDecimalQuote(site.rub_per_kwh);
    if (!tariff.ok) throw new Error(`stored tariff ${site.rub_per_kwh} of site ${site.id} is unreadable`);
    const bannedMonths = bannedMonthsOf(bans, { siteId: site.id.toString(), regionCode: site.region_code, municipality: site.municipality }, asOf);
    fleetSites.push({ id: site.id.toString(), tariffRubPerKwh: tariff.value, bannedMonths });
    siteInputs.push({ siteId: site.id.toString(), name: site.name, regionCode: site.region_code, municipality: site.municipality, tariffRubPerKwh: site.rub_per_kwh, tariffFrom: site.tariff_from, bannedMonths });
  }
  const groups: MachineGroup[] = machines.map((m) => ({ model: m.model, hashrateGhs: m.hashrate_ghs, powerWatts: BigInt(m.power_watts), count: BigInt(m.count), siteId: m.site_id.toString() }));
  return {
    fleet: { machines: groups, sites: fleetSites, uptimeBps },
    inputs: { sites: siteInputs, machines: machines.map((m) => ({ siteId: m.site_id.toString(), model: m.model, count: m.count, hashrateThs: formatFraction(fraction(m.hashrate_ghs, 1_000n), 3), powerWatts: m.power_watts })), uptimePercent: formatFraction(fraction(uptimeBps, 100n), 2) },
  };
}


/** The report as JSON: money as decimal strings, ratios with their digits, every figure beside what it came from. */
export function reportView(report: UnderwritingReport, price: PriceKopecksPerBtc) {
  return {
    fleet: { hashrateThs: formatFraction(fraction(report.fleetHashrateGhs, 1_000n), 3), powerKw: formatFraction(fraction(report.fleetPowerWatts, 1_000n), 3), efficiencyJPerTh: formatFraction(report.fleetEfficiencyJPerTh, 2) },
    price: formatKopecks(price),
    hashpriceSatsPerThDay: formatFraction(report.hashpriceSatsPerThDay, 2),
    breakEvenTariffRubPerKwh: formatFraction(report.breakEvenTariffRubPerKwh, 4),
    breakEvenPrice: report.breakEvenPriceKopecks === null ? null : formatKopecks(report.breakEvenPriceKopecks),
    crossesHalving: report.crossesHalving,
    maxPrincipal: formatKopecks(report.maxPrincipalKopecks),
    bindingScenario: report.bindingScenario,
    scenarios: report.scenarios.map((scenario) => ({
      name: scenario.scenario,
      maxPrincipal: formatKopecks(scenario.maxPrincipalKopecks),
      bindingMonth: scenario.bindingMonth,
      months: scenario.months.map((month, index) => ({
        month: month.month, start: month.start, days: month.days, difficulty: month.difficulty.toString(), subsidySats: month.subsidySats.toString(),
        hashpriceSatsPerThDay: formatFraction(month.hashpriceSatsPerThDay, 2), minedSats: month.minedSats.toString(), revenue: formatKopecks(month.revenueKopecks),
        powerKwh: month.powerKwh.toString(), powerCost: formatKopecks(month.powerCostKopecks), margin: formatKopecks(month.marginKopecks),
        dscrPerMillionBorrowed: formatFraction(fraction(scenario.referenceDscrBps[index]!, 10_000n), 2),
      })),
    })),
  };
}

export interface StoredUnderwriting {
  readonly id: bigint;
  readonly recommendation: 'approve' | 'refer' | 'decline';
  readonly reasons: readonly string[];
  readonly body: Record<string, unknown>;
}

/** Underwriting decides on network data at most this many days old (ZALOG_NETWORK_MAX_AGE_DAYS). */
export const NETWORK_MAX_AGE_DAYS_DEFAULT = 2;

export interface UnderwritingOptions {
  /** Older network data than this (days before the report's date) is not decided on. */
  readonly networkMaxAgeDays: number;
  /** The compliance evaluation already made for this decision (an offer's), instead of a new one. */
  readonly evaluation?: Awaited<ReturnType<typeof evaluateBorrower>>;
}

export async function runUnderwriting(tx: Queryable, borrower: Borrower, terms: UnderwritingTerms, user: bigint, now: Date, options: UnderwritingOptions): Promise<StoredUnderwriting | UnderwritingProblem> {
  const fleet = await fleetOf(tx, borrower, terms.asOf, terms.uptimeBps);
  if ('code' in fleet) return fleet;
  const network = await networkOn(tx, terms.asOf);
  if (network === undefined) return { code: 'no_network_data', message: `no network data at or before ${terms.asOf}: fetch it (zalog network fetch) or import history (zalog network import)` };
  const age = daysBetween(network.observedAt.toISOString().slice(0, 10), terms.asOf);
  if (age > options.networkMaxAgeDays) {
    return { code: 'stale_network_data', message: `the latest network data (${network.source}, ${network.observedAt.toISOString().slice(0, 10)}) is ${age} days older than ${terms.asOf}; underwriting decides only on data at most ${options.networkMaxAgeDays} days old: the service fetches it hourly from ZALOG_NETWORK_URL, or run zalog network fetch` };
  }
  const cycle = await latestCycle(tx, 'live');
  if (cycle === undefined || cycle.publishedKopecks === null) return { code: 'no_price', message: 'the price service has no BTC/RUB price yet' };
  const price = cycle.publishedKopecks as PriceKopecksPerBtc;
  const report = underwrite({ fleet: fleet.fleet, network: network.state, priceKopecks: price, loan: { annualRate: terms.annualRate, months: terms.months, shape: terms.shape, dscrMinBps: terms.dscrMinBps }, scenarios: standardScenarios(price) });
  const evaluation = options.evaluation ?? await evaluateBorrower(tx, borrower, terms.asOf, user, now);

  const reasons: string[] = [];
  const failed = evaluation.results.filter((r) => r.outcome === 'fail');
  for (const rule of failed) reasons.push(`compliance: ${rule.rule} fails: ${rule.reason}`);
  // The first scenario is today's world carried forward: a farm that cannot serve debt in it is
  // declined. One that fails only under stress is referred: the loan stands first on its BTC.
  const base = report.scenarios[0];
  const baseCovers = base !== undefined && base.maxPrincipalKopecks > 0n;
  if (!baseCovers) reasons.push(`the fleet's margin does not cover any debt service even in scenario "${base?.scenario ?? ''}"`);
  let recommendation: StoredUnderwriting['recommendation'];
  if (failed.length > 0 || !baseCovers) recommendation = 'decline';
  else if (report.maxPrincipalKopecks === 0n) {
    recommendation = 'refer';
    reasons.push(`the fleet's margin covers no debt service in the stress scenario "${report.bindingScenario}": the loan would rest on its collateral alone`);
  } else if (terms.amountKopecks !== null && terms.amountKopecks > report.maxPrincipalKopecks) {
    recommendation = 'refer';
    reasons.push(`the amount asked, ${formatKopecks(terms.amountKopecks)}, is above the ${formatKopecks(report.maxPrincipalKopecks)} the cash flow covers at DSCR ${formatFraction(fraction(terms.dscrMinBps, 10_000n), 2)} in scenario "${report.bindingScenario}" (month ${report.scenarios.find((s) => s.scenario === report.bindingScenario)?.bindingMonth})`);
  } else {
    recommendation = 'approve';
    reasons.push(`every compliance rule passes; the cash flow covers up to ${formatKopecks(report.maxPrincipalKopecks)} at DSCR ${formatFraction(fraction(terms.dscrMinBps, 10_000n), 2)} in every scenario${terms.amountKopecks !== null ? `, above the ${formatKopecks(terms.amountKopecks)} asked` : ''}`);
  }
  const body = {
    asOf: terms.asOf,
    recommendation,
    reasons,
    inputs: {
      terms: { amount: terms.amountKopecks === null ? null : formatKopecks(terms.amountKopecks), months: terms.months, annualRatePercent: formatFraction(fraction(terms.annualRate.numerator * 100n, terms.annualRate.denominator), 4), repayment: terms.shape, dscrMin: formatFraction(fraction(terms.dscrMinBps, 10_000n), 2) },
      fleet: fleet.inputs,
      network: { source: network.source, observedAt: network.observedAt.toISOString(), height: network.state.height.toString(), difficulty: network.state.difficulty.toString(), feesSatsPerBlock: network.state.feesSatsPerBlock.toString(), notes: [...network.notes] },
      price: { cycleId: cycle.id.toString(), at: cycle.at.toISOString(), status: cycle.status, price: formatKopecks(price) },
    },
    compliance: { evaluationId: evaluation.id.toString(), blocking: evaluation.blocking, results: evaluation.results },
    figures: reportView(report, price),
  };
  const [row] = await tx.query<{ id: bigint }>(
    `INSERT INTO underwriting_reports (borrower_id, as_of, request, report, recommendation, compliance_evaluation_id, created_by, created_at)
     VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8) RETURNING id`,
    [borrower.id, terms.asOf, JSON.stringify(body.inputs.terms), JSON.stringify(body), recommendation, evaluation.id, user, now],
  );
  return { id: row!.id, recommendation, reasons, body };
}
