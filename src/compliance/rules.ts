import { addMonths, daysBetween, type Day } from '../calendar/days.js';

/**
 * Compliance rules, pure: code over effective-dated data. Each rule names its legal basis, the
 * dates it is in force, and says why it passes or fails in a sentence a credit officer can read.
 * The data (the banned-area table, the registry record, the reports filed) comes from the caller,
 * so a change to the data, not to the code, changes an outcome; every evaluation is meant to be
 * stored with its inputs. Facts and figures: ../shared/BRIEF.md, section 5.
 */

export type BorrowerKind = 'company' | 'entrepreneur' | 'individual';
export type RuleOutcome = 'pass' | 'fail' | 'not_applicable';

export interface RuleResult {
  readonly rule: string;
  readonly outcome: RuleOutcome;
  readonly reason: string;
  readonly legalBasis: string;
}

export type { Day };

function inForce(day: Day, from: Day, to: Day | null): boolean {
  return day >= from && (to === null || day <= to);
}

// ---------------------------------------------------------------------------------------------
// Banned areas (Government decrees under 221-FZ; the table is data the government amends).

export interface BanEntry {
  readonly id: string;
  /** Federal subject code, as the first two digits of a local INN (e.g. '38' Irkutsk region). */
  readonly regionCode: string;
  /** null: the whole region; otherwise the municipalities the ban names. */
  readonly municipalities: readonly string[] | null;
  /** 'year_round', or 'seasonal' between two month-days each year (the season may span New Year). */
  readonly kind: 'year_round' | 'seasonal';
  readonly seasonStart?: string;
  readonly seasonEnd?: string;
  readonly effectiveFrom: Day;
  readonly effectiveTo: Day | null;
  readonly legalBasis: string;
}

export interface SiteLocation {
  readonly siteId: string;
  readonly regionCode: string;
  readonly municipality: string;
}

function inSeason(day: Day, start: string, end: string): boolean {
  const monthDay = day.slice(5);
  return start <= end ? monthDay >= start && monthDay <= end : monthDay >= start || monthDay <= end;
}

/** The bans in force for a site on a day (empty when it may mine). */
export function bansOn(table: readonly BanEntry[], site: SiteLocation, day: Day): BanEntry[] {
  return table.filter((entry) =>
    entry.regionCode === site.regionCode
    && (entry.municipalities === null || entry.municipalities.includes(site.municipality))
    && inForce(day, entry.effectiveFrom, entry.effectiveTo)
    && (entry.kind === 'year_round' || inSeason(day, entry.seasonStart ?? '01-01', entry.seasonEnd ?? '12-31')));
}

export function bannedAreaRule(table: readonly BanEntry[], sites: readonly SiteLocation[], day: Day): RuleResult {
  const hits = sites.flatMap((site) => bansOn(table, site, day).map((ban) => ({ site, ban })));
  if (hits.length === 0) return { rule: 'banned_area', outcome: 'pass', reason: `no site is in an area where mining is banned on ${day}`, legalBasis: '221-FZ art. 1, Government decrees on banned areas' };
  const first = hits[0]!;
  const when = first.ban.kind === 'seasonal' ? `seasonally (${first.ban.seasonStart} to ${first.ban.seasonEnd})` : 'all year';
  return {
    rule: 'banned_area',
    outcome: 'fail',
    reason: `site ${first.site.siteId} (${first.site.municipality}, region ${first.site.regionCode}) is in an area where mining is banned ${when} on ${day}${hits.length > 1 ? `, and ${hits.length - 1} more` : ''}`,
    legalBasis: first.ban.legalBasis,
  };
}

// ---------------------------------------------------------------------------------------------
// Registration: companies and entrepreneurs that mine must be in the FNS miners' registry.

export type RegistryRecord = {
  readonly number: string;
  readonly includedOn: Day;
  readonly status: 'included' | 'excluded';
  /** When the bank last checked the record (registry service or an imported extract). */
  readonly checkedOn: Day;
} | {
  /** The registry had no record for the INN when checked. */
  readonly status: 'not_found';
  /** When the bank last checked the record (registry service or an imported extract). */
  readonly checkedOn: Day;
};

/** A registry check older than this is stale: the rule asks for a fresh one (re-checked monthly). */
export const REGISTRY_CHECK_DAYS_MAX = 31;

