import { noticeRoutes } from '../notices/routes.js';
import { exposureRoutes } from '../exposure/routes.js';
import { exposureRulesAction } from '../exposure/rules-action.js';
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import { constraintName, SQLSTATE, sqlState, type Database } from '../db/database.js';
import { migrationStatus, type MigrationFile } from '../db/migrate.js';
import { ApprovalRegistry, APPROVAL_TTL_SECONDS_DEFAULT } from '../approvals/approvals.js';
import { approvalRoutes } from '../approvals/routes.js';
import { auditRoutes } from '../audit/routes.js';
import { borrowerRoutes } from '../borrowers/routes.js';
import { complianceRoutes } from '../compliance/routes.js';
import { underwritingRoutes } from '../underwriting/routes.js';
import { loanRoutes } from '../loans/routes.js';
import { loanLifeRoutes } from '../loans/loan-routes.js';
import { riskRoutes } from '../risk/routes.js';
import { approveLoanAction } from '../loans/origination.js';
import { confirmCollateralAction, releaseCollateralAction, restructureAction, writeOffAction } from '../loans/servicing.js';
import { enforceEquipmentAction } from '../risk/equipment-layer.js';
import { createVaultAction, vaultRoutes } from '../vaults/routes.js';
import { finaliseSpendAction, spendVaultAction, type ChainSettings } from '../vaults/spends.js';
import type { SigningKey } from '../audit/checkpoint.js';
import { liquidationFillsAction } from '../risk/liquidations.js';
import { settlementRefundAction, suspenseRefundAction } from '../loans/borrower-money.js';
import { bankCalendar } from '../calendar/load.js';
import { calendarRoutes } from '../calendar/routes.js';
import { NETWORK_MAX_AGE_DAYS_DEFAULT } from '../underwriting/underwriting-service.js';
import { clearScreeningHitAction } from '../compliance/screening.js';
import type { RegistryClient } from '../compliance/registry.js';
import { bankDetailsAction } from '../borrowers/bank-details-action.js';
import { activateUserAction } from '../identity/activation-action.js';
import { resetPasswordAction } from '../identity/password-reset-action.js';
import { identityRoutes } from '../identity/routes.js';
import { manualEntryAction, reversalAction } from '../ledger/manual-actions.js';
import { ledgerRoutes } from '../ledger/routes.js';
import { manualPriceAction } from '../prices/manual-price-action.js';
import { priceRoutes } from '../prices/routes.js';
import { latestCycle } from '../prices/price-repository.js';
import { judge } from '../prices/current.js';
import { operationsFor, registerAccessControl, type RouteRule } from './access.js';
import type { AppContext } from './context.js';
import { ApiError, ErrorBody } from './errors.js';
import { publishableDocument } from './openapi-doc.js';
import { registerWebApp } from './web.js';
import { inboxRoutes } from '../inbox/routes.js';
import type { CheckpointTarget } from '../audit/checkpoint-file.js';
import { STRICT_OUTBOUND, type OutboundPolicy } from '../adapters/outbound.js';

export interface AppOptions {
  readonly db: Database;
  readonly migrations: readonly MigrationFile[];
  readonly logger: Logger | false;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimitBytes?: number;
  /** Requests per minute per client IP: all routes, and login attempts. */
  readonly rateLimitPerMinute?: number;
  readonly loginRateLimitPerMinute?: number;
  /** How long a four-eyes proposal waits for its approval. */
  readonly approvalTtlSeconds?: number;
  /** A price cycle older than this is reported stale when read (the breaker's staleAfterSeconds). */
  readonly pricesStaleAfterSeconds?: number;
  /** Proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto are believed. */
  readonly trustProxy?: readonly string[];
  /** The clock; tests move it to expire sessions and proposals. */
  readonly now?: () => Date;
  /** The clock of sessions, tokens and logins when it must differ from `now` (the demo bank's clock runs fast; a login should not expire in half a second). */
  readonly sessionNow?: () => Date;
  /** The FNS miners' registry service client, if one is configured. */
  readonly registry?: RegistryClient;
  /** Where audit checkpoints are signed and written. */
  readonly audit?: CheckpointTarget;
  /** The key the public proof of collateral is signed with (Ed25519); without it the proof answers 503. */
  readonly proofKey?: SigningKey;
  /** The one-time token POST /api/v1/setup takes to create the first admins (printed at start). */
  readonly setupToken?: string;
  /** Where webhook URLs may point; strict (https, public addresses) unless given. */
  readonly outbound?: OutboundPolicy;
  /** Underwriting refuses network data older than this many days (default 2). */
  readonly networkMaxAgeDays?: number;
  /** The built web app (web/dist) to serve on the same origin; none when undefined. */
  readonly webRoot?: string;
  /** Set only by the demo bank (src/demo): its clock's speed and the story it tells. */
  readonly demo?: DemoStatus;
  /** The chain backend and spending policy of on-chain custody; without it vault spends answer 503. */
  readonly chain?: Omit<ChainSettings, 'now' | 'pricesStaleAfterSeconds'>;
  /** The bank's Telegram bot (notices, chat linking); without it the link answers 409. */
  readonly telegram?: AppContext['telegram'];
}

