import { mkdir } from 'node:fs/promises';
import type { Database } from './database.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

export type DatabaseTarget =
  | { readonly engine: 'postgres'; readonly url: string; readonly poolSize?: number }
  | { readonly engine: 'pglite'; readonly dataDir: string | 'memory' };

/** Opens the configured engine: node-postgres when a URL is given, embedded PGlite otherwise. */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.engine === 'postgres') {
    return openPostgres(target.url, target.poolSize !== undefined ? { poolSize: target.poolSize } : {});
  }
  if (target.dataDir === 'memory') return openPglite();
  await mkdir(target.dataDir, { recursive: true });
  return openPglite({ dataDir: target.dataDir });
}
