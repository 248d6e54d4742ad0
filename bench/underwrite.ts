/**
 * `npm run bench:underwrite [-- --borrowers N]`
 *
 * Full underwriting for one borrower: a 36-month monthly projection and DSCR under the 5 standard
 * scenarios (price paths, difficulty growth, tariff rises, the halving), break-evens and the
 * maximum loan. Pure computation (engine "memory"); N borrowers with different fleets, mean time
 * per borrower. Goal (issue 5): <= 5 ms.
 *
 * Second figure: re-screening 100,000 borrowers (one site each, across regions) against the
 * banned-area table after a change to it, set-based (`rescreen_100k_s`, goal <= 30 s), on PGlite
 * and on PostgreSQL when DATABASE_URL is set. The script checks the count it banned.
 *
 * Third figure: importing a 10,000-entry sanctions list (names and INNs) and screening the same
 * 100,000 borrowers against it in one statement (`screen_100k_s`, same goal); the script checks
 * the hits it found.
 */
import { fraction, priceKopecksPerBtc } from '../src/money/money.js';
import type { Fleet } from '../src/underwriting/mining.js';
import { standardScenarios, underwrite } from '../src/underwriting/underwrite.js';
import type { Engine } from '../src/db/database.js';
import { rescreenBannedAreas } from '../src/compliance/rescreen.js';
import { importList, screen } from '../src/compliance/screening.js';
import { benchEngines, integerOption, machine, openBenchDatabase, printBench } from './bench-support.js';

const argv = process.argv.slice(2);
const borrowers = integerOption(argv, 'borrowers', 2_000);
const price = priceKopecksPerBtc(850_000_000n);
const scenarios = standardScenarios(price);
const network = { asOf: '2025-11-03', height: 922_500n, difficulty: 155_000_000_000_000n, feesSatsPerBlock: 2_000_000n };
const models = [
  { model: 'Antminer S19 Pro', hashrateGhs: 110_000n, powerWatts: 3_250n },
  { model: 'Antminer S21', hashrateGhs: 200_000n, powerWatts: 3_500n },
  { model: 'Antminer S21 XP', hashrateGhs: 270_000n, powerWatts: 3_645n },
  { model: 'Whatsminer M60S', hashrateGhs: 186_000n, powerWatts: 3_430n },
];

function fleetOf(i: number): Fleet {
  const sites = [{ id: 'a', tariffRubPerKwh: fraction(BigInt(300 + (i % 300)), 100n), bannedMonths: i % 5 === 0 ? [12, 1, 2, 3] : [] }, { id: 'b', tariffRubPerKwh: fraction(53n, 10n), bannedMonths: [] }];
  const machines = [0, 1, 2].map((k) => ({ ...models[(i + k) % models.length]!, count: BigInt(5 + ((i * 7 + k) % 30)), siteId: k === 2 ? 'b' : 'a' }));
  return { machines, sites, uptimeBps: 9_500n };
}

const loan = { annualRate: fraction(235n, 1_000n), months: 36, shape: 'annuity' as const, dscrMinBps: 12_500n };
for (let i = 0; i < 50; i += 1) underwrite({ fleet: fleetOf(i), network, priceKopecks: price, loan, scenarios }); // warm-up

const started = performance.now();
let positive = 0;
for (let i = 0; i < borrowers; i += 1) if (underwrite({ fleet: fleetOf(i), network, priceKopecks: price, loan, scenarios }).maxPrincipalKopecks > 0n) positive += 1;
const meanMs = (performance.now() - started) / borrowers;
console.log(`underwriting benchmark on ${machine()}`);
// Over 36 months the term crosses the halving; with a -50% price scenario few farms keep a margin.
console.log(`${borrowers} borrowers, 36 months x 5 scenarios each: ${meanMs.toFixed(3)} ms per borrower (${positive} with a positive maximum loan)`);

const BORROWERS = integerOption(argv, 'rescreen-borrowers', 100_000);

