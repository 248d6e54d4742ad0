import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, TEST_PASSWORD, type TestApp } from '../test-support/app.js';

let t: TestApp;
beforeAll(async () => { t = await openTestApp({ loginRateLimitPerMinute: 1_000 }); });
afterAll(() => t.close());

async function login(username: string, password = TEST_PASSWORD) {
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
  const setCookie = response.headers['set-cookie'];
  const raw = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  return { response, raw, cookie: raw?.split(';')[0] ?? '', csrf: response.statusCode === 200 ? (response.json().csrfToken as string) : '' };
}

describe('logging in with a session cookie', () => {
  it('sets an HttpOnly, SameSite=Strict cookie (not Secure over plain HTTP) and knows who you are', async () => {
    const { response, raw, cookie } = await login('officer');
    expect(response.statusCode).toBe(200);
    expect(raw).toMatch(/HttpOnly/);
    expect(raw).toMatch(/SameSite=Strict/);
    expect(raw).not.toMatch(/Secure/);
    expect(response.json().user).toMatchObject({ username: 'officer', roles: ['credit_officer'] });
    expect(JSON.stringify(response.json())).not.toMatch(/scrypt|"password"|passwordHash/);
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } });
    expect(me.json()).toMatchObject({ user: { username: 'officer' }, via: 'session' });
  });

  it('marks the cookie Secure when served over TLS behind a trusted proxy, and only then', async () => {
    const forwarded = { 'x-forwarded-proto': 'https' };
    const untrusted = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'auditor', password: TEST_PASSWORD }, headers: forwarded });
    expect(String(untrusted.headers['set-cookie'])).not.toMatch(/Secure/);
    const proxied = await openTestApp({ trustProxy: ['127.0.0.1'] });
    try {
      const response = await proxied.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'auditor', password: TEST_PASSWORD }, headers: forwarded });
      expect(response.statusCode).toBe(200);
      expect(String(response.headers['set-cookie'])).toMatch(/; Secure/);
    } finally {
      await proxied.close();
    }
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    for (const [username, password] of [['officer', 'wrong password!!'], ['nobody-here', 'whatever password']]) {
      const { response } = await login(username!, password);
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe('bad_credentials');
    }
  });

  it('refuses a change made through a session without the CSRF token, and accepts it with', async () => {
    const { cookie, csrf } = await login('officer');
    const body = { name: 'laptop', expiresInDays: 1 };
    const without = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: { cookie }, payload: body });
    expect(without.statusCode).toBe(403);
    expect(without.json().error.code).toBe('csrf_token_invalid');
    const wrong = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: { cookie, 'x-csrf-token': `${csrf}x` }, payload: body });
    expect(wrong.statusCode).toBe(403);
    const withToken = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: { cookie, 'x-csrf-token': csrf }, payload: body });
    expect(withToken.statusCode).toBe(201);
  });

  it('expires a session after 30 idle minutes, and ends it on logout', async () => {
    const idle = await login('risk');
    t.advance(31 * 60);
    const late = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: idle.cookie } });
    expect(late.statusCode).toBe(401);

    const active = await login('risk');
    const logout = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: active.cookie, 'x-csrf-token': active.csrf } });
    expect(logout.statusCode).toBe(200);
    const after = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: active.cookie } });
    expect(after.statusCode).toBe(401);
  });

  it('expires a session 8 hours after login however active it is', async () => {
    const session = await login('treasury');
    // Active every 25 minutes (inside the idle limit) for 19 x 25 = 475 minutes...
    for (let step = 0; step < 19; step += 1) {
      t.advance(25 * 60);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: session.cookie } })).statusCode).toBe(200);
    }
    // ... and at 500 minutes it is past the 8-hour limit.
    t.advance(25 * 60);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: session.cookie } })).statusCode).toBe(401);
  });
});

