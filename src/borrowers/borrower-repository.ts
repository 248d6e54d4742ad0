import type { Queryable } from '../db/database.js';
import type { BorrowerInput, BorrowerKind } from './borrower.js';

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
    `INSERT INTO borrowers (ref, kind, name, inn, ogrn, kpp, region_code, address, bik, account, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
    [input.ref, input.kind, input.name, input.inn, input.ogrn ?? null, input.kpp ?? null, input.regionCode, input.address, input.bik ?? null, input.account ?? null, createdBy],
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
