import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { Type } from 'typebox';
import { expectShape, getJson, SourceError } from '../adapters/http.js';
import type { Database, Queryable } from '../db/database.js';
import type { Job } from '../jobs/schedule.js';
import { systemUser } from '../identity/identity-repository.js';
import { raiseComplianceEvent } from './events.js';
import { isCalendarDate } from '../ledger/entry.js';

/**
 * The FNS miners' registry, read two ways, both ending in `registry_records` with the date of the
 * check: an HTTP client for the registry service the bank configures (ZALOG_REGISTRY_URL), and the
 * import of a registry extract file. Companies and entrepreneurs are re-checked monthly
 * (`recheckDue`, run by `zalog registry recheck` and daily by the service); a borrower leaving the
 * registry raises a compliance event (exclusion is a default event for a live loan).
 *
 * The FNS publishes no public API for this registry; the service contract below is ours, for a
 * gateway the bank runs in front of its access (СМЭВ or the FNS's own service):
 *   GET {base}/miners/{inn}   Authorization: Bearer {token} (if configured)
 *   200 { "inn": "7707083893", "number": "M-000123", "includedOn": "2024-11-15",
 *         "status": "included" | "excluded", "excludedOn": null | "YYYY-MM-DD", "exclusionReason": null | "..." }
 *   404 the INN is not in the registry
 * The extract is CSV (comma or semicolon) with a header row:
 *   inn,number,included_on,status,excluded_on,exclusion_reason
 * status `included`/`excluded` (or `включен`/`исключен`), dates YYYY-MM-DD or DD.MM.YYYY.
 */

export type RegistryStatus = 'included' | 'excluded' | 'not_found';

export interface RegistryFinding {
  readonly status: RegistryStatus;
  readonly number: string | null;
  readonly includedOn: string | null;
  readonly excludedOn: string | null;
  readonly exclusionReason: string | null;
}

const NOT_FOUND: RegistryFinding = { status: 'not_found', number: null, includedOn: null, excludedOn: null, exclusionReason: null };

export interface RegistryClient {
  /** Throws only `SourceError` (the service unreachable, an error answer, a malformed body). */
  lookup(inn: string): Promise<RegistryFinding>;
}

const ServiceRecord = Type.Object({
  inn: Type.String(),
  number: Type.String({ minLength: 1, maxLength: 64 }),
  includedOn: Type.String(),
  status: Type.Union([Type.Literal('included'), Type.Literal('excluded')]),
  excludedOn: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  exclusionReason: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
});

function checkDates(finding: RegistryFinding, what: string): RegistryFinding {
  if (finding.includedOn !== null && !isCalendarDate(finding.includedOn)) throw new SourceError('malformed', `${what}: includedOn "${String(finding.includedOn).slice(0, 20)}" is not a date`);
  if (finding.excludedOn !== null && !isCalendarDate(finding.excludedOn)) throw new SourceError('malformed', `${what}: excludedOn "${String(finding.excludedOn).slice(0, 20)}" is not a date`);
  if (finding.status === 'excluded' && finding.excludedOn === null) throw new SourceError('malformed', `${what}: an excluded record without its date of exclusion`);
  return finding;
}

export function httpRegistryClient(options: { baseUrl: string; token?: string; timeoutMs?: number }): RegistryClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const headers = options.token !== undefined ? { authorization: `Bearer ${options.token}` } : undefined;
  return {
    async lookup(inn) {
      let body: unknown;
      try {
        body = await getJson(`${base}/miners/${encodeURIComponent(inn)}`, { timeoutMs: options.timeoutMs ?? 10_000, maxBytes: 65_536, ...(headers ? { headers } : {}) });
      } catch (error) {
        if (error instanceof SourceError && error.httpStatus === 404) return NOT_FOUND;
        throw error;
      }
      const record = expectShape<{ inn: string; number: string; includedOn: string; status: 'included' | 'excluded'; excludedOn?: string | null; exclusionReason?: string | null }>(ServiceRecord, body, 'registry record');
      if (record.inn !== inn) throw new SourceError('malformed', `the registry answered for INN ${record.inn.slice(0, 12)}, not ${inn}`);
      return checkDates({ status: record.status, number: record.number, includedOn: record.includedOn, excludedOn: record.excludedOn ?? null, exclusionReason: record.exclusionReason ?? null }, 'registry record');
    },
  };
}

export interface Borrowerish {
  readonly id: bigint;
  readonly kind: 'company' | 'entrepreneur' | 'individual';
}

/**
 * Stores a check and, when the borrower enters or leaves the registry compared with its previous
 * check, a compliance event. Returns whether the status changed.
 */
