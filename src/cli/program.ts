import { Command } from 'commander';
import { ConfigError, describeDatabase } from '../config.js';
import { MigrationError, migrate } from '../db/migrate.js';
import { DatabaseLockedError, openDatabase } from '../db/open.js';
import { formatMinorUnits, formatKopecks, parseKopecks, type Currency } from '../money/money.js';
import { buildSchedule, LOAN_MONTHS_MAX, REPAYMENT_TYPES, ScheduleTermsError, type RepaymentType } from '../loans/schedule.js';
import { rateFromPercent } from '../loans/interest.js';
import { bankCalendar, loadCalendar, refreshBankCalendar } from '../calendar/load.js';
import { CalendarDataError } from '../calendar/business.js';
import { checkLoadedYear, storeCalendarYear } from '../calendar/calendar-store.js';
import os from 'node:os';
import { trialBalance } from '../ledger/ledger-repository.js';
import { SECTION_TITLES, trialBalanceSections } from '../ledger/trial-balance.js';
import { appendAudit, verifyAudit } from '../audit/audit-repository.js';
import { createUser, systemUser, type User } from '../identity/identity-repository.js';
import type { Queryable } from '../db/database.js';
import { isCalendarDate } from '../ledger/entry.js';
import { importList, ListImportError } from '../compliance/screening.js';
import { LIST_FORMATS, type ListFormat } from '../compliance/screening-lists.js';
import { revalueEquipment } from '../underwriting/equipment-service.js';
import { fetchMempoolSnapshot, readNetworkHistoryCsv, saveSnapshots } from '../underwriting/network-data.js';
import { ExtractImportError, httpRegistryClient, importRegistryExtract, recheckDue } from '../compliance/registry.js';
import { passwordProblem } from '../identity/passwords.js';
import { readBarsCsv, readRateCsv, HistoryFileError } from '../prices/history-files.js';
import { fetchBitstampOhlc } from '../prices/import.js';
import { loadPricesConfig, pipelineConfig, PricesConfigError } from '../prices/prices-config.js';
import { saveHistory, type Bar } from '../prices/price-repository.js';
import { historyPipeline, replay } from '../prices/replay.js';
import { fetchCbrArchive } from '../prices/sources/cbr.js';
import { SourceError } from '../adapters/http.js';
import type { Pair } from '../prices/aggregate.js';
import { serve } from './serve.js';
import { demoConfig, demoOptions, runDemo } from '../demo/run.js';
import { registerLoanCommands } from './loans-cli.js';
import { registerRiskCommands } from './risk-cli.js';
import { registerExposureCommands } from './exposure-cli.js';
import { registerVaultCommands } from '../vaults/vault-cli.js';
import { DescriptorError } from '../vaults/descriptor.js';
import { ProofError } from '../vaults/proof.js';
import { dateOption } from './options.js';
import { readInputFile, type CliIo, type CliRuntime } from './io.js';
import { AuditKeyError, generateSigningKey, verifyingKeyOf } from '../audit/checkpoint.js';
import { loadSigningKey, makeCheckpoint, readCheckpointFile, readVerifyingKey, verifyCheckpoints } from '../audit/checkpoint-file.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The `zalog` command's commands, for one run: `io` is where it reads and writes, `runtime` the
 * configuration and the database (opened by this process, or the service's own when the command
 * came through its control socket). Configuration comes from the environment (see README).
 */
