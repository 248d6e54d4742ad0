import { loadCalendar } from '../calendar/load.js';
import { openPglite } from '../db/pglite.js';
import { runLiquidations } from '../risk/liquidations.js';
import { simulatedVenue } from '../risk/venues.js';

/**
 * For src/risk/liquidation-crash.test.ts: runs the liquidation job once on the PGlite data
 * directory given, and with `kill-after-sale` kills its own process (SIGKILL: no clean-up, no
 * rollback beyond what PostgreSQL itself does) the moment the first sale has committed, before
 * anything is booked.
 */
const [dataDir, mode] = process.argv.slice(2);
const db = await openPglite({ dataDir: dataDir! });
const report = await runLiquidations(db, {
  venue: simulatedVenue(), capSats: 10n ** 12n, staleAfterSeconds: 10 ** 9, calendar: await loadCalendar(), now: () => new Date(),
  onSold: (id) => {
    process.stderr.write(`sold ${id}\n`);
    if (mode === 'kill-after-sale') process.kill(process.pid, 'SIGKILL');
  },
});
process.stderr.write(`${JSON.stringify(report)}\n`);
await db.close();