export interface DemoStatus {
  readonly speed: number;
  readonly story: string;
  readonly prices: string;
}

export type App = FastifyInstance & { readonly routeRules: readonly RouteRule[]; readonly context: AppContext };

/** Every four-eyes action the service knows. Later issues add theirs here. */
export function approvalRegistry(chain: () => ChainSettings | undefined = () => undefined): ApprovalRegistry {
  const registry = new ApprovalRegistry();
  registry.register(manualEntryAction);
  registry.register(reversalAction);
  registry.register(manualPriceAction);
  registry.register(activateUserAction);
  registry.register(resetPasswordAction);
  registry.register(clearScreeningHitAction);
  registry.register(bankDetailsAction);
  registry.register(approveLoanAction);
  registry.register(confirmCollateralAction);
  registry.register(releaseCollateralAction);
  registry.register(restructureAction(bankCalendar));
  registry.register(writeOffAction);
  registry.register(liquidationFillsAction(bankCalendar));
  registry.register(settlementRefundAction);
  registry.register(suspenseRefundAction);
  registry.register(createVaultAction);
  registry.register(spendVaultAction(chain));
  registry.register(finaliseSpendAction);
  registry.register(exposureRulesAction);
  registry.register(enforceEquipmentAction);
  return registry;
}

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/**
 * Two validators. Bodies are checked strictly: no type coercion (Fastify's default would turn the
 * JSON number 1.5 into the string "1.5" and let a float through as money) and no silent removal of
 * unknown properties (refused instead). Query strings and path parameters arrive as text, so
 * there coercion of numbers and booleans is what we want.
 */
function validators(): { body: Ajv; text: Ajv } {
  const common: AjvOptions = { allErrors: false, removeAdditional: false, useDefaults: true, strict: true };
  const body = addFormats(new Ajv({ ...common, coerceTypes: false }));
  const text = addFormats(new Ajv({ ...common, coerceTypes: true }));
  return { body, text };
}

/** Unique constraints whose violation is a business conflict (a race the domain checks lost). */
const CONFLICT_CONSTRAINTS: Record<string, { code: string; message: string }> = {
  ledger_entries_reverses_entry_id_key: { code: 'entry_already_reversed', message: 'the entry was reversed by a concurrent request' },
  repayments_reference_key: { code: 'reference_reused', message: 'the payment reference was recorded by a concurrent request' },
};

/** A lone UTF-16 surrogate or a NUL: valid in a JS string, but not text PostgreSQL (or anyone) can store. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/;

function hasLoneSurrogate(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  return Object.entries(value as Record<string, unknown>).some(([key, item]) => LONE_SURROGATE.test(key) || hasLoneSurrogate(item, depth + 1));
}

/**
 * Query strings and path parameters are text, and Ajv's coercion reads a number from it the way
 * JavaScript does: "1e3" is 1000, "0x10" 16, " 5" 5, and "1e309" Infinity (which then failed
 * inside Ajv: a 500). A number in a URL is written in plain decimal digits, or it is refused.
 */
const PLAIN_INTEGER = /^-?(0|[1-9][0-9]{0,15})$/;

