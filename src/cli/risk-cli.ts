import path from 'node:path';
import type { Command } from 'commander';
import { bankCalendar } from '../calendar/load.js';
import { ConfigError } from '../config.js';
import { LoanError } from '../loans/loan-errors.js';
import { checkApplication, productVersion } from '../loans/origination.js';
import { productProblems, type ProductTerms } from '../loans/product.js';
import { REPAYMENT_TYPES, type RepaymentType } from '../loans/schedule.js';
import { parseKopecks, parsePrice, parseSats } from '../money/money.js';
import { readBarsCsv, readRateCsv } from '../prices/history-files.js';
import { loadPricesConfig, pipelineConfig } from '../prices/prices-config.js';
import { historyPipeline } from '../prices/replay.js';
import { loanTrailCsv, runBacktest, type BacktestReport, type LoanTrailRow, type OriginationCadence } from '../risk/backtest.js';
import { parseShock } from '../risk/stress.js';
import { NoPriceError, stressLiveBook, stressView } from '../risk/stress-book.js';
import { DEFAULT_SLIPPAGE } from '../risk/venues.js';
import { dateOption } from './options.js';
import { readInputFile, writeOutputFile, type CliIo, type CliRuntime, type WithDatabase } from './io.js';

/** `zalog stress` and `zalog backtest`: the risk engine's what-ifs, for risk officers. */


function amount<T>(parsed: { ok: true; value: T } | { ok: false; error: { message: string } }, name: string): T {
  if (!parsed.ok) throw new ConfigError(`${name}: ${parsed.error.message}`);
  return parsed.value;
}

