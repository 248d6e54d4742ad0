import { bankRequisites } from '../loans/requisites.js';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { needsSetup } from '../identity/routes.js';
import { buildApp } from '../api/app.js';
import { describeDatabase, type Config } from '../config.js';
import { loadMigrations, migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { PriceService } from '../prices/price-service.js';
import { buildSources, loadPricesConfig, pipelineConfig } from '../prices/prices-config.js';
import { cbrDailyRate } from '../prices/sources/cbr.js';
import { httpRegistryClient, registryRecheckJob } from '../compliance/registry.js';
import { scheduleJob } from '../jobs/schedule.js';
import { esploraBackend } from '../vaults/esplora.js';
import { coreRpcBackend } from '../vaults/core-rpc.js';
import { VaultWatcher, vaultWatcherJob } from '../vaults/watcher.js';
import { equipmentRevaluationJob } from '../underwriting/equipment-service.js';
import { eodJobAt } from '../loans/eod.js';
import type { Job } from '../jobs/schedule.js';
import type { PriceSource } from '../prices/sources/source.js';
import type { OfficialRate } from '../prices/sources/cbr.js';
import type { PipelineConfig } from '../prices/pipeline.js';
import type { App, DemoStatus } from '../api/app.js';
import type { Logger } from 'pino';
import nodemailer from 'nodemailer';
import { bankCalendar, refreshBankCalendar } from '../calendar/load.js';
import { RiskEngine } from '../risk/risk-engine.js';
import { PgRiskStore } from '../risk/risk-store.js';
import { deliverDue, emailSender, telegramSender, webhookSender } from '../risk/outbox.js';
import { telegramBot } from '../notices/telegram.js';
import { pollTelegram } from '../notices/telegram-link.js';
import { queueReminders } from '../notices/reminders.js';
import { latestCycle } from '../prices/price-repository.js';
import { runLiquidations } from '../risk/liquidations.js';
import { otcVenue, simulatedVenue } from '../risk/venues.js';
import { controlSocketPath, startControlServer, type ControlRequest } from './control.js';
import type { CliIo, CliRuntime } from './io.js';
import { loadSigningKey } from '../audit/checkpoint-file.js';
import { publicPemOf } from '../audit/checkpoint.js';
import { auditCheckpointJob } from '../audit/checkpoint-job.js';
import { deliverMail } from '../notices/mail-outbox.js';
import { fetchMempoolSnapshot, saveSnapshots } from '../underwriting/network-data.js';
import { refreshSnapshot } from '../exposure/exposure-store.js';

/** Where `npm run build:web` puts the console (web/dist), from src/cli or dist/src/cli alike. */
export const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url).href.replace('/dist/web/dist', '/web/dist'));

async function webAppRoot(configured: string | undefined): Promise<string | undefined> {
  const dir = configured ?? WEB_DIR;
  const index = await stat(`${dir}/index.html`).catch(() => undefined);
  return index?.isFile() ? dir : undefined;
}

/**
 * Starts the service: open the database, bring its schema up to date, listen. On SIGTERM or
 * SIGINT it stops accepting connections, lets requests in flight finish (their transactions
 * commit or roll back as a whole), closes the database, and exits 0; a second signal exits at once.
 */
export type ControlRunner = (request: ControlRequest, io: CliIo, runtime: CliRuntime) => Promise<number>;

/**
 * What the demo bank (src/demo) changes in the service, and nothing else: its clock, its price
 * feed (a replay of history instead of the exchanges), how much faster the periodic jobs run, and
 * what to do once it listens (seed the bank, tell the story). `npm start` passes none of these.
 */
export interface ServeOptions {
  readonly now?: () => Date;
  readonly prices?: { readonly sources: readonly PriceSource[]; readonly usdRub: (day: Date) => Promise<OfficialRate>; readonly pipeline: PipelineConfig; readonly cycleSeconds: number };
  /** Every periodic job runs this many times as often (the demo clock runs fast). */
  readonly jobSpeed?: number;
  readonly demo?: DemoStatus;
  readonly onListening?: (app: App, url: string, logger: Logger) => Promise<void>;
}

