import { parseSats } from './money/money.js';
import { saleChannelProblem, type SaleChannel } from './risk/sale-channels.js';
import path from 'node:path';
import type { DatabaseTarget } from './db/open.js';
import type { AuditKeySource } from './audit/checkpoint-file.js';
import { isValidCidr, type OutboundPolicy } from './adapters/outbound.js';

/**
 * Configuration comes from the environment only, and is checked once at start-up: a bad value
 * stops the process with a message naming the variable, instead of failing later at random.
 */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly database: DatabaseTarget;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly bodyLimitBytes: number;
  readonly rateLimitPerMinute: number;
  readonly loginRateLimitPerMinute: number;
  readonly approvalTtlSeconds: number;
  /**
   * The proxies (addresses or CIDR ranges) whose X-Forwarded-For/-Proto headers are believed;
   * empty: none. Never "everyone": a client could then pick the IP the rate limit and the audit
   * trail see.
   */
  readonly trustProxy: readonly string[];
  /** The price sources' configuration file; undefined: config/prices.json. */
  readonly pricesConfigPath: string | undefined;
  /** Whether this instance runs the price service (polls when it is the leader). */
  readonly pricesPoll: boolean;
  /** The FNS miners' registry service (src/compliance/registry.ts); undefined: none configured. */
  readonly registry: { readonly url: string; readonly token?: string } | undefined;
  /** The SMTP server risk notices go through (smtp://host:port or smtps://user:pass@host); undefined: e-mails wait in the outbox. */
  readonly smtp: { readonly url: string; readonly from: string } | undefined;
  /** The portal's public address, for the links in notices (ZALOG_PUBLIC_URL; default http://HOST:PORT). */
  readonly publicUrl: string;
  /** The bank's Telegram bot (ZALOG_TELEGRAM_BOT_TOKEN; ZALOG_TELEGRAM_API_URL for a local Bot API server); undefined: no Telegram channel. */
  readonly telegram: { readonly token: string; readonly apiUrl: string } | undefined;
  /** Where collateral is sold: the OTC desk (treasury records fills, four eyes) or the simulated venue (demonstrations). */
  readonly liquidationVenue: 'otc' | 'simulated';
  /** The channel the automatic (simulated) venue sells through, recorded with each sale and checked against the rules. */
  readonly saleChannel: SaleChannel;
  /** Collateral being sold at once across the book, at most (sats). */
  readonly liquidationCapSats: bigint;
  /** The local directory for the service's files (ZALOG_DATA_DIR): the embedded database, the audit key and checkpoints. */
  readonly dataDir: string;
  /** The audit checkpoints' signing key: from ZALOG_AUDIT_KEY, ZALOG_AUDIT_KEY_FILE, or a key made in the data directory on first use. */
  readonly auditKey: AuditKeySource;
  /** The append-only file audit checkpoints are written to. */
  readonly auditCheckpointFile: string;
  /** The auditors' mailbox: every checkpoint is mailed there too. */
  readonly auditorsEmail: string | undefined;
  /** Where webhooks (URLs users give) may go: https only and public addresses, unless widened here. */
  readonly outbound: OutboundPolicy;
  /** The mempool.space-compatible API the service fetches network data from, hourly; undefined: none. */
  readonly networkUrl: string | undefined;
  /** Underwriting refuses network data older than this (days). */
  readonly networkMaxAgeDays: number;
  /** The built web app to serve (ZALOG_WEB_DIR); undefined: the repository's web/dist. */
  readonly webDir: string | undefined;
  /** The proof of collateral's Ed25519 signing key file (ZALOG_PROOF_KEY_FILE; default <data dir>/proof-signing-key.pem, made when missing). */
  readonly proofKey: AuditKeySource;
  /**
   * On-chain custody (ChainConfig; unset: no watcher, custodial mode only). The watcher starts at
   * ZALOG_CHAIN_START_HEIGHT when it has processed nothing (unset: the tip at its first round) and
   * looks every ZALOG_CHAIN_POLL_SECONDS (default 30).
   */
  readonly chain: ChainConfig | undefined;
}

