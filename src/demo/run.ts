import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config.js';
import { openDatabase } from '../db/open.js';
import { bps } from '../money/money.js';
import type { PipelineConfig } from '../prices/pipeline.js';
import { serve, type ControlRunner } from '../cli/serve.js';
import type { App } from '../api/app.js';
import type { CliIo } from '../cli/io.js';
import { seedDemoBank, type DemoBank } from './bank.js';
import { DemoClock } from './clock.js';
import { CRASH_SOURCE } from './crash-2022.js';
import { replaySource, replayUsdRub } from './replay-source.js';
import { latestCycle } from '../prices/price-repository.js';

/**
 * `zalog demo` (npm run demo): the service as `zalog serve` runs it, on a fresh embedded database,
 * with a demo bank in it and a clock that starts on 8 June 2022 at 07:00 Moscow time and runs an
 * hour a second (ZALOG_DEMO_SPEED), while the price service replays that month's crash. End of day
 * closes each day as it ends; the risk engine warns, calls and liquidates as it would; one miner
 * answers its margin call with a top-up (through the API, as the miner and two treasurers would).
 *
 * It refuses a DATABASE_URL unless ZALOG_DEMO_DATABASE=yes says that database is a demo's to
 * wipe; with PGlite it uses <ZALOG_DATA_DIR>/demo and starts it afresh every time.
 */

export const DEMO_START = new Date('2022-06-08T04:00:00Z'); // 07:00 in Moscow
export const DEMO_STORY = 'June 2022: BTC falls from 31,000 to 17,600 USD (Celsius, Three Arrows Capital)';

export interface DemoOptions { readonly speed: number; readonly start: Date }

export function demoOptions(env: NodeJS.ProcessEnv): DemoOptions {
  const speed = Number(env.ZALOG_DEMO_SPEED ?? '3600');
  if (!Number.isFinite(speed) || speed < 1 || speed > 1_000_000) throw new ConfigError(`ZALOG_DEMO_SPEED is how many times faster than real time the demo clock runs (1 to 1000000); got "${env.ZALOG_DEMO_SPEED}"`);
  return { speed, start: DEMO_START };
}

export function demoConfig(config: Config, env: NodeJS.ProcessEnv): Config {
  if (config.database.engine === 'postgres') {
    if (env.ZALOG_DEMO_DATABASE !== 'yes') throw new ConfigError('the demo wipes and fills its database: it refuses DATABASE_URL unless ZALOG_DEMO_DATABASE=yes says that database is a demo\'s (or unset DATABASE_URL to use the embedded one)');
    return { ...config, pricesPoll: true, networkUrl: undefined, registry: undefined, liquidationVenue: 'simulated' };
  }
  const dataDir = path.join(config.dataDir, 'demo');
  return { ...config, dataDir, database: { engine: 'pglite', dataDir: path.join(dataDir, 'pglite') }, auditKey: { kind: 'file', path: path.join(dataDir, 'audit-signing-key.pem'), generateIfMissing: true }, auditCheckpointFile: path.join(dataDir, 'audit-checkpoints.jsonl'), pricesPoll: true, networkUrl: undefined, registry: undefined, liquidationVenue: 'simulated' };
}

/** The demo's price pipeline: one replayed source (so a quorum of one), the live breaker's thresholds. */
const DEMO_PIPELINE: PipelineConfig = {
  aggregation: { maxQuoteAgeSeconds: 7_200, outlierBps: bps(200n), quorum: 1 },
  breaker: { maxMoveBps: bps(1_500n), moveWindowSeconds: 3_600, staleAfterSeconds: 10_800 },
  weights: {},
};

