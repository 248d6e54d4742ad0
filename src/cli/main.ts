#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, describeDatabase, loadConfig } from '../config.js';
import { MigrationError, migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { formatMinorUnits, type Currency } from '../money/money.js';
import os from 'node:os';
import { trialBalance } from '../ledger/ledger-repository.js';
import { appendAudit, verifyAudit } from '../audit/audit-repository.js';
import { createUser } from '../identity/identity-repository.js';
import { passwordProblem } from '../identity/passwords.js';
import type { Database } from '../db/database.js';
import { serve } from './serve.js';

/** Opens the configured database, brings its schema up to date, runs `work`, closes it. */
async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(loadConfig().database);
  try {
    await migrate(db);
    return await work(db);
  } finally {
    await db.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** The `zalog` command. Configuration comes from the environment (see README). */
const program = new Command('zalog').description('zalog: rouble loans to Bitcoin miners against BTC collateral');

program.command('serve').description('run the HTTP service (HOST, PORT; ZALOG_DATA_DIR or DATABASE_URL)').action(async () => {
  await serve(loadConfig());
});

program.command('migrate').description('apply pending database migrations and exit').action(async () => {
  const config = loadConfig();
  const db = await openDatabase(config.database);
  try {
    const applied = await migrate(db);
    console.log(applied.length === 0 ? `${describeDatabase(config.database)}: up to date` : `${describeDatabase(config.database)}: applied ${applied.join(', ')}`);
  } finally {
    await db.close();
  }
});

const ledger = program.command('ledger').description('read the ledger');
ledger.command('trial-balance').description('print the trial balance per currency').option('--as-of <instant>', 'value time, e.g. 2026-11-24T00:00:00Z').option('--json', 'JSON output').action(async (options: { asOf?: string; json?: boolean }) => {
  await withDatabase(async (db) => {
    const asOf = options.asOf === undefined ? undefined : new Date(options.asOf);
    if (asOf !== undefined && Number.isNaN(asOf.getTime())) throw new ConfigError(`--as-of "${options.asOf}" is not an instant`);
    const result = await trialBalance(db, asOf);
    const money = (amount: bigint, currency: string) => formatMinorUnits(amount, currency as Currency);
    if (options.json) {
      console.log(JSON.stringify({
        asOf: result.asOf?.toISOString() ?? null,
        accounts: result.rows.map((row) => ({ account: row.account, currency: row.currency, debits: money(row.debits, row.currency), credits: money(row.credits, row.currency) })),
        totals: Object.fromEntries(Object.entries(result.totals).map(([currency, total]) => [currency, { debits: money(total.debits, currency), credits: money(total.credits, currency) }])),
      }));
      return;
    }
    for (const row of result.rows) console.log(`${row.currency}  ${row.account.padEnd(48)} ${money(row.debits, row.currency).padStart(24)} ${money(row.credits, row.currency).padStart(24)}`);
    for (const [currency, total] of Object.entries(result.totals)) console.log(`${currency}  ${'TOTAL'.padEnd(48)} ${money(total.debits, currency).padStart(24)} ${money(total.credits, currency).padStart(24)}`);
  });
});

const users = program.command('users').description('manage users');
users.command('create-admin')
  .description('create an admin user; the password comes from standard input (--password-stdin) or ZALOG_ADMIN_PASSWORD, never a default')
  .requiredOption('--username <name>', 'lower-case login name')
  .option('--display-name <name>', 'shown name')
  .option('--password-stdin', 'read the password from standard input')
  .action(async (options: { username: string; displayName?: string; passwordStdin?: boolean }) => {
    const password = options.passwordStdin ? await readStdin() : process.env.ZALOG_ADMIN_PASSWORD;
    if (password === undefined || password === '') throw new ConfigError('give the password on standard input with --password-stdin, or in ZALOG_ADMIN_PASSWORD');
    const problem = passwordProblem(password);
    if (problem !== undefined) throw new ConfigError(problem);
    if (!/^[a-z0-9][a-z0-9._@-]{2,63}$/.test(options.username)) throw new ConfigError('the username is 3 to 64 lower-case letters, digits or . _ @ -');
    await withDatabase(async (db) => {
      const created = await db.transaction(async (tx) => {
        const user = await createUser(tx, { username: options.username, displayName: options.displayName ?? options.username, password, roles: ['admin'], borrowerId: null });
        if (user !== undefined) {
          await appendAudit(tx, { actorUserId: null, actor: `cli:${os.userInfo().username}`, action: 'identity.user.create', target: `user:${user.id}`, details: { after: { username: user.username, roles: user.roles }, via: 'zalog users create-admin' } });
        }
        return user;
      });
      if (created === undefined) throw new ConfigError(`the username "${options.username}" is taken`);
      console.log(`created admin ${created.username} (id ${created.id})`);
    });
  });

const audit = program.command('audit').description('the audit trail');
audit.command('verify').description('re-compute the hash chain; exit 1 and name the first broken record if it is not intact').action(async () => {
  await withDatabase(async (db) => {
    const report = await verifyAudit(db);
    if (report.firstBreak === undefined) {
      console.log(`audit chain intact: ${report.records} records`);
      return;
    }
    console.log(`audit chain BROKEN at record ${report.firstBreak.id}: ${report.firstBreak.problem} (${report.records} records before it are intact)`);
    process.exitCode = 1;
  });
});

program.parseAsync().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof MigrationError) {
    console.error(`zalog: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
