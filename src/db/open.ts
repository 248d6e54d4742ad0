import { mkdir } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import type { Database } from './database.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

export type DatabaseTarget =
  | { readonly engine: 'postgres'; readonly url: string; readonly poolSize?: number }
  | { readonly engine: 'pglite'; readonly dataDir: string | 'memory' };

export class DatabaseLockedError extends Error {
  override readonly name = 'DatabaseLockedError';
}

/**
 * How long a lock whose holder stopped refreshing it (a killed process) counts as held, and how
 * long a starting process waits for such a lock to go stale.
 */
const LOCK_STALE_MS = 5_000;

/**
 * Opens the configured engine: node-postgres when a URL is given, embedded PGlite otherwise.
 *
 * An embedded data directory is one process's at a time: PGlite itself does not stop a second
 * process from opening it (tested: both open, and the database is damaged), so we hold an
 * exclusive lock (`<dataDir>.lock`, refreshed while open) and refuse to open a directory another
 * live process holds. A lock left by a killed process is taken over once it is stale.
 */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.engine === 'postgres') {
    return openPostgres(target.url, target.poolSize !== undefined ? { poolSize: target.poolSize } : {});
  }
  if (target.dataDir === 'memory') return openPglite();
  await mkdir(target.dataDir, { recursive: true });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target.dataDir, {
      stale: LOCK_STALE_MS,
      retries: { retries: 12, minTimeout: 250, maxTimeout: 750, factor: 1.5 },
      realpath: false,
      onCompromised: (error) => { throw error; },
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') {
      throw new DatabaseLockedError(`another zalog process is using the embedded database at ${target.dataDir}; stop it first, or run this command against the same server over HTTP`);
    }
    throw error;
  }
  let db: Database;
  try {
    db = await openPglite({ dataDir: target.dataDir });
  } catch (error) {
    await release();
    throw error;
  }
  return {
    ...db,
    close: async () => {
      try {
        await db.close();
      } finally {
        await release();
      }
    },
  };
}

/** Whether a live process holds the embedded data directory's lock (a stale lock does not count). */
export async function embeddedDatabaseInUse(dataDir: string): Promise<boolean> {
  try {
    return await lockfile.check(dataDir, { stale: LOCK_STALE_MS, realpath: false });
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Waits while the embedded data directory's lock is held but not refreshed (its holder was killed):
 * true once it is stale or gone, false if it is still held after twice the staleness time (a live
 * holder refreshes it). Polls the lock; never sleeps longer than a poll.
 */
export async function embeddedDatabaseFreed(dataDir: string): Promise<boolean> {
  const deadline = Date.now() + 2 * LOCK_STALE_MS;
  while (Date.now() < deadline) {
    if (!(await embeddedDatabaseInUse(dataDir))) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}