/** A user an admin made has a temporary password: log in, set your own, and log in again. */
async function firstLogin(username: string, temporary = TEST_PASSWORD, own = `${username} chose this one 7!`) {
  const first = await login(username, temporary);
  expect(first.response.statusCode, first.response.body).toBe(200);
  expect(first.response.json().passwordChangeRequired).toBe(true);
  const changed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: { cookie: first.cookie, 'x-csrf-token': first.csrf }, payload: { currentPassword: temporary, newPassword: own } });
  expect(changed.statusCode, changed.body).toBe(200);
  return { ...first, password: own };
}

describe('lock-out', () => {
  it('counts concurrent wrong passwords, every one of them', async () => {
    await t.as('admin').post('/api/v1/users', { username: 'racer', displayName: 'racer', password: TEST_PASSWORD, roles: ['auditor'] });
    await Promise.all(Array.from({ length: 3 }, () => login('racer', 'wrong password!!')));
    const [row] = await t.test.db.query<{ failures: number }>("SELECT failures FROM login_throttle WHERE username = 'racer'");
    expect(row?.failures).toBe(3);
  });

  it('locks a username from one address after 5 failed logins, even against the right password, until the back-off passes', async () => {
    await t.as('admin').post('/api/v1/users', { username: 'victim', displayName: 'victim', password: TEST_PASSWORD, roles: ['auditor'] });
    for (let i = 1; i <= 5; i += 1) expect((await login('victim', 'wrong password!!')).response.statusCode).toBe(401);
    // Locked: even the right password is refused, with the same answer as a wrong one.
    const right = await login('victim');
    expect(right.response.statusCode).toBe(401);
    expect(right.response.json().error.code).toBe('bad_credentials');
    expect((await login('nobody-at-all', 'wrong password!!')).response.json().error).toMatchObject({ code: 'bad_credentials', message: right.response.json().error.message });
    t.advance(61);
    expect((await login('victim')).response.statusCode).toBe(200);
    const audit = await t.as('auditor').get('/api/v1/audit?limit=1000&action=identity.login');
    const logins = audit.json().records.filter((r: { details: { username: string } }) => r.details.username === 'victim');
    expect(logins.map((r: { outcome: string }) => r.outcome)).toEqual(['refused', 'refused', 'refused', 'refused', 'refused', 'refused', 'ok']);
    expect(logins.map((r: { details: { result: string } }) => r.details.result)).toEqual(['bad_credentials', 'bad_credentials', 'bad_credentials', 'bad_credentials', 'locked', 'locked', 'ok']);
  });

  it('an attacker who knows a username locks out only its own address, never its owner at another', async () => {
    await t.as('admin').post('/api/v1/users', { username: 'target.user', displayName: 'Target', password: TEST_PASSWORD, roles: ['auditor'] });
    const from = (ip: string, password: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'target.user', password }, remoteAddress: ip });
    for (let i = 0; i < 8; i += 1) expect((await from('203.0.113.9', 'guessing passwords')).statusCode).toBe(401);
    expect((await from('203.0.113.9', TEST_PASSWORD)).statusCode).toBe(401); // the attacker's address is locked
    expect((await from('198.51.100.20', TEST_PASSWORD)).statusCode).toBe(200); // the owner's is not
  });

  it('rate-limits login attempts per client', async () => {
    const limited = await openTestApp({ loginRateLimitPerMinute: 3 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await limited.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'officer', password: 'wrong password!!' } })).statusCode);
      expect(statuses).toEqual([401, 401, 401, 429]);
      const last = await limited.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'officer', password: TEST_PASSWORD } });
      expect(last.json().error.code).toBe('rate_limited');
    } finally {
      await limited.close();
    }
  });
});

describe('passwords', () => {
  it.each(['aaaaaaaaaaaa', 'Password123456', 'qwertyuiop123', 'someone.new2026'])('refuses a guessable password (%s) with the estimator\'s reason, and stores nothing', async (password) => {
    const response = await t.as('admin').post('/api/v1/users', { username: 'someone.new', displayName: 'Someone', password, roles: ['auditor'] });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'weak_password', message: expect.stringMatching(/too easy to guess|at least 12/) });
    expect(await t.test.db.query("SELECT 1 FROM users WHERE username = 'someone.new'")).toEqual([]);
  });
});

