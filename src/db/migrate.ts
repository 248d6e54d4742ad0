import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Database, Queryable } from './database.js';

/**
 * Plain, versioned SQL migrations: `NNNN_name.sql` files in `migrations/`, numbered from 0001
 * without gaps, applied in order, each inside its own transaction together with its row in
 * `schema_migrations` (version, name, SHA-256 of the file). A file that was edited after it was
 * applied, or a database that has a migration this build does not know, stops the start-up: the
 * schema must be exactly what the code was written against.
 *
 * Several instances may start at once against one PostgreSQL server: each migration transaction
 * first takes a transaction-scoped advisory lock and then re-reads what is applied.
 */

export interface MigrationFile {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;
/** Arbitrary but fixed: the advisory lock key that serialises migrations across instances. */
const MIGRATION_LOCK_KEY = 7_263_552_110;

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const [index, fileName] of names.entries()) {
    const match = FILE_PATTERN.exec(fileName);
    if (match === null) throw new MigrationError(`migration file ${fileName} is not named NNNN_name.sql`);
    const version = Number(match[1]);
    if (version !== index + 1) throw new MigrationError(`migration ${fileName} is out of sequence: expected version ${index + 1}`);
    const sql = await readFile(`${dir}/${fileName}`, 'utf8');
    files.push({ version, name: fileName, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return files;
}

interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
}

/** Creates the bookkeeping table once; checked first so a role without CREATE can still start. */
async function ensureTable(tx: Queryable): Promise<void> {
  const [row] = await tx.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (row?.present === true) return;
  await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
}

async function readApplied(tx: Queryable): Promise<AppliedMigration[]> {
  return tx.query<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
}

/** Problems that make the database unsafe to run this build against; empty when all is well. */
export function verifyApplied(applied: readonly AppliedMigration[], files: readonly MigrationFile[]): string[] {
  const problems: string[] = [];
  const byVersion = new Map(files.map((file) => [file.version, file]));
  for (const row of applied) {
    const file = byVersion.get(row.version);
    if (file === undefined) {
      problems.push(`the database has migration ${row.version} (${row.name}) that this build does not know`);
    } else if (file.checksum !== row.checksum) {
      problems.push(`migration ${file.name} was edited after it was applied (checksum ${row.checksum.slice(0, 12)}… in the database, ${file.checksum.slice(0, 12)}… on disk); add a new migration instead`);
    }
  }
  return problems;
}

/** Applies every pending migration; returns the names of those it applied. */
export async function migrate(db: Database, files?: readonly MigrationFile[]): Promise<string[]> {
  const all = files ?? (await loadMigrations());
  const appliedNow: string[] = [];
  for (const file of all) {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await ensureTable(tx);
      const applied = await readApplied(tx);
      const problems = verifyApplied(applied, all);
      if (problems.length > 0) throw new MigrationError(problems.join('; '));
      if (applied.some((row) => row.version === file.version)) return;
      await tx.exec(file.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [file.version, file.name, file.checksum]);
      appliedNow.push(file.name);
    });
  }
  return appliedNow;
}

export interface MigrationStatus {
  readonly applied: number;
  readonly pending: readonly string[];
  readonly problems: readonly string[];
}

/** For /healthz: is the schema exactly what this build expects? */
export async function migrationStatus(db: Queryable, files: readonly MigrationFile[]): Promise<MigrationStatus> {
  const exists = await db.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  const applied = exists[0]?.present === true ? await readApplied(db) : [];
  const appliedVersions = new Set(applied.map((row) => row.version));
  return {
    applied: applied.length,
    pending: files.filter((file) => !appliedVersions.has(file.version)).map((file) => file.name),
    problems: verifyApplied(applied, files),
  };
}
