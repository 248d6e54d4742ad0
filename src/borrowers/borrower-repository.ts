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
  region_code: string; address: string; bik: string | null; account: string | null; created_at: Date;
  [key: string]: unknown;
}

function toBorrower(row: BorrowerRow): Borrower {
  return {
    id: row.id, ref: row.ref, kind: row.kind, name: row.name, inn: row.inn, regionCode: row.region_code, address: row.address, createdAt: row.created_at,
    ...(row.ogrn !== null ? { ogrn: row.ogrn } : {}), ...(row.kpp !== null ? { kpp: row.kpp } : {}),
    ...(row.bik !== null ? { bik: row.bik } : {}), ...(row.account !== null ? { account: row.account } : {}),
  };
}

/** Inserts a validated record; 'ref_taken' or 'inn_taken' when one already exists. */
export async function createBorrower(tx: Queryable, input: BorrowerInput, createdBy: bigint): Promise<Borrower | 'ref_taken' | 'inn_taken'> {
  const [clash] = await tx.query<{ ref: string; inn: string }>('SELECT ref, inn FROM borrowers WHERE ref = $1 OR inn = $2 LIMIT 1', [input.ref, input.inn]);
  if (clash !== undefined) return clash.ref === input.ref ? 'ref_taken' : 'inn_taken';
  const [row] = await tx.query<BorrowerRow>(
    `INSERT INTO borrowers (ref, kind, name, inn, ogrn, kpp, region_code, address, bik, account, created_by, screening_name)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
    [input.ref, input.kind, input.name, input.inn, input.ogrn ?? null, input.kpp ?? null, input.regionCode, input.address, input.bik ?? null, input.account ?? null, createdBy, normaliseName(input.name)],
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
  readonly machines: ReadonlyArray<{ readonly id: bigint; readonly model: string; readonly count: number; readonly serials: readonly string[] }>;
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

/** Adds machines to a site; 'unknown_model' when the catalogue lacks the model, 'no_site' when the site is not the borrower's. */
export async function addMachines(tx: Queryable, borrower: Borrower, siteId: bigint, machines: { model: string; count: number; serials: readonly string[]; installedOn?: string }): Promise<bigint | 'unknown_model' | 'no_site'> {
  const [site] = await tx.query<{ id: bigint }>('SELECT id FROM mining_sites WHERE id = $1 AND borrower_id = $2', [siteId, borrower.id]);
  if (site === undefined) return 'no_site';
  const [model] = await tx.query<{ model: string }>('SELECT model FROM asic_models WHERE model = $1', [machines.model]);
  if (model === undefined) return 'unknown_model';
  const [row] = await tx.query<{ id: bigint }>('INSERT INTO site_machines (site_id, model, count, serials, installed_on) VALUES ($1, $2, $3, $4::text[], $5) RETURNING id', [siteId, machines.model, machines.count, machines.serials, machines.installedOn ?? null]);
  return row!.id;
}

export async function sitesOf(db: Queryable, borrower: Borrower): Promise<SiteRecord[]> {
  const sites = await db.query<{ id: bigint; name: string; region_code: string; municipality: string; power_source: 'own' | 'hosting'; hosting_operator: string | null; capacity_kw: number }>(
    'SELECT * FROM mining_sites WHERE borrower_id = $1 ORDER BY id', [borrower.id]);
  if (sites.length === 0) return [];
  const ids = sites.map((site) => site.id);
  const tariffs = await db.query<{ site_id: bigint; effective_from: string; rub_per_kwh: string }>('SELECT * FROM site_tariffs WHERE site_id = ANY($1::int8[]) ORDER BY effective_from DESC', [ids]);
  const machines = await db.query<{ id: bigint; site_id: bigint; model: string; count: number; serials: string[] }>('SELECT id, site_id, model, count, serials FROM site_machines WHERE site_id = ANY($1::int8[]) ORDER BY id', [ids]);
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
    machines: machines.filter((m) => m.site_id === site.id).map((m) => ({ id: m.id, model: m.model, count: m.count, serials: m.serials })),
  }));
}