describe('API tokens', () => {
  it('authenticate until revoked or expired, and are stored only as a hash', async () => {
    const made = await t.as('auditor').post('/api/v1/auth/tokens', { name: 'reporting', expiresInDays: 1 });
    expect(made.statusCode).toBe(201);
    const secret = made.json().secret as string;
    expect(secret).toMatch(/^zlg_\d+_[A-Za-z0-9_-]{43}$/);
    const stored = await t.test.db.query<{ secret_hash: string }>('SELECT secret_hash FROM api_tokens WHERE id = $1', [BigInt(made.json().token.id)]);
    // The secret is base64url and may itself contain "_": take everything after "zlg_<id>_".
    const secretPart = /^zlg_\d+_(.+)$/.exec(secret)![1]!;
    expect(secretPart).toHaveLength(43);
    expect(stored[0]?.secret_hash).not.toContain(secretPart);
    expect(stored[0]?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    const use = () => t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${secret}` } });
    expect((await use()).json()).toMatchObject({ via: 'token', user: { username: 'auditor' } });

    const revoked = await t.as('auditor').post(`/api/v1/auth/tokens/${made.json().token.id}/revoke`);
    expect(revoked.statusCode).toBe(200);
    expect((await use()).statusCode).toBe(401);
  });

  it('stop working after they expire', async () => {
    const made = await t.as('auditor').post('/api/v1/auth/tokens', { name: 'short', expiresInDays: 1 });
    t.advance(86_401);
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${made.json().secret}` } });
    expect(response.statusCode).toBe(401);
  });

  it('cannot be revoked by someone else (404), but can by an admin', async () => {
    const made = await t.as('officer').post('/api/v1/auth/tokens', { name: 'mine', expiresInDays: 1 });
    const id = made.json().token.id;
    expect((await t.as('officer2').post(`/api/v1/auth/tokens/${id}/revoke`)).statusCode).toBe(404);
    expect((await t.as('borrower1').post(`/api/v1/auth/tokens/${id}/revoke`)).statusCode).toBe(404);
    expect((await t.as('admin').post(`/api/v1/auth/tokens/${id}/revoke`)).statusCode).toBe(200);
  });

  it.each(['Bearer nonsense', 'Bearer zlg_1_short', 'Basic abc', 'Bearer zlg_999999_' + 'a'.repeat(43)])('refuse a bad Authorization header: %s', async (header) => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: header } });
    expect(response.statusCode).toBe(401);
    expect(response.json().error.code).toBe('unauthenticated');
  });
});

