import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { CHECKED_CREDENTIAL_MS, createApiToken, createSession, createUser, findSession, findToken, forgetCheckedCredentials, revokeSession, revokeToken, updateUser } from './identity-repository.js';

/**
 * Credentials are checked against the database at most once a second per credential (issue 17):
 * a change made through this process is seen at once, one made elsewhere (another instance, a
 * hand-run UPDATE) within CHECKED_CREDENTIAL_MS, and expiry is never extended.
 */
describe('checked credentials', () => {
  let t: TestDatabase;
  let n = 0;
  beforeAll(async () => { t = await openTestDatabase(); });
  afterAll(async () => { await t.close(); });
  const user = async () => (await createUser(t.db, { username: `checked${(n += 1)}`, displayName: 'C', password: 'correct horse battery staple', roles: ['auditor'], borrowerId: null }))!;
  const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

  it('see a revocation made elsewhere within a second, and one made here at once', async () => {
    const u = await user();
    const { token, text } = await createApiToken(t.db, u.id, 'checked', new Date(Date.now() + 86_400_000));
    const now = new Date();
    expect(await findToken(t.db, text, now)).toMatchObject({ via: 'token', tokenId: token.id });
    await t.db.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [token.id]); // as another instance would
    expect(await findToken(t.db, text, at(now, CHECKED_CREDENTIAL_MS - 1))).toBeDefined();
    expect(await findToken(t.db, text, at(now, CHECKED_CREDENTIAL_MS))).toBeUndefined();

    const second = await createApiToken(t.db, u.id, 'checked-2', new Date(Date.now() + 86_400_000));
    expect(await findToken(t.db, second.text, now)).toBeDefined();
    await revokeToken(t.db, second.token.id);
    expect(await findToken(t.db, second.text, now)).toBeUndefined();
  });

  it('see a disabled user or a logged-out session at once when the change goes through this process', async () => {
    const u = await user();
    const now = new Date();
    const session = await createSession(t.db, u.id, '127.0.0.1', now);
    expect(await findSession(t.db, session.cookieValue, now)).toMatchObject({ via: 'session', user: { id: u.id } });
    await revokeSession(t.db, (await findSession(t.db, session.cookieValue, now))!.sessionIdHash!);
    expect(await findSession(t.db, session.cookieValue, now)).toBeUndefined();

    const other = await createSession(t.db, u.id, '127.0.0.1', now);
    expect(await findSession(t.db, other.cookieValue, now)).toBeDefined();
    await updateUser(t.db, u.id, { disabled: true });
    expect(await findSession(t.db, other.cookieValue, now)).toBeUndefined();
  });

  it('never outlive the credential\'s own expiry, nor a clock that moved back', async () => {
    const u = await user();
    const now = new Date();
    const { text } = await createApiToken(t.db, u.id, 'short', at(now, 500));
    expect(await findToken(t.db, text, now)).toBeDefined();
    expect(await findToken(t.db, text, at(now, 499))).toBeDefined();
    expect(await findToken(t.db, text, at(now, 500))).toBeUndefined();

    const { text: other } = await createApiToken(t.db, u.id, 'back', at(now, 86_400_000));
    expect(await findToken(t.db, other, now)).toBeDefined();
    await t.db.query(`UPDATE api_tokens SET revoked_at = now() WHERE name = 'back'`);
    expect(await findToken(t.db, other, at(now, -1))).toBeUndefined();
    forgetCheckedCredentials();
  });
});
