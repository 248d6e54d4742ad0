/**
 * `npm run bench:underwrite [-- --borrowers N]`
 *
 * Full underwriting for one borrower: a 36-month monthly projection and DSCR under the 5 standard
 * scenarios (price paths, difficulty growth, tariff rises, the halving), break-evens and the
 * maximum loan. Pure computation (engine "memory"); N borrowers with different fleets, mean time
 * per borrower. Goal (issue 5): <= 5 ms.
 *
 * The second figure of issue 5, rescreening 100,000 borrowers after a rule table change
 * (`rescreen_100k_s`), comes with the compliance screening and is not measured here yet.
 */
import { fraction, priceKopecksPerBtc } from '../src/money/money.js';
import type { Fleet } from '../src/underwriting/mining.js';
import { standardScenarios, underwrite } from '../src/underwriting/underwrite.js';
import { integerOption, machine, printBench } from './bench-support.js';

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
printBench({ name: 'underwrite', metric: 'underwrite_ms', value: Number(meanMs.toFixed(3)), unit: 'ms', engine: 'memory', goal: '<= 5' });
