import { randomBytes } from 'node:crypto';
import type { Database } from '../db/database.js';
import { loadMigrations, migrate, type MigrationFile } from '../db/migrate.js';
import { openPglite } from '../db/pglite.js';
import { openPostgres } from '../db/postgres.js';

/**
 * A fresh, migrated database for one test file. In-memory PGlite by default; when
 * TEST_DATABASE_URL is set, a schema of its own on that PostgreSQL server (dropped on close), so
 * test files can run in parallel against one server without seeing each other's rows.
 */
export interface TestDatabase {
  readonly db: Database;
  /** Opens another pool on the same schema (PostgreSQL only), e.g. to race two writers. */
  readonly openAnother: () => Promise<Database>;
  readonly close: () => Promise<void>;
}

let migrationsCache: Promise<MigrationFile[]> | undefined;

export function testMigrations(): Promise<MigrationFile[]> {
  migrationsCache ??= loadMigrations();
  return migrationsCache;
}

export const testDatabaseUrl: string | undefined = process.env.TEST_DATABASE_URL || undefined;

export async function openTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const migrated = options.migrated ?? true;
  if (testDatabaseUrl === undefined) {
    const db = await openPglite();
    if (migrated) await migrate(db, await testMigrations());
    return {
      db,
      openAnother: () => Promise.reject(new Error('openAnother needs TEST_DATABASE_URL (PGlite has one connection)')),
      close: () => db.close(),
    };
  }
  const url = testDatabaseUrl;
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const admin = await openPostgres(url, { poolSize: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const opened: Database[] = [];
  const open = async () => {
    const db = await openPostgres(url, { schema, poolSize: 4, applicationName: `zalog-test-${schema}` });
    opened.push(db);
    return db;
  };
  const db = await open();
  if (migrated) await migrate(db, await testMigrations());
  return {
    db,
    openAnother: open,
    close: async () => {
      for (const each of opened) await each.close();
      const cleanup = await openPostgres(url, { poolSize: 1 });
      await cleanup.exec(`DROP SCHEMA ${schema} CASCADE`);
      await cleanup.close();
    },
  };
}
