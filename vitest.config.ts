import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'web/src/**/*.test.ts', 'e2e/**/*.test.ts'],
    // Each test file opens its own database (in-memory PGlite, or its own schema on PostgreSQL),
    // so files may run in parallel; two workers match the two cores of the CI machine.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for an event (a page showing what an action did); its default 1 s is a
    // fixed time that a busy CI machine overran (the console's disbursement on PostgreSQL).
    expect: { poll: { timeout: 30_000 } },
  },
});