describe('user administration', () => {
  it('an admin creates, changes and disables users; each change is audited with before and after', async () => {
    const created = await t.as('admin').post('/api/v1/users', { username: 'new.officer', displayName: 'New Officer', password: TEST_PASSWORD, roles: ['credit_officer'] });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ activationPending: true, passwordChangeRequired: true });
    const id = created.json().id;
    expect((await t.as('admin2').post(`/api/v1/approvals/${created.json().activationApprovalId}/approve`)).statusCode).toBe(200);
    const changed = await t.as('admin').inject({ method: 'PATCH', url: `/api/v1/users/${id}`, payload: { roles: ['credit_officer', 'risk_officer'] } });
    expect(changed.json()).toMatchObject({ roles: ['credit_officer', 'risk_officer'], activationPending: true });
    expect((await t.as('admin2').post(`/api/v1/approvals/${changed.json().activationApprovalId}/approve`)).statusCode).toBe(200);
    const audit = (await t.as('auditor').get(`/api/v1/audit?target=user:${id}`)).json().records;
    expect(audit.map((r: { action: string }) => r.action)).toEqual([
      'identity.user.create', 'approval.propose.identity.activate_user', 'identity.user.activate', 'approval.approve.identity.activate_user',
      'identity.user.update', 'approval.propose.identity.activate_user', 'identity.user.activate', 'approval.approve.identity.activate_user',
    ]);
    expect(audit[4].details.before.roles).toEqual(['credit_officer']);
    expect(audit[4].details.after.roles).toEqual(['credit_officer', 'risk_officer']);
    expect(audit[2].actor).toBe('admin2');

    const { password } = await firstLogin('new.officer');
    const session = await login('new.officer', password);
    await t.as('admin').inject({ method: 'PATCH', url: `/api/v1/users/${id}`, payload: { disabled: true } });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: session.cookie } })).statusCode).toBe(401);
    expect((await login('new.officer', password)).response.statusCode).toBe(401);
  });

  it('a user given a money or admin role stays inactive until a second admin approves; the first cannot', async () => {
    const created = await t.as('admin').post('/api/v1/users', { username: 'solo.officer', displayName: 'Solo', password: TEST_PASSWORD, roles: ['treasury'] });
    const approvalId = created.json().activationApprovalId;
    expect((await login('solo.officer')).response.statusCode).toBe(401);
    const self = await t.as('admin').post(`/api/v1/approvals/${approvalId}/approve`);
    expect(self.json().error.code).toBe('approver_is_proposer');
    expect((await t.as('risk').post(`/api/v1/approvals/${approvalId}/approve`)).statusCode).toBe(403);
    expect((await t.as('admin2').post(`/api/v1/approvals/${approvalId}/approve`)).statusCode).toBe(200);
    await firstLogin('solo.officer');
  });

  it('a user without a money or admin role is active at once', async () => {
    const created = await t.as('admin').post('/api/v1/users', { username: 'new.auditor', displayName: 'Auditor', password: TEST_PASSWORD, roles: ['auditor'] });
    expect(created.json()).toMatchObject({ activationPending: false });
    expect(created.json().activationApprovalId).toBeUndefined();
    expect((await login('new.auditor')).response.statusCode).toBe(200);
  });

  const base = { username: 'someone.new', displayName: 'Someone', password: TEST_PASSWORD, roles: ['auditor'] };
  it.each<[string, object, number, string]>([
    ['a weak password', { ...base, password: 'short' }, 400, 'weak_password'],
    ['a borrower without its borrower', { ...base, roles: ['borrower'] }, 400, 'invalid_roles'],
    ['a borrower with another role', { ...base, roles: ['borrower', 'auditor'], borrowerId: 'B-9' }, 400, 'invalid_roles'],
    ['the system role', { ...base, roles: ['system'] }, 400, 'validation_failed'],
    ['an unknown role', { ...base, roles: ['wizard'] }, 400, 'validation_failed'],
    ['an upper-case username', { ...base, username: 'Someone' }, 400, 'validation_failed'],
    ['a taken username', { ...base, username: 'officer' }, 409, 'username_taken'],
    ['an unknown field', { ...base, isAdmin: true }, 400, 'validation_failed'],
  ])('refuses %s and stores nothing', async (_name, body, status, code) => {
    const count = async () => (await t.test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM users'))[0]!.n;
    const before = await count();
    const response = await t.as('admin').post('/api/v1/users', body);
    expect(response.statusCode).toBe(status);
    expect(response.json().error.code).toBe(code);
    expect(await count()).toBe(before);
  });

  it('an admin cannot approve a money movement', async () => {
    const proposed = await t.as('officer').post('/api/v1/ledger/entries', { businessDate: '2026-11-24', reason: 'x', postings: [{ account: 'cash_correspondent', currency: 'RUB', debit: '1.00' }, { account: 'suspense', currency: 'RUB', credit: '1.00' }] });
    const approval = await t.as('admin').post(`/api/v1/approvals/${proposed.json().id}/approve`);
    expect(approval.statusCode).toBe(403);
    expect(approval.json().error.code).toBe('approver_role_insufficient');
  });

  it('an admin cannot change its own roles, and cannot move money', async () => {
    const self = await t.as('admin').inject({ method: 'PATCH', url: `/api/v1/users/${t.as('admin').user.id}`, payload: { roles: ['admin', 'risk_officer'] } });
    expect(self.statusCode).toBe(409);
    const entry = await t.as('admin').post('/api/v1/ledger/entries', { businessDate: '2026-11-24', reason: 'x', postings: [] });
    expect(entry.statusCode).toBe(403);
  });
});