export function buildProgram(io: CliIo, runtime: CliRuntime): Command {
const withDatabase = runtime.withDatabase;
const program = new Command('zalog').description('zalog: rouble loans to Bitcoin miners against BTC collateral');
// Commander's own messages (usage errors, help) go to the same place as the commands' output, and
// a usage error is thrown rather than exiting the process (which may be the service).
program.exitOverride().configureOutput({ writeOut: (text) => io.out(text.replace(/\n$/, '')), writeErr: (text) => io.err(text.replace(/\n$/, '')) });

program.command('serve').description('run the HTTP service (HOST, PORT; ZALOG_DATA_DIR or DATABASE_URL)').action(async () => {
  if (runtime.inService) throw new ConfigError('the service is already running');
  await serve(runtime.config, async (request, commandIo, serviceRuntime) => {
    try {
      await buildProgram(commandIo, serviceRuntime).parseAsync([...request.argv], { from: 'user' });
      return 0;
    } catch (error) {
      return reportError(commandIo, error);
    }
  });
});

program.command('demo').description('run the demo bank: a fresh embedded database (<ZALOG_DATA_DIR>/demo), staff and miners with random passwords, and a clock replaying the June 2022 crash an hour a second (ZALOG_DEMO_SPEED)').action(async () => {
  if (runtime.inService) throw new ConfigError('the service is already running');
  const config = demoConfig(runtime.config, process.env);
  await runDemo(config, io, demoOptions(process.env), async (request, commandIo, serviceRuntime) => {
    try {
      await buildProgram(commandIo, serviceRuntime).parseAsync([...request.argv], { from: 'user' });
      return 0;
    } catch (error) {
      return reportError(commandIo, error);
    }
  });
});

program.command('migrate').description('apply pending database migrations and exit').action(async () => {
  const config = runtime.config;
  if (runtime.inService) {
    io.out(`${describeDatabase(config.database)}: the running service applied its migrations when it started`);
    return;
  }
  const db = await openDatabase(config.database);
  try {
    const applied = await migrate(db);
    io.out(applied.length === 0 ? `${describeDatabase(config.database)}: up to date` : `${describeDatabase(config.database)}: applied ${applied.join(', ')}`);
  } finally {
    await db.close();
  }
});

const ledger = program.command('ledger').description('read the ledger');
ledger.command('trial-balance')
  .description('print the trial balance: on-balance and off-balance (memo) accounts in separate sections with their totals per currency; exit 1 when a section does not balance')
  .option('--as-of <instant>', 'value time, e.g. 2026-11-24T00:00:00Z').option('--json', 'JSON output')
  .action(async (options: { asOf?: string; json?: boolean }) => {
  await withDatabase(async (db) => {
    const asOf = options.asOf === undefined ? undefined : new Date(options.asOf);
    if (asOf !== undefined && Number.isNaN(asOf.getTime())) throw new ConfigError(`--as-of "${options.asOf}" is not an instant`);
    const result = await trialBalance(db, asOf);
    const sections = trialBalanceSections(result.rows);
    const money = (amount: bigint, currency: string) => formatMinorUnits(amount, currency as Currency);
    const balanced = sections.every((s) => s.difference === 0n);
    if (!balanced) io.setExitCode(1);
    if (options.json) {
      io.out(JSON.stringify({
        asOf: result.asOf?.toISOString() ?? null,
        balanced,
        sections: sections.map((s) => ({
          section: s.section, title: SECTION_TITLES[s.section], currency: s.currency, balanced: s.difference === 0n,
          totals: { debits: money(s.debits, s.currency), credits: money(s.credits, s.currency), difference: money(s.difference, s.currency) },
          accounts: s.rows.map((row) => ({ account: row.account, debits: money(row.debits, row.currency), credits: money(row.credits, row.currency) })),
        })),
      }));
      return;
    }
    for (const s of sections) {
      io.out(`${SECTION_TITLES[s.section]}, ${s.currency}`);
      for (const row of s.rows) io.out(`  ${row.account.padEnd(48)} ${money(row.debits, row.currency).padStart(24)} ${money(row.credits, row.currency).padStart(24)}`);
      io.out(`  ${'TOTAL'.padEnd(48)} ${money(s.debits, s.currency).padStart(24)} ${money(s.credits, s.currency).padStart(24)}${s.difference === 0n ? '' : `   DOES NOT BALANCE: debits exceed credits by ${money(s.difference, s.currency)} ${s.currency}`}`);
    }
    io.out(balanced ? 'the books balance' : 'THE BOOKS DO NOT BALANCE');
  });
});

const users = program.command('users').description('manage users');
users.command('create-admin')
  .description('create an admin user; the password comes from standard input (--password-stdin) or ZALOG_ADMIN_PASSWORD, never a default')
  .requiredOption('--username <name>', 'lower-case login name')
  .option('--display-name <name>', 'shown name')
  .option('--password-stdin', 'read the password from standard input')
  .action(async (options: { username: string; displayName?: string; passwordStdin?: boolean }) => {
    const password = options.passwordStdin ? await io.readStdin() : io.env.ZALOG_ADMIN_PASSWORD;
    if (password === undefined || password === '') throw new ConfigError('give the password on standard input with --password-stdin, or in ZALOG_ADMIN_PASSWORD');
    const problem = passwordProblem(password, [options.username, options.displayName ?? '']);
    if (problem !== undefined) throw new ConfigError(problem);
    if (!/^[a-z0-9][a-z0-9._@-]{2,63}$/.test(options.username)) throw new ConfigError('the username is 3 to 64 lower-case letters, digits or . _ @ -');
    await withDatabase(async (db) => {
      const created = await db.transaction(async (tx) => {
        const user = await createUser(tx, { username: options.username, displayName: options.displayName ?? options.username, password, roles: ['admin'], borrowerId: null });
        if (user !== undefined) {
          await appendAudit(tx, { actorUserId: null, actor: `cli:${io.user}`, action: 'identity.user.create', target: `user:${user.id}`, details: { after: { username: user.username, roles: user.roles }, via: 'zalog users create-admin' } });
        }
        return user;
      });
      if (created === undefined) throw new ConfigError(`the username "${options.username}" is taken`);
      io.out(`created admin ${created.username} (id ${created.id})`);
    });
  });

const audit = program.command('audit').description('the audit trail: verify its hash chain, anchor it with signed checkpoints');
audit.command('verify')
  .description('re-compute the hash chain; exit 1 and name the first broken record if it is not intact. With --checkpoint, also check the chain against every signed checkpoint in the file (a deleted tail, a re-hashed chain)')
  .option('--checkpoint <file>', 'a file of checkpoints (JSON lines), e.g. the service\'s audit-checkpoints.jsonl or the auditors\' copies')
  .option('--public-key <file>', 'the key that signed them: the Ed25519 public key (PEM), or the HMAC secret; default: the configured key')
  .action(async (options: { checkpoint?: string; publicKey?: string }) => {
    if (options.checkpoint === undefined) {
      await withDatabase(async (db) => {
        const report = await verifyAudit(db);
        const skipped = report.skippedIds > 0n ? `; ${report.skippedIds} ids unused (rolled-back appends, or records deleted: only a checkpoint tells which)` : '';
        if (report.firstBreak === undefined) {
          io.out(`audit chain intact: ${report.records} records${skipped}`);
          return;
        }
        io.out(`audit chain BROKEN at record ${report.firstBreak.id}: ${report.firstBreak.problem} (${report.records} records before it are intact)`);
        io.setExitCode(1);
      });
      return;
    }
    const key = options.publicKey !== undefined ? await readVerifyingKey(path.resolve(io.cwd, options.publicKey)) : verifyingKeyOf((await loadSigningKey(runtime.config.auditKey)).key);
    const lines = await readCheckpointFile(path.resolve(io.cwd, options.checkpoint));
    if (lines.length === 0) throw new ConfigError(`${options.checkpoint}: no checkpoints in the file`);
    await withDatabase(async (db) => {
      const { chain, verdicts } = await verifyCheckpoints(db, lines, key);
      const broken = verdicts.filter((v) => v.problem !== undefined);
      if (chain.firstBreak === undefined) io.out(`audit chain intact: ${chain.records} records`);
      else io.out(`audit chain BROKEN at record ${chain.firstBreak.id}: ${chain.firstBreak.problem} (${chain.records} records before it are intact)`);
      for (const v of broken) io.out(`checkpoint on line ${v.line}${v.headId === undefined ? '' : ` (record ${v.headId}, ${v.count} records, ${v.at})`} FAILS: ${v.problem}`);
      io.out(`${verdicts.length - broken.length} of ${verdicts.length} checkpoints match the chain`);
      if (chain.firstBreak !== undefined || broken.length > 0) io.setExitCode(1);
    });
  });
audit.command('checkpoint')
  .description('sign the chain\'s head now and append it to the checkpoint file (ZALOG_AUDIT_CHECKPOINT_FILE); mailed to ZALOG_AUDITORS_EMAIL when set. The service makes one at least daily')
  .action(async () => {
    const config = runtime.config;
    const { key } = await loadSigningKey(config.auditKey);
    await withDatabase(async (db) => {
      const made = await makeCheckpoint(db, { key, file: config.auditCheckpointFile, auditorsEmail: config.auditorsEmail }, { actorUserId: null, actor: `cli:${io.user}` }, new Date());
      if (!made.ok) {
        io.out(made.problem);
        io.setExitCode(1);
        return;
      }
      io.out(`checkpoint: record ${made.checkpoint.headId}, ${made.checkpoint.count} records, hash ${made.checkpoint.headHash}, key ${made.checkpoint.keyId}; appended to ${config.auditCheckpointFile}${config.auditorsEmail === undefined ? ' (ZALOG_AUDITORS_EMAIL is not set: not mailed)' : `, mailed to ${config.auditorsEmail}`}`);
    });
  });
audit.command('keygen')
  .description('make an Ed25519 key pair for signing checkpoints: the private key to --out (mode 0600), the public key to --out.pub for the auditors')
  .requiredOption('--out <file>', 'where to write the private key (must not exist)')
  .action(async (options: { out: string }) => {
    const file = path.resolve(io.cwd, options.out);
    const pair = generateSigningKey();
    try {
      await writeFile(file, pair.privatePem, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      throw new ConfigError(`${options.out}: ${(error as { code?: string }).code === 'EEXIST' ? 'exists already; a signing key is never overwritten' : (error as Error).message}`);
    }
    await writeFile(`${file}.pub`, pair.publicPem);
    io.out(`wrote the private key to ${file} and the public key to ${file}.pub; set ZALOG_AUDIT_KEY_FILE=${file}`);
    io.out(pair.publicPem.trimEnd());
  });

const calendarCommand = program.command('calendar').description('the Russian business calendar: days off by year');
calendarCommand.command('import')
  .description('load a year\'s days off as the government\'s decree publishes them (JSON: { year, source, holidays: [YYYY-MM-DD], workingWeekends: [YYYY-MM-DD] }); it replaces the shipped year or the statutory rule; earlier loads are kept')
  .requiredOption('--reason <text>', 'why (e.g. "decree of 2026-09-12 published")')
  .argument('<file>', 'the year\'s JSON file')
  .action(async (file: string, options: { reason: string }) => {
    const text = await readInputFile(io, file);
    let year;
    try {
      year = checkLoadedYear(JSON.parse(text));
    } catch (error) {
      if (error instanceof SyntaxError || error instanceof CalendarDataError) throw new ConfigError(`${file}: ${error.message}`);
      throw error;
    }
    if (options.reason.trim() === '' || options.reason.length > 500) throw new ConfigError('--reason is 1 to 500 characters');
    await withDatabase(async (db) => {
      const system = await systemUser(db);
      const now = new Date();
      const id = await db.transaction(async (tx) => {
        const stored = await storeCalendarYear(tx, year, options.reason, system.id, now);
        await appendAudit(tx, { actorUserId: system.id, actor: `cli:${io.user}`, action: 'calendar.year.load', target: `calendar_year:${year.year}`, details: { amounts: {}, loadId: stored.toString(), source: year.source, holidays: year.holidays, workingWeekends: year.workingWeekends, reason: options.reason, via: 'zalog calendar import' } }, now);
        return stored;
      });
      await refreshBankCalendar(db);
      io.out(`loaded ${year.year} (load ${id}): ${year.holidays.length} days off, ${year.workingWeekends.length} working weekends; ${year.source}`);
    });
  });

const PAIRS = ['BTC/USD', 'BTC/USDT', 'BTC/RUB', 'USD/RUB'];

const prices = program.command('prices').description('price history: import and replay');
prices.command('import')
  .description('import history into market_history: from a CSV file, Bitstamp\'s OHLC endpoint, or the Bank of Russia\'s archive')
  .option('--csv <file>', 'a CSV file: datetime_utc or date, and open/high/low/close (or --column for a single rate)')
  .option('--column <name>', 'with --csv: the value column of a daily rate file, e.g. usd_rub')
  .option('--from-source <name>', 'bitstamp (BTC/USD candles) or cbr (USD/RUB official rate)')
  .option('--url <url>', 'the endpoint (defaults: Bitstamp v2 OHLC btcusd, cbr.ru XML_dynamic)')
  .option('--pair <pair>', 'BTC/USD, BTC/USDT, BTC/RUB or USD/RUB')
  .option('--source <name>', 'the name to file the bars under (default: the file name or source)')
  .option('--interval <seconds>', 'bar length in seconds', '3600')
  .option('--from <date>', 'first day (for --from-source)')
  .option('--to <date>', 'last day, exclusive (for --from-source)')
  .action(async (options: { csv?: string; column?: string; fromSource?: string; url?: string; pair?: string; source?: string; interval: string; from?: string; to?: string }) => {
    const interval = Number(options.interval);
    if (!Number.isInteger(interval) || interval <= 0) throw new ConfigError('--interval is a positive number of seconds');
    let bars: Bar[];
    let pair: Pair;
    let source: string;
    if (options.csv !== undefined) {
      if (options.pair === undefined || !PAIRS.includes(options.pair)) throw new ConfigError(`--pair must be one of ${PAIRS.join(', ')}`);
      pair = options.pair as Pair;
      const text = await readInputFile(io, options.csv);
      bars = options.column === undefined ? readBarsCsv(text) : readRateCsv(text, options.column);
      source = options.source ?? `csv:${options.csv.split('/').at(-1)}`;
    } else if (options.fromSource === 'bitstamp' || options.fromSource === 'cbr') {
      const from = dateOption(options.from, 'from');
      const to = dateOption(options.to, 'to') ?? new Date();
      if (from === undefined) throw new ConfigError('--from is required with --from-source');
      if (options.fromSource === 'bitstamp') {
        pair = 'BTC/USD';
        bars = await fetchBitstampOhlc({ url: options.url ?? 'https://www.bitstamp.net/api/v2/ohlc/btcusd/', timeoutMs: 15_000 }, from, to, interval);
      } else {
        pair = 'USD/RUB';
        bars = (await fetchCbrArchive({ url: options.url ?? 'https://www.cbr.ru/scripts/XML_dynamic.asp', timeoutMs: 15_000 }, from, to)).filter((bar) => bar.start < to);
      }
      source = options.source ?? options.fromSource;
    } else {
      throw new ConfigError('give --csv FILE, or --from-source bitstamp|cbr');
    }
    const stepSeconds = pair === 'USD/RUB' && options.csv === undefined ? 86_400 : interval;
    await withDatabase(async (db) => {
      const written = await db.transaction((tx) => saveHistory(tx, source, pair, stepSeconds, bars));
      io.out(`imported ${written} ${pair} bars from ${source}${bars.length > 0 ? ` (${bars[0]!.start.toISOString()} to ${bars.at(-1)!.start.toISOString()})` : ''}`);
    });
  });

prices.command('replay')
  .description('feed a historical BTC/USD or BTC/RUB series through the price pipeline into stream replay:NAME')
  .requiredOption('--name <name>', 'the replay\'s name (its stream is replay:NAME)')
  .option('--btc-usd <file>', 'CSV of BTC/USD bars (datetime_utc or date, open/high/low/close)')
  .option('--usd-rub <file>', 'CSV of the USD/RUB daily rate (date, usd_rub)')
  .option('--interval <seconds>', 'bar length in seconds', '3600')
  .option('--from <date>', 'first instant')
  .option('--to <date>', 'last instant')
  .option('--speed <x>', 'times real time, or max', 'max')
  .option('--quorum <n>', 'sources needed (history has one)', '1')
  .option('--json', 'print the summary as JSON')
  .action(async (options: { name: string; btcUsd?: string; usdRub?: string; interval: string; from?: string; to?: string; speed: string; quorum: string; json?: boolean }) => {
    if (options.btcUsd === undefined || options.usdRub === undefined) throw new ConfigError('--btc-usd and --usd-rub files are required');
    const series = readBarsCsv(await readInputFile(io, options.btcUsd));
    const usdRub = readRateCsv(await readInputFile(io, options.usdRub), 'usd_rub');
    const base = pipelineConfig(await loadPricesConfig(runtime.config.pricesConfigPath));
    const speed = options.speed === 'max' ? 'max' : Number(options.speed);
    if (speed !== 'max' && !(speed > 0)) throw new ConfigError('--speed is a positive number or max');
    const interval = Number(options.interval);
    await withDatabase(async (db) => {
      const summary = await replay(db, {
        name: options.name,
        series,
        pair: 'BTC/USD',
        intervalSeconds: interval,
        usdRub,
        config: historyPipeline(base, interval, Number(options.quorum)),
        speed,
        ...(options.from !== undefined ? { from: dateOption(options.from, 'from')! } : {}),
        ...(options.to !== undefined ? { to: dateOption(options.to, 'to')! } : {}),
      });
      const changes = summary.changes.map((change) => ({ at: change.at.toISOString(), from: change.from, to: change.to, reasons: change.reasons, price: change.priceKopecks === null ? null : formatMinorUnits(change.priceKopecks, 'RUB'), detail: change.detail }));
      if (options.json) io.out(JSON.stringify({ stream: summary.stream, cycles: summary.cycles, accepted: summary.accepted, degradedCycles: summary.degradedCycles, seconds: summary.seconds, changes }));
      else {
        io.out(`${summary.stream}: ${summary.cycles} cycles, ${summary.accepted} accepted, ${summary.degradedCycles} degraded, in ${summary.seconds.toFixed(2)} s`);
        for (const change of changes) io.out(`  ${change.at}  ${change.from} -> ${change.to}  ${change.reasons.join(',')}  ${change.price ?? ''}`);
      }
    });
  });

/** A file import done from the command line: recorded under the system user, audited as from the CLI. */
async function cliImport<T extends object>(action: string, work: (tx: Queryable, system: User, now: Date) => Promise<T>, target: (result: T) => string): Promise<T> {
  return withDatabase(async (db) => {
    const system = await systemUser(db);
    const now = new Date();
    return db.transaction(async (tx) => {
      const result = await work(tx, system, now);
      await appendAudit(tx, { actorUserId: system.id, actor: system.username, requestId: null, ip: null, action, target: target(result), details: { via: 'cli', host: os.hostname(), ...JSON.parse(JSON.stringify(result, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))) } }, now);
      return result;
    });
  });
}

const screening = program.command('screening').description('sanctions and AML screening lists');
screening.command('import')
  .description('import a list file and screen every borrower against it')
  .requiredOption('--name <name>', 'the list\'s name, e.g. ofac-sdn (a new import of a name replaces the earlier in screening)')
  .requiredOption('--format <format>', `one of ${LIST_FORMATS.join(', ')}`)
  .requiredOption('--version <version>', 'the publisher\'s version or date')
  .argument('<file>', 'the list file')
  .action(async (file: string, options: { name: string; format: string; version: string }) => {
    if (!(LIST_FORMATS as readonly string[]).includes(options.format)) throw new ConfigError(`--format must be one of ${LIST_FORMATS.join(', ')}`);
    if (!/^[a-z0-9._-]{1,64}$/.test(options.name)) throw new ConfigError('--name is 1-64 characters of a-z, 0-9, ".", "_" and "-"');
    const text = await readInputFile(io, file);
    const result = await cliImport('compliance.screening_list.import', (tx, system, now) =>
      importList(tx, { name: options.name, format: options.format as ListFormat, version: options.version, text, importedBy: system.id, now }), (r) => `screening_list:${r.listId}`);
    io.out(`${result.imported ? 'imported' : 'already imported'} ${options.name}: ${result.entries} entries, ${result.skipped.length} skipped; ${result.screening.newHits} new hits on ${result.screening.borrowersNewlyHit} borrowers`);
    for (const line of result.skipped.slice(0, 20)) io.out(`  skipped ${line}`);
  });

const registry = program.command('registry').description('the FNS miners\' registry');
registry.command('import')
  .description('import a registry extract (CSV: inn,number,included_on,status,excluded_on,exclusion_reason) as of a date')
  .requiredOption('--as-of <date>', 'the date the extract shows the registry as of')
  .option('--complete', 'the extract is the whole registry: a company or entrepreneur missing from it is not registered')
  .argument('<file>', 'the extract file')
  .action(async (file: string, options: { asOf: string; complete?: boolean }) => {
    if (!isCalendarDate(options.asOf)) throw new ConfigError('--as-of is a date YYYY-MM-DD');
    const text = await readInputFile(io, file);
    const result = await cliImport('compliance.registry_extract.import', (tx, system, now) =>
      importRegistryExtract(tx, { text, asOf: options.asOf, complete: options.complete === true, importedBy: system.id, now }), (r) => `registry_extract:${r.extractId}`);
    io.out(`${result.imported ? 'imported' : 'already imported'} extract of ${options.asOf}: ${result.rows} rows, ${result.matched} borrowers found, ${result.notFound} not found, ${result.changed} changed status, ${result.skipped.length} rows skipped`);
  });
registry.command('recheck')
  .description('check every company and entrepreneur whose last registry check is older than 28 days through the registry service (ZALOG_REGISTRY_URL)')
  .action(async () => {
    const config = runtime.config;
    if (config.registry === undefined) throw new ConfigError('ZALOG_REGISTRY_URL is not set: there is no registry service to ask');
    const client = httpRegistryClient({ baseUrl: config.registry.url, ...(config.registry.token !== undefined ? { token: config.registry.token } : {}) });
    await withDatabase(async (db) => {
      const summary = await recheckDue(db, client, { now: new Date(), recordedBy: (await systemUser(db)).id });
      io.out(`registry re-check: ${summary.due} due, ${summary.checked} checked, ${summary.changed} changed status, ${summary.failed} failed`);
      if (summary.failed > 0) io.setExitCode(1);
    });
  });

const network = program.command('network').description('bitcoin network data for underwriting (difficulty, height, fees)');
network.command('fetch')
  .description('fetch the network state now from a mempool.space REST API (the public one, or the bank\'s own instance)')
  .option('--url <url>', 'the API\'s base URL', 'https://mempool.space')
  .action(async (options: { url: string }) => {
    const snapshot = await fetchMempoolSnapshot({ baseUrl: options.url, timeoutMs: 15_000 });
    await withDatabase(async (db) => {
      const written = await db.transaction((tx) => saveSnapshots(tx, [snapshot]));
      io.out(`${written === 1 ? 'stored' : 'already stored'}: height ${snapshot.height}, difficulty ${snapshot.difficulty}, fees ${snapshot.feesSatsPerBlock} sats a block, at ${snapshot.observedAt.toISOString()}`);
    });
  });
network.command('import')
  .description('import daily history (CSV: date,difficulty[,hash_rate_ths,miners_revenue_usd], as blockchain.com exports it)')
  .requiredOption('--csv <file>', 'the CSV file')
  .option('--source <name>', 'the name to file it under (default: csv:FILE)')
  .action(async (options: { csv: string; source?: string }) => {
    let snapshots;
    try {
      snapshots = readNetworkHistoryCsv(await readInputFile(io, options.csv), options.source ?? `csv:${options.csv.split('/').at(-1)}`);
    } catch (error) {
      if (error instanceof SyntaxError) throw new ConfigError(`${options.csv}: ${error.message}`);
      throw error;
    }
    await withDatabase(async (db) => {
      const written = await db.transaction((tx) => saveSnapshots(tx, snapshots));
      io.out(`imported ${written} of ${snapshots.length} days${snapshots.length > 0 ? ` (${snapshots[0]!.observedAt.toISOString().slice(0, 10)} to ${snapshots.at(-1)!.observedAt.toISOString().slice(0, 10)})` : ''}`);
    });
  });

program.command('equipment').description('machines pledged as second-layer collateral')
  .command('revalue')
  .description('revalue every pledged machine group as of a day (the service also does this daily)')
  .option('--as-of <date>', 'the day (default today)')
  .action(async (options: { asOf?: string }) => {
    const asOf = options.asOf ?? new Date().toISOString().slice(0, 10);
    if (!isCalendarDate(asOf)) throw new ConfigError('--as-of is a date YYYY-MM-DD');
    await withDatabase(async (db) => {
      const valuedBy = (await systemUser(db)).id;
      const result = await db.transaction((tx) => revalueEquipment(tx, { asOf, now: new Date(), valuedBy }));
      if ('code' in result) throw new ConfigError(result.message);
      io.out(`revalued ${result.groups} pledged machine groups as of ${asOf}: ${formatMinorUnits(result.totalKopecks, 'RUB')} RUB, ${formatMinorUnits(result.weightedKopecks, 'RUB')} counted toward collateral; ${result.breaches} breaches, ${result.defaultEvents} new default events; ${result.loansChanged} loans count a new machine value, ${result.loansMoved} moved on the ladder for it`);
    });
  });

program.command('schedule')
  .description('print a repayment schedule for given terms without creating a loan (the business calendar applied)')
  .requiredOption('--principal <rub>', 'the principal in roubles, e.g. 1500000.00')
  .requiredOption('--rate <percent>', 'the rate in % a year, e.g. 23.5')
  .requiredOption('--start <date>', 'the disbursement day, YYYY-MM-DD')
  .requiredOption('--months <n>', 'the term in months')
  .requiredOption('--type <type>', 'annuity, bullet or interest-only')
  .option('--interest-only-months <n>', 'interest-only: months before amortisation starts (default half the term)')
  .option('--balloon <percent>', 'interest-only: the balloon as % of the principal (default 50)')
  .option('--json', 'JSON lines: one per instalment, then the totals')
  .action(async (options: { principal: string; rate: string; start: string; months: string; type: string; interestOnlyMonths?: string; balloon?: string; json?: boolean }) => {
    const principal = parseKopecks(options.principal);
    if (!principal.ok) throw new ConfigError(`--principal: ${principal.error.message}`);
    const rate = rateFromPercent(options.rate);
    if (rate === undefined) throw new ConfigError('--rate is a percentage a year such as 23.5 (up to 4 decimals)');
    if (!isCalendarDate(options.start)) throw new ConfigError('--start is a date YYYY-MM-DD');
    if (!/^[1-9][0-9]{0,2}$/.test(options.months) || Number(options.months) > LOAN_MONTHS_MAX) throw new ConfigError(`--months is a whole number from 1 to ${LOAN_MONTHS_MAX} (the longest loan term)`);
    const type = options.type === 'interest-only' ? 'interest_only' : options.type;
    if (!(REPAYMENT_TYPES as readonly string[]).includes(type)) throw new ConfigError('--type is annuity, bullet or interest-only');
    const balloon = options.balloon === undefined ? undefined : rateFromPercent(options.balloon);
    if (options.balloon !== undefined && (balloon === undefined || balloon > 1_000_000n)) throw new ConfigError('--balloon is a percentage from 0 to 100');
    if (options.interestOnlyMonths !== undefined && !/^[0-9]{1,3}$/.test(options.interestOnlyMonths)) throw new ConfigError('--interest-only-months is a whole number');
    const terms = {
      principal: principal.value, rateMillionths: rate, start: options.start, months: Number(options.months), type: type as RepaymentType,
      ...(options.interestOnlyMonths !== undefined ? { interestOnlyMonths: Number(options.interestOnlyMonths) } : {}),
      ...(balloon !== undefined ? { balloonBps: balloon / 100n } : {}),
    };
    let schedule;
    try {
      schedule = buildSchedule(terms, runtime.inService ? await bankCalendar() : await loadCalendar());
    } catch (error) {
      if (error instanceof ScheduleTermsError || error instanceof CalendarDataError) throw new ConfigError(error.message);
      throw error;
    }
    if (options.json) {
      for (const line of schedule.lines) io.out(JSON.stringify({ number: line.number, dueDate: line.dueDate, days: line.days, principal: formatKopecks(line.principal), interest: formatKopecks(line.interest), payment: formatKopecks(line.payment), balance: formatKopecks(line.balance) }));
      io.out(JSON.stringify({ totals: { principal: formatKopecks(schedule.totals.principal), interest: formatKopecks(schedule.totals.interest), payment: formatKopecks(schedule.totals.payment) }, calendar: schedule.calendar }));
      return;
    }
    io.out(' #  due date    days      principal       interest        payment        balance');
    for (const line of schedule.lines) {
      io.out(`${String(line.number).padStart(2)}  ${line.dueDate}  ${String(line.days).padStart(4)}  ${formatKopecks(line.principal).padStart(13)}  ${formatKopecks(line.interest).padStart(13)}  ${formatKopecks(line.payment).padStart(13)}  ${formatKopecks(line.balance).padStart(13)}`);
    }
    io.out(`    total             ${formatKopecks(schedule.totals.principal).padStart(13)}  ${formatKopecks(schedule.totals.interest).padStart(13)}  ${formatKopecks(schedule.totals.payment).padStart(13)}`);
    if (schedule.calendar.note !== null) io.out(`note: ${schedule.calendar.note}`);
  });

registerLoanCommands(program, io, withDatabase);
registerRiskCommands(program, io, runtime);
registerExposureCommands(program, io, runtime);
registerVaultCommands(program, io, runtime);

return program;
}

/** The exit code for an error a command threw, after printing it: 2 for what the user can fix, 1 otherwise. */
export function reportError(io: CliIo, error: unknown): number {
  if ((error as { code?: string }).code?.startsWith('commander.')) {
    // Commander printed its own message; help and version are not errors.
    const exitCode = (error as { exitCode?: number }).exitCode ?? 2;
    return exitCode === 0 ? 0 : 2;
  }
  if (error instanceof ListImportError || error instanceof ExtractImportError || error instanceof ConfigError || error instanceof MigrationError || error instanceof DatabaseLockedError
    || error instanceof PricesConfigError || error instanceof HistoryFileError || error instanceof SourceError || error instanceof AuditKeyError || error instanceof CalendarDataError || error instanceof DescriptorError || error instanceof ProofError) {
    io.err(`zalog: ${error.message}`);
    return 2;
  }
  io.err(`zalog: ${(error as Error)?.stack ?? String(error)}`);
  return 1;
}
