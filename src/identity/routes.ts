import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { SESSION_COOKIE, actorOf, auditFields, auditRequest } from '../api/access.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { IdempotencyHeaders } from '../api/schemas.js';
import { ApprovalView, proposeWith } from '../approvals/routes.js';
import { resetPasswordAction, TEMPORARY_PASSWORD_HOURS } from './password-reset-action.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { Id, Instant } from '../api/schemas.js';
import { appendAudit } from '../audit/audit-repository.js';
import {
  TOKEN,
  checkLogin,
  createApiToken,
  createSession,
  createUser,
  findTokenById,
  findUserById,
  listTokens,
  listUsers,
  passwordHashOf,
  revokeCredentials,
  revokeSession,
  revokeToken,
  setActivationPending,
  setPassword,
  updateUser,
  type ApiToken,
  type User,
} from './identity-repository.js';
import type { Queryable } from '../db/database.js';
import { propose, type ApprovalAction } from '../approvals/approvals.js';
import { activateUserAction } from './activation-action.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import { ASSIGNABLE_ROLES, holdsSensitiveRole, ROLES, rolesProblem, type Role } from './roles.js';

const UserView = Type.Object({
  id: Id,
  username: Type.String(),
  displayName: Type.String(),
  roles: Type.Array(Type.String()),
  borrowerId: Type.Union([Type.String(), Type.Null()]),
  disabled: Type.Boolean(),
  activationPending: Type.Boolean({ description: 'given a money or admin role through the API: inactive until a second admin approves' }),
  activationApprovalId: Type.Optional(Id),
  lockedUntil: Type.Union([Instant, Type.Null()], { description: 'always null: failed logins lock a username from one client address only (login_throttle)' }),
  passwordChangeRequired: Type.Boolean({ description: 'an admin reset the password: the user must choose its own before anything else works' }),
  createdAt: Instant,
});

function userView(user: User, activationApprovalId?: bigint) {
  return {
    id: user.id.toString(), username: user.username, displayName: user.displayName, roles: [...user.roles], borrowerId: user.borrowerId,
    disabled: user.disabledAt !== null, activationPending: user.activationPending,
    ...(activationApprovalId !== undefined ? { activationApprovalId: activationApprovalId.toString() } : {}),
    lockedUntil: user.lockedUntil?.toISOString() ?? null, passwordChangeRequired: user.passwordChangeRequired, createdAt: user.createdAt.toISOString(),
  };
}

const TokenView = Type.Object({ id: Id, name: Type.String(), createdAt: Instant, expiresAt: Instant, revokedAt: Type.Union([Instant, Type.Null()]), lastUsedAt: Type.Union([Instant, Type.Null()]) });

function tokenView(token: ApiToken) {
  return { id: token.id.toString(), name: token.name, createdAt: token.createdAt.toISOString(), expiresAt: token.expiresAt.toISOString(), revokedAt: token.revokedAt?.toISOString() ?? null, lastUsedAt: token.lastUsedAt?.toISOString() ?? null };
}

const Username = Type.String({ pattern: '^[a-z0-9][a-z0-9._@-]{2,63}$', description: 'lower case; letters, digits and . _ @ -' });
const RoleList = Type.Array(Type.Union(ASSIGNABLE_ROLES.map((role) => Type.Literal(role))), { minItems: 1, maxItems: ROLES.length });
const BorrowerRef = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' });
const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error'), 429: Type.Ref('Error') };
const EVERYONE: readonly Role[] = ASSIGNABLE_ROLES;

function checkPassword(password: string, userInputs: readonly string[]): void {
  const problem = passwordProblem(password, userInputs);
  if (problem !== undefined) throw new ApiError(400, 'weak_password', problem);
}