/**
 * On-chain custody: the backend the watcher follows and spends are broadcast through (an Esplora
 * URL, ZALOG_CHAIN_ESPLORA_URL, or a Bitcoin Core node's JSON-RPC URL with its RPC user and
 * password, ZALOG_CHAIN_BITCOIND_URL), the spending policy (ZALOG_CHAIN_FEE_FLOOR and
 * ZALOG_CHAIN_FEE_CAP in sat/vB, defaults 1 and 200; ZALOG_CHAIN_FEE_TARGET_BLOCKS, default 6) and
 * the trading desk's deposit address liquidations pay to (ZALOG_CHAIN_DESK_ADDRESS).
 */
export interface ChainConfig {
  readonly backend: { readonly kind: 'esplora'; readonly url: string } | { readonly kind: 'bitcoind'; readonly url: string };
  readonly startHeight: number | undefined;
  readonly pollSeconds: number;
  readonly feeFloorKvb: number;
  readonly feeCapKvb: number;
  readonly feeTargetBlocks: number;
  readonly deskAddress: string | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; got "${text}"`);
  }
  return Number(text);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env = process.env): Config {
  const host = env.HOST || '127.0.0.1';
  if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(host)) throw new ConfigError(`HOST must be a host name or IP address; got "${host}"`);
  const port = integer(env, 'PORT', 8080, 0, 65_535);

  const url = env.DATABASE_URL || undefined;
  const dataDirText = env.ZALOG_DATA_DIR || './var';
  // With the embedded database in memory, the service's other files still need a home.
  const dataDir = path.resolve(dataDirText === 'memory' ? './var' : dataDirText);
  let database: DatabaseTarget;
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL');
    database = { engine: 'postgres', url, poolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 200) };
  } else {
    database = { engine: 'pglite', dataDir: dataDirText === 'memory' ? 'memory' : path.resolve(dataDirText, 'pglite') };
  }

  const logLevel = (env.LOG_LEVEL || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${env.LOG_LEVEL}"`);

  const proxyText = env.TRUST_PROXY || '';
  const trustProxy = proxyText === '' || proxyText === 'false' ? [] : proxyText.split(',').map((item) => item.trim());
  for (const item of trustProxy) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(item)) {
      throw new ConfigError(`TRUST_PROXY is a comma-separated list of proxy addresses or CIDR ranges (e.g. 127.0.0.1,10.0.0.0/8); got "${item}"`);
    }
  }

  const registryUrl = env.ZALOG_REGISTRY_URL || undefined;
  if (registryUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(registryUrl)) throw new ConfigError(`ZALOG_REGISTRY_URL must be an http:// or https:// URL; got "${registryUrl}"`);
  const registryToken = env.ZALOG_REGISTRY_TOKEN || undefined;
  const pricesPoll = env.ZALOG_PRICES_POLL || 'true';
  if (pricesPoll !== 'true' && pricesPoll !== 'false') throw new ConfigError(`ZALOG_PRICES_POLL must be true or false; got "${pricesPoll}"`);

  const smtpUrl = env.ZALOG_SMTP_URL || undefined;
  if (smtpUrl !== undefined && !/^smtps?:\/\/[^\s]+$/.test(smtpUrl)) throw new ConfigError(`ZALOG_SMTP_URL must be an smtp:// or smtps:// URL; got "${smtpUrl}"`);
  const mailFrom = env.ZALOG_MAIL_FROM || 'risk@zalog.local';
  if (!/^[^@\s]+@[^@\s]+$/.test(mailFrom)) throw new ConfigError(`ZALOG_MAIL_FROM must be an e-mail address; got "${mailFrom}"`);

  const publicUrl = (env.ZALOG_PUBLIC_URL || `http://${host}:${port}`).replace(/\/$/, '');
  if (!/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(publicUrl)) throw new ConfigError(`ZALOG_PUBLIC_URL must be the portal's http:// or https:// address (e.g. https://zalog.bank.example); got "${publicUrl}"`);
  const telegramToken = env.ZALOG_TELEGRAM_BOT_TOKEN || undefined;
  if (telegramToken !== undefined && !/^\d+:[A-Za-z0-9_-]{20,}$/.test(telegramToken)) throw new ConfigError('ZALOG_TELEGRAM_BOT_TOKEN must be a bot token from @BotFather (123456789:AA...)');
  const telegramApi = env.ZALOG_TELEGRAM_API_URL || 'https://api.telegram.org';
  if (!/^https?:\/\/[^\s]+$/.test(telegramApi)) throw new ConfigError(`ZALOG_TELEGRAM_API_URL must be an http:// or https:// URL; got "${telegramApi}"`);

  const liquidationVenue = env.ZALOG_LIQUIDATION_VENUE || 'otc';
  if (liquidationVenue !== 'otc' && liquidationVenue !== 'simulated') throw new ConfigError(`ZALOG_LIQUIDATION_VENUE must be otc or simulated; got "${liquidationVenue}"`);
  const saleChannel = {
    channel: (env.ZALOG_SALE_CHANNEL || 'experimental_regime') as SaleChannel['channel'],
    venue: env.ZALOG_SALE_VENUE || 'zalog simulated market',
    counterparty: env.ZALOG_SALE_COUNTERPARTY || 'simulated market',
    jurisdiction: env.ZALOG_SALE_JURISDICTION || 'RU',
  };
  const saleProblem = saleChannelProblem(saleChannel);
  if (saleProblem !== undefined) throw new ConfigError(`ZALOG_SALE_CHANNEL, _VENUE, _COUNTERPARTY, _JURISDICTION: ${saleProblem.replace('channel.channel', 'channel')}`);
  const cap = parseSats(env.ZALOG_LIQUIDATION_CAP_BTC || '50');
  if (!cap.ok) throw new ConfigError(`ZALOG_LIQUIDATION_CAP_BTC must be an amount of BTC such as "50" or "12.5"; ${cap.error.message}`);

  const auditKeyText = env.ZALOG_AUDIT_KEY || undefined;
  const auditKeyFile = env.ZALOG_AUDIT_KEY_FILE || undefined;
  if (auditKeyText !== undefined && auditKeyFile !== undefined) throw new ConfigError('set ZALOG_AUDIT_KEY or ZALOG_AUDIT_KEY_FILE, not both');
  const auditKey: AuditKeySource = auditKeyText !== undefined ? { kind: 'env', text: auditKeyText }
    : auditKeyFile !== undefined ? { kind: 'file', path: path.resolve(auditKeyFile), generateIfMissing: false }
      : { kind: 'file', path: path.join(dataDir, 'audit-signing-key.pem'), generateIfMissing: true };
  const auditorsEmail = env.ZALOG_AUDITORS_EMAIL || undefined;
  if (auditorsEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(auditorsEmail)) throw new ConfigError(`ZALOG_AUDITORS_EMAIL must be an e-mail address; got "${auditorsEmail}"`);

  const allowHttp = env.ZALOG_OUTBOUND_ALLOW_HTTP || 'false';
  if (allowHttp !== 'true' && allowHttp !== 'false') throw new ConfigError(`ZALOG_OUTBOUND_ALLOW_HTTP must be true or false; got "${allowHttp}"`);
  const allow = (env.ZALOG_OUTBOUND_ALLOW || '').split(',').map((item) => item.trim()).filter((item) => item !== '');
  for (const cidr of allow) if (!isValidCidr(cidr)) throw new ConfigError(`ZALOG_OUTBOUND_ALLOW is a comma-separated list of CIDR ranges (e.g. 10.20.0.0/16); got "${cidr}"`);

  const esploraUrl = env.ZALOG_CHAIN_ESPLORA_URL || undefined;
  if (esploraUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(esploraUrl)) throw new ConfigError(`ZALOG_CHAIN_ESPLORA_URL must be an http:// or https:// URL (a bank's own esplora or mempool instance, e.g. http://esplora.bank.local/api); got "${esploraUrl}"`);
  const bitcoindUrl = env.ZALOG_CHAIN_BITCOIND_URL || undefined;
  if (bitcoindUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(bitcoindUrl)) throw new ConfigError('ZALOG_CHAIN_BITCOIND_URL must be an http:// or https:// URL of a Bitcoin Core node\'s JSON-RPC (e.g. http://rpcuser:password@10.0.0.5:8332)');
  if (esploraUrl !== undefined && bitcoindUrl !== undefined) throw new ConfigError('set one chain backend: ZALOG_CHAIN_ESPLORA_URL or ZALOG_CHAIN_BITCOIND_URL, not both');
  const feeFloor = integer(env, 'ZALOG_CHAIN_FEE_FLOOR', 1, 1, 10_000);
  const feeCap = integer(env, 'ZALOG_CHAIN_FEE_CAP', 200, 1, 10_000);
  if (feeCap < feeFloor) throw new ConfigError(`ZALOG_CHAIN_FEE_CAP (${feeCap} sat/vB) must be at least ZALOG_CHAIN_FEE_FLOOR (${feeFloor} sat/vB)`);
  const deskAddress = env.ZALOG_CHAIN_DESK_ADDRESS || undefined;
  if (deskAddress !== undefined && !/^[a-zA-Z0-9]{14,90}$/.test(deskAddress)) throw new ConfigError(`ZALOG_CHAIN_DESK_ADDRESS must be a Bitcoin address; got "${deskAddress}"`);
  const chainBackend = esploraUrl !== undefined ? { kind: 'esplora' as const, url: esploraUrl } : bitcoindUrl !== undefined ? { kind: 'bitcoind' as const, url: bitcoindUrl } : undefined;
  const startHeightText = env.ZALOG_CHAIN_START_HEIGHT || undefined;
  if (startHeightText !== undefined && !/^[0-9]{1,8}$/.test(startHeightText)) throw new ConfigError(`ZALOG_CHAIN_START_HEIGHT must be a block height; got "${startHeightText}"`);
  const networkUrl = env.ZALOG_NETWORK_URL === undefined ? 'https://mempool.space' : env.ZALOG_NETWORK_URL === '' || env.ZALOG_NETWORK_URL === 'none' ? undefined : env.ZALOG_NETWORK_URL;
  if (networkUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(networkUrl)) throw new ConfigError(`ZALOG_NETWORK_URL must be an http:// or https:// URL, or none; got "${networkUrl}"`);

  return {
    host,
    port,
    database,
    logLevel,
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1_048_576, 1_024, 67_108_864),
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 1_200, 1, 1_000_000),
    loginRateLimitPerMinute: integer(env, 'LOGIN_RATE_LIMIT_PER_MINUTE', 20, 1, 10_000),
    approvalTtlSeconds: integer(env, 'APPROVAL_TTL_SECONDS', 72 * 3_600, 60, 30 * 86_400),
    trustProxy,
    pricesConfigPath: env.ZALOG_PRICES_CONFIG || undefined,
    pricesPoll: pricesPoll === 'true',
    registry: registryUrl === undefined ? undefined : { url: registryUrl, ...(registryToken !== undefined ? { token: registryToken } : {}) },
    smtp: smtpUrl === undefined ? undefined : { url: smtpUrl, from: mailFrom },
    publicUrl,
    telegram: telegramToken === undefined ? undefined : { token: telegramToken, apiUrl: telegramApi },
    liquidationVenue,
    saleChannel,
    liquidationCapSats: cap.value,
    dataDir,
    auditKey,
    auditCheckpointFile: path.resolve(env.ZALOG_AUDIT_CHECKPOINT_FILE || path.join(dataDir, 'audit-checkpoints.jsonl')),
    auditorsEmail,
    outbound: { allowHttp: allowHttp === 'true', allow },
    networkUrl,
    networkMaxAgeDays: integer(env, 'ZALOG_NETWORK_MAX_AGE_DAYS', 2, 1, 30),
    webDir: env.ZALOG_WEB_DIR ? path.resolve(env.ZALOG_WEB_DIR) : undefined,
    proofKey: env.ZALOG_PROOF_KEY_FILE ? { kind: 'file', path: path.resolve(env.ZALOG_PROOF_KEY_FILE), generateIfMissing: false } : { kind: 'file', path: path.join(dataDir, 'proof-signing-key.pem'), generateIfMissing: true },
    chain: chainBackend === undefined ? undefined : {
      backend: chainBackend, startHeight: startHeightText === undefined ? undefined : Number(startHeightText), pollSeconds: integer(env, 'ZALOG_CHAIN_POLL_SECONDS', 30, 1, 3_600),
      feeFloorKvb: feeFloor * 1_000, feeCapKvb: feeCap * 1_000, feeTargetBlocks: integer(env, 'ZALOG_CHAIN_FEE_TARGET_BLOCKS', 6, 1, 1_008), deskAddress,
    },
  };
}

/** Where the config points, for the start-up log line (no secrets: the URL's password is masked). */
export function describeDatabase(target: DatabaseTarget): string {
  if (target.engine === 'pglite') return target.dataDir === 'memory' ? 'PGlite in memory' : `PGlite at ${target.dataDir}`;
  return `PostgreSQL at ${target.url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}`;
}
