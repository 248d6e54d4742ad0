import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type App, type AppOptions } from '../api/app.js';
import { createApiToken, createUser, type User } from '../identity/identity-repository.js';
import type { AssignableRole } from '../identity/roles.js';
import { openTestDatabase, testMigrations, type TestDatabase } from './database.js';

/**
 * The app on a fresh test database, with one user per role and an API token for each, so a test
 * can say `as('officer').post(...)`. Two credit officers exist so four eyes can be exercised.
 */

export const TEST_USERS = {
  admin: { roles: ['admin'], borrowerId: null },
  admin2: { roles: ['admin'], borrowerId: null },
  officer: { roles: ['credit_officer'], borrowerId: null },
  officer2: { roles: ['credit_officer'], borrowerId: null },
  risk: { roles: ['risk_officer'], borrowerId: null },
  risk2: { roles: ['risk_officer'], borrowerId: null },
  treasury: { roles: ['treasury'], borrowerId: null },
  treasury2: { roles: ['treasury'], borrowerId: null },
  auditor: { roles: ['auditor'], borrowerId: null },
  borrower1: { roles: ['borrower'], borrowerId: 'B-1' },
  borrower2: { roles: ['borrower'], borrowerId: 'B-2' },
} as const satisfies Record<string, { roles: readonly AssignableRole[]; borrowerId: string | null }>;

export type TestUserName = keyof typeof TEST_USERS;
export const TEST_PASSWORD = 'correct horse battery staple';

export interface Caller {
  readonly user: User;
  readonly token: string;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  get(url: string): Promise<LightMyRequestResponse>;
  post(url: string, payload?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

export interface TestApp {
  readonly app: App;
  readonly test: TestDatabase;
  as(name: TestUserName): Caller;
  /** Moves the app's clock forward. */
  advance(seconds: number): void;
  close(): Promise<void>;
}

let keyCounter = 0;
export function freshKey(prefix = 'key'): string {
  keyCounter += 1;
  return `${prefix}-${process.pid}-${keyCounter}`;
}

export async function openTestApp(options: Partial<AppOptions> = {}): Promise<TestApp> {
  const test = await openTestDatabase();
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  // Every injected request comes from one IP: a high general limit keeps large test files from
  // tripping it; tests of rate limiting set their own.
  const app = await buildApp({ db: test.db, migrations: await testMigrations(), logger: false, bodyLimitBytes: 16_384, rateLimitPerMinute: 100_000, now, ...options });
  const callers = new Map<TestUserName, Caller>();
  for (const [name, spec] of Object.entries(TEST_USERS) as Array<[TestUserName, (typeof TEST_USERS)[TestUserName]]>) {
    const user = await createUser(test.db, { username: name, displayName: name, password: TEST_PASSWORD, roles: spec.roles, borrowerId: spec.borrowerId });
    if (user === undefined) throw new Error(`could not create ${name}`);
    const { text } = await createApiToken(test.db, user.id, 'tests', new Date(Date.now() + 365 * 86_400_000));
    const inject = (request: InjectOptions) => app.inject({ ...request, headers: { authorization: `Bearer ${text}`, ...(request.headers ?? {}) } });
    callers.set(name, {
      user,
      token: text,
      inject,
      get: (url) => inject({ method: 'GET', url }),
      post: (url, payload, headers = {}) => inject({ method: 'POST', url, payload: (payload ?? {}) as object, headers: { 'idempotency-key': freshKey(name), ...headers } }),
    });
  }
  return {
    app,
    test,
    as: (name) => callers.get(name)!,
    advance: (seconds) => { offsetMs += seconds * 1000; },
    close: async () => { await app.close(); await test.close(); },
  };
}
