import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Database, Queryable } from '../db/database.js';
import { formatMinorUnits, type Currency } from '../money/money.js';
import { appendAudit } from '../audit/audit-repository.js';
import { findSession, findToken, type Authenticated } from '../identity/identity-repository.js';
import type { Role } from '../identity/roles.js';
import type {} from '@fastify/cookie';
import { operationIdFor } from './openapi-doc.js';
import { ApiError } from './errors.js';

/**
 * Who may call what, declared next to each route in `config.access`, denied by default: a route
 * registered without a rule stops the app from starting. A route open to borrowers that takes an
 * id must say how to tell whether the record is the borrower's (`borrowerOwns`); a borrower asking
 * for anyone else's gets 404, as if it did not exist, so ids cannot be probed.
 */

export type Access =
  | { readonly public: true }
  | {
    readonly roles: readonly Role[];
    /** Required when `roles` includes 'borrower' and the URL has parameters. */
    readonly borrowerOwns?: (request: FastifyRequest, borrowerId: string) => Promise<boolean>;
  };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** The audit action of a state-changing route, e.g. 'ledger.entry.propose'. */
    audit?: string;
    /** POSTs that move money or change a loan: need an Idempotency-Key (see idempotency.ts). */
    idempotent?: boolean;
    /** Open to a user whose password an admin reset, before it sets its own (me, logout, password). */
    allowWhilePasswordChange?: boolean;
  }
  interface FastifyRequest {
    principal: Authenticated | null;
    /** Set when the handler appended its own audit record. */
    audited: boolean;
  }
}

/** `borrowerOwns` for routes under /borrowers/:ref: the record is the borrower's when :ref is its own ref. */
export const ownsBorrowerRef = async (request: { params: unknown }, borrowerId: string): Promise<boolean> => (request.params as { ref: string }).ref === borrowerId;

/** `borrowerOwns` for routes under /loans/:ref: the loan is the calling borrower's (anyone else's is 404). */
export function ownsLoanRef(db: Queryable): (request: { params: unknown }, borrowerRef: string) => Promise<boolean> {
  return async (request, borrowerRef) => {
    const rows = await db.query('SELECT 1 FROM loans l JOIN borrowers b ON b.id = l.borrower_id WHERE l.ref = $1 AND b.ref = $2', [(request.params as { ref: string }).ref, borrowerRef]);
    return rows.length > 0;
  };
}

export interface RouteRule {
  readonly method: string;
  readonly url: string;
  readonly access: Access;
  readonly audit: string | undefined;
  readonly idempotent: boolean;
  /** Whether the route declares a body schema (for tests that probe bad input). */
  readonly hasBody: boolean;
  /** The operation's id in the OpenAPI document (its own, or the one openapi-doc.ts derives). */
  readonly operationId: string;
}

/** The OpenAPI ids of the operations the given roles may call (the web app shows only their buttons). */
export function operationsFor(rules: readonly RouteRule[], roles: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const rule of rules) {
    if (!('roles' in rule.access)) continue;
    if (rule.access.roles.some((role) => roles.includes(role))) ids.add(rule.operationId);
  }
  return [...ids].sort();
}

export const SESSION_COOKIE = 'zalog_session';
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hasParams(url: string): boolean {
  return url.includes(':');
}

/** Refuses, at start-up, a route that does not declare who may call it. */
export function checkRouteRule(route: RouteOptions): RouteRule {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const access = route.config?.access;
  if (access === undefined) throw new Error(`route ${methods.join(',')} ${route.url} declares no access rule (config.access): deny by default`);
  const mutating = methods.some((method) => UNSAFE_METHODS.has(method));
  if (mutating && route.config?.audit === undefined && !('public' in access)) throw new Error(`route ${methods.join(',')} ${route.url} changes state but names no audit action (config.audit)`);
  if ('roles' in access && access.roles.includes('borrower') && hasParams(route.url) && access.borrowerOwns === undefined) {
    throw new Error(`route ${route.url} is open to borrowers and takes an id, but has no borrowerOwns check`);
  }
  const documented = (route.schema as { operationId?: unknown } | undefined)?.operationId;
  const operationId = typeof documented === 'string' ? documented : operationIdFor(methods[0]!, route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}'));
  return { method: methods.join(','), url: route.url, access, audit: route.config?.audit, idempotent: route.config?.idempotent === true, hasBody: route.schema?.body !== undefined, operationId };
}

function equalSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function authenticate(db: Database, request: FastifyRequest, now: Date): Promise<Authenticated | null> {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer (\S+)$/.exec(authorization);
    const found = match === null ? undefined : await findToken(db, match[1]!, now);
    if (found === undefined) throw new ApiError(401, 'unauthenticated', 'the API token is not valid, has expired or was revoked');
    return found;
  }
  const cookie = request.cookies[SESSION_COOKIE];
  if (cookie === undefined || cookie === '') return null;
  return (await findSession(db, cookie, now)) ?? null;
}

/** The refusal for a caller who may not: borrowers get 404 where the route names a record. */
function denied(request: FastifyRequest, principal: Authenticated): ApiError {
  if (principal.user.roles.includes('borrower') && hasParams(request.routeOptions.url ?? '')) {
    return new ApiError(404, 'not_found', 'no such record');
  }
  return new ApiError(403, 'forbidden', 'your roles do not allow this');
}

export function registerAccessControl(app: FastifyInstance, db: Database, routes: RouteRule[], now: () => Date): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('audited', false);

  app.addHook('onRoute', (route) => {
    if (route.method === 'HEAD') return;
    routes.push(checkRouteRule(route));
  });

  // Who is calling, and may they call this route at all? Before body validation, so an
  // unauthenticated caller learns nothing about the API's shape.
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === undefined) return; // 404 handler
    request.principal = await authenticate(db, request, now());
    if ('public' in access) return;
    const principal = request.principal;
    if (principal === null) throw new ApiError(401, 'unauthenticated', 'log in (session cookie) or send an API token (Authorization: Bearer …)');
    if (principal.via === 'session' && UNSAFE_METHODS.has(request.method)) {
      const given = request.headers['x-csrf-token'];
      if (typeof given !== 'string' || principal.csrfToken === undefined || !equalSecret(given, principal.csrfToken)) {
        throw new ApiError(403, 'csrf_token_invalid', 'send the X-CSRF-Token header given at login with every change made through a session');
      }
    }
    if (principal.user.passwordChangeRequired && request.routeOptions.config.allowWhilePasswordChange !== true) {
      throw new ApiError(403, 'password_change_required', 'an admin set this password: choose your own at POST /api/v1/auth/password before anything else');
    }
    if (!principal.user.roles.some((role) => access.roles.includes(role))) throw denied(request, principal);
  });

  // Is the record the borrower's own? Before the body is validated, so a borrower learns nothing
  // about another's record, not even that its request was malformed. The parameters are still
  // raw here: an ownership check that cannot read them counts as "not yours".
  app.addHook('preValidation', async (request) => {
    const access = request.routeOptions.config.access;
    const principal = request.principal;
    if (access === undefined || 'public' in access || principal === null || !principal.user.roles.includes('borrower')) return;
    if (access.borrowerOwns === undefined) return;
    let owns = false;
    try {
      owns = await access.borrowerOwns(request, principal.user.borrowerId ?? '');
    } catch {
      owns = false;
    }
    if (!owns) throw new ApiError(404, 'not_found', 'no such record');
  });

  // Every answer to an authenticated caller is about that caller: no cache may keep it.
  app.addHook('onSend', async (request, reply) => {
    if (request.principal !== null) reply.header('cache-control', 'no-store');
  });

  // A state-changing request's audit record. Success is recorded by the handler inside its own
  // transaction (auditRequest), with its target and amounts; a refusal is recorded here, after the
  // response, since the refused transaction rolled back. A success the handler did not record is a
  // bug: it is still recorded here (without a target) and logged as an error, and the test that
  // walks every operation (src/api/audit-coverage.test.ts) fails on it.
  app.addHook('onResponse', async (request, reply) => {
    const action = request.routeOptions.config.audit;
    if (action === undefined || !UNSAFE_METHODS.has(request.method) || request.principal === null) return;
    const refused = reply.statusCode >= 400;
    if (!refused && request.audited) return;
    const replayed = reply.getHeader('idempotent-replayed') === 'true';
    if (!refused && !replayed) request.log.error({ action, url: request.url }, 'a state-changing request succeeded without its audit record');
    try {
      await db.transaction((tx) => appendAudit(tx, {
        ...auditFields(request),
        action,
        outcome: refused ? 'refused' : 'ok',
        target: null,
        details: { method: request.method, url: request.url, status: reply.statusCode, ...(replayed ? { replayed: true } : refused ? {} : { unaudited: true }) },
      }, now()));
    } catch (error) {
      request.log.error({ err: error }, 'could not append the audit record of a request');
    }
  });
}

