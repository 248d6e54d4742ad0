import { pino } from 'pino';
import { buildApp } from '../src/api/app.js';
import { loadMigrations } from '../src/db/migrate.js';
import { openBenchLocation, type BenchLocation } from './bench-support.js';

/**
 * The service under `npm run bench:web`, in a process of its own as `zalog serve` runs it (forked by
 * bench/web.ts once the book is seeded): its heap holds only what serving needs, not the seeding's
 * or the browser driver's, and its CPU is its own to measure. The parent sends the database's
 * location and the web root; this answers with the origin it listens on, and closes on 'stop'.
 */
interface Job { readonly location: BenchLocation; readonly webRoot: string }
const job = await new Promise<Job>((resolve) => process.once('message', (message) => resolve(message as Job)));
const db = await openBenchLocation(job.location);
// The service's own logging (info: one line per request), written where it costs least.
const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
// Cold loads log in each time (24 logins within a minute): the login limit is not what is measured.
const app = await buildApp({ db, migrations: await loadMigrations(), logger, webRoot: job.webRoot, rateLimitPerMinute: 10_000_000, loginRateLimitPerMinute: 1_000 });
const origin = await app.listen({ host: '127.0.0.1', port: 0 });
process.on('message', async (message) => {
  if (message !== 'stop') return;
  await app.close();
  await db.close();
  process.exit(0);
});
process.send!({ origin });