function checkRoles(roles: readonly string[], borrowerId: string | null): void {
  const problem = rolesProblem(roles, borrowerId);
  if (problem !== undefined) throw new ApiError(400, 'invalid_roles', problem);
}

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, value: string, expires: Date): void {
  reply.setCookie(SESSION_COOKIE, value, { httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', path: '/', expires });
}

export function identityRoutes(context: AppContext, options: { loginRateLimitPerMinute: number; setupToken?: string | undefined; operationsFor?: (roles: readonly string[]) => string[] }): FastifyPluginAsyncTypebox {
  const { db, now } = context;

  /**
   * Puts a user given a sensitive role on hold and proposes its activation to a second admin, in
   * the caller's transaction. Returns the proposal's id.
   */
  const holdForActivation = async (tx: Queryable, request: FastifyRequest, user: User, cause: 'created' | 'roles_changed'): Promise<bigint> => {
    await setActivationPending(tx, user.id, true);
    const proposed = await propose(tx, activateUserAction as ApprovalAction<unknown>, { userId: user.id.toString(), roles: [...user.roles], cause }, actorOf(request), { now: now(), ttlSeconds: context.approvalTtlSeconds });
    if (!proposed.ok) throw new ApiError(403, proposed.error.code, proposed.error.message);
    return proposed.value.id;
  };
  const setupHash = options.setupToken === undefined ? undefined : createHash('sha256').update(options.setupToken).digest();

  return async (app) => {
    app.post('/setup', {
      config: { access: { public: true }, rateLimit: { max: options.loginRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: {
        tags: ['identity'],
        operationId: 'setUpFirstAdmin',
        summary: 'First start: create one of the first two admins with the one-time setup token the service printed at start (open only while fewer than two admins are active)',
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }), username: Username, displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), password: Type.String({ maxLength: 256 }) }, { additionalProperties: false }),
        response: { 201: UserView, ...errors },
      },
    }, async (request, reply) => {
      const given = createHash('sha256').update(request.body.token).digest();
      if (setupHash === undefined || !timingSafeEqual(given, setupHash)) throw new ApiError(403, 'setup_token_invalid', 'the setup token is not the one this service printed at start (or the service has admins and printed none)');
      checkPassword(request.body.password, [request.body.username, request.body.displayName ?? '']);
      const created = await db.transaction(async (tx) => {
        // One setup at a time; two admins end it.
        await tx.query('SELECT pg_advisory_xact_lock(7207108)');
        if (await activeAdmins(tx) >= 2) return 'complete' as const;
        const user = await createUser(tx, { username: request.body.username, displayName: request.body.displayName ?? request.body.username, password: request.body.password, roles: ['admin'], borrowerId: null });
        if (user === undefined) return undefined;
        await appendAudit(tx, { ...auditFields(request), actorUserId: null, actor: 'setup-token', action: 'identity.setup', target: `user:${user.id}`, details: { amounts: {}, after: userView(user) } }, now());
        return user;
      });
      if (created === 'complete') throw new ApiError(409, 'setup_complete', 'two admins exist: set-up is over; admins create users at POST /api/v1/users');
      if (created === undefined) throw new ApiError(409, 'username_taken', `the username "${request.body.username}" is taken`);
      reply.status(201);
      return userView(created);
    });

    app.post('/auth/login', {
      config: { access: { public: true }, rateLimit: { max: options.loginRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: {
        tags: ['identity'],
        operationId: 'logIn',
        summary: 'Log in: sets the session cookie and returns the CSRF token to echo in X-CSRF-Token. After an admin\'s reset, only POST /auth/password works until the user sets its own password',
        body: Type.Object({ username: Type.String({ maxLength: 64 }), password: Type.String({ maxLength: 256 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ user: UserView, csrfToken: Type.String(), expiresAt: Instant, passwordChangeRequired: Type.Boolean() }), ...errors },
      },
    }, async (request, reply) => {
      const at = context.sessionNow();
      const { username, password } = request.body;
      // The password check runs outside the transaction (see checkLogin); the session and the
      // audit record are written together.
      const checked = await checkLogin(db, username, password, request.ip, at);
      const result = await db.transaction(async (tx) => {
        const session = checked.ok ? await createSession(tx, checked.user.id, request.ip, at) : undefined;
        await appendAudit(tx, {
          ...auditFields(request),
          actorUserId: checked.user?.id ?? null,
          actor: checked.user?.username ?? 'anonymous',
          action: 'identity.login',
          outcome: checked.ok ? 'ok' : 'refused',
          target: checked.user ? `user:${checked.user.id}` : null,
          details: { amounts: {}, username, result: checked.ok ? 'ok' : checked.reason, ...(checked.ok ? {} : { lockedUntil: checked.lockedUntil ?? null }) },
        }, now());
        return { checked, session };
      });
      if (!result.checked.ok) {
        // A locked account answers like a wrong password, so lock-outs do not reveal which
        // usernames exist; the audit trail records which it was.
        throw new ApiError(401, 'bad_credentials', 'the username or password is wrong, the password has expired, or the account is disabled or locked after failed logins; try again later');
      }
      setSessionCookie(request, reply, result.session!.cookieValue, result.session!.expiresAt);
      return { user: userView(result.checked.user), csrfToken: result.session!.csrfToken, expiresAt: result.session!.expiresAt.toISOString(), passwordChangeRequired: result.checked.user.passwordChangeRequired };
    });

    app.post('/auth/password', {
      config: { access: { roles: EVERYONE }, audit: 'identity.password.change', allowWhilePasswordChange: true },
      schema: {
        tags: ['identity'],
        operationId: 'changeOwnPassword',
        summary: 'Change your own password (the current one, and a new one strong enough); ends your other sessions and revokes your API tokens',
        body: Type.Object({ currentPassword: Type.String({ maxLength: 256 }), newPassword: Type.String({ maxLength: 256 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ user: UserView }), ...errors },
      },
    }, async (request) => {
      const principal = request.principal!;
      const user = principal.user;
      if (!await verifyPassword(request.body.currentPassword, await passwordHashOf(db, user.id))) throw new ApiError(403, 'wrong_password', 'the current password is wrong');
      if (request.body.newPassword === request.body.currentPassword) throw new ApiError(400, 'weak_password', 'choose a new password, not the current one');
      checkPassword(request.body.newPassword, [user.username, user.displayName]);
      const hash = await hashPassword(request.body.newPassword);
      const after = await db.transaction(async (tx) => {
        await setPassword(tx, user.id, hash, principal.sessionIdHash !== undefined ? { keepSession: principal.sessionIdHash } : {});
        await auditRequest(tx, request, { target: `user:${user.id}`, details: { note: 'own password changed; other sessions and API tokens revoked', wasTemporary: user.passwordChangeRequired } }, now());
        return (await findUserById(tx, user.id))!;
      });
      return { user: userView(after) };
    });

    app.post('/auth/logout', {
      config: { access: { roles: EVERYONE }, audit: 'identity.logout', allowWhilePasswordChange: true },
      schema: { tags: ['identity'], operationId: 'logOut', summary: 'End this session', response: { 200: Type.Object({ ok: Type.Boolean() }), ...errors } },
    }, async (request, reply) => {
      const principal = request.principal!;
      await db.transaction(async (tx) => {
        if (principal.sessionIdHash !== undefined) await revokeSession(tx, principal.sessionIdHash);
        await auditRequest(tx, request, { target: `user:${principal.user.id}`, details: { via: principal.via } }, now());
      });
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { ok: true };
    });

    app.get('/auth/me', {
      config: { access: { roles: EVERYONE }, allowWhilePasswordChange: true },
      schema: {
        tags: ['identity'], operationId: 'whoAmI',
        summary: 'Who am I; through a session, also the CSRF token to echo (so a reloaded web page can carry on without logging in again); and the OpenAPI operations my roles may call (the web app shows only those actions)',
        response: { 200: Type.Object({ user: UserView, via: Type.String(), csrfToken: Type.Optional(Type.String()), passwordChangeRequired: Type.Boolean(), operations: Type.Array(Type.String()) }), ...errors },
      },
    }, async (request) => {
      const principal = request.principal!;
      return { user: userView(principal.user), via: principal.via, ...(principal.csrfToken === undefined ? {} : { csrfToken: principal.csrfToken }), passwordChangeRequired: principal.user.passwordChangeRequired, operations: options.operationsFor?.(principal.user.roles) ?? [] };
    });

    app.post('/auth/tokens', {
      config: { access: { roles: EVERYONE }, audit: 'identity.token.create' },
      schema: {
        tags: ['identity'],
        operationId: 'createApiToken',
        summary: 'Create an API token for yourself; its text is shown once',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), expiresInDays: Type.Integer({ minimum: 1, maximum: TOKEN.maxDays }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ token: TokenView, secret: Type.String({ description: 'Authorization: Bearer <secret>; not shown again' }) }), ...errors },
      },
    }, async (request, reply) => {
      const at = now();
      const user = request.principal!.user;
      const created = await db.transaction(async (tx) => {
        const made = await createApiToken(tx, user.id, request.body.name, new Date(at.getTime() + request.body.expiresInDays * 86_400_000));
        await auditRequest(tx, request, { target: `api_token:${made.token.id}`, details: { name: request.body.name, expiresAt: made.token.expiresAt } }, at);
        return made;
      });
      reply.status(201);
      return { token: tokenView(created.token), secret: created.text };
    });

    app.get('/auth/tokens', {
      config: { access: { roles: EVERYONE } },
      schema: { tags: ['identity'], operationId: 'listOwnApiTokens', summary: 'Your API tokens', response: { 200: Type.Object({ tokens: Type.Array(TokenView) }), ...errors } },
    }, async (request) => ({ tokens: (await listTokens(db, request.principal!.user.id)).map(tokenView) }));

    app.post('/auth/tokens/:id/revoke', {
      config: { access: { roles: EVERYONE, borrowerOwns: async (request) => {
        const token = await findTokenById(db, BigInt((request.params as { id: string }).id));
        return token !== undefined && token.userId === request.principal?.user.id;
      } }, audit: 'identity.token.revoke' },
      schema: { tags: ['identity'], operationId: 'revokeApiToken', summary: 'Revoke an API token (yours; an admin may revoke anyone\'s)', params: Type.Object({ id: Id }), response: { 200: TokenView, ...errors } },
    }, async (request) => {
      const principal = request.principal!;
      const token = await findTokenById(db, BigInt(request.params.id));
      if (token === undefined || (token.userId !== principal.user.id && !principal.user.roles.includes('admin'))) throw new ApiError(404, 'not_found', 'no such token');
      return tokenView(await db.transaction(async (tx) => {
        const result = await revokeToken(tx, token.id);
        await auditRequest(tx, request, { target: `api_token:${token.id}`, details: { owner: token.userId.toString() } }, now());
        return result!;
      }));
    });

    // --- users (admin) ---

    app.get('/users', {
      config: { access: { roles: ['admin', 'auditor'] } },
      schema: { tags: ['identity'], operationId: 'listUsers', summary: 'Users, paged', querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }), afterId: Type.Optional(Id) }, { additionalProperties: false }), response: { 200: Type.Object({ users: Type.Array(UserView) }), ...errors } },
    }, async (request) => ({ users: (await listUsers(db, { limit: request.query.limit, ...(request.query.afterId ? { afterId: BigInt(request.query.afterId) } : {}) })).map((user) => userView(user)) }));

    app.get('/users/:id', {
      config: { access: { roles: ['admin', 'auditor'] } },
      schema: { tags: ['identity'], operationId: 'getUser', summary: 'One user', params: Type.Object({ id: Id }), response: { 200: UserView, ...errors } },
    }, async (request) => {
      const user = await findUserById(db, BigInt(request.params.id));
      if (user === undefined || user.roles.includes('system')) throw new ApiError(404, 'user_not_found', `no user ${request.params.id}`);
      return userView(user);
    });

    app.post('/users', {
      config: { access: { roles: ['admin'] }, audit: 'identity.user.create' },
      schema: {
        tags: ['identity'],
        operationId: 'createUser',
        summary: 'Create a user (admin). The password is temporary: the user sets its own at its first login. A money or admin user is inactive until a second admin approves',
        body: Type.Object({ username: Username, displayName: Type.String({ minLength: 1, maxLength: 200 }), password: Type.String({ maxLength: 256 }), roles: RoleList, borrowerId: Type.Optional(BorrowerRef) }, { additionalProperties: false }),
        response: { 201: UserView, ...errors },
      },
    }, async (request, reply) => {
      const body = request.body;
      checkPassword(body.password, [body.username, body.displayName]);
      checkRoles(body.roles, body.borrowerId ?? null);
      const created = await db.transaction(async (tx) => {
        const user = await createUser(tx, { username: body.username, displayName: body.displayName, password: body.password, roles: body.roles, borrowerId: body.borrowerId ?? null, temporaryUntil: new Date(now().getTime() + TEMPORARY_PASSWORD_HOURS * 3_600_000) });
        if (user === undefined) return undefined;
        await auditRequest(tx, request, { target: `user:${user.id}`, details: { after: userView(user) } }, now());
        if (!holdsSensitiveRole(user.roles)) return { user, approvalId: undefined };
        const approvalId = await holdForActivation(tx, request, user, 'created');
        return { user: (await findUserById(tx, user.id))!, approvalId };
      });
      if (created === undefined) throw new ApiError(409, 'username_taken', `the username "${body.username}" is taken`);
      reply.status(201);
      return userView(created.user, created.approvalId);
    });

    app.patch('/users/:id', {
      config: { access: { roles: ['admin'] }, audit: 'identity.user.update' },
      schema: {
        tags: ['identity'],
        operationId: 'updateUser',
        summary: 'Change a user\'s roles, borrower binding, name, or disable or re-enable it (admin). A change of roles, a deactivation and a re-activation revoke every session and API token of the user',
        params: Type.Object({ id: Id }),
        body: Type.Object({ roles: Type.Optional(RoleList), borrowerId: Type.Optional(Type.Union([BorrowerRef, Type.Null()])), displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), disabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: UserView, ...errors },
      },
    }, async (request) => {
      const id = BigInt(request.params.id);
      if (id === actorOf(request).user.id && (request.body.roles !== undefined || request.body.disabled === true)) throw new ApiError(409, 'cannot_change_self', 'an admin cannot change its own roles or disable itself: ask another admin');
      const updated = await db.transaction(async (tx) => {
        const before = await findUserById(tx, id);
        if (before === undefined || before.roles.includes('system')) return undefined;
        const roles = request.body.roles ?? before.roles;
        const borrowerId = request.body.borrowerId !== undefined ? request.body.borrowerId : before.borrowerId;
        checkRoles(roles, borrowerId);
        let after = (await updateUser(tx, id, { ...request.body }))!;
        const rolesChanged = [...before.roles].sort().join(',') !== [...after.roles].sort().join(',') || before.borrowerId !== after.borrowerId;
        const activeChanged = (before.disabledAt === null) !== (after.disabledAt === null);
        // Whatever was issued under the old roles or before a deactivation acts no more.
        const revoked = rolesChanged || activeChanged ? await revokeCredentials(tx, id) : { sessions: 0, tokens: 0 };
        await auditRequest(tx, request, { target: `user:${id}`, details: { before: userView(before), after: userView(after), revoked } }, now());
        // Gaining a sensitive role takes a second admin's approval.
        const gained = after.roles.filter((role) => !before.roles.includes(role));
        if (!holdsSensitiveRole(gained)) return { user: after, approvalId: undefined };
        const approvalId = await holdForActivation(tx, request, after, 'roles_changed');
        after = (await findUserById(tx, id))!;
        return { user: after, approvalId };
      });
      if (updated === undefined) throw new ApiError(404, 'user_not_found', `no user ${request.params.id}`);
      return userView(updated.user, updated.approvalId);
    });

    app.post('/users/:id/password', {
      config: { access: { roles: ['admin'] }, audit: 'identity.user.password_reset.propose', idempotent: true },
      schema: {
        tags: ['identity'],
        operationId: 'proposePasswordReset',
        summary: 'Propose resetting another user\'s password to a temporary one (admin); a second admin approves at POST /approvals/{id}/approve, which revokes the user\'s sessions and tokens; the user must then set its own password at its next login',
        headers: IdempotencyHeaders,
        params: Type.Object({ id: Id }),
        body: Type.Object({ password: Type.String({ maxLength: 256 }) }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors, 422: Type.Ref('Error') },
      },
    }, async (request, reply) => {
      const id = BigInt(request.params.id);
      if (id === actorOf(request).user.id) throw new ApiError(409, 'cannot_change_self', 'change your own password at POST /api/v1/auth/password');
      const user = await findUserById(db, id);
      if (user === undefined || user.roles.includes('system')) throw new ApiError(404, 'user_not_found', `no user ${request.params.id}`);
      checkPassword(request.body.password, [user.username, user.displayName]);
      const hash = await hashPassword(request.body.password);
      return proposeWith(context, request, reply, resetPasswordAction as ApprovalAction<unknown>, async (tx) => {
        const [reset] = await tx.query<{ id: bigint }>('INSERT INTO password_resets (user_id, password_hash, proposed_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id', [id, hash, actorOf(request).user.id, now()]);
        return { userId: id.toString(), resetId: reset!.id.toString() };
      });
    });
  };
}

async function activeAdmins(db: Queryable): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int4 AS n FROM users WHERE 'admin' = ANY (roles) AND disabled_at IS NULL AND NOT activation_pending`);
  return row!.n;
}

/** Whether the bank has its first two admins yet (the service offers set-up until it has). */
export async function needsSetup(db: Queryable): Promise<boolean> {
  return await activeAdmins(db) < 2;
}