describe('responses', () => {
  it('carry security headers and no stack traces', async () => {
    const response = await t.as('officer').get('/api/v1/auth/me');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBeDefined();
    expect(response.headers['content-security-policy']).toBeDefined();
  });
});

describe('credentials end with the change that should end them', () => {
  async function userWithCredentials(username: string) {
    const created = await t.as('admin').post('/api/v1/users', { username, displayName: username, password: TEST_PASSWORD, roles: ['auditor'] });
    const { password } = await firstLogin(username);
    const session = await login(username, password);
    const made = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, payload: { name: 'script', expiresInDays: 30 } });
    expect(made.statusCode).toBe(201);
    const token = made.json().secret as string;
    const works = async () => ({
      session: (await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: session.cookie } })).statusCode,
      token: (await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode,
    });
    expect(await works()).toEqual({ session: 200, token: 200 });
    return { id: created.json().id as string, password, works };
  }

  it('a role change revokes every session and token', async () => {
    const user = await userWithCredentials('changes.role');
    await t.as('admin').inject({ method: 'PATCH', url: `/api/v1/users/${user.id}`, payload: { roles: ['borrower'], borrowerId: 'B-1' } });
    expect(await user.works()).toEqual({ session: 401, token: 401 });
  });

  it('a deactivation revokes them, and a re-activation does not bring them back', async () => {
    const user = await userWithCredentials('goes.away');
    await t.as('admin').inject({ method: 'PATCH', url: `/api/v1/users/${user.id}`, payload: { disabled: true } });
    expect(await user.works()).toEqual({ session: 401, token: 401 });
    expect((await t.as('admin').inject({ method: 'PATCH', url: `/api/v1/users/${user.id}`, payload: { disabled: false } })).statusCode).toBe(200);
    expect(await user.works()).toEqual({ session: 401, token: 401 });
    expect((await login('goes.away', user.password)).response.statusCode).toBe(200);
  });

  it('an admin\'s password reset takes a second admin, is temporary, and revokes every session and token on approval', async () => {
    const user = await userWithCredentials('forgot.it');
    const proposed = await t.as('admin').post(`/api/v1/users/${user.id}/password`, { password: 'temporary horse battery' });
    expect(proposed.statusCode, proposed.body).toBe(202);
    expect(JSON.stringify(proposed.json())).not.toContain('temporary horse');
    // Nothing changed yet: the old password and credentials still work, the new one does not.
    expect(await user.works()).toEqual({ session: 200, token: 200 });
    expect((await login('forgot.it', 'temporary horse battery')).response.statusCode).toBe(401);
    expect((await t.as('admin').post(`/api/v1/approvals/${proposed.json().id}/approve`)).json().error.code).toBe('approver_is_proposer');
    expect((await t.as('admin2').post(`/api/v1/approvals/${proposed.json().id}/approve`)).statusCode).toBe(200);
    expect(await user.works()).toEqual({ session: 401, token: 401 });
    expect((await login('forgot.it', user.password)).response.statusCode).toBe(401);
    // The temporary password lets the user do one thing: choose its own.
    const temporary = await login('forgot.it', 'temporary horse battery');
    expect(temporary.response.json()).toMatchObject({ passwordChangeRequired: true });
    const blocked = await t.app.inject({ method: 'GET', url: '/api/v1/audit', headers: { cookie: temporary.cookie } });
    expect([blocked.statusCode, blocked.json().error.code]).toEqual([403, 'password_change_required']);
    const weak = await t.app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: { cookie: temporary.cookie, 'x-csrf-token': temporary.csrf }, payload: { currentPassword: 'temporary horse battery', newPassword: 'forgot.it2026' } });
    expect(weak.json().error.code).toBe('weak_password');
    const own = await t.app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: { cookie: temporary.cookie, 'x-csrf-token': temporary.csrf }, payload: { currentPassword: 'temporary horse battery', newPassword: 'my own long passphrase 42' } });
    expect(own.statusCode, own.body).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/audit?limit=1', headers: { cookie: temporary.cookie } })).statusCode).toBe(200);
    const audit = (await t.as('auditor').get(`/api/v1/audit?target=user:${user.id}`)).json().records.map((r: { action: string }) => r.action);
    expect(audit).toEqual(expect.arrayContaining(['identity.user.password_reset.propose', 'identity.user.password_reset', 'approval.approve.identity.reset_password', 'identity.password.change']));
  });

  it('a temporary password stops working after its expiry', async () => {
    const created = await t.as('admin').post('/api/v1/users', { username: 'never.came', displayName: 'Never', password: TEST_PASSWORD, roles: ['auditor'] });
    expect(created.statusCode).toBe(201);
    t.advance(73 * 3_600);
    expect((await login('never.came')).response.statusCode).toBe(401);
    const [record] = (await t.as('auditor').get('/api/v1/audit?action=identity.login&limit=1000')).json().records.filter((r: { details: { username: string } }) => r.details.username === 'never.came');
    expect(record.details.result).toBe('password_expired');
  });
});

