import type { Queryable } from '../db/database.js';
import type { BorrowerInput, BorrowerKind } from './borrower.js';
import { normaliseName } from '../compliance/screening-lists.js';

/** Borrower records and the ASIC catalogue in SQL. */

export interface Borrower extends BorrowerInput {
  readonly id: bigint;
  readonly createdAt: Date;
}

interface BorrowerRow {
  id: bigint; ref: string; kind: BorrowerKind; name: string; inn: string; ogrn: string | null; kpp: string | null;
  region_code: string; address: string; bik: string | null; account: string | null; created_at: Date; registered_on: string | null; group_ref: string | null;
  [key: string]: unknown;
}

function toBorrower(row: BorrowerRow): Borrower {
  return {
    id: row.id, ref: row.ref, kind: row.kind, name: row.name, inn: row.inn, regionCode: row.region_code, address: row.address, createdAt: row.created_at,
    ...(row.ogrn !== null ? { ogrn: row.ogrn } : {}), ...(row.kpp !== null ? { kpp: row.kpp } : {}),
    ...(row.bik !== null ? { bik: row.bik } : {}), ...(row.account !== null ? { account: row.account } : {}),
    ...(row.registered_on !== null ? { registeredOn: row.registered_on } : {}), ...(row.group_ref !== null ? { groupRef: row.group_ref } : {}),
  };
}

/** Inserts a validated record; 'ref_taken' or 'inn_taken' when one already exists. */
export async function createBorrower(tx: Queryable, input: BorrowerInput, createdBy: bigint): Promise<Borrower | 'ref_taken' | 'inn_taken'> {
  const [clash] = await tx.query<{ ref: string; inn: string }>('SELECT ref, inn FROM borrowers WHERE ref = $1 OR inn = $2 LIMIT 1', [input.ref, input.inn]);
  if (clash !== undefined) return clash.ref === input.ref ? 'ref_taken' : 'inn_taken';
  const [row] = await tx.query<BorrowerRow>(
    `INSERT INTO borrowers (ref, kind, name, inn, ogrn, kpp, region_code, address, bik, account, created_by, screening_name, registered_on)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *`,
    [input.ref, input.kind, input.name, input.inn, input.ogrn ?? null, input.kpp ?? null, input.regionCode, input.address, input.bik ?? null, input.account ?? null, createdBy, normaliseName(input.name), input.registeredOn ?? null],
  );
  return toBorrower(row!);
}

export async function findBorrower(db: Queryable, ref: string): Promise<Borrower | undefined> {
  const [row] = await db.query<BorrowerRow>('SELECT * FROM borrowers WHERE ref = $1', [ref]);
  return row === undefined ? undefined : toBorrower(row);
}

export async function listBorrowers(db: Queryable, options: { limit: number; afterId?: bigint }): Promise<Borrower[]> {
  const rows = await db.query<BorrowerRow>('SELECT * FROM borrowers WHERE id > $1 ORDER BY id LIMIT $2', [options.afterId ?? 0n, options.limit]);
  return rows.map(toBorrower);
}

export interface AsicModel {
  readonly model: string;
  readonly maker: string;
  readonly hashrateGhs: bigint;
  readonly powerWatts: number;
  readonly released: string | null;
  readonly source: string;
}

export async function listAsicModels(db: Queryable): Promise<AsicModel[]> {
  const rows = await db.query<{ model: string; maker: string; hashrate_ghs: bigint; power_watts: number; released: string | null; source: string }>('SELECT * FROM asic_models ORDER BY maker, model');
  return rows.map((row) => ({ model: row.model, maker: row.maker, hashrateGhs: row.hashrate_ghs, powerWatts: row.power_watts, released: row.released, source: row.source }));
}

// ---------------------------------------------------------------------------------------------
// Sites and fleet.