export async function runDemo(config: Config, io: CliIo, options: DemoOptions, runCommand?: ControlRunner): Promise<void> {
  if (config.database.engine === 'pglite') await rm(config.dataDir, { recursive: true, force: true });
  else await wipePostgres(config);
  const clock = new DemoClock(options.start, options.speed);
  // Proposals wait 72 hours of the demo clock: at an hour a second that is 72 seconds, too short
  // to read one; they wait 72 real hours instead.
  config = { ...config, approvalTtlSeconds: Math.min(72 * 3_600 * options.speed, 2_000_000_000) };
  await serve(config, runCommand, {
    now: clock.now,
    jobSpeed: options.speed, // each job as often on the demo clock as live (but at most once a real second)
    prices: { sources: [replaySource()], usdRub: replayUsdRub, pipeline: DEMO_PIPELINE, cycleSeconds: Math.max(0.1, 1_800 / options.speed) }, // a price every 30 demo minutes
    demo: { speed: options.speed, story: DEMO_STORY, prices: CRASH_SOURCE },
    onListening: async (app, url, logger) => {
      await firstPrice(app);
      const bank = await seedDemoBank(app, app.context.db, clock.now);
      clock.release();
      printWelcome(io, url, bank, options);
      tellTheStory(app, bank, logger);
    },
  });
}

/** Waits (a few seconds at most) for the price service's first cycle: offers need a price. */
async function firstPrice(app: App): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    if (await latestCycle(app.context.db, 'live') !== undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('demo: the replayed price did not come within 30 s');
}

async function wipePostgres(config: Config): Promise<void> {
  if (config.database.engine !== 'postgres') return;
  const db = await openDatabase(config.database);
  try {
    await db.query('DROP SCHEMA public CASCADE');
    await db.query('CREATE SCHEMA public');
  } finally {
    await db.close();
  }
}

function printWelcome(io: CliIo, url: string, bank: DemoBank, options: DemoOptions): void {
  io.out('');
  io.out(`zalog demo bank: ${url}`);
  io.out(`  ${DEMO_STORY}; the clock starts on ${options.start.toISOString()} (07:00 Moscow) and runs ${options.speed}x real time.`);
  io.out(`  Prices: ${CRASH_SOURCE}.`);
  io.out('  Users (passwords are random, made for this run):');
  for (const user of bank.users) io.out(`    ${user.username.padEnd(14)} ${user.password}   ${user.roles.join(', ')}${user.borrowerId === null ? '' : ` of ${user.borrowerId}`}`);
  io.out(`  Loans: ${Object.entries(bank.loans).map(([story, ref]) => `${ref} (${story})`).join(', ')}`);
  io.out('');
}

/**
 * The miner who answers its call: when the entrepreneur's loan is called, its representative
 * declares a top-up to the product's target LTV (what the risk view says to add), a treasurer
 * records the custodian's confirmation and a second approves it; the loan leaves the call.
 */
function tellTheStory(app: App, bank: DemoBank, logger: Logger): void {
  const ref = bank.loans.cured;
  if (ref === undefined) return;
  let done = false;
  const timer = setInterval(() => {
    if (done) return;
    void (async () => {
      const miner = await bank.client('miner-petrov');
      const risk = await miner.call<{ loans: Array<{ loan: string; state: string; cure: { toTarget: { addBtc: string } } | null }> }>('GET', '/api/v1/borrowers/IP-PETROV/risk');
      const loan = risk.loans.find((l) => l.loan === ref);
      if (loan === undefined || (loan.state !== 'margin_call' && loan.state !== 'accelerated_call') || loan.cure === null) return;
      done = true;
      const declared = await miner.call<{ positionId: string }>('POST', `/api/v1/loans/${ref}/collateral`, { btc: loan.cure.toTarget.addBtc });
      const proposal = await (await bank.client('treasury')).call<{ id: string }>('POST', `/api/v1/collateral-positions/${declared.positionId}/confirmation`, { custodianRef: `CUST-${ref}-TOPUP` });
      await (await bank.client('treasury2')).call('POST', `/api/v1/approvals/${proposal.id}/approve`, {});
      logger.info({ loan: ref, btc: loan.cure.toTarget.addBtc }, 'demo: the miner topped up its collateral and the treasury confirmed it');
    })().catch((error: unknown) => { done = false; logger.warn({ err: error }, 'demo: the top-up did not go through; trying again'); });
  }, 1_000);
  timer.unref();
}