/** A product to backtest: a code in the configured database (its latest version), or a JSON file of terms (named by the file). */
async function productFor(io: CliIo, spec: string, withDatabase: WithDatabase): Promise<{ code: string; terms: ProductTerms }> {
  if (spec.endsWith('.json')) {
    const text = await readInputFile(io, spec);
    let terms: ProductTerms;
    try {
      terms = JSON.parse(text) as ProductTerms;
    } catch (error) {
      throw new ConfigError(`${spec}: ${(error as Error).message}`);
    }
    const problems = productProblems(terms);
    if (problems.length > 0) throw new ConfigError(`${spec}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    const code = path.basename(spec, '.json').toUpperCase().replace(/[^A-Z0-9_-]/g, '-').slice(0, 32).padEnd(2, '0');
    return { code, terms };
  }
  try {
    const { terms } = await withDatabase((db) => productVersion(db, spec));
    return { code: spec, terms };
  } catch (error) {
    if (error instanceof LoanError) throw new ConfigError(error.message);
    throw error;
  }
}

/** The bar length of a series: the most common gap between its first bars. */
function intervalOf(starts: readonly Date[]): number {
  const gaps = new Map<number, number>();
  for (let i = 1; i < Math.min(starts.length, 200); i += 1) {
    const gap = (starts[i]!.getTime() - starts[i - 1]!.getTime()) / 1000;
    gaps.set(gap, (gaps.get(gap) ?? 0) + 1);
  }
  const [best] = [...gaps].sort((a, b) => b[1] - a[1]);
  if (best === undefined) throw new ConfigError('the BTC/USD file has fewer than two bars');
  return best[0];
}

function printBacktest(io: CliIo, report: BacktestReport): void {
  const o = report.outcomes;
  io.out(`${report.product.code}: ladder ${JSON.stringify(report.product.ladder)}, cure ${report.product.curePeriodHours} h`);
  io.out(`  ${report.window.from} to ${report.window.to}: ${report.window.bars} bars of ${report.window.intervalSeconds} s (${report.window.degradedBars} degraded), BTC/RUB ${report.prices.firstRub} -> ${report.prices.lastRub}, low ${report.prices.lowRub}, max drawdown ${report.prices.maxDrawdownPercent}%`);
  io.out(`  lent ${report.book.loans} loans in ${report.book.originations} originations (${report.book.skippedOriginations} skipped), ${report.book.lentRub} RUB; interest earned ${report.book.interestRub} RUB`);
  const lent = report.book.collateral.ltvAtLendingPercent;
  io.out(`  collateral: ${report.book.collateral.rule}; LTV at lending ${lent.min ?? '-'}%..${lent.max ?? '-'}%`);
  io.out(`  entries: warnings ${o.warnings}, margin calls ${o.marginCalls}, accelerated calls ${o.acceleratedCalls}, liquidation ${o.enteredLiquidation}; cures ${o.cures} (${o.curesByPrice} by price, ${o.curesByBorrower} by a top-up or repayment; ${o.topUps} top-ups, ${o.btcToppedUp} BTC), expired ${o.callsExpired}`);
  io.out(`  liquidations ${o.liquidations} (${o.partial} partial, ${o.full} full), sold ${o.btcSold} BTC for ${o.proceedsRub} RUB; shortfall on ${o.loansWithShortfall} loans, written off ${o.writtenOffRub} RUB, losses ${o.lossesRub} RUB`);
  if (report.worstDay !== null) io.out(`  worst day ${report.worstDay.day}: ${report.worstDay.enteredLiquidation} loans entered liquidation, ${report.worstDay.btcSold} BTC sold, loss ${report.worstDay.lossRub} RUB, BTC/RUB ${report.worstDay.priceHighRub} .. ${report.worstDay.priceLowRub}`);
  io.out(`  checks ${JSON.stringify(report.checks)}; ${report.seconds} s`);
}

export function registerRiskCommands(program: Command, io: CliIo, runtime: CliRuntime): void {
  const withDatabase = runtime.withDatabase;
  program.command('stress')
    .description('stress the live book: move the BTC/RUB price by a shock at once; loans per state, collateral to sell, expected shortfall, the liquidation queue by the hour. Changes nothing')
    .requiredOption('--shock <percent>', 'the move, e.g. -30% (write --shock=-30% or --shock -30%)')
    .option('--depth-btc-per-hour <btc>', 'what the market takes an hour', '10')
    .option('--price <rub>', 'the RUB/BTC price to shock (default: the latest published)')
    .option('--json', 'JSON output')
    .action(async (options: { shock: string; depthBtcPerHour: string; price?: string; json?: boolean }) => {
      const shock = parseShock(options.shock);
      if (shock === undefined) throw new ConfigError(`--shock "${options.shock}" is not a percentage above -100 and at most 1000, e.g. -30%`);
      const depth = amount(parseSats(options.depthBtcPerHour), '--depth-btc-per-hour');
      const price = options.price === undefined ? undefined : amount(parsePrice(options.price), '--price');
      const view = await withDatabase(async (db) => {
        try {
          return stressView(await stressLiveBook(db, { shockMillionths: shock, venue: DEFAULT_SLIPPAGE, depthSatsPerHour: depth, now: new Date(), ...(price === undefined ? {} : { price }) }));
        } catch (error) {
          if (error instanceof NoPriceError) throw new ConfigError(`${error.message} (--price)`);
          throw error;
        }
      });
      if (options.json) {
        io.out(JSON.stringify(view));
        return;
      }
      const l = view.liquidation;
      io.out(`${view.loans} live loans; BTC/RUB ${view.price} -> ${view.shockedPrice} (${options.shock})`);
      for (const [state, n] of Object.entries(view.states)) io.out(`  ${state.padEnd(17)} ${String(n.before).padStart(9)} -> ${String(n.after).padStart(9)}`);
      for (const move of view.moves) io.out(`  moved ${move.from} -> ${move.to}: ${move.loans}`);
      io.out(`liquidation: ${l.loans} loans (${l.partial} partial, ${l.full} full), owing ${l.debt} RUB; ${l.btcPlanned} BTC planned, ${l.btcSold} sold (${l.btcUnsoldAtFloor} not above the floor)`);
      io.out(`  gross ${l.gross} RUB, net ${l.net} RUB; expected shortfall ${l.expectedShortfall} RUB on ${l.loansWithShortfall} loans`);
      io.out(`queue at ${options.depthBtcPerHour} BTC an hour: clears in ${view.queue.hoursToClear} h`);
      for (const h of view.queue.timeline) io.out(`  hour ${String(h.hour).padStart(3)}: ${String(h.loansWaiting).padStart(7)} loans waiting, ${h.btcWaiting.padStart(16)} BTC waiting, ${h.btcSold.padStart(16)} BTC sold, ${h.netProceeds.padStart(20)} RUB raised`);
    });

  program.command('backtest')
    .description('lend a book through price history and run the real risk engine, end of day and liquidation (simulated venue) over it, in a database of its own; report margin calls, cures, liquidations, losses and the worst day. Several --product values are run one after the other, to compare ladders')
    .requiredOption('--product <code-or-file...>', 'a product code in the configured database, or a JSON file of product terms')
    .requiredOption('--btc-usd <file>', 'BTC/USD bars, CSV as the price service imports them (datetime_utc or date, open/high/low/close)')
    .requiredOption('--usd-rub <file>', 'the official USD/RUB rate, CSV (date, usd_rub)')
    .requiredOption('--from <date>', 'first instant')
    .requiredOption('--to <date>', 'last instant')
    .option('--originate <cadence>', 'monthly, weekly or daily', 'monthly')
    .option('--loans <n>', 'loans per origination', '10')
    .option('--amount <rub>', 'each loan\'s amount', '1000000.00')
    .option('--months <n>', 'each loan\'s term', '12')
    .option('--repayment <type>', `${REPAYMENT_TYPES.join(', ')} (default: the product's first)`)
    .option('--interval <seconds>', 'bar length (default: read from the file)')
    .option('--cap-btc <btc>', 'collateral in liquidation at once across the book', '50')
    .option('--top-up-share <percent>', 'borrowers who answer a call by topping up to the target LTV', '0')
    .option('--top-up-after-hours <hours>', 'how long after the call they do', '24')
    .option('--collateral-spread <percent>', 'lend with collateral spread from the origination requirement up to this much more (100: 1x to 2x); default 0, every loan at the product\'s origination LTV', '0')
    .option('--loans-csv <file>', 'write each loan\'s life to this CSV: when it was lent, then every transition, with the date, LTV and price')
    .option('--json', 'one JSON object: { runs: [...] }')
    .option('--progress', 'a line on stderr for each month closed')
    .action(async (options: { product: string[]; btcUsd: string; usdRub: string; from: string; to: string; originate: string; loans: string; amount: string; months: string; repayment?: string; interval?: string; capBtc: string; topUpShare: string; topUpAfterHours: string; collateralSpread: string; loansCsv?: string; json?: boolean; progress?: boolean }) => {
      if (!['monthly', 'weekly', 'daily'].includes(options.originate)) throw new ConfigError('--originate is monthly, weekly or daily');
      if (!/^[1-9][0-9]{0,4}$/.test(options.loans)) throw new ConfigError('--loans is a whole number from 1 to 99999');
      if (!/^[1-9][0-9]{0,2}$/.test(options.months)) throw new ConfigError('--months is a whole number of months');
      if (options.interval !== undefined && !/^[1-9][0-9]{0,6}$/.test(options.interval)) throw new ConfigError('--interval is a whole number of seconds');
      if (options.repayment !== undefined && !(REPAYMENT_TYPES as readonly string[]).includes(options.repayment)) throw new ConfigError(`--repayment is one of ${REPAYMENT_TYPES.join(', ')}`);
      if (!/^(100|[1-9]?[0-9])$/.test(options.topUpShare)) throw new ConfigError('--top-up-share is a whole percentage from 0 to 100');
      if (!/^[0-9]{1,4}$/.test(options.topUpAfterHours)) throw new ConfigError('--top-up-after-hours is a whole number of hours');
      if (!/^(1000|[1-9]?[0-9]{1,2}|0)$/.test(options.collateralSpread)) throw new ConfigError('--collateral-spread is a whole percentage from 0 to 1000');
      const topUp = { sharePercent: Number(options.topUpShare), afterHours: Number(options.topUpAfterHours) };
      const amountKopecks = amount(parseKopecks(options.amount), '--amount');
      const capSats = amount(parseSats(options.capBtc), '--cap-btc');
      const from = dateOption(options.from, 'from');
      const to = dateOption(options.to, 'to');
      if (to <= from) throw new ConfigError('--to must be after --from');
      const products = [];
      for (const spec of options.product) products.push(await productFor(io, spec, withDatabase));
      const btcUsd = readBarsCsv(await readInputFile(io, options.btcUsd));
      const usdRub = readRateCsv(await readInputFile(io, options.usdRub), 'usd_rub');
      const interval = options.interval === undefined ? intervalOf(btcUsd.map((b) => b.start)) : Number(options.interval);
      const pipeline = historyPipeline(pipelineConfig(await loadPricesConfig(runtime.config.pricesConfigPath)), interval);
      const calendar = await bankCalendar();
      // Every product is checked before the first runs: the backtest's loans are a company's (src/loans/seed.ts).
      const months = Number(options.months);
      const runsOf = products.map((product) => {
        if (product.terms.rate.kind !== 'fixed') throw new ConfigError(`product ${product.code} has a floating rate; the backtest lends at fixed rates only`);
        const repaymentType = (options.repayment ?? product.terms.repaymentTypes[0]) as RepaymentType;
        try {
          checkApplication(product.terms, { kind: 'company' }, { productCode: product.code, amount: amountKopecks, months, repaymentType });
        } catch (error) {
          if (error instanceof LoanError) throw new ConfigError(error.message);
          throw error;
        }
        return { product, repaymentType };
      });
      // A file that cannot be written is said before a run that may take minutes, not after.
      if (options.loansCsv !== undefined) await writeOutputFile(io, options.loansCsv, '');
      const runs: BacktestReport[] = [];
      const trail: LoanTrailRow[] = [];
      for (const { product, repaymentType } of runsOf) {
        const report = await runBacktest({
          product, btcUsd, intervalSeconds: interval, usdRub, from, to, originate: options.originate as OriginationCadence, loansPerOrigination: Number(options.loans),
          amountKopecks, months, repaymentType, pipeline, calendar, capSats, topUp, collateralSpreadPercent: Number(options.collateralSpread), loanTrail: options.loansCsv !== undefined,
          ...(options.progress ? { onDay: (day: string) => { if (day.endsWith('-01')) io.err(`${product.code}: ${day}`); } } : {}),
        });
        const { loanTrail, ...summary } = report;
        if (loanTrail !== undefined) trail.push(...loanTrail);
        runs.push(summary);
        if (!options.json) printBacktest(io, summary);
      }
      if (options.loansCsv !== undefined) {
        await writeOutputFile(io, options.loansCsv, loanTrailCsv(trail));
        io.err(`wrote ${trail.length} rows (${new Set(trail.map((r) => `${r.product}/${r.loan}`)).size} loans) to ${options.loansCsv}`);
      }
      if (options.json) io.out(JSON.stringify({ runs }));
    });
}