/** What a state-changing request moved, per currency, in minor units (kopecks, sats). */
export type Amounts = Readonly<Partial<Record<Currency, bigint>>>;

/** Amounts as people read them: `{ RUB: "1500000.00", BTC: "0.50000000" }`. */
export function amountsView(amounts: Amounts): Record<string, string> {
  return Object.fromEntries(Object.entries(amounts).filter(([, v]) => v !== undefined).map(([currency, v]) => [currency, formatMinorUnits(v!, currency as Currency)]));
}

export interface AuditNote {
  /** What the request acted on: `loan:LN-1`, `user:7`, `approval:12`. */
  readonly target: string;
  /** What it moved; none for a change that moves no value. */
  readonly amounts?: Amounts;
  readonly details?: Readonly<Record<string, unknown>>;
  /** The record's action, when not the route's own `config.audit`. */
  readonly action?: string;
}

/**
 * Appends the audit record of a state-changing request that succeeds, inside the transaction of
 * its change (the record commits or rolls back with it): the route's action, the target, and the
 * amounts it moved as decimal strings (`details.amounts`, `{}` when it moved none).
 */
export async function auditRequest(tx: Queryable, request: FastifyRequest, note: AuditNote, at: Date): Promise<void> {
  const action = note.action ?? request.routeOptions.config.audit;
  if (action === undefined) throw new Error(`route ${request.routeOptions.url} has no audit action`);
  await appendAudit(tx, { ...auditFields(request), action, target: note.target, details: { ...(note.details ?? {}), amounts: amountsView(note.amounts ?? {}) } }, at);
  request.audited = true;
}

/** For work that appended the request's record itself (a proposal, a checkpoint). */
export function markAudited(request: FastifyRequest): void {
  request.audited = true;
}

/** Audit fields of the caller, for handlers that append their own records. */
export function actorOf(request: FastifyRequest): { user: NonNullable<FastifyRequest['principal']>['user']; requestId: string; ip: string; clientRequestId?: string } {
  if (request.principal === null) throw new Error('actorOf called on an unauthenticated request');
  return { user: request.principal.user, requestId: request.id, ip: request.ip, ...(clientRequestIdOf(request) !== null ? { clientRequestId: clientRequestIdOf(request)! } : {}) };
}

/** The X-Request-Id the client sent, if it is one we can keep (kept beside our own id, never as it). */
export function clientRequestIdOf(request: FastifyRequest): string | null {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && /^[\x21-\x7e]{1,64}$/.test(given) ? given : null;
}

/** The audit record's actor fields for the caller of a request. */
export function auditFields(request: FastifyRequest): { actorUserId: bigint | null; actor: string; requestId: string; clientRequestId: string | null; ip: string } {
  const principal = request.principal;
  return { actorUserId: principal?.user.id ?? null, actor: principal?.user.username ?? 'anonymous', requestId: request.id, clientRequestId: clientRequestIdOf(request), ip: request.ip };
}