export async function serve(config: Config, runCommand?: ControlRunner, options: ServeOptions = {}): Promise<void> {
  const logger = pino({ level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] });
  const now = options.now ?? (() => new Date());
  const speed = options.jobSpeed ?? 1;
  const every = (job: Job): Job => (speed === 1 ? job : { ...job, everyMs: Math.max(1_000, Math.round(job.everyMs / speed)) });
  const db = await openDatabase(config.database);
  const migrations = await loadMigrations();
  const applied = await migrate(db, migrations);
  logger.info({ database: describeDatabase(config.database), applied }, 'database ready');
  // The business calendar: the shipped years and the years the bank loaded (zalog calendar import).
  await refreshBankCalendar(db);
  const audit = await loadSigningKey(config.auditKey);
  const proof = await loadSigningKey(config.proofKey);
  if (proof.generated) logger.warn({ keyFile: config.proofKey.kind === 'file' ? config.proofKey.path : undefined, keyId: proof.key.keyId, publicKey: publicPemOf(proof.key) }, 'made a new proof-of-collateral signing key; publish its public key (the .pub file beside it) so anyone can check the proof');
  if (audit.generated) {
    logger.warn({ keyFile: config.auditKey.kind === 'file' ? config.auditKey.path : undefined, keyId: audit.key.keyId, publicKey: publicPemOf(audit.key) }, 'made a new audit checkpoint signing key; give its public key (the .pub file beside it) to the auditors, and keep the key itself off the database server');
  }

  const pricesConfig = await loadPricesConfig(config.pricesConfigPath);
  // How old a price may be and still be stood behind: the configured breaker's, or the demo's (its clock runs fast).
  const staleAfterSeconds = options.prices?.pipeline.breaker.staleAfterSeconds ?? pricesConfig.breaker.staleAfterSeconds;
  const prices = new PriceService({
    db,
    sources: options.prices?.sources ?? buildSources(pricesConfig),
    usdRub: options.prices?.usdRub ?? cbrDailyRate({ url: pricesConfig.usdRub.url, timeoutMs: pricesConfig.http.timeoutMs }),
    usdRubRefreshSeconds: pricesConfig.usdRub.refreshMinutes * 60,
    usdRubMaxAgeDays: pricesConfig.usdRub.maxAgeDays,
    pipeline: options.prices?.pipeline ?? pipelineConfig(pricesConfig),
    retry: pricesConfig.http,
    cycleSeconds: options.prices?.cycleSeconds ?? pricesConfig.cycleSeconds,
    now,
    logger,
  });

  // A new bank has no admin: a one-time token lets the first two be made over HTTP (or use
  // zalog users create-admin, which reaches the running service through its control socket).
  const webRoot = await webAppRoot(config.webDir);
  if (webRoot === undefined) logger.warn({ webDir: config.webDir ?? WEB_DIR }, 'the web app is not built (npm run build:web): the API is served without the console');
  const setupToken = await needsSetup(db) ? randomBytes(24).toString('base64url') : undefined;
  // On-chain custody's backend: one client for the watcher, the fee estimates and the broadcasts.
  const chainConfig = config.chain;
  const chainBackend = chainConfig === undefined ? undefined : chainConfig.backend.kind === 'esplora'
    ? esploraBackend({ baseUrl: chainConfig.backend.url, timeoutMs: 30_000 })
    : coreRpcBackend({ url: chainConfig.backend.url, timeoutMs: 30_000 });
  const registry = config.registry === undefined ? undefined : httpRegistryClient({ baseUrl: config.registry.url, ...(config.registry.token !== undefined ? { token: config.registry.token } : {}) });
  // The bank's Telegram bot (notices/telegram.ts): its username makes the t.me link a miner opens
  // to link its chat; a bot the API does not know stops the start, as a bad SMTP URL would not.
  const bot = config.telegram === undefined ? undefined : telegramBot(config.telegram);
  const botUsername = bot === undefined ? null : await bot.getMe().then((me) => me.username ?? null, (error: unknown) => {
    logger.warn({ err: error }, 'the Telegram Bot API did not answer getMe: linking shows no bot link until it does');
    return null;
  });
  const app = await buildApp({
    db,
    ...(bot !== undefined ? { telegram: { bot, username: botUsername } } : {}),
    ...(registry !== undefined ? { registry } : {}),
    migrations,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    rateLimitPerMinute: config.rateLimitPerMinute,
    loginRateLimitPerMinute: config.loginRateLimitPerMinute,
    approvalTtlSeconds: config.approvalTtlSeconds,
    pricesStaleAfterSeconds: staleAfterSeconds,
    trustProxy: config.trustProxy,
    audit: { key: audit.key, file: config.auditCheckpointFile, auditorsEmail: config.auditorsEmail },
    proofKey: proof.key,
    ...(chainConfig !== undefined && chainBackend !== undefined ? { chain: { backend: chainBackend, feeFloorKvb: chainConfig.feeFloorKvb, feeCapKvb: chainConfig.feeCapKvb, feeTargetBlocks: chainConfig.feeTargetBlocks, deskAddress: chainConfig.deskAddress } } : {}),
    ...(setupToken !== undefined ? { setupToken } : {}),
    outbound: config.outbound,
    networkMaxAgeDays: config.networkMaxAgeDays,
    ...(webRoot !== undefined ? { webRoot } : {}),
    now,
    // Sessions and logins keep real time: the demo clock runs an hour a second.
    sessionNow: () => new Date(),
    ...(options.demo !== undefined ? { demo: options.demo } : {}),
  });
  // Registered miners are re-checked in the registry monthly; the job looks every 6 hours for who is due.
  const stopRecheck = registry === undefined ? () => undefined : scheduleJob(db, every(registryRecheckJob(registry)), logger);
  const stopRevaluation = options.now !== undefined ? () => undefined : scheduleJob(db, equipmentRevaluationJob, logger);
  // End of day closes each business day for every live loan once it is over (and catches up).
  const stopEod = scheduleJob(db, every(eodJobAt(now)), logger);
  // The book against the bank's capital and limits, computed again after each end of day (the
  // accruals moved it): the day's figure for the history, and what approvals check against.
  const stopExposure = scheduleJob(db, every({ name: 'exposure', lockKey: 7_207_115, everyMs: 60_000, run: async () => {
    const taken = await db.transaction((tx) => refreshSnapshot(tx, now()));
    return taken === undefined ? undefined : { businessDate: taken.businessDate, book: taken.figures.book, bookPercent: taken.figures.bookPercent };
  } }), logger);
  // The risk engine: rebuilt from the database now, moved by every published price cycle, kept
  // in step with repayments, top-ups and accrual, and expiring calls, every 10 seconds. Several
  // instances may run one each: a move is written only from the state it was decided on, so the
  // second writer of the same move writes nothing.
  const risk = new RiskEngine(db, new PgRiskStore(db, await bankCalendar()));
  // The bank's payment requisites, printed on every statement: a bad file stops the start.
  await bankRequisites();
  const rebuilt = await risk.rebuild();
  logger.info({ loans: rebuilt.loans, moves: rebuilt.moves }, 'risk index rebuilt');
  prices.on('cycle', (cycle) => {
    risk.onCycle(cycle).catch((error: unknown) => logger.error({ err: error }, 'risk tick failed'));
  });
  const stopRisk = scheduleJob(db, every({ name: 'risk', lockKey: 7_207_102, everyMs: 10_000, run: async () => {
    const caughtUp = await risk.catchUp(now());
    const expiry = await risk.expireCalls(now(), { staleAfterSeconds: staleAfterSeconds });
    if (expiry.waiting > 0) logger.warn({ waiting: expiry.waiting, reason: expiry.reason }, 'margin calls past their deadline wait for a normal price before liquidation');
    return caughtUp.moves + expiry.expired > 0 ? { moves: caughtUp.moves, expired: expiry.expired } : undefined;
  } }), logger);
  // Liquidations: queue, admit under the cap, sell (the simulated venue; the OTC desk's fills come
  // through four eyes), book. Nothing is admitted or sold while the price is degraded or stale.
  const stopLiquidation = scheduleJob(db, every({ name: 'liquidation', lockKey: 7_207_104, everyMs: 10_000, run: async () => {
    const report = await runLiquidations(db, {
      venue: config.liquidationVenue === 'simulated' ? simulatedVenue() : otcVenue, capSats: config.liquidationCapSats, saleChannel: config.saleChannel,
      staleAfterSeconds: staleAfterSeconds, calendar: await bankCalendar(), now,
      onSold: (id) => logger.info({ liquidation: id.toString() }, 'collateral sold'),
    });
    return report.queued + report.admitted + report.cancelled + report.sold + report.booked > 0 || report.held !== undefined || report.refused !== undefined ? report : undefined;
  } }), logger);
  // The outbox: webhooks always, e-mail when an SMTP server is configured (otherwise they wait),
  // Telegram when the bank has a bot. SMTP connections are pooled, one pool for the notices and
  // the auditors' mail: a tick that calls 1% of the book sends thousands of letters, and a
  // connection per letter would be most of the cost.
  const mailTransport = config.smtp === undefined ? undefined : nodemailer.createTransport({ url: config.smtp.url, pool: true, maxConnections: 4 });
  const senders = {
    webhook: webhookSender({ timeoutMs: 10_000, now, policy: config.outbound }),
    ...(config.smtp === undefined || mailTransport === undefined ? {} : { email: emailSender(mailTransport, config.smtp.from, config.smtp.from.split('@')[1]!, config.publicUrl) }),
    ...(bot === undefined ? {} : { telegram: telegramSender(bot, config.publicUrl) }),
  };
  // Reminders before an instalment falls due and while overdue, and miners' own early warnings at
  // the published price: queued every 10 minutes, each once (notices/reminders.ts), sent above.
  const stopReminders = scheduleJob(db, every({ name: 'reminders', lockKey: 7_207_114, everyMs: 600_000, run: async () => {
    const cycle = await latestCycle(db, 'live');
    const report = await queueReminders(db, now(), { publishedPrice: cycle?.publishedKopecks ?? null });
    return report.due + report.overdue + report.early > 0 ? report : undefined;
  } }), logger);
  // The bot's updates (a miner's "/start CODE"), read every 3 seconds.
  const stopTelegram = bot === undefined ? () => undefined : scheduleJob(db, { name: 'telegram-updates', lockKey: 7_207_113, everyMs: 3_000, run: async () => {
    const report = await pollTelegram(db, bot, () => new Date());
    return report.updates > 0 ? report : undefined;
  } }, logger);
  const stopOutbox = scheduleJob(db, every({ name: 'risk-outbox', lockKey: 7_207_103, everyMs: 5_000, run: async () => {
    const report = await deliverDue(db, { senders, now });
    return report.delivered + report.retried + report.dead + (report.skipped ?? 0) + (report.expired ?? 0) > 0 ? report : undefined;
  } }), logger);
  const stopMail = mailTransport === undefined ? () => undefined : scheduleJob(db, { name: 'mail-outbox', lockKey: 7_207_106, everyMs: 15_000, run: async () => {
    const report = await deliverMail(db, { transport: mailTransport, from: config.smtp!.from, domain: config.smtp!.from.split('@')[1]!, now });
    return report.delivered + report.retried + report.dead > 0 ? report : undefined;
  } }, logger);
  // Failed-login counters of usernames nobody has tried for a day are dropped (unlocked ones only).
  const stopHousekeeping = scheduleJob(db, { name: 'housekeeping', lockKey: 7_207_109, everyMs: 3_600_000, run: async () => {
    const dropped = await db.query(`DELETE FROM login_throttle WHERE updated_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now()) RETURNING 1`);
    // A year loaded through another instance reaches this one's calendar within the hour.
    await refreshBankCalendar(db);
    return dropped.length > 0 ? { loginThrottleRowsDropped: dropped.length } : undefined;
  } }, logger);
  // Network data for underwriting (difficulty, height, fees), fetched hourly: underwriting refuses
  // data older than ZALOG_NETWORK_MAX_AGE_DAYS, so a feed that stops is noticed, not decided on.
  const networkUrl = config.networkUrl;
  const stopNetwork = networkUrl === undefined ? () => undefined : scheduleJob(db, { name: 'network-data', lockKey: 7_207_111, everyMs: 3_600_000, run: async () => {
    try {
      const snapshot = await fetchMempoolSnapshot({ baseUrl: networkUrl, timeoutMs: 15_000 });
      const written = await db.transaction((tx) => saveSnapshots(tx, [snapshot]));
      return written > 0 ? { height: snapshot.height?.toString(), observedAt: snapshot.observedAt.toISOString() } : undefined;
    } catch (error) {
      logger.warn({ err: error, url: networkUrl }, 'network data could not be fetched; underwriting will refuse once the latest is too old');
      return undefined;
    }
  } }, logger);
  // The chain watcher (on-chain custody): follows the bank's Esplora instance or node, books vault
  // coins and spends, and broadcasts finalised spends.
  const stopChain = chainConfig === undefined || chainBackend === undefined ? () => undefined : scheduleJob(db, every(vaultWatcherJob(new VaultWatcher({ db, backend: chainBackend, now, startHeight: chainConfig.startHeight ?? 'tip', maxBlocksPerSync: 500 }), chainConfig.pollSeconds)), logger);
  // The audit chain's head, signed and written outside the database at least daily.
  const stopCheckpoints = scheduleJob(db, every(auditCheckpointJob({ key: audit.key, file: config.auditCheckpointFile, auditorsEmail: config.auditorsEmail }, logger, now)), logger);
  // Operators' commands (zalog users create-admin, zalog eod, ...) reach the embedded database
  // through the service while it holds it.
  const embedded = config.database.engine === 'pglite' && config.database.dataDir !== 'memory';
  const stopControl = embedded && runCommand !== undefined
    ? await startControlServer(controlSocketPath(config.dataDir), (request, io) => runCommand(request, io, { config, inService: true, withDatabase: (work) => work(db) }), logger)
    : async () => undefined;
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
      stopExposure();
      stopRisk();
      stopOutbox();
      stopMail();
      stopTelegram();
      stopReminders();
      stopCheckpoints();
      stopHousekeeping();
      stopNetwork();
      stopChain();
      stopLiquidation();
      await stopControl();
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
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${(app.server.address() as { port: number }).port}`;
  if (setupToken !== undefined) {
    logger.warn({ setupToken }, `no admins yet: create the first two with POST ${url}/api/v1/setup {"token":"${setupToken}","username":...,"password":...}, or with zalog users create-admin`);
  }
  if (config.pricesPoll) {
    await prices.start();
    logger.info({ sources: pricesConfig.sources.map((source) => source.name), cycleSeconds: pricesConfig.cycleSeconds }, 'price service started');
  }
  if (options.onListening !== undefined) await options.onListening(app, url, logger);
}
