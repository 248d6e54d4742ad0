import { stringify } from 'csv-stringify/sync';
import { formatKopecks, formatSats } from '../money/money.js';

/**
 * A loan's statement and schedule as documents a miner downloads (issue 19): pure, no I/O. The
 * statement reads the loan's ledger postings (the books, not a copy) and says, per operation, how
 * the debt and the pledged BTC changed and what they were after it; end-of-day entries (a day's
 * interest, penalties, moves to overdue) are summed per month, or a year's statement would be 365
 * lines of interest. Money stays exact: kopecks and sats as bigint, printed from decimal strings
 * (formatKopecks/formatSats) with the language's grouping, never through a JS number.
 */

export type DocLang = 'ru' | 'en';

/** The loan's receivable accounts: their sum is the debt (the ledger's signs: a debit raises it). */
const DEBT_ACCOUNTS = new Set(['loan_principal', 'loan_principal_overdue', 'interest_receivable', 'interest_overdue', 'penalty_receivable', 'fee_receivable']);
/** The pledged BTC (a memo credit account: a credit raises it). */
const PLEDGE_ACCOUNT = 'collateral_pledged';
export const STATEMENT_ACCOUNTS = [...DEBT_ACCOUNTS, PLEDGE_ACCOUNT];

export interface PostingRow {
  readonly entryId: bigint;
  readonly businessDate: string;
  readonly kind: string;
  readonly chartCode: string;
  /** Signed: positive is a debit. Kopecks for RUB, sats for BTC. */
  readonly amount: bigint;
  readonly [column: string]: unknown;
}

export interface StatementLine {
  /** The first and last business day the line covers (the same day but for a month of end-of-day entries). */
  readonly from: string;
  readonly to: string;
  readonly kind: string;
  readonly debtChange: bigint;
  readonly debtAfter: bigint;
  readonly btcChange: bigint;
  readonly btcAfter: bigint;
}

/** Postings (ordered by entry) into statement lines with running balances. */
export function statementLines(postings: readonly PostingRow[]): StatementLine[] {
  const lines: StatementLine[] = [];
  let debt = 0n;
  let btc = 0n;
  let current: { from: string; to: string; kind: string; entryId: bigint; debt: bigint; btc: bigint } | undefined;
  const flush = () => {
    if (current === undefined) return;
    debt += current.debt;
    btc += current.btc;
    if (current.debt !== 0n || current.btc !== 0n) lines.push({ from: current.from, to: current.to, kind: current.kind, debtChange: current.debt, debtAfter: debt, btcChange: current.btc, btcAfter: btc });
    current = undefined;
  };
  for (const p of postings) {
    const sameEntry = current !== undefined && current.entryId === p.entryId;
    const sameMonthOfEod = current !== undefined && p.kind === 'eod' && current.kind === 'eod' && current.from.slice(0, 7) === p.businessDate.slice(0, 7);
    if (!sameEntry && !sameMonthOfEod) {
      flush();
      current = { from: p.businessDate, to: p.businessDate, kind: p.kind, entryId: p.entryId, debt: 0n, btc: 0n };
    }
    const line = current!;
    line.entryId = p.entryId;
    line.to = p.businessDate;
    if (DEBT_ACCOUNTS.has(p.chartCode)) line.debt += p.amount;
    else if (p.chartCode === PLEDGE_ACCOUNT) line.btc -= p.amount;
  }
  flush();
  return lines;
}

const KINDS: Record<string, { ru: string; en: string }> = {
  disbursement: { ru: 'Выдача кредита', en: 'Loan disbursed' },
  fee: { ru: 'Комиссия', en: 'Fee' },
  accrual: { ru: 'Начисление процентов', en: 'Interest accrued' },
  eod: { ru: 'Проценты и пени за период', en: 'Interest and penalties for the period' },
  repayment_allocation: { ru: 'Погашение', en: 'Repayment' },
  prepayment: { ru: 'Досрочное погашение', en: 'Early repayment' },
  restructuring: { ru: 'Реструктуризация', en: 'Restructuring' },
  collateral_in: { ru: 'Залог BTC принят', en: 'BTC collateral received' },
  collateral_out: { ru: 'Залог BTC выбыл', en: 'BTC collateral out' },
  liquidation_proceeds: { ru: 'Выручка от продажи залога', en: 'Liquidation proceeds' },
  write_off: { ru: 'Списание долга', en: 'Debt written off' },
  reversal: { ru: 'Сторно', en: 'Reversal' },
};

