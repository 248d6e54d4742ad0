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
