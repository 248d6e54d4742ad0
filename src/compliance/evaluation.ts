import type { Queryable } from '../db/database.js';
import type { Borrower } from '../borrowers/borrower-repository.js';
import { hitsForRule } from './screening.js';
import { attestationsRule, type Attestation, type AttestationKind, bannedAreaRule, blockingFailures, householdEnergyRule, miningSinceOf, monthlyReportRule, registryRule, screeningRule, type BanEntry, type FiledReport, type RegistryRecord, type RuleResult } from './rules.js';

/**
 * Evaluating a borrower: gather the data the rules read (its sites, its fleet's power, the
 * banned-area table, its registry record and reports), run every rule, and store the evaluation
 * with its inputs and results, so any decision can show what it stood on.
 */

export interface Evaluation {
  readonly id: bigint;
  readonly asOf: string;
  readonly evaluatedAt: Date;
  readonly results: readonly RuleResult[];
  readonly blocking: boolean;
  readonly inputs: Readonly<Record<string, unknown>>;
}

export async function loadBanTable(db: Queryable): Promise<BanEntry[]> {
  const rows = await db.query<{ id: string; region_code: string; municipalities: string[] | null; kind: 'year_round' | 'seasonal'; season_start: string | null; season_end: string | null; effective_from: string; effective_to: string | null; legal_basis: string }>('SELECT * FROM mining_bans ORDER BY id');
  return rows.map((row) => ({
    id: row.id, regionCode: row.region_code, municipalities: row.municipalities, kind: row.kind,
    ...(row.season_start !== null ? { seasonStart: row.season_start } : {}), ...(row.season_end !== null ? { seasonEnd: row.season_end } : {}),
    effectiveFrom: row.effective_from, effectiveTo: row.effective_to, legalBasis: row.legal_basis,
  }));
}

export async function evaluateBorrower(tx: Queryable, borrower: Borrower, asOf: string, evaluatedBy: bigint, now: Date): Promise<Evaluation> {
  const sites = await tx.query<{ id: bigint; region_code: string; municipality: string; created_at: Date }>('SELECT id, region_code, municipality, created_at FROM mining_sites WHERE borrower_id = $1 ORDER BY id', [borrower.id]);
  const power = await tx.query<{ power_watts: number; count: number; installed_on: string | null }>(
    'SELECT a.power_watts, m.count, m.installed_on::text AS installed_on FROM site_machines m JOIN mining_sites s ON s.id = m.site_id JOIN asic_models a ON a.model = m.model WHERE s.borrower_id = $1 AND m.retired_on IS NULL', [borrower.id]);
  const [registry] = await tx.query<{ number: string | null; included_on: string | null; status: 'included' | 'excluded' | 'not_found'; checked_on: string }>(
    'SELECT number, included_on, status, checked_on FROM registry_records WHERE borrower_id = $1 ORDER BY checked_on DESC, id DESC LIMIT 1', [borrower.id]);
  const reports = await tx.query<{ period: string; filed_on: string; receipt: string }>('SELECT period, filed_on, receipt FROM fns_reports WHERE borrower_id = $1 ORDER BY period', [borrower.id]);
  const bans = await loadBanTable(tx);
  const hits = await hitsForRule(tx, borrower.id);
  const attested = await tx.query<{ kind: AttestationKind; value: boolean; recorded_at: Date }>('SELECT kind, value, recorded_at FROM borrower_attestations WHERE borrower_id = $1 ORDER BY recorded_at, id', [borrower.id]);
  const attestations: Attestation[] = attested.map((a) => ({ kind: a.kind, value: a.value, recordedOn: a.recorded_at.toISOString().slice(0, 10) }));

  const locations = sites.map((site) => ({ siteId: site.id.toString(), regionCode: site.region_code, municipality: site.municipality }));
  const record: RegistryRecord | null = registry === undefined ? null
    : registry.status === 'not_found' ? { status: 'not_found', checkedOn: registry.checked_on }
      : { number: registry.number!, includedOn: registry.included_on!, status: registry.status, checkedOn: registry.checked_on };
  const filed: FiledReport[] = reports.map((report) => ({ period: report.period, filedOn: report.filed_on, receipt: report.receipt }));
  const miningSince = miningSinceOf({
    kind: borrower.kind,
    registryIncludedOn: record !== null && record.status !== 'not_found' ? record.includedOn : null,
    installedOn: power.map((p) => p.installed_on),
    sitesRecordedOn: sites.map((site) => site.created_at.toISOString().slice(0, 10)),
  }, asOf);
  const results = [
    registryRule(borrower.kind, record, asOf),
    householdEnergyRule(borrower.kind, power.map((p) => ({ powerWatts: BigInt(p.power_watts), count: BigInt(p.count) }))),
    bannedAreaRule(bans, locations, asOf),
    monthlyReportRule(filed, asOf, miningSince),
    screeningRule(hits),
    attestationsRule(borrower.kind, attestations),
  ];
  const inputs = { kind: borrower.kind, sites: locations, machines: power.map((p) => ({ power_watts: p.power_watts, count: p.count })), registry: record, reports: filed, banTableIds: bans.map((ban) => ban.id), miningSince, screeningHits: hits, attestations };
  const blocking = blockingFailures(results).length > 0;
  const [row] = await tx.query<{ id: bigint }>(
    'INSERT INTO compliance_evaluations (borrower_id, as_of, evaluated_at, evaluated_by, inputs, results, blocking) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7) RETURNING id',
    [borrower.id, asOf, now, evaluatedBy, JSON.stringify(inputs), JSON.stringify(results), blocking],
  );
  return { id: row!.id, asOf, evaluatedAt: now, results, blocking, inputs };
}
