import type { Command } from 'commander';
import { ConfigError } from '../config.js';
import type { BookFigures } from '../exposure/exposure.js';
import { snapshotHistory, takeSnapshot } from '../exposure/exposure-store.js';
import { isCalendarDate } from '../ledger/entry.js';
import type { CliIo, CliRuntime } from './io.js';

/**
 * `zalog exposure`: the book against the bank's capital and every limit, computed now (and kept,
 * as POST /api/v1/exposure/snapshots keeps it), or `--from/--to` the history by business day.
 */

const WORDS: Record<string, string> = { crypto_book: 'crypto book', borrower: 'largest borrower', group: 'largest group', region: 'largest region' };

function table(figures: BookFigures): string[] {
  const lines: string[] = [];
  lines.push(`business day ${figures.day}; Tier 1 capital ${figures.capital === null ? 'NOT RECORDED (no loan can be approved)' : `${figures.capital.tier1} RUB from ${figures.capital.effectiveFrom}`}`);
  lines.push(`book ${figures.book} RUB (${figures.bookPercent ?? '-'}% of Tier 1), risk-weighted ${figures.riskWeighted} RUB (${figures.riskWeightedPercent ?? '-'}%); ${figures.loans} loans, ${figures.borrowers} borrowers`);
  lines.push('limit             largest                         % of Tier 1  soft    hard    over soft/hard  judgement');
  for (const limit of figures.limits) {
    const largest = limit.largest === null ? '-' : `${limit.largest.key} ${limit.largest.amount}`;
    lines.push(`${WORDS[limit.kind]!.padEnd(18)}${largest.slice(0, 31).padEnd(32)}${(limit.largest?.percent ?? '-').padStart(11)}  ${(limit.softPercent ?? '-').padStart(6)}  ${(limit.hardPercent ?? '-').padStart(6)}  ${`${limit.overSoft}/${limit.overHard}`.padStart(14)}  ${limit.judgement}`);
  }
  if (figures.stress.length > 0) {
    lines.push('stress: BTC falls by   price (RUB)        uncovered debt (RUB)   % of Tier 1');
    for (const s of figures.stress) lines.push(`${`${s.shockPercent}%`.padStart(20)}   ${s.price.padStart(16)}   ${s.uncovered.padStart(20)}   ${(s.percentOfCapital ?? '-').padStart(10)}`);
  } else lines.push('stress: no live price yet');
  return lines;
}

export function registerExposureCommands(program: Command, io: CliIo, runtime: CliRuntime): void {
  program.command('exposure')
    .description('the book against Tier 1 capital and every exposure limit (crypto book, borrower, group, region) with the stress figures; computed now and kept, or the history by day with --from/--to')
    .option('--from <date>', 'history from this business day')
    .option('--to <date>', 'history to this business day')
    .option('--json', 'JSON output')
    .action(async (options: { from?: string; to?: string; json?: boolean }) => {
      if ((options.from === undefined) !== (options.to === undefined)) throw new ConfigError('--from and --to go together');
      if (options.from !== undefined) {
        if (!isCalendarDate(options.from) || !isCalendarDate(options.to!) || options.from > options.to!) throw new ConfigError('--from and --to are dates YYYY-MM-DD, --from not after --to');
        const days = await runtime.withDatabase((db) => snapshotHistory(db, options.from!, options.to!));
        if (options.json) io.out(JSON.stringify(days.map((d) => ({ businessDate: d.businessDate, takenAt: d.takenAt.toISOString(), ...d.figures })), null, 2));
        else {
          io.out('day         book (RUB)             % of Tier 1  crypto book  largest borrower  largest group  largest region');
          for (const d of days) {
            const j = (kind: string) => d.figures.limits.find((l) => l.kind === kind);
            io.out(`${d.businessDate}  ${d.figures.book.padStart(20)}  ${(d.figures.bookPercent ?? '-').padStart(11)}  ${(j('crypto_book')?.judgement ?? '-').padStart(11)}  ${(j('borrower')?.largest?.percent ?? '-').padStart(16)}  ${(j('group')?.largest?.percent ?? '-').padStart(13)}  ${(j('region')?.largest?.percent ?? '-').padStart(14)}`);
          }
          if (days.length === 0) io.out('(no computation on record in these days)');
        }
        return;
      }
      const snapshot = await runtime.withDatabase((db) => db.transaction((tx) => takeSnapshot(tx, new Date())));
      if (options.json) io.out(JSON.stringify({ id: snapshot.id.toString(), takenAt: snapshot.takenAt.toISOString(), ...snapshot.figures }, null, 2));
      else for (const line of table(snapshot.figures)) io.out(line);
    });
}