export async function recordCheck(tx: Queryable, borrower: Borrowerish, finding: RegistryFinding, check: { checkedOn: string; source: 'registry_service' | 'extract_import' | 'manual'; recordedBy: bigint; now: Date; extractId?: bigint }): Promise<boolean> {
  const [previous] = await tx.query<{ status: RegistryStatus }>('SELECT status FROM registry_records WHERE borrower_id = $1 ORDER BY checked_on DESC, id DESC LIMIT 1', [borrower.id]);
  await tx.query(
    `INSERT INTO registry_records (borrower_id, number, included_on, status, checked_on, source, recorded_by, excluded_on, exclusion_reason, extract_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [borrower.id, finding.number, finding.includedOn, finding.status, check.checkedOn, check.source, check.recordedBy, finding.excludedOn, finding.exclusionReason, check.extractId ?? null],
  );
  const changed = previous !== undefined && previous.status !== finding.status;
  const was = previous?.status === 'included';
  const is = finding.status === 'included';
  // Events mark entering or leaving the registry, for those the registry binds; a first check is no change.
  if (previous === undefined || was === is || borrower.kind === 'individual') return changed;
  const reason = is
    ? `in the FNS miners' registry again (record ${finding.number}) as checked on ${check.checkedOn}`
    : finding.status === 'excluded'
      ? `excluded from the FNS miners' registry on ${finding.excludedOn} (record ${finding.number}${finding.exclusionReason ? `: ${finding.exclusionReason}` : ''}): a default event for a live loan`
      : `no longer found in the FNS miners' registry when checked on ${check.checkedOn}: a default event for a live loan`;
  await raiseComplianceEvent(tx, { borrowerId: borrower.id, rule: 'miners_registry', kind: is ? 'stopped_failing' : 'started_failing', reason, at: check.now });
  return changed;
}

/** A failed attempt to reach the registry service, kept so the last check's age and its failures are visible. */
export async function recordCheckFailure(db: Pick<Queryable, 'query'>, borrowerId: bigint, error: SourceError, at: Date): Promise<void> {
  await db.query('INSERT INTO registry_check_failures (borrower_id, attempted_at, error) VALUES ($1, $2, $3)', [borrowerId, at, `${error.kind}: ${error.message}`.slice(0, 500)]);
}

export interface RecheckSummary {
  readonly due: number;
  readonly checked: number;
  readonly changed: number;
  readonly failed: number;
}

/** Registered miners are re-checked when their last check is this old (the rule allows 31 days). */
export const RECHECK_AFTER_DAYS = 28;

/**
 * Checks every company and entrepreneur whose last registry check is older than `RECHECK_AFTER_DAYS`
 * (or that was never checked) through the registry service, one at a time; each check commits on
 * its own, so a crash loses nothing done. A failure to reach the service is recorded and the
 * borrower stays due.
 */
export async function recheckDue(db: Pick<Database, 'transaction' | 'query'>, client: RegistryClient, options: { now: Date; recordedBy: bigint; limit?: number }): Promise<RecheckSummary> {
  const today = options.now.toISOString().slice(0, 10);
  const due = await db.query<{ id: bigint; kind: Borrowerish['kind']; inn: string }>(
    `SELECT b.id, b.kind, b.inn FROM borrowers b
      WHERE b.kind IN ('company', 'entrepreneur')
        AND NOT EXISTS (SELECT 1 FROM registry_records r WHERE r.borrower_id = b.id AND r.checked_on > $1::date - $2::int)
      ORDER BY b.id LIMIT $3`,
    [today, RECHECK_AFTER_DAYS, options.limit ?? 100_000],
  );
  let checked = 0;
  let changed = 0;
  let failed = 0;
  for (const borrower of due) {
    try {
      const finding = await client.lookup(borrower.inn);
      const moved = await db.transaction((tx) => recordCheck(tx, borrower, finding, { checkedOn: today, source: 'registry_service', recordedBy: options.recordedBy, now: options.now }));
      checked += 1;
      if (moved) changed += 1;
    } catch (error) {
      if (!(error instanceof SourceError)) throw error;
      failed += 1;
      await recordCheckFailure(db, borrower.id, error, options.now);
    }
  }
  return { due: due.length, checked, changed, failed };
}

/** The scheduled re-check: every 6 hours, whoever is due (a job in `src/jobs/schedule.ts`). */
export function registryRecheckJob(client: RegistryClient): Job {
  return {
    name: 'registry re-check',
    lockKey: 7_207_002,
    everyMs: 6 * 3_600_000,
    async run(db) {
      const summary = await recheckDue(db, client, { now: new Date(), recordedBy: (await systemUser(db)).id });
      return summary.due > 0 ? summary : undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Registry extracts.

export interface ExtractRow extends RegistryFinding {
  readonly inn: string;
}

export interface ParsedExtract {
  readonly rows: readonly ExtractRow[];
  readonly skipped: readonly string[];
}

function extractDate(text: string | undefined): string | null | undefined {
  const value = (text ?? '').trim();
  if (value === '') return null;
  const russian = /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(value);
  const iso = russian ? `${russian[3]}-${russian[2]}-${russian[1]}` : value;
  return isCalendarDate(iso) ? iso : undefined;
}

const STATUS_WORDS: Record<string, 'included' | 'excluded'> = { included: 'included', excluded: 'excluded', 'включен': 'included', 'исключен': 'excluded' };

export function parseRegistryExtract(text: string): ParsedExtract {
  const firstLine = text.slice(0, text.indexOf('\n') === -1 ? undefined : text.indexOf('\n'));
  const delimiter = firstLine.includes(';') ? ';' : ',';
  let records: Array<Record<string, string | undefined>>;
  try {
    records = parse(text, { columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), delimiter, skip_empty_lines: true, trim: true, bom: true, relax_column_count: true });
  } catch (error) {
    throw new SyntaxError(`not a readable registry extract: ${(error as Error).message}`);
  }
  const rows: ExtractRow[] = [];
  const skipped: string[] = [];
  records.forEach((record, index) => {
    const line = index + 2;
    const inn = (record['inn'] ?? '').trim();
    const status = STATUS_WORDS[(record['status'] ?? '').trim().toLowerCase()];
    const includedOn = extractDate(record['included_on']);
    const excludedOn = extractDate(record['excluded_on']);
    const number = (record['number'] ?? '').trim();
    if (!/^([0-9]{10}|[0-9]{12})$/.test(inn)) skipped.push(`line ${line}: INN "${inn.slice(0, 20)}" is not 10 or 12 digits`);
    else if (status === undefined) skipped.push(`line ${line}: status "${(record['status'] ?? '').slice(0, 20)}" is not included or excluded`);
    else if (number.length === 0 || number.length > 64) skipped.push(`line ${line}: the record number is missing or too long`);
    else if (includedOn === undefined || includedOn === null) skipped.push(`line ${line}: included_on is not a date`);
    else if (excludedOn === undefined || (status === 'excluded') !== (excludedOn !== null)) skipped.push(`line ${line}: excluded_on must be a date exactly when the record is excluded`);
    else rows.push({ inn, status, number, includedOn, excludedOn, exclusionReason: (record['exclusion_reason'] ?? '').trim().slice(0, 500) || null });
  });
  return { rows, skipped };
}

export class ExtractImportError extends Error {}

export interface ExtractImport {
  readonly extractId: bigint;
  readonly imported: boolean;
  readonly rows: number;
  readonly matched: number;
  readonly notFound: number;
  readonly changed: number;
  readonly skipped: readonly string[];
}

/**
 * Imports an extract as of a date: each borrower whose INN is in it gets a check from it; with a
 * complete extract, each company and entrepreneur not in it gets a 'not_found' check. The same file
 * twice imports once.
 */
export async function importRegistryExtract(tx: Queryable, input: { text: string; asOf: string; complete: boolean; importedBy: bigint; now: Date }): Promise<ExtractImport> {
  const sha256 = createHash('sha256').update(input.text).digest('hex');
  const [existing] = await tx.query<{ id: bigint; row_count: number; matched: number }>('SELECT id, row_count, matched FROM registry_extracts WHERE sha256 = $1', [sha256]);
  if (existing !== undefined) return { extractId: existing.id, imported: false, rows: existing.row_count, matched: existing.matched, notFound: 0, changed: 0, skipped: [] };
  let parsed: ParsedExtract;
  try {
    parsed = parseRegistryExtract(input.text);
  } catch (error) {
    throw new ExtractImportError((error as Error).message);
  }
  if (parsed.rows.length === 0) throw new ExtractImportError(`the extract has no usable row${parsed.skipped.length > 0 ? ` (${parsed.skipped[0]})` : ''}`);
  const byInn = new Map(parsed.rows.map((row) => [row.inn, row]));
  const borrowers = await tx.query<{ id: bigint; kind: Borrowerish['kind']; inn: string }>(
    `SELECT id, kind, inn FROM borrowers WHERE inn = ANY ($1::text[]) ${input.complete ? "OR kind IN ('company', 'entrepreneur')" : ''} ORDER BY id`, [[...byInn.keys()]]);
  const matched = borrowers.filter((b) => byInn.has(b.inn)).length;
  const [extract] = await tx.query<{ id: bigint }>(
    'INSERT INTO registry_extracts (as_of, sha256, complete, row_count, matched, imported_at, imported_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
    [input.asOf, sha256, input.complete, parsed.rows.length, matched, input.now, input.importedBy],
  );
  let changed = 0;
  // One check per borrower in the book (thousands, not millions): a statement each is fine here.
  for (const borrower of borrowers) {
    const finding = byInn.get(borrower.inn) ?? NOT_FOUND;
    if (await recordCheck(tx, borrower, finding, { checkedOn: input.asOf, source: 'extract_import', recordedBy: input.importedBy, now: input.now, extractId: extract!.id })) changed += 1;
  }
  return { extractId: extract!.id, imported: true, rows: parsed.rows.length, matched, notFound: borrowers.length - matched, changed, skipped: parsed.skipped.slice(0, 100) };
}