export interface SiteInput {
  readonly name: string;
  readonly regionCode: string;
  readonly municipality: string;
  readonly powerSource: 'own' | 'hosting';
  readonly hostingOperator?: string;
  readonly capacityKw: number;
  /** RUB per kWh as a decimal string with up to 4 decimals, and the day it applies from. */
  readonly tariffRubPerKwh: string;
  readonly tariffFrom: string;
}

export interface SiteRecord extends Omit<SiteInput, 'tariffRubPerKwh' | 'tariffFrom'> {
  readonly id: bigint;
  readonly borrowerRef: string;
  /** Tariffs, newest first: { from, rubPerKwh }. */
  readonly tariffs: ReadonlyArray<{ readonly from: string; readonly rubPerKwh: string }>;
  readonly machines: ReadonlyArray<{ readonly id: bigint; readonly model: string; readonly count: number; readonly serials: readonly string[]; readonly installedOn: string | null; readonly retiredOn: string | null; readonly retiredReason: string | null }>;
}

export async function createSite(tx: Queryable, borrower: Borrower, input: SiteInput): Promise<bigint> {
  const [row] = await tx.query<{ id: bigint }>(
    `INSERT INTO mining_sites (borrower_id, name, region_code, municipality, power_source, hosting_operator, capacity_kw)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [borrower.id, input.name, input.regionCode, input.municipality, input.powerSource, input.hostingOperator ?? null, input.capacityKw],
  );
  await tx.query('INSERT INTO site_tariffs (site_id, effective_from, rub_per_kwh) VALUES ($1, $2, $3)', [row!.id, input.tariffFrom, input.tariffRubPerKwh]);
  return row!.id;
}

/**
 * Records a site's new tariff from a date (the old ones stay: tariffs are effective-dated, and
 * valuations and underwriting read the one in force on their day). 'no_site' when the site is not
 * the borrower's, 'exists' when the site has a tariff from that very date.
 */
export async function addTariff(tx: Queryable, borrower: Borrower, siteId: bigint, input: { from: string; rubPerKwh: string }): Promise<'ok' | 'no_site' | 'exists'> {
  const [site] = await tx.query('SELECT 1 FROM mining_sites WHERE id = $1 AND borrower_id = $2', [siteId, borrower.id]);
  if (site === undefined) return 'no_site';
  const inserted = await tx.query('INSERT INTO site_tariffs (site_id, effective_from, rub_per_kwh) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING site_id', [siteId, input.from, input.rubPerKwh]);
  return inserted.length === 0 ? 'exists' : 'ok';
}

/** Adds machines to a site; 'unknown_model' when the catalogue lacks the model, 'no_site' when the site is not the borrower's. */
export async function addMachines(tx: Queryable, borrower: Borrower, siteId: bigint, machines: { model: string; count: number; serials: readonly string[]; installedOn?: string }): Promise<bigint | 'unknown_model' | 'no_site'> {
  const [site] = await tx.query<{ id: bigint }>('SELECT id FROM mining_sites WHERE id = $1 AND borrower_id = $2', [siteId, borrower.id]);
  if (site === undefined) return 'no_site';
  const [model] = await tx.query<{ model: string }>('SELECT model FROM asic_models WHERE model = $1', [machines.model]);
  if (model === undefined) return 'unknown_model';
  const [row] = await tx.query<{ id: bigint }>('INSERT INTO site_machines (site_id, model, count, serials, installed_on) VALUES ($1, $2, $3, $4::text[], $5) RETURNING id', [siteId, machines.model, machines.count, machines.serials, machines.installedOn ?? null]);
  return row!.id;
}

export interface MachineChange {
  readonly count?: number;
  readonly model?: string;
  readonly serials?: readonly string[];
  readonly installedOn?: string | null;
}

interface MachineRow { id: bigint; site_id: bigint; model: string; count: number; serials: string[]; installed_on: string | null; retired_on: string | null; [key: string]: unknown }

async function machinesOf(tx: Queryable, borrower: Borrower, siteId: bigint, machinesId: bigint): Promise<MachineRow | undefined> {
  const [row] = await tx.query<MachineRow>(
    `SELECT m.id, m.site_id, m.model, m.count, m.serials, m.installed_on::text AS installed_on, m.retired_on::text AS retired_on FROM site_machines m JOIN mining_sites s ON s.id = m.site_id
      WHERE m.id = $1 AND m.site_id = $2 AND s.borrower_id = $3 FOR UPDATE OF m`, [machinesId, siteId, borrower.id]);
  return row;
}

const machineState = (row: MachineRow) => ({ model: row.model, count: row.count, serials: row.serials, installedOn: row.installed_on, retiredOn: row.retired_on });

/**
 * Corrects a machine group recorded by mistake (count, model, serials, installation date): the
 * change and what was before are kept in machine_changes. A retired group is not corrected.
 */
/**
 * Whether a machine group secures a live loan (src/loans/equipment-pledges.ts): its model, count
 * and serials are then the pledge's, and it cannot be retired, until the loan ends or the bank
 * enforces on it. The row is locked so an approval pledging it waits for this change.
 */
async function securesLiveLoan(tx: Queryable, machinesId: bigint): Promise<boolean> {
  await tx.query('SELECT 1 FROM site_machines WHERE id = $1 FOR UPDATE', [machinesId]);
  const rows = await tx.query(`SELECT 1 FROM loan_equipment_pledges p JOIN loans l ON l.id = p.loan_id
                                WHERE p.machines_id = $1 AND p.released_at IS NULL AND l.status IN ('approved', 'active', 'overdue')`, [machinesId]);
  return rows.length > 0;
}

export async function correctMachines(tx: Queryable, borrower: Borrower, siteId: bigint, machinesId: bigint, change: MachineChange, reason: string, userId: bigint, at: Date): Promise<{ before: object; after: object } | 'not_found' | 'retired' | 'unknown_model' | 'too_many_serials' | 'pledged'> {
  const row = await machinesOf(tx, borrower, siteId, machinesId);
  if (row === undefined) return 'not_found';
  if (row.retired_on !== null) return 'retired';
  const changesPledge = (change.model !== undefined && change.model !== row.model) || (change.count !== undefined && change.count !== row.count)
    || (change.serials !== undefined && change.serials.join('\n') !== row.serials.join('\n'));
  if (changesPledge && await securesLiveLoan(tx, machinesId)) return 'pledged';
  if (change.model !== undefined && (await tx.query('SELECT 1 FROM asic_models WHERE model = $1', [change.model])).length === 0) return 'unknown_model';
  const count = change.count ?? row.count;
  const serials = change.serials ?? row.serials;
  if (serials.length > count) return 'too_many_serials';
  const [updated] = await tx.query<MachineRow>(
    `UPDATE site_machines SET model = $2, count = $3, serials = $4::text[], installed_on = $5 WHERE id = $1
     RETURNING id, site_id, model, count, serials, installed_on::text AS installed_on, retired_on::text AS retired_on`,
    [machinesId, change.model ?? row.model, count, serials, change.installedOn === undefined ? row.installed_on : change.installedOn]);
  const before = machineState(row);
  const after = machineState(updated!);
  await tx.query(`INSERT INTO machine_changes (machines_id, kind, before, after, reason, at, by_user) VALUES ($1, 'correct', $2::jsonb, $3::jsonb, $4, $5, $6)`, [machinesId, JSON.stringify(before), JSON.stringify(after), reason, at, userId]);
  return { before, after };
}

/** Retires a machine group (out of service, sold, recorded by mistake): it counts for nothing from then; the record stays. */
export async function retireMachines(tx: Queryable, borrower: Borrower, siteId: bigint, machinesId: bigint, retiredOn: string, reason: string, userId: bigint, at: Date): Promise<{ before: object; after: object } | 'not_found' | 'retired' | 'pledged'> {
  const row = await machinesOf(tx, borrower, siteId, machinesId);
  if (row === undefined) return 'not_found';
  if (row.retired_on !== null) return 'retired';
  if (await securesLiveLoan(tx, machinesId)) return 'pledged';
  const [updated] = await tx.query<MachineRow>(
    `UPDATE site_machines SET retired_on = $2, retired_reason = $3 WHERE id = $1 RETURNING id, site_id, model, count, serials, installed_on::text AS installed_on, retired_on::text AS retired_on`, [machinesId, retiredOn, reason]);
  const before = machineState(row);
  const after = machineState(updated!);
  await tx.query(`INSERT INTO machine_changes (machines_id, kind, before, after, reason, at, by_user) VALUES ($1, 'retire', $2::jsonb, $3::jsonb, $4, $5, $6)`, [machinesId, JSON.stringify(before), JSON.stringify(after), reason, at, userId]);
  return { before, after };
}

export async function machineHistory(db: Queryable, machinesId: bigint): Promise<Array<{ id: bigint; kind: string; before: unknown; after: unknown; reason: string; at: Date; username: string }>> {
  return db.query(`SELECT c.id, c.kind, c.before, c.after, c.reason, c.at, u.username FROM machine_changes c JOIN users u ON u.id = c.by_user WHERE c.machines_id = $1 ORDER BY c.id`, [machinesId]);
}

/** Adds a model to the ASIC catalogue; undefined when the model is there already. */
export async function addAsicModel(tx: Queryable, model: { model: string; maker: string; hashrateGhs: bigint; powerWatts: number; released: string | null; source: string }, userId: bigint, at: Date): Promise<boolean> {
  const rows = await tx.query(
    `INSERT INTO asic_models (model, maker, hashrate_ghs, power_watts, released, source, added_at, added_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (model) DO NOTHING RETURNING 1`,
    [model.model, model.maker, model.hashrateGhs, model.powerWatts, model.released, model.source, at, userId]);
  return rows.length === 1;
}

export async function sitesOf(db: Queryable, borrower: Borrower): Promise<SiteRecord[]> {
  const sites = await db.query<{ id: bigint; name: string; region_code: string; municipality: string; power_source: 'own' | 'hosting'; hosting_operator: string | null; capacity_kw: number }>(
    'SELECT * FROM mining_sites WHERE borrower_id = $1 ORDER BY id', [borrower.id]);
  if (sites.length === 0) return [];
  const ids = sites.map((site) => site.id);
  const tariffs = await db.query<{ site_id: bigint; effective_from: string; rub_per_kwh: string }>('SELECT * FROM site_tariffs WHERE site_id = ANY($1::int8[]) ORDER BY effective_from DESC', [ids]);
  const machines = await db.query<{ id: bigint; site_id: bigint; model: string; count: number; serials: string[]; installed_on: string | null; retired_on: string | null; retired_reason: string | null }>(
    'SELECT id, site_id, model, count, serials, installed_on::text AS installed_on, retired_on::text AS retired_on, retired_reason FROM site_machines WHERE site_id = ANY($1::int8[]) ORDER BY id', [ids]);
  return sites.map((site) => ({
    id: site.id,
    borrowerRef: borrower.ref,
    name: site.name,
    regionCode: site.region_code,
    municipality: site.municipality,
    powerSource: site.power_source,
    ...(site.hosting_operator !== null ? { hostingOperator: site.hosting_operator } : {}),
    capacityKw: site.capacity_kw,
    tariffs: tariffs.filter((t) => t.site_id === site.id).map((t) => ({ from: t.effective_from, rubPerKwh: t.rub_per_kwh })),
    machines: machines.filter((m) => m.site_id === site.id).map((m) => ({ id: m.id, model: m.model, count: m.count, serials: m.serials, installedOn: m.installed_on, retiredOn: m.retired_on, retiredReason: m.retired_reason })),
  }));
}