export function registryRule(kind: BorrowerKind, record: RegistryRecord | null, day: Day): RuleResult {
  const legalBasis = '221-FZ (mining registry kept by the FNS); Government decree 1463 of 01.11.2024';
  if (kind === 'individual') return { rule: 'miners_registry', outcome: 'not_applicable', reason: 'individuals without entrepreneur status mine without registration, within the energy limit', legalBasis };
  if (record === null) return { rule: 'miners_registry', outcome: 'fail', reason: 'no record in the FNS miners\' registry', legalBasis };
  if (record.status === 'not_found') return { rule: 'miners_registry', outcome: 'fail', reason: `not in the FNS miners' registry when checked on ${record.checkedOn}`, legalBasis };
  if (record.status === 'excluded') return { rule: 'miners_registry', outcome: 'fail', reason: `excluded from the FNS miners' registry (record ${record.number}): a default event for a live loan`, legalBasis };
  const age = daysBetween(record.checkedOn, day);
  if (age > REGISTRY_CHECK_DAYS_MAX) return { rule: 'miners_registry', outcome: 'fail', reason: `registry record ${record.number} was last checked ${age} days ago; check it again (at most ${REGISTRY_CHECK_DAYS_MAX} days)`, legalBasis };
  return { rule: 'miners_registry', outcome: 'pass', reason: `in the FNS miners' registry since ${record.includedOn} (record ${record.number}), checked ${record.checkedOn}`, legalBasis };
}

// ---------------------------------------------------------------------------------------------
// Individuals without entrepreneur status: at most 6,000 kWh a month (decree 1469 of 01.11.2024).

export const HOUSEHOLD_KWH_PER_MONTH_MAX = 6_000n;

export interface PowerDraw {
  readonly powerWatts: bigint;
  readonly count: bigint;
}

/** kWh in the longest (31-day) month of running all the time: the limit must hold in every month. */
export function monthlyKwh(machines: readonly PowerDraw[]): bigint {
  const watts = machines.reduce((sum, m) => sum + m.powerWatts * m.count, 0n);
  return (watts * 24n * 31n + 999n) / 1_000n;
}

export function householdEnergyRule(kind: BorrowerKind, machines: readonly PowerDraw[], meteredKwhByMonth: readonly bigint[] = []): RuleResult {
  const legalBasis = 'Government decree 1469 of 01.11.2024 (6,000 kWh a month without registration)';
  if (kind !== 'individual') return { rule: 'household_energy_limit', outcome: 'not_applicable', reason: 'registered miners are not limited to 6,000 kWh a month', legalBasis };
  const metered = meteredKwhByMonth.length > 0 ? meteredKwhByMonth.reduce((a, b) => (a > b ? a : b)) : undefined;
  const fromFleet = monthlyKwh(machines);
  const worst = metered !== undefined && metered > fromFleet ? metered : fromFleet;
  const source = metered !== undefined && metered > fromFleet ? 'metered consumption' : 'the fleet running all month';
  if (worst > HOUSEHOLD_KWH_PER_MONTH_MAX) return { rule: 'household_energy_limit', outcome: 'fail', reason: `${worst} kWh a month (${source}) is above the 6,000 kWh an individual may mine without registering`, legalBasis };
  return { rule: 'household_energy_limit', outcome: 'pass', reason: `${worst} kWh a month (${source}) is within 6,000 kWh`, legalBasis };
}

// ---------------------------------------------------------------------------------------------
// Monthly reports: every miner reports mined currency and its addresses to the FNS by the 20th.

export interface FiledReport {
  /** The month reported, 'YYYY-MM'. */
  readonly period: string;
  readonly filedOn: Day;
  readonly receipt: string;
}

/** The month before the one `day` falls in, 'YYYY-MM'. */
function previousMonth(day: Day): string {
  return addMonths(day, -1).slice(0, 7);
}

/** When the report for `period` ('YYYY-MM') is due: the 20th of the following month. */
export function reportDueOn(period: string): Day {
  return `${addMonths(`${period}-01`, 1).slice(0, 7)}-20`;
}

/** The latest report that must have been filed by `day`: last month's after the 20th, else the one before. */
export function latestDuePeriod(day: Day): string {
  const last = previousMonth(day);
  return day > reportDueOn(last) ? last : previousMonth(`${last}-01`);
}

/**
 * The day a miner's monthly FNS reports start to fall due: for a company or an entrepreneur, the day
 * it entered the miners' registry (it may mine, and must report, from then); for an individual, the
 * day its first machine went into service. A date that is not known falls back to the next one
 * (machines' installation, then the day the site was recorded in zalog): the day a bank clerk typed
 * the site in is the weakest evidence of when mining began, and is used only when nothing better is.
 */
