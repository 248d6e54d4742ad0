import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import type { Database } from '../db/database.js';
import { migrationStatus, type MigrationFile } from '../db/migrate.js';
import { ledgerRoutes } from '../ledger/routes.js';
import { ApiError, ErrorBody } from './errors.js';

export interface AppOptions {
  readonly db: Database;
  readonly migrations: readonly MigrationFile[];
  readonly logger: Logger | false;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimitBytes?: number;
}

export type App = FastifyInstance;

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

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
};

export async function buildApp(options: AppOptions): Promise<App> {
  const app = Fastify({
    ...(options.logger === false ? { logger: false } : { loggerInstance: options.logger as FastifyBaseLogger }),
    bodyLimit: options.bodyLimitBytes ?? 1_048_576,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    },
    // Ids are strings in our API; a query parameter given twice is refused by the schema.
    routerOptions: { ignoreTrailingSlash: false },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The API speaks JSON only; Fastify would otherwise also parse text/plain bodies.
  app.removeContentTypeParser('text/plain');

  const ajv = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? ajv.body : ajv.text).compile(schema));
  app.addSchema(ErrorBody);

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
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
      },
      tags: [{ name: 'ledger', description: 'Double-entry ledger: entries, balances, statements, trial balance' }, { name: 'service' }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json.$id === 'string' ? json.$id : `def-${index}`) },
  });

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/healthz', {
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

  await app.register(ledgerRoutes(options.db), { prefix: '/api/v1/ledger' });
  return app;
}