async function rescreen(engine: Engine): Promise<[number, number]> {
  const bench = await openBenchDatabase(engine);
  try {
    // 100,000 individuals (shape-valid identifiers; check digits are the application's concern),
    // one site each, spread over 80 regions; 1 in 80 sites sits in region 38's "Test district".
    await bench.db.exec(`
      INSERT INTO borrowers (ref, kind, name, inn, region_code, address, created_by)
        SELECT 'R-' || g, 'individual', 'Borrower ' || g, lpad(g::text, 12, '0'), lpad((g % 80 + 1)::text, 2, '0'), 'address', (SELECT id FROM users WHERE username = 'system')
          FROM generate_series(1, ${BORROWERS}) AS g;
      INSERT INTO mining_sites (borrower_id, name, region_code, municipality, power_source, capacity_kw)
        SELECT id, 'site', region_code, CASE WHEN region_code = '38' THEN 'Test district' ELSE 'Elsewhere' END, 'own', 100 FROM borrowers;`);
    const expected = (await bench.db.query<{ n: bigint }>("SELECT count(*) AS n FROM mining_sites WHERE (region_code = '38' AND municipality = 'Test district') OR region_code IN ('05', '06', '07', '09', '15', '20')"))[0]!.n;
    await bench.db.exec(`INSERT INTO mining_bans (id, region_code, municipalities, kind, effective_from, effective_to, legal_basis)
      VALUES ('bench-district', '38', ARRAY['Test district'], 'year_round', DATE '2025-01-01', NULL, 'benchmark')`);
    const started = performance.now();
    const summary = await bench.db.transaction((tx) => rescreenBannedAreas(tx, '2026-11-24', new Date()));
    const seconds = (performance.now() - started) / 1000;
    if (summary.borrowers !== BORROWERS || BigInt(summary.banned) !== expected) throw new Error(`rescreen found ${summary.banned} banned of ${summary.borrowers}; expected ${expected} of ${BORROWERS}`);
    console.log(`${engine}: re-screened ${summary.borrowers} borrowers in ${seconds.toFixed(2)} s: ${summary.banned} banned, ${summary.startedFailing} events`);

    // Names are normalised when a borrower is recorded; these were bulk-loaded, so fill them first.
    const system = (await bench.db.query<{ id: bigint }>("SELECT id FROM users WHERE username = 'system'"))[0]!.id;
    await bench.db.transaction((tx) => screen(tx, new Date()));
    // 5,000 names (every 20th borrower's) and 5,000 INNs (every 20th, offset by 10), plus misses.
    const lines = ['kind,value,name,program'];
    for (let g = 20; g <= BORROWERS; g += 20) lines.push(`name,"BORROWER ${g}",,bench`, `inn,${String(g - 10).padStart(12, '0')},,bench`);
    const screenStarted = performance.now();
    const imported = await bench.db.transaction((tx) => importList(tx, { name: 'bench-list', format: 'zalog_csv', version: '1', text: lines.join('\n'), importedBy: system, now: new Date() }));
    const screenSeconds = (performance.now() - screenStarted) / 1000;
    const expectedHits = 2 * Math.floor(BORROWERS / 20);
    if (imported.screening.newHits !== expectedHits) throw new Error(`screening found ${imported.screening.newHits} hits; expected ${expectedHits}`);
    console.log(`${engine}: imported ${imported.entries} list entries and screened ${BORROWERS} borrowers in ${screenSeconds.toFixed(2)} s: ${imported.screening.newHits} hits`);
    return [seconds, screenSeconds];
  } finally {
    await bench.dispose();
  }
}

const rescreens: Array<[Engine, [number, number]]> = [];
for (const engine of benchEngines(argv)) rescreens.push([engine, await rescreen(engine)]);
printBench({ name: 'underwrite', metric: 'underwrite_ms', value: Number(meanMs.toFixed(3)), unit: 'ms', engine: 'memory', goal: '<= 5' });
for (const [engine, [seconds, screenSeconds]] of rescreens) {
  printBench({ name: 'underwrite', metric: 'rescreen_100k_s', value: Number(seconds.toFixed(2)), unit: 's', engine, goal: '<= 30' });
  printBench({ name: 'underwrite', metric: 'screen_100k_s', value: Number(screenSeconds.toFixed(2)), unit: 's', engine, goal: '<= 30' });
}
