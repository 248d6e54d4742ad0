import type { Command } from 'commander';
import { ConfigError } from '../config.js';
import type { Database } from '../db/database.js';
import { isCalendarDate } from '../ledger/entry.js';
import { runEod } from '../loans/eod.js';
import { LoanError } from '../loans/loan-errors.js';
import { loadLoan, openBusinessDay } from '../loans/loan-store.js';
import { jsonLine, type CliIo, type WithDatabase } from './io.js';
import { formatKopecks } from '../money/money.js';
import { balancesAsOf, collateralView, loanView, reconcileLoans, scheduleView, statement } from '../loans/views.js';

/** `zalog eod` and `zalog loans ...`: end of day and the loan views, for operators and auditors. */

const json = jsonLine;

async function loanCommand(io: CliIo, run: WithDatabase, work: (db: Database) => Promise<unknown>): Promise<void> {
  await run(async (db) => {
    try {
      io.out(json(await work(db)));
    } catch (error) {
      if (error instanceof LoanError) throw new ConfigError(`${error.code}: ${error.message}`);
      throw error;
    }
  });
}

export function registerLoanCommands(program: Command, io: CliIo, withDatabase: WithDatabase): void {
  program.command('eod')
    .description('close business days for every live loan up to --date, in order from the first open one: accrual, due dates, overdue, penalties, statuses, ledger entries; safe to re-run after a crash')
    .requiredOption('--date <date>', 'the last business day to close, YYYY-MM-DD')
    .option('--chunk <n>', 'loans per transaction', '20000')
    .option('--workers <n>', 'chunks booked at once (default: 2 on PostgreSQL, 1 on the embedded database, which has one connection)')
    .option('--json', 'one JSON line per closed day')
    .option('--progress', 'a line on stderr after each committed chunk')
    .action(async (options: { date: string; chunk: string; workers?: string; json?: boolean; progress?: boolean }) => {
      if (!isCalendarDate(options.date)) throw new ConfigError('--date is a date YYYY-MM-DD');
      if (!/^[1-9][0-9]{0,6}$/.test(options.chunk)) throw new ConfigError('--chunk is a whole number of loans');
      if (options.workers !== undefined && !/^[1-8]$/.test(options.workers)) throw new ConfigError('--workers is a whole number from 1 to 8');
      await withDatabase(async (db) => {
        let report;
        try {
          report = await runEod(db, options.date, { now: new Date(), chunkSize: Number(options.chunk), ...(options.workers === undefined ? {} : { workers: Number(options.workers) }), ...(options.progress ? { onChunk: (day: string, loans: number) => { io.err(`eod ${day}: ${loans} loans committed`); } } : {}) });
        } catch (error) {
          if (error instanceof LoanError) throw new ConfigError(`${error.code}: ${error.message}`);
          throw error;
        }
        if (report.alreadyClosed) io.out(options.json ? json({ through: report.through, alreadyClosed: true }) : `${report.through} is already closed; nothing to do`);
        for (const day of report.days) {
          // Money as people read it: roubles with two decimals, never kopecks.
          const rub = { interest: formatKopecks(day.interest), penalties: formatKopecks(day.penalties), collected: formatKopecks(day.collected), movedToOverdue: formatKopecks(day.movedToOverdue) };
          io.out(options.json ? json({ ...day, ...rub }) : `closed ${day.businessDate}: ${day.loans} loans, ${day.entries} entries, interest ${rub.interest} RUB, penalties ${rub.penalties} RUB, collected ${rub.collected} RUB, to overdue ${rub.movedToOverdue} RUB, ${day.closedLoans} closed, ${day.defaultReviews} default reviews`);
        }
      });
    });

  const loans = program.command('loans').description('read loans (JSON)');
  loans.command('show <ref>').description('a loan: terms, status, balances').action((ref: string) => loanCommand(io, withDatabase, async (db) => loanView(await loadLoan(db, ref))));
  loans.command('schedule <ref>').description('the schedule in force, each line paid / due / overdue / future').action((ref: string) => loanCommand(io, withDatabase, async (db) => scheduleView(db, await loadLoan(db, ref), await openBusinessDay(db, new Date()))));
  loans.command('balances <ref>').description('balances at the end of a day, from the ledger').option('--as-of <date>', 'YYYY-MM-DD (default: the open business day)')
    .action((ref: string, options: { asOf?: string }) => loanCommand(io, withDatabase, async (db) => {
      if (options.asOf !== undefined && !isCalendarDate(options.asOf)) throw new ConfigError('--as-of is a date YYYY-MM-DD');
      return balancesAsOf(db, await loadLoan(db, ref), options.asOf ?? await openBusinessDay(db, new Date()));
    }));
  loans.command('statement <ref>').description('the ledger entries on the loan\'s accounts').option('--account <chart>', 'one account, e.g. interest_receivable')
    .action((ref: string, options: { account?: string }) => loanCommand(io, withDatabase, async (db) => statement(db, await loadLoan(db, ref), { limit: 1000, ...(options.account ? { account: options.account } : {}) })));
  loans.command('collateral <ref>').description('collateral positions and the release instruction').action((ref: string) => loanCommand(io, withDatabase, async (db) => collateralView(db, await loadLoan(db, ref))));
  loans.command('reconcile').description('every loan, settlement account and pledge against the ledger; exit 1 on any difference')
    .action(async () => {
      await withDatabase(async (db) => {
        const mismatches = await reconcileLoans(db);
        io.out(json({ agree: mismatches.length === 0, mismatches }));
        if (mismatches.length > 0) io.setExitCode(1);
      });
    });
}
