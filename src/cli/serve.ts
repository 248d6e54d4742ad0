import { pino } from 'pino';
import { buildApp } from '../api/app.js';
import { describeDatabase, type Config } from '../config.js';
import { loadMigrations, migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { PriceService } from '../prices/price-service.js';
import { buildSources, loadPricesConfig, pipelineConfig } from '../prices/prices-config.js';
import { cbrDailyRate } from '../prices/sources/cbr.js';
import { httpRegistryClient, registryRecheckJob } from '../compliance/registry.js';
import { scheduleJob } from '../jobs/schedule.js';
import { equipmentRevaluationJob } from '../underwriting/equipment-service.js';
import { eodJob } from '../loans/eod.js';
import nodemailer from 'nodemailer';
import { bankCalendar } from '../calendar/load.js';
import { RiskEngine } from '../risk/risk-engine.js';
import { PgRiskStore } from '../risk/risk-store.js';
import { deliverDue, emailSender, webhookSender } from '../risk/outbox.js';
import { runLiquidations } from '../risk/liquidations.js';
import { otcVenue, simulatedVenue } from '../risk/venues.js';

/**
 * Starts the service: open the database, bring its schema up to date, listen. On SIGTERM or
 * SIGINT it stops accepting connections, lets requests in flight finish (their transactions
 * commit or roll back as a whole), closes the database, and exits 0; a second signal exits at once.
 */
export async function serve(config: Config): Promise<void> {
  const logger = pino({ level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] });
  const db = await openDatabase(config.database);
  const migrations = await loadMigrations();
  const applied = await migrate(db, migrations);
  logger.info({ database: describeDatabase(config.database), applied }, 'database ready');

  const pricesConfig = await loadPricesConfig(config.pricesConfigPath);
  const prices = new PriceService({
    db,
    sources: buildSources(pricesConfig),
    usdRub: cbrDailyRate({ url: pricesConfig.usdRub.url, timeoutMs: pricesConfig.http.timeoutMs }),
    usdRubRefreshSeconds: pricesConfig.usdRub.refreshMinutes * 60,
    usdRubMaxAgeDays: pricesConfig.usdRub.maxAgeDays,
    pipeline: pipelineConfig(pricesConfig),
    retry: pricesConfig.http,
    cycleSeconds: pricesConfig.cycleSeconds,
    now: () => new Date(),
    logger,
  });

  const registry = config.registry === undefined ? undefined : httpRegistryClient({ baseUrl: config.registry.url, ...(config.registry.token !== undefined ? { token: config.registry.token } : {}) });
  const app = await buildApp({
    db,
    ...(registry !== undefined ? { registry } : {}),
    migrations,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    rateLimitPerMinute: config.rateLimitPerMinute,
    loginRateLimitPerMinute: config.loginRateLimitPerMinute,
    approvalTtlSeconds: config.approvalTtlSeconds,
    pricesStaleAfterSeconds: pricesConfig.breaker.staleAfterSeconds,
    trustProxy: config.trustProxy,
  });
  // Registered miners are re-checked in the registry monthly; the job looks every 6 hours for who is due.
  const stopRecheck = registry === undefined ? () => undefined : scheduleJob(db, registryRecheckJob(registry), logger);
  const stopRevaluation = scheduleJob(db, equipmentRevaluationJob, logger);
  // End of day closes each business day for every live loan once it is over (and catches up).
  const stopEod = scheduleJob(db, eodJob, logger);
  // The risk engine: rebuilt from the database now, moved by every published price cycle, kept
  // in step with repayments, top-ups and accrual, and expiring calls, every 10 seconds. Several
  // instances may run one each: a move is written only from the state it was decided on, so the
  // second writer of the same move writes nothing.
  const risk = new RiskEngine(db, new PgRiskStore(db, await bankCalendar()));
  const rebuilt = await risk.rebuild();
  logger.info({ loans: rebuilt.loans, moves: rebuilt.moves }, 'risk index rebuilt');
  prices.on('cycle', (cycle) => {
    risk.onCycle(cycle).catch((error: unknown) => logger.error({ err: error }, 'risk tick failed'));
  });
  const stopRisk = scheduleJob(db, { name: 'risk', lockKey: 7_207_102, everyMs: 10_000, run: async () => {
    const caughtUp = await risk.catchUp(new Date());
    const expired = await risk.expireCalls(new Date());
    return caughtUp.moves + expired > 0 ? { moves: caughtUp.moves, expired } : undefined;
  } }, logger);
  // Liquidations: queue, admit under the cap, sell (the simulated venue; the OTC desk's fills come
  // through four eyes), book. Nothing is admitted or sold while the price is degraded or stale.
  const stopLiquidation = scheduleJob(db, { name: 'liquidation', lockKey: 7_207_104, everyMs: 10_000, run: async () => {
    const report = await runLiquidations(db, {
      venue: config.liquidationVenue === 'simulated' ? simulatedVenue() : otcVenue, capSats: config.liquidationCapSats,
      staleAfterSeconds: pricesConfig.breaker.staleAfterSeconds, calendar: await bankCalendar(), now: () => new Date(),
      onSold: (id) => logger.info({ liquidation: id.toString() }, 'collateral sold'),
    });
    return report.queued + report.admitted + report.cancelled + report.sold + report.booked > 0 || report.held !== undefined ? report : undefined;
  } }, logger);
  // The outbox: webhooks always, e-mail when an SMTP server is configured (otherwise they wait).
  const senders = {
    webhook: webhookSender({ timeoutMs: 10_000, now: () => new Date() }),
    ...(config.smtp === undefined ? {} : { email: emailSender(nodemailer.createTransport(config.smtp.url), config.smtp.from, config.smtp.from.split('@')[1]!) }),
  };
  const stopOutbox = scheduleJob(db, { name: 'risk-outbox', lockKey: 7_207_103, everyMs: 5_000, run: async () => {
    const report = await deliverDue(db, { senders, now: () => new Date() });
    return report.delivered + report.retried + report.dead > 0 ? report : undefined;
  } }, logger);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      stopRecheck();
      stopRevaluation();
      stopEod();
      stopRisk();
      stopOutbox();
      stopLiquidation();
      await prices.stop();
      await app.close();
      await db.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  if (config.pricesPoll) {
    await prices.start();
    logger.info({ sources: pricesConfig.sources.map((source) => source.name), cycleSeconds: pricesConfig.cycleSeconds }, 'price service started');
  }
}
