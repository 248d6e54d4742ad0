/**
 * Writes the service's OpenAPI document (the one GET /api/v1/openapi.json serves) to a file, from
 * the app built on an in-memory database: the web app's typed client is generated from it and
 * Redocly lints it in CI, so both see exactly what the running service would publish.
 *
 *   tsx scripts/openapi.ts web/generated/openapi.json
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { buildApp } from '../src/api/app.js';
import { openDatabase } from '../src/db/open.js';
import { loadMigrations, migrate } from '../src/db/migrate.js';

const out = process.argv[2];
if (out === undefined) {
  process.stderr.write('usage: tsx scripts/openapi.ts OUT.json\n');
  process.exit(2);
}
const db = await openDatabase({ engine: 'pglite', dataDir: 'memory' });
const migrations = await loadMigrations();
await migrate(db, migrations);
const app = await buildApp({ db, migrations, logger: false });
await app.ready();
const document = app.swagger();
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(document, null, 2)}\n`);
await app.close();
await db.close();
