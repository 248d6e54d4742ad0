#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, describeDatabase, loadConfig } from '../config.js';
import { MigrationError, migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { formatMinorUnits, type Currency } from '../money/money.js';
import { trialBalance } from '../ledger/ledger-repository.js';
import { serve } from './serve.js';

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
  const config = loadConfig();
  const db = await openDatabase(config.database);
  try {
    await migrate(db);
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
  } finally {
    await db.close();
  }
});

program.parseAsync().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof MigrationError) {
    console.error(`zalog: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