function checkNumbersInText(schema: unknown, values: unknown, where: string): void {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties;
  if (properties === undefined || values === null || typeof values !== 'object') return;
  for (const [name, property] of Object.entries(properties)) {
    if (property.type !== 'integer' && property.type !== 'number') continue;
    const value = (values as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !PLAIN_INTEGER.test(value)) {
      throw new ApiError(400, 'validation_failed', `the request does not match the API: ${where}/${name} must be a whole number in plain digits`, { issues: [{ path: `${where}/${name}`, message: 'must be a whole number in plain digits' }] });
    }
  }
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
};

/**
 * One log line per request, when it is answered (method, URL, status, time), instead of Fastify's
 * two ("incoming request" and "request completed"): at the API's read rates the second line was
 * a measurable share of the work (issue 17). Errors keep their own line with the error.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'answered');
  }
}

export async function buildApp(options: AppOptions): Promise<App> {
  const app = Fastify({
    ...(options.logger === false ? { logger: false } : { loggerInstance: options.logger as FastifyBaseLogger }),
    bodyLimit: options.bodyLimitBytes ?? 1_048_576,
    trustProxy: options.trustProxy !== undefined && options.trustProxy.length > 0 ? [...options.trustProxy] : false,
    // Our own id for every request: a client's X-Request-Id is kept beside it in the audit trail
    // (clientRequestId), never taken as it, so no client can make two records share an id.
    genReqId: () => randomUUID(),
    logController: new OneLinePerRequest(),
    // Ids are strings in our API; a query parameter given twice is refused by the schema.
    routerOptions: { ignoreTrailingSlash: false },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The API speaks JSON only; Fastify would otherwise also parse text/plain bodies.
  app.removeContentTypeParser('text/plain');

  const now = options.now ?? (() => new Date());
  const chain: ChainSettings | undefined = options.chain === undefined ? undefined : { ...options.chain, now, pricesStaleAfterSeconds: options.pricesStaleAfterSeconds ?? 120 };
  const context: AppContext = {
    db: options.db,
    approvals: approvalRegistry(() => chain),
    chain,
    telegram: options.telegram,
    now,
    sessionNow: options.sessionNow ?? options.now ?? (() => new Date()),
    approvalTtlSeconds: options.approvalTtlSeconds ?? APPROVAL_TTL_SECONDS_DEFAULT,
    pricesStaleAfterSeconds: options.pricesStaleAfterSeconds ?? 120,
    registry: options.registry,
    audit: options.audit,
    proofKey: options.proofKey,
    outbound: options.outbound ?? STRICT_OUTBOUND,
    networkMaxAgeDays: options.networkMaxAgeDays ?? NETWORK_MAX_AGE_DAYS_DEFAULT,
  };
  const routeRules: RouteRule[] = [];
  // The web app loads only its own scripts; Mantine sets inline style attributes (its style props
  // and CSS variables), and charts may draw images from data: URLs.
  await app.register(helmet, { contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'] } } });
  await app.register(cookie);
  await app.register(rateLimit, {
    max: options.rateLimitPerMinute ?? 1_200,
    timeWindow: '1 minute',
    errorResponseBuilder: (_request, limit) => new ApiError(429, 'rate_limited', `too many requests: at most ${limit.max} a minute; try again in ${Math.ceil(limit.ttl / 1000)} s`),
  });
  registerAccessControl(app, options.db, routeRules, context.sessionNow);

  const ajv = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? ajv.body : ajv.text).compile(schema));
  app.addSchema(ErrorBody);

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.addHook('preValidation', async (request) => {
    if (hasLoneSurrogate(request.body) || hasLoneSurrogate(request.query) || hasLoneSurrogate(request.params)) {
      throw new ApiError(400, 'invalid_text', 'the request contains text that cannot be stored (a NUL character, or a lone surrogate that is not valid Unicode)');
    }
    checkNumbersInText(request.routeOptions.schema?.querystring, request.query, 'querystring');
    checkNumbersInText(request.routeOptions.schema?.params, request.params, 'params');
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const conflict = sqlState(error) === SQLSTATE.uniqueViolation ? CONFLICT_CONSTRAINTS[constraintName(error) ?? ''] : undefined;
    if (conflict !== undefined) {
      return reply.status(409).send({ error: { code: conflict.code, message: conflict.message, requestId: request.id } });
    }
    if (error instanceof ApiError) {
      return reply.status(error.statusCode).send({ error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}), requestId: request.id } });
    }
    if (error.validation) {
      const issues = error.validation.map((issue) => ({ path: `${error.validationContext ?? ''}${issue.instancePath}`, message: issue.message ?? 'is invalid' }));
      return reply.status(400).send({ error: { code: 'validation_failed', message: `the request does not match the API: ${issues.map((i) => `${i.path || 'request'} ${i.message}`).join('; ')}`, details: { issues }, requestId: request.id } });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = FASTIFY_CODES[error.code] ?? (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? 'invalid_json' : 'bad_request');
      return reply.status(status).send({ error: { code, message: error.message, requestId: request.id } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: { code: 'internal', message: `internal error; quote request id ${request.id} to support`, requestId: request.id } });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: { code: 'route_not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, requestId: request.id } });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'zalog',
        version: '0.1.0',
        description: 'Rouble loans to Bitcoin miners against BTC collateral. Money is always a decimal string: RUB with 2 decimals, BTC with 8.',
        license: { name: 'Proprietary: the bank\'s own software, not for redistribution' },
      },
      tags: [
        { name: 'identity', description: 'Log in, API tokens, users and roles' },
        { name: 'approvals', description: 'Four eyes: proposals a second person approves' },
        { name: 'ledger', description: 'Double-entry ledger: entries, balances, statements, trial balance' },
        { name: 'prices', description: 'The BTC/RUB price: current, history, candles, manual price' },
        { name: 'borrowers', description: 'Miners: records, identifiers, sites, fleet, the ASIC catalogue' },
        { name: 'compliance', description: 'Russian rules over the borrower\'s data: registry, energy limit, banned areas, reports' },
        { name: 'audit', description: 'The hash-chained audit trail' },
        { name: 'calendar', description: 'The Russian business calendar: days off by year, as the government\'s decrees publish them' },
        { name: 'service', description: 'Liveness and readiness' },
      ],
      // The API's paths carry their /api/v1 prefix, so the service's own origin is the server.
      servers: [{ url: '/', description: 'This zalog service (the web app and every client use the same origin)' }],
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'zalog_session', description: 'From POST /api/v1/auth/login; unsafe methods also need X-CSRF-Token' },
          token: { type: 'http', scheme: 'bearer', description: 'An API token from POST /api/v1/auth/tokens' },
        },
      },
      security: [{ session: [] }, { token: [] }],
    },
    // Public routes say so (security: []); the whole document is then made valid OpenAPI 3.0
    // (operation ids, 4xx answers, example): see openapi-doc.ts.
    transform: ({ schema, url, route }) => {
      const isPublic = (route.config as { access?: { public?: boolean } } | undefined)?.access?.public === true;
      return { schema: isPublic && schema !== undefined ? { ...schema, security: [] } as typeof schema : schema, url };
    },
    transformObject: (documentObject) => publishableDocument(('openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject) as Record<string, unknown>),
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json.$id === 'string' ? json.$id : `def-${index}`) },
  });

  app.get('/api/v1/openapi.json', { config: { access: { public: true } }, schema: { hide: true } }, async () => app.swagger());

  app.get('/healthz', {
    config: { access: { public: true } },
    schema: {
      tags: ['service'],
      summary: 'Liveness and readiness: the database answers and its schema is current',
      response: {
        200: Type.Object({ status: Type.Literal('ok'), engine: Type.String(), migrationsApplied: Type.Integer() }),
        503: Type.Object({ status: Type.Literal('unavailable'), reason: Type.String() }),
      },
    },
  }, async (request, reply) => {
    try {
      const status = await migrationStatus(options.db, options.migrations);
      if (status.problems.length > 0 || status.pending.length > 0) {
        return reply.status(503).send({ status: 'unavailable' as const, reason: [...status.problems, ...status.pending.map((name) => `migration ${name} is not applied`)].join('; ') });
      }
      return { status: 'ok' as const, engine: options.db.engine, migrationsApplied: status.applied };
    } catch (error) {
      request.log.warn({ err: error }, 'health check failed');
      return reply.status(503).send({ status: 'unavailable' as const, reason: 'the database does not answer' });
    }
  });

  app.get('/readyz', {
    config: { access: { public: true } },
    schema: {
      tags: ['service'],
      summary: 'Readiness to take risk decisions: the database and schema as /healthz, and whether the BTC/RUB price is one the service stands behind (normal and fresh, or a manual price). 503 says why not',
      response: {
        200: Type.Object({ status: Type.Literal('ready'), price: Type.Object({ status: Type.String(), at: Type.String(), source: Type.String() }) }),
        503: Type.Object({ status: Type.Literal('not_ready'), reason: Type.String(), price: Type.Union([Type.Null(), Type.Object({ status: Type.String(), at: Type.String() })]) }),
      },
    },
  }, async (request, reply) => {
    // /healthz stays liveness (a load balancer restarts what fails it); /readyz is what a monitor
    // pages on: with every price source failing the service is alive but must not decide.
    try {
      const status = await migrationStatus(options.db, options.migrations);
      if (status.problems.length > 0 || status.pending.length > 0) {
        return reply.status(503).send({ status: 'not_ready' as const, reason: 'the database schema is not current', price: null });
      }
      const now = context.now();
      const cycle = await latestCycle(options.db, 'live');
      const standing = judge(cycle, now, context.pricesStaleAfterSeconds);
      if (!standing.ok) {
        return reply.status(503).send({ status: 'not_ready' as const, reason: standing.message, price: cycle === undefined ? null : { status: cycle.status, at: cycle.at.toISOString() } });
      }
      return { status: 'ready' as const, price: { status: standing.cycle.status, at: standing.cycle.at.toISOString(), source: standing.cycle.status === 'manual' ? 'manual price' : 'feed' } };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      return reply.status(503).send({ status: 'not_ready' as const, reason: 'the database does not answer', price: null });
    }
  });

  await app.register(identityRoutes(context, { loginRateLimitPerMinute: options.loginRateLimitPerMinute ?? 20, setupToken: options.setupToken, operationsFor: (roles) => operationsFor(routeRules, roles) }), { prefix: '/api/v1' });
  await app.register(approvalRoutes(context), { prefix: '/api/v1/approvals' });
  await app.register(auditRoutes(context), { prefix: '/api/v1/audit' });
  await app.register(ledgerRoutes(context), { prefix: '/api/v1/ledger' });
  await app.register(priceRoutes(context), { prefix: '/api/v1/prices' });
  await app.register(borrowerRoutes(context), { prefix: '/api/v1' });
  await app.register(complianceRoutes(context), { prefix: '/api/v1/compliance' });
  await app.register(underwritingRoutes(context), { prefix: '/api/v1' });
  await app.register(loanRoutes(context), { prefix: '/api/v1' });
  await app.register(loanLifeRoutes(context), { prefix: '/api/v1' });
  await app.register(riskRoutes(context), { prefix: '/api/v1' });
  await app.register(vaultRoutes(context), { prefix: '/api/v1' });
  await app.register(calendarRoutes(context), { prefix: '/api/v1' });
  await app.register(inboxRoutes(context), { prefix: '/api/v1' });
  await app.register(noticeRoutes(context), { prefix: '/api/v1' });
  await app.register(exposureRoutes(context), { prefix: '/api/v1' });
  app.get('/api/v1/demo', {
    config: { access: { public: true } },
    schema: {
      tags: ['service'], operationId: 'getDemo',
      summary: 'Whether this is the demo bank, and if so its clock (it runs faster than real time), speed and story; null in a real bank',
      response: { 200: Type.Object({ demo: Type.Union([Type.Null(), Type.Object({ now: Type.String(), speed: Type.Number(), story: Type.String(), prices: Type.String() })]) }) },
    },
  }, async () => ({ demo: options.demo === undefined ? null : { now: context.now().toISOString(), speed: options.demo.speed, story: options.demo.story, prices: options.demo.prices } }));
  if (options.webRoot !== undefined) await registerWebApp(app, options.webRoot);
  await app.ready();
  return Object.assign(app, { routeRules, context }) as unknown as App;
}