describe('the first admins, with the service running', () => {
  it('are made with the one-time setup token, two at most; nothing else makes an admin without another', async () => {
    const fresh = await openTestApp({ setupToken: 'the-token-printed-at-start' });
    try {
      // The test app has admins already: disable them to stand in for a new bank.
      await fresh.test.db.query(`UPDATE users SET disabled_at = now() WHERE 'admin' = ANY (roles)`);
      const setup = (token: string, username: string, password = 'first admin long password') => fresh.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token, username, password } });
      expect((await setup('a-guess', 'boss')).json().error.code).toBe('setup_token_invalid');
      expect((await setup('the-token-printed-at-start', 'boss', 'aaaaaaaaaaaa')).json().error.code).toBe('weak_password');
      expect((await setup('the-token-printed-at-start', 'boss')).statusCode).toBe(201);
      expect((await setup('the-token-printed-at-start', 'boss2')).statusCode).toBe(201);
      expect((await setup('the-token-printed-at-start', 'boss3')).json().error.code).toBe('setup_complete');
      const boss = await fresh.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'boss', password: 'first admin long password' } });
      expect(boss.json()).toMatchObject({ user: { roles: ['admin'] }, passwordChangeRequired: false });
      const [record] = (await fresh.as('auditor').get('/api/v1/audit?action=identity.setup')).json().records;
      expect(record).toMatchObject({ actor: 'setup-token', outcome: 'ok', target: expect.stringMatching(/^user:\d+$/) });
    } finally {
      await fresh.close();
    }
    const without = await t.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token: '', username: 'boss', password: 'first admin long password' } });
    expect(without.statusCode).toBe(400);
  });
});

describe('request ids and caching', () => {
  it('authenticated answers are not cached; a client\'s X-Request-Id is kept beside ours, never as it', async () => {
    const me = await t.as('auditor').inject({ method: 'GET', url: '/api/v1/auth/me', headers: { 'x-request-id': 'client-chosen-id' } });
    expect(me.headers['cache-control']).toBe('no-store');
    expect(me.headers['x-request-id']).not.toBe('client-chosen-id');
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).headers['cache-control']).toBeUndefined();
    const made = await t.as('auditor').inject({ method: 'POST', url: '/api/v1/auth/tokens', payload: { name: 'ids', expiresInDays: 1 }, headers: { 'x-request-id': 'client-chosen-id' } });
    const [record] = (await t.as('auditor').get(`/api/v1/audit?requestId=${made.headers['x-request-id']}`)).json().records;
    expect(record).toMatchObject({ action: 'identity.token.create', clientRequestId: 'client-chosen-id', requestId: made.headers['x-request-id'] });
    expect((await t.as('auditor').get('/api/v1/audit?requestId=client-chosen-id')).json().records).toEqual([]);
  });
});
