import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { CHECKED_CREDENTIAL_MS, createApiToken, createUser, findToken, listTokens, TOKEN_TOUCH_MS } from './identity-repository.js';

describe('an API token\'s last use', () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await openTestDatabase(); });
  afterAll(async () => { await t.close(); });

  it('is written at most once a minute, not on every request', async () => {
    const user = (await createUser(t.db, { username: 'toucher', displayName: 'T', password: 'correct horse battery staple', roles: ['auditor'], borrowerId: null }))!;
    const { text } = await createApiToken(t.db, user.id, 'touch', new Date(Date.now() + 86_400_000));
    const at = new Date('2026-11-27T10:00:00Z');
    const lastUsed = async () => (await listTokens(t.db, user.id))[0]!.lastUsedAt?.toISOString();
    expect(await findToken(t.db, text, at)).toBeDefined();
    expect(await lastUsed()).toBe(at.toISOString());
    expect(await findToken(t.db, text, new Date(at.getTime() + TOKEN_TOUCH_MS - 1))).toBeDefined();
    expect(await lastUsed()).toBe(at.toISOString());
    // A minute on, once the credential is checked again (it is read at most once a second).
    const later = new Date(at.getTime() + TOKEN_TOUCH_MS - 1 + CHECKED_CREDENTIAL_MS);
    expect(await findToken(t.db, text, later)).toBeDefined();
    expect(await lastUsed()).toBe(later.toISOString());
  });
});