export const kindLabel = (kind: string, lang: DocLang): string => KINDS[kind]?.[lang] ?? kind;

/** 1234567.89 -> "1 234 567,89" (ru: a no-break space and a decimal comma) or "1,234,567.89" (en). */
export function groupDecimal(text: string, lang: DocLang): string {
  const negative = text.startsWith('-');
  const [whole, fraction] = (negative ? text.slice(1) : text).split('.') as [string, string | undefined];
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, lang === 'ru' ? '\u00a0' : ',');
  const sign = negative ? '−' : '';
  return `${sign}${grouped}${fraction === undefined ? '' : (lang === 'ru' ? ',' : '.') + fraction}`;
}

export const rubText = (kopecks: bigint, lang: DocLang): string => `${groupDecimal(formatKopecks(kopecks), lang)} ₽`;
export const btcText = (sats: bigint, lang: DocLang): string => `${groupDecimal(formatSats(sats), lang)} BTC`;
/** A signed change: "+1 000,00 ₽", "−0,10000000 BTC", "" for none. */
const signed = (value: bigint, text: (v: bigint, lang: DocLang) => string, lang: DocLang) => (value === 0n ? '' : value > 0n ? `+${text(value, lang)}` : text(value, lang));
export const dayText = (day: string, lang: DocLang): string => (lang === 'ru' ? `${day.slice(8, 10)}.${day.slice(5, 7)}.${day.slice(0, 4)}` : day);

export interface LoanHeader {
  readonly loan: string;
  readonly borrower: string;
  readonly borrowerName: string;
  /** When the document was made, shown in Moscow time. */
  readonly madeAt: Date;
  readonly debt: bigint;
  readonly btc: bigint;
}

export interface ScheduleRow {
  readonly number: number; readonly dueDate: string; readonly payment: bigint; readonly principal: bigint; readonly interest: bigint; readonly balance: bigint; readonly status: string;
}

const STATUS: Record<string, { ru: string; en: string }> = {
  paid: { ru: 'оплачен', en: 'paid' }, due: { ru: 'к оплате сегодня', en: 'due today' }, overdue: { ru: 'просрочен', en: 'overdue' }, future: { ru: 'предстоит', en: 'future' },
};

/** The words of both documents, one place per language. */
export const WORDS = {
  ru: {
    statement: 'Выписка по кредиту', schedule: 'График платежей', borrower: 'Заёмщик', madeAt: 'Сформирована', debtNow: 'Долг сейчас', btcNow: 'Залог сейчас',
    date: 'Дата', operation: 'Операция', debtChange: 'Изменение долга', debtAfter: 'Долг после', btcChange: 'Изменение залога', btcAfter: 'Залог после',
    number: '№', dueDate: 'Дата платежа', payment: 'Платёж', principal: 'Основной долг', interest: 'Проценты', balance: 'Остаток долга', status: 'Статус',
    moscow: 'мск', page: 'Стр.', footer: 'Документ сформирован системой zalog по данным бухгалтерского учёта банка.',
  },
  en: {
    statement: 'Loan statement', schedule: 'Repayment schedule', borrower: 'Borrower', madeAt: 'Made', debtNow: 'Debt now', btcNow: 'Collateral now',
    date: 'Date', operation: 'Operation', debtChange: 'Debt change', debtAfter: 'Debt after', btcChange: 'Collateral change', btcAfter: 'Collateral after',
    number: 'No.', dueDate: 'Due date', payment: 'Payment', principal: 'Principal', interest: 'Interest', balance: 'Balance after', status: 'Status',
    moscow: 'Moscow time', page: 'Page', footer: 'Made by zalog from the bank\'s ledger.',
  },
} as const;

