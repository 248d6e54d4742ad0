import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations, MigrationError, migrate, migrationStatus, type MigrationFile } from './migrate.js';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zalog-migrations-'));
  for (const [name, sql] of Object.entries(files)) await writeFile(path.join(dir, name), sql);
  return dir;
}

let opened: TestDatabase | undefined;
afterEach(async () => {
  await opened?.close();
  opened = undefined;
});

describe('migrations', () => {
  it('apply once, in order, and record a checksum; a second run applies nothing', async () => {
    opened = await openTestDatabase({ migrated: false });
    const files = await loadMigrations(await migrationsDir({
      '0001_first.sql': 'CREATE TABLE a (id int);',
      '0002_second.sql': 'CREATE TABLE b (id int); INSERT INTO b VALUES (1);',
    }));
    expect(await migrate(opened.db, files)).toEqual(['0001_first.sql', '0002_second.sql']);
    expect(await migrate(opened.db, files)).toEqual([]);
    const rows = await opened.db.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations ORDER BY version');
    expect(rows.map((row) => row.version)).toEqual([1, 2]);
    expect(rows[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(await opened.db.query('SELECT id FROM b')).toEqual([{ id: 1 }]);
    expect(await migrationStatus(opened.db, files)).toEqual({ applied: 2, pending: [], problems: [] });
  });

  it('refuse to run when an applied file was edited', async () => {
    opened = await openTestDatabase({ migrated: false });
    const original = await loadMigrations(await migrationsDir({ '0001_first.sql': 'CREATE TABLE a (id int);' }));
    await migrate(opened.db, original);
    const edited: MigrationFile[] = await loadMigrations(await migrationsDir({
      '0001_first.sql': 'CREATE TABLE a (id bigint);',
      '0002_second.sql': 'CREATE TABLE b (id int);',
    }));
    await expect(migrate(opened.db, edited)).rejects.toThrow(/0001_first.sql was edited after it was applied/);
    expect((await migrationStatus(opened.db, edited)).problems).toHaveLength(1);
    // Nothing of the refused run was applied.
    expect(await opened.db.query("SELECT to_regclass('b') IS NULL AS absent")).toEqual([{ absent: true }]);
  });

  it('refuse a database that has a migration this build does not know', async () => {
    opened = await openTestDatabase({ migrated: false });
    await migrate(opened.db, await loadMigrations(await migrationsDir({ '0001_first.sql': 'SELECT 1;', '0002_second.sql': 'SELECT 2;' })));
    const older = await loadMigrations(await migrationsDir({ '0001_first.sql': 'SELECT 1;' }));
    await expect(migrate(opened.db, older)).rejects.toBeInstanceOf(MigrationError);
  });

  it('roll back a migration that fails halfway, leaving no trace of it', async () => {
    opened = await openTestDatabase({ migrated: false });
    const files = await loadMigrations(await migrationsDir({ '0001_broken.sql': 'CREATE TABLE c (id int); SELECT no_such_function();' }));
    await expect(migrate(opened.db, files)).rejects.toThrow();
    expect(await opened.db.query("SELECT to_regclass('c') IS NULL AS absent")).toEqual([{ absent: true }]);
    expect((await migrationStatus(opened.db, files)).pending).toEqual(['0001_broken.sql']);
  });

  it('refuse badly named or out-of-sequence files', async () => {
    await expect(loadMigrations(await migrationsDir({ '0001_a.sql': '', '0003_c.sql': '' }))).rejects.toThrow(/out of sequence/);
    await expect(loadMigrations(await migrationsDir({ '1_a.sql': '' }))).rejects.toThrow(/NNNN_name/);
  });

  it('ship this build\'s own migrations in sequence', async () => {
    const files = await loadMigrations();
    expect(files[0]?.name).toBe('0001_ledger.sql');
  });
});
