import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Database, Engine } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/pglite.js';
import { openPostgres } from '../src/db/postgres.js';

/**
 * Shared by the `npm run bench:*` scripts: which engines to run on, a fresh migrated database on
 * each (PGlite in a temporary data directory on disk, as the service runs it; PostgreSQL in a
 * schema of its own, dropped afterwards), and the one-line result format of DEVELOPERS.md.
 */

export interface BenchDatabase {
  readonly engine: Engine;
  readonly db: Database;
  /** Where it lives, for a process of the bench's own to open it too (PGlite: after db.close()). */
  readonly location: BenchLocation;
  readonly dispose: () => Promise<void>;
}

export type BenchLocation = { readonly engine: 'pglite'; readonly dataDir: string } | { readonly engine: 'postgres'; readonly url: string; readonly schema: string };

/** Opens a bench database that openBenchDatabase made (from another process, say). */
export async function openBenchLocation(location: BenchLocation, poolSize = 8): Promise<Database> {
  return location.engine === 'pglite' ? openPglite({ dataDir: location.dataDir }) : openPostgres(location.url, { schema: location.schema, poolSize });
}

/** PGlite always; PostgreSQL too when DATABASE_URL is set. `--engine X` picks one. */
export function benchEngines(argv: readonly string[]): Engine[] {
  const chosen = option(argv, 'engine');
  if (chosen === 'pglite' || chosen === 'postgres') return [chosen];
  if (chosen !== undefined) throw new Error(`--engine must be pglite or postgres; got ${chosen}`);
  return process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export async function openBenchDatabase(engine: Engine, poolSize = 8): Promise<BenchDatabase> {
  if (engine === 'pglite') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zalog-bench-'));
    const db = await openPglite({ dataDir: dir });
    await migrate(db);
    // PGlite's data directory has one owner at a time: a bench that hands it to another process
    // closes db first, and dispose does not close it twice.
    let closed = false;
    const close = db.close.bind(db);
    db.close = async () => { if (!closed) { closed = true; await close(); } };
    return { engine, db, location: { engine, dataDir: dir }, dispose: async () => { await db.close(); await rm(dir, { recursive: true, force: true }); } };
  }
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('the postgres engine needs DATABASE_URL');
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const admin = await openPostgres(url, { poolSize: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const db = await openPostgres(url, { schema, poolSize });
  await migrate(db);
  return {
    engine,
    db,
    location: { engine, url, schema },
    dispose: async () => {
      await db.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

export function option(argv: readonly string[], name: string): string | undefined {
  const index = argv.indexOf(`--${name}`);
  return index >= 0 ? argv[index + 1] : undefined;
}

export function integerOption(argv: readonly string[], name: string, fallback: number): number {
  const text = option(argv, name);
  if (text === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(text)) throw new Error(`--${name} must be a positive whole number; got ${text}`);
  return Number(text);
}

export interface BenchLine {
  readonly name: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly engine: Engine | 'memory';
  readonly goal: string;
}

/** The machine-readable result line; one per figure, printed last. */
export function printBench(line: BenchLine): void {
  console.log(`BENCH ${JSON.stringify(line)}`);
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}