export function miningSinceOf(facts: { kind: BorrowerKind; registryIncludedOn: Day | null; installedOn: readonly (Day | null)[]; sitesRecordedOn: readonly Day[] }, asOf: Day): Day {
  const earliest = (days: readonly (Day | null)[]) => days.filter((d): d is Day => d !== null).sort()[0];
  const installed = earliest(facts.installedOn);
  const recorded = earliest(facts.sitesRecordedOn);
  if (facts.kind !== 'individual' && facts.registryIncludedOn !== null) return facts.registryIncludedOn;
  return installed ?? recorded ?? asOf;
}

export function monthlyReportRule(reports: readonly FiledReport[], day: Day, miningSince: Day): RuleResult {
  const legalBasis = '221-FZ; FNS order on miners\' monthly reports (by the 20th of the following month)';
  const due = latestDuePeriod(day);
  if (`${due}-31` < miningSince) return { rule: 'fns_monthly_report', outcome: 'not_applicable', reason: `no report was due yet (mining since ${miningSince})`, legalBasis };
  const filed = reports.find((report) => report.period === due);
  if (filed === undefined) return { rule: 'fns_monthly_report', outcome: 'fail', reason: `no FNS report for ${due}, due by ${reportDueOn(due)}`, legalBasis };
  const late = filed.filedOn > reportDueOn(due);
  return { rule: 'fns_monthly_report', outcome: 'pass', reason: `the report for ${due} was filed on ${filed.filedOn} (receipt ${filed.receipt})${late ? `, after its due date ${reportDueOn(due)}` : ''}`, legalBasis };
}

// ---------------------------------------------------------------------------------------------
// Sanctions and AML screening: an unresolved hit blocks (clearing it takes four eyes).

export interface ScreeningHit {
  readonly list: string;
  readonly matched: string;
  readonly field: 'name' | 'inn' | 'btc_address';
  readonly clearedBy: string | null;
}

export function screeningRule(hits: readonly ScreeningHit[]): RuleResult {
  const legalBasis = '115-FZ (AML/CFT); the bank\'s sanctions policy';
  const open = hits.filter((hit) => hit.clearedBy === null);
  if (open.length === 0) return { rule: 'sanctions_screening', outcome: 'pass', reason: hits.length === 0 ? 'no screening hit' : `${hits.length} hit(s), all cleared by two officers`, legalBasis };
  return { rule: 'sanctions_screening', outcome: 'fail', reason: `unresolved screening hit: ${open[0]!.field} "${open[0]!.matched}" on list ${open[0]!.list}${open.length > 1 ? ` (and ${open.length - 1} more)` : ''}`, legalBasis };
}

// ---------------------------------------------------------------------------------------------
// Attestations the borrower makes (recorded with who and when; the latest of each kind counts).

export type AttestationKind = 'no_economic_crime_record' | 'owns_pledged_btc' | 'no_tax_debt';

export interface Attestation {
  readonly kind: AttestationKind;
  readonly value: boolean;
  readonly recordedOn: Day;
}

/**
 * Company and entrepreneur miners (their founders and managers) must have no unexpunged record for
 * the economic crimes 221-FZ names; every pledgor must own what it pledges (Civil Code art. 335);
 * and the bank lends to no one with tax debt (its credit policy).
 */
export function attestationsRule(kind: BorrowerKind, attestations: readonly Attestation[]): RuleResult {
  const legalBasis = '221-FZ (no record for economic crimes); Civil Code art. 335 (the pledgor owns the pledge); the bank\'s credit policy (no tax debt)';
  const required: AttestationKind[] = kind === 'individual' ? ['owns_pledged_btc', 'no_tax_debt'] : ['no_economic_crime_record', 'owns_pledged_btc', 'no_tax_debt'];
  const latest = new Map<AttestationKind, Attestation>();
  for (const attestation of attestations) {
    const seen = latest.get(attestation.kind);
    if (seen === undefined || attestation.recordedOn >= seen.recordedOn) latest.set(attestation.kind, attestation);
  }
  const missing = required.filter((k) => latest.get(k) === undefined);
  const negative = required.filter((k) => latest.get(k)?.value === false);
  if (negative.length > 0) return { rule: 'attestations', outcome: 'fail', reason: `attested against: ${negative.join(', ')}`, legalBasis };
  if (missing.length > 0) return { rule: 'attestations', outcome: 'fail', reason: `not attested yet: ${missing.join(', ')}`, legalBasis };
  return { rule: 'attestations', outcome: 'pass', reason: `attested: ${required.map((k) => `${k} (${latest.get(k)!.recordedOn})`).join(', ')}`, legalBasis };
}

/** All results fail-first: an application is blocked when any rule fails. */
export function blockingFailures(results: readonly RuleResult[]): RuleResult[] {
  return results.filter((result) => result.outcome === 'fail');
}