/** Moscow time (UTC+3 all year since 2014), as "27.11.2026 14:05 мск". */
export function moscowText(at: Date, lang: DocLang): string {
  const m = new Date(at.getTime() + 3 * 3_600_000).toISOString();
  const day = dayText(m.slice(0, 10), lang);
  return `${day} ${m.slice(11, 16)} ${WORDS[lang].moscow}`;
}

export interface Table {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Columns aligned right (amounts). */
  readonly right: readonly number[];
  /** Column widths in points on A4 landscape (770 wide inside the margins); '*' takes the rest. */
  readonly widths: readonly (number | '*')[];
}

export function statementTable(lines: readonly StatementLine[], lang: DocLang, loan: string): Table {
  const w = WORDS[lang];
  return {
    title: `${w.statement} ${loan}`,
    header: [w.date, w.operation, w.debtChange, w.debtAfter, w.btcChange, w.btcAfter],
    rows: lines.map((l) => [l.from === l.to ? dayText(l.from, lang) : `${dayText(l.from, lang)}–${dayText(l.to, lang)}`, kindLabel(l.kind, lang), signed(l.debtChange, rubText, lang), rubText(l.debtAfter, lang), signed(l.btcChange, btcText, lang), btcText(l.btcAfter, lang)]),
    right: [2, 3, 4, 5],
    widths: [112, '*', 112, 112, 112, 112],
  };
}

export function scheduleTable(rows: readonly ScheduleRow[], lang: DocLang, loan: string): Table {
  const w = WORDS[lang];
  return {
    title: `${w.schedule} ${loan}`,
    header: [w.number, w.dueDate, w.payment, w.principal, w.interest, w.balance, w.status],
    rows: rows.map((r) => [String(r.number), dayText(r.dueDate, lang), rubText(r.payment, lang), rubText(r.principal, lang), rubText(r.interest, lang), rubText(r.balance, lang), STATUS[r.status]?.[lang] ?? r.status]),
    right: [2, 3, 4, 5],
    widths: [32, 80, 112, 112, 112, 112, '*'],
  };
}

/**
 * A table as CSV for a spreadsheet: the header row, then the rows, after a line naming the loan.
 * Amounts here are plain decimal strings with a point (machine-readable, the API's own format),
 * in separate columns from their currency; Russian headers by default. A UTF-8 byte-order mark
 * lets Excel read the Cyrillic.
 */
export function csvOf(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return `\ufeff${stringify([header as string[], ...rows.map((r) => [...r])], { record_delimiter: '\r\n' })}`;
}

export function statementCsv(lines: readonly StatementLine[], lang: DocLang): string {
  const w = WORDS[lang];
  return csvOf([w.date, `${w.date} (${lang === 'ru' ? 'по' : 'to'})`, w.operation, `${w.debtChange}, RUB`, `${w.debtAfter}, RUB`, `${w.btcChange}, BTC`, `${w.btcAfter}, BTC`],
    lines.map((l) => [l.from, l.to, kindLabel(l.kind, lang), formatKopecks(l.debtChange), formatKopecks(l.debtAfter), formatSats(l.btcChange), formatSats(l.btcAfter)]));
}

export function scheduleCsv(rows: readonly ScheduleRow[], lang: DocLang): string {
  const w = WORDS[lang];
  return csvOf([w.number, w.dueDate, `${w.payment}, RUB`, `${w.principal}, RUB`, `${w.interest}, RUB`, `${w.balance}, RUB`, w.status],
    rows.map((r) => [String(r.number), r.dueDate, formatKopecks(r.payment), formatKopecks(r.principal), formatKopecks(r.interest), formatKopecks(r.balance), STATUS[r.status]?.[lang] ?? r.status]));
}
