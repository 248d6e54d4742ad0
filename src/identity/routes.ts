import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { SESSION_COOKIE, actorOf, auditFields } from '../api/access.js';
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
import { passwordProblem } from './passwords.js';
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
  lockedUntil: Type.Union([Instant, Type.Null()]),
  createdAt: Instant,
});

function userView(user: User, activationApprovalId?: bigint) {
  return {
    id: user.id.toString(), username: user.username, displayName: user.displayName, roles: [...user.roles], borrowerId: user.borrowerId,
    disabled: user.disabledAt !== null, activationPending: user.activationPending,
    ...(activationApprovalId !== undefined ? { activationApprovalId: activationApprovalId.toString() } : {}),
    lockedUntil: user.lockedUntil?.toISOString() ?? null, createdAt: user.createdAt.toISOString(),
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

function checkPassword(password: string): void {
  const problem = passwordProblem(password);
  if (problem !== undefined) throw new ApiError(400, 'weak_password', problem);
}

function checkRoles(roles: readonly string[], borrowerId: string | null): void {
  const problem = rolesProblem(roles, borrowerId);
  if (problem !== undefined) throw new ApiError(400, 'invalid_roles', problem);
}

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, value: string, expires: Date): void {
  reply.setCookie(SESSION_COOKIE, value, { httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', path: '/', expires });
}

export function identityRoutes(context: AppContext, options: { loginRateLimitPerMinute: number }): FastifyPluginAsyncTypebox {
  const { db, now } = context;

  /**
   * Puts a user given a sensitive role on hold and proposes its activation to a second admin, in
   * the caller's transaction. Returns the proposal's id.
   */
  const holdForActivation = async (tx: Queryable, request: FastifyRequest, user: User, cause: 'created' | 'roles_changed' | 'password_reset'): Promise<bigint> => {
    await setActivationPending(tx, user.id, true);
    const proposed = await propose(tx, activateUserAction as ApprovalAction<unknown>, { userId: user.id.toString(), roles: [...user.roles], cause }, actorOf(request), { now: now(), ttlSeconds: context.approvalTtlSeconds });
    if (!proposed.ok) throw new ApiError(403, proposed.error.code, proposed.error.message);
    return proposed.value.id;
  };

  return async (app) => {
    app.post('/auth/login', {
      config: { access: { public: true }, rateLimit: { max: options.loginRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: {
        tags: ['identity'],
        summary: 'Log in: sets the session cookie and returns the CSRF token to echo in X-CSRF-Token',
        body: Type.Object({ username: Type.String({ maxLength: 64 }), password: Type.String({ maxLength: 256 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ user: UserView, csrfToken: Type.String(), expiresAt: Instant }), ...errors },
      },
    }, async (request, reply) => {
      const at = now();
      const { username, password } = request.body;
      // The password check runs outside the transaction (see checkLogin); the session and the
      // audit record are written together.
      const checked = await checkLogin(db, username, password, at);
      const result = await db.transaction(async (tx) => {
        const session = checked.ok ? await createSession(tx, checked.user.id, request.ip, at) : undefined;
        await appendAudit(tx, {
          actorUserId: checked.user?.id ?? null,
          actor: checked.user?.username ?? 'anonymous',
          action: 'identity.login',
          outcome: checked.ok ? 'ok' : 'refused',
          target: checked.user ? `user:${checked.user.id}` : null,
          requestId: request.id,
          ip: request.ip,
          details: { username, result: checked.ok ? 'ok' : checked.reason, ...(checked.ok ? {} : { lockedUntil: checked.lockedUntil ?? null }) },
        }, at);
        return { checked, session };
      });
      if (!result.checked.ok) {
        // A locked account answers like a wrong password, so lock-outs do not reveal which
        // usernames exist; the audit trail records which it was.
        throw new ApiError(401, 'bad_credentials', 'the username or password is wrong, or the account is disabled or locked after failed logins; try again later');
      }
      setSessionCookie(request, reply, result.session!.cookieValue, result.session!.expiresAt);
      return { user: userView(result.checked.user), csrfToken: result.session!.csrfToken, expiresAt: result.session!.expiresAt.toISOString() };
    });

    app.post('/auth/logout', {
      config: { access: { roles: EVERYONE }, audit: 'identity.logout' },
      schema: { tags: ['identity'], summary: 'End this session', response: { 200: Type.Object({ ok: Type.Boolean() }), ...errors } },
    }, async (request, reply) => {
      const principal = request.principal!;
      await db.transaction(async (tx) => {
        if (principal.sessionIdHash !== undefined) await revokeSession(tx, principal.sessionIdHash);
        await appendAudit(tx, { ...auditFields(request), action: 'identity.logout', target: `user:${principal.user.id}`, details: { via: principal.via } }, now());
      });
      request.audited = true;
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { ok: true };
    });

    app.get('/auth/me', {
      config: { access: { roles: EVERYONE } },
      schema: { tags: ['identity'], summary: 'Who am I', response: { 200: Type.Object({ user: UserView, via: Type.String() }), ...errors } },
    }, async (request) => ({ user: userView(request.principal!.user), via: request.principal!.via }));

    app.post('/auth/tokens', {
      config: { access: { roles: EVERYONE }, audit: 'identity.token.create' },
      schema: {
        tags: ['identity'],
        summary: 'Create an API token for yourself; its text is shown once',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), expiresInDays: Type.Integer({ minimum: 1, maximum: TOKEN.maxDays }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ token: TokenView, secret: Type.String({ description: 'Authorization: Bearer <secret>; not shown again' }) }), ...errors },
      },
    }, async (request, reply) => {
      const at = now();
      const user = request.principal!.user;
      const created = await db.transaction(async (tx) => {
        const made = await createApiToken(tx, user.id, request.body.name, new Date(at.getTime() + request.body.expiresInDays * 86_400_000));
        await appendAudit(tx, { ...auditFields(request), action: 'identity.token.create', target: `api_token:${made.token.id}`, details: { name: request.body.name, expiresAt: made.token.expiresAt } }, at);
        return made;
      });
      request.audited = true;
      reply.status(201);
      return { token: tokenView(created.token), secret: created.text };
    });

    app.get('/auth/tokens', {
      config: { access: { roles: EVERYONE } },
      schema: { tags: ['identity'], summary: 'Your API tokens', response: { 200: Type.Object({ tokens: Type.Array(TokenView) }), ...errors } },
    }, async (request) => ({ tokens: (await listTokens(db, request.principal!.user.id)).map(tokenView) }));

    app.post('/auth/tokens/:id/revoke', {
      config: { access: { roles: EVERYONE, borrowerOwns: async (request) => {
        const token = await findTokenById(db, BigInt((request.params as { id: string }).id));
        return token !== undefined && token.userId === request.principal?.user.id;
      } }, audit: 'identity.token.revoke' },
      schema: { tags: ['identity'], summary: 'Revoke an API token (yours; an admin may revoke anyone\'s)', params: Type.Object({ id: Id }), response: { 200: TokenView, ...errors } },
    }, async (request) => {
      const principal = request.principal!;
      const token = await findTokenById(db, BigInt(request.params.id));
      if (token === undefined || (token.userId !== principal.user.id && !principal.user.roles.includes('admin'))) throw new ApiError(404, 'not_found', 'no such token');
      const revoked = await db.transaction(async (tx) => {
        const result = await revokeToken(tx, token.id);
        await appendAudit(tx, { ...auditFields(request), action: 'identity.token.revoke', target: `api_token:${token.id}`, details: { owner: token.userId.toString() } }, now());
        return result!;
      });
      request.audited = true;
      return tokenView(revoked);
    });

    // --- users (admin) ---

    app.get('/users', {
      config: { access: { roles: ['admin', 'auditor'] } },
      schema: { tags: ['identity'], summary: 'Users, paged', querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }), afterId: Type.Optional(Id) }, { additionalProperties: false }), response: { 200: Type.Object({ users: Type.Array(UserView) }), ...errors } },
    }, async (request) => ({ users: (await listUsers(db, { limit: request.query.limit, ...(request.query.afterId ? { afterId: BigInt(request.query.afterId) } : {}) })).map((user) => userView(user)) }));

    app.get('/users/:id', {
      config: { access: { roles: ['admin', 'auditor'] } },
      schema: { tags: ['identity'], summary: 'One user', params: Type.Object({ id: Id }), response: { 200: UserView, ...errors } },
    }, async (request) => {
      const user = await findUserById(db, BigInt(request.params.id));
      if (user === undefined || user.roles.includes('system')) throw new ApiError(404, 'user_not_found', `no user ${request.params.id}`);
      return userView(user);
    });

    app.post('/users', {
      config: { access: { roles: ['admin'] }, audit: 'identity.user.create' },
      schema: {
        tags: ['identity'],
        summary: 'Create a user (admin)',
        body: Type.Object({ username: Username, displayName: Type.String({ minLength: 1, maxLength: 200 }), password: Type.String({ maxLength: 256 }), roles: RoleList, borrowerId: Type.Optional(BorrowerRef) }, { additionalProperties: false }),
        response: { 201: UserView, ...errors },
      },
    }, async (request, reply) => {
      const body = request.body;
      checkPassword(body.password);
      checkRoles(body.roles, body.borrowerId ?? null);
      const created = await db.transaction(async (tx) => {
        const user = await createUser(tx, { username: body.username, displayName: body.displayName, password: body.password, roles: body.roles, borrowerId: body.borrowerId ?? null });
        if (user === undefined) return undefined;
        await appendAudit(tx, { ...auditFields(request), action: 'identity.user.create', target: `user:${user.id}`, details: { after: userView(user) } }, now());
        if (!holdsSensitiveRole(user.roles)) return { user, approvalId: undefined };
        const approvalId = await holdForActivation(tx, request, user, 'created');
        return { user: (await findUserById(tx, user.id))!, approvalId };
      });
      if (created === undefined) throw new ApiError(409, 'username_taken', `the username "${body.username}" is taken`);
      request.audited = true;
      reply.status(201);
      return userView(created.user, created.approvalId);
    });

    app.patch('/users/:id', {
      config: { access: { roles: ['admin'] }, audit: 'identity.user.update' },
      schema: {
        tags: ['identity'],
        summary: 'Change a user\'s roles, borrower binding, name, or disable it (admin)',
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
        if (request.body.disabled === true) await tx.query('UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [id]);
        await appendAudit(tx, { ...auditFields(request), action: 'identity.user.update', target: `user:${id}`, details: { before: userView(before), after: userView(after) } }, now());
        // Gaining a sensitive role takes a second admin's approval.
        const gained = after.roles.filter((role) => !before.roles.includes(role));
        if (!holdsSensitiveRole(gained)) return { user: after, approvalId: undefined };
        const approvalId = await holdForActivation(tx, request, after, 'roles_changed');
        after = (await findUserById(tx, id))!;
        return { user: after, approvalId };
      });
      if (updated === undefined) throw new ApiError(404, 'user_not_found', `no user ${request.params.id}`);
      request.audited = true;
      return userView(updated.user, updated.approvalId);
    });

    app.post('/users/:id/password', {
      config: { access: { roles: ['admin'] }, audit: 'identity.user.password' },
      schema: { tags: ['identity'], summary: 'Set a user\'s password (admin); ends its sessions and lifts a lock-out. A money or admin user is then inactive until a second admin approves', params: Type.Object({ id: Id }), body: Type.Object({ password: Type.String({ maxLength: 256 }) }, { additionalProperties: false }), response: { 200: Type.Object({ ok: Type.Boolean(), activationApprovalId: Type.Optional(Id) }), ...errors } },
    }, async (request) => {
      checkPassword(request.body.password);
      const id = BigInt(request.params.id);
      const found = await db.transaction(async (tx) => {
        const user = await findUserById(tx, id);
        if (user === undefined || user.roles.includes('system')) return false;
        await setPassword(tx, id, request.body.password);
        await appendAudit(tx, { ...auditFields(request), action: 'identity.user.password', target: `user:${id}`, details: { note: 'password set; sessions ended' } }, now());
        // Whoever sets the password of a money or admin user could act as it: a second admin approves.
        return { approvalId: holdsSensitiveRole(user.roles) ? await holdForActivation(tx, request, user, 'password_reset') : undefined };
      });
      if (found === false) throw new ApiError(404, 'user_not_found', `no user ${request.params.id}`);
      request.audited = true;
      return { ok: true, ...(found.approvalId !== undefined ? { activationApprovalId: found.approvalId.toString() } : {}) };
    });
  };
}
