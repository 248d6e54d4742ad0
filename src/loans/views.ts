import type { Queryable } from '../db/database.js';
import { applyBps, formatKopecks, formatMinorUnits, formatSats, type Bps, type Currency } from '../money/money.js';
import { bankCalendar } from '../calendar/load.js';
import { formatRate } from './origination.js';
import type { LoanRow } from './loan-store.js';
import { waterfallOf } from './servicing.js';

/**
 * Reading a loan: its terms and balances, the schedule with each line paid / due / overdue, the
 * balances as of any day read from the ledger itself, the statement (every entry on the loan's
 * accounts), its collateral; and the reconciliation of every loan's balance columns with its
 * ledger accounts.
 */


export function loanView(loan: LoanRow) {
  return {
    ref: loan.ref,
    status: loan.status,
    borrowerId: loan.borrower_id.toString(),
    product: { code: loan.product_code, version: loan.product_version },
    amount: formatKopecks(loan.amount_kopecks),
    months: loan.months,
    repaymentType: loan.repayment_type,
    rate: { kind: loan.rate_kind, percent: formatRate(loan.rate_millionths), marginPercent: loan.margin_millionths === null ? null : formatRate(loan.margin_millionths) },
    penaltyPercentPerDay: formatRate(loan.penalty_millionths_per_day),
    fee: formatKopecks(loan.fee_kopecks),
    waterfall: waterfallOf(loan),
    approvedAt: loan.approved_at.toISOString(),
    disbursedOn: loan.disbursed_on,
    maturityOn: loan.maturity_on,
    closedOn: loan.closed_on,
    accruedThrough: loan.accrued_through,
    scheduleVersion: loan.schedule_version,
    overdueSince: loan.overdue_since,
    defaultReview: loan.default_review ? { reason: loan.default_review_reason } : null,
    balances: {
      principal: formatKopecks(loan.principal), principalOverdue: formatKopecks(loan.principal_overdue), interest: formatKopecks(loan.interest),
      interestOverdue: formatKopecks(loan.interest_overdue), penalty: formatKopecks(loan.penalty), fee: formatKopecks(loan.fee),
      total: formatKopecks(loan.principal + loan.principal_overdue + loan.interest + loan.interest_overdue + loan.penalty + loan.fee),
    },
  };
}

export type LineStatus = 'paid' | 'overdue' | 'due' | 'future';

/**
 * The current schedule version with each line's state on `today` (the open business day). Debts
 * are settled oldest first, so what is overdue now belongs to the latest lines past their due date:
 * the overdue totals are handed out to them newest first, and every earlier past line is paid.
 */
export async function scheduleView(db: Queryable, loan: LoanRow, today: string) {
  const lines = await db.query<{ number: number; due_date: string; days: number; principal: bigint; interest: bigint; balance: bigint; interest_due: bigint | null }>(
    `SELECT s.number, s.due_date, s.days, s.principal, s.interest, s.balance, d.interest_due
       FROM loan_schedule_lines s LEFT JOIN loan_line_dues d ON d.loan_id = s.loan_id AND d.version = s.version AND d.number = s.number
      WHERE s.loan_id = $1 AND s.version = $2 ORDER BY s.number`, [loan.id, loan.schedule_version]);
  let principalLeft = loan.principal_overdue;
  let interestLeft = loan.interest_overdue;
  const states = new Map<number, { principalOverdue: bigint; interestOverdue: bigint }>();
  for (const line of [...lines].reverse()) {
    if (line.due_date >= today) continue;
    const p = line.principal < principalLeft ? line.principal : principalLeft;
    const due = line.interest_due ?? line.interest;
    const i = due < interestLeft ? due : interestLeft;
    principalLeft -= p;
    interestLeft -= i;
    states.set(line.number, { principalOverdue: p, interestOverdue: i });
  }
  const [versions] = await db.query<{ n: bigint }>('SELECT count(*)::int8 AS n FROM loan_schedule_versions WHERE loan_id = $1', [loan.id]);
  const calendar = lines.length === 0 ? { fallbackYears: [], note: null } : (await bankCalendar()).fallbackNote(lines[0]!.due_date, lines.at(-1)!.due_date);
  return {
    loan: loan.ref,
    version: loan.schedule_version,
    versions: Number(versions!.n),
    asOf: today,
    calendar,
    lines: lines.map((line) => {
      const overdue = states.get(line.number);
      const status: LineStatus = line.due_date > today ? 'future' : line.due_date === today ? 'due'
        : (overdue !== undefined && overdue.principalOverdue + overdue.interestOverdue > 0n) ? 'overdue' : 'paid';
      return {
        number: line.number, dueDate: line.due_date, days: line.days, principal: formatKopecks(line.principal), interest: formatKopecks(line.interest),
        interestDue: line.interest_due === null ? null : formatKopecks(line.interest_due), payment: formatKopecks(line.principal + line.interest), balance: formatKopecks(line.balance), status,
        overdue: overdue === undefined ? null : { principal: formatKopecks(overdue.principalOverdue), interest: formatKopecks(overdue.interestOverdue) },
      };
    }),
  };
}

const ACCOUNT_OF = {
  principal: 'loan_principal', principalOverdue: 'loan_principal_overdue', interest: 'interest_receivable',
  interestOverdue: 'interest_overdue', penalty: 'penalty_receivable', fee: 'fee_receivable',
} as const;

/** Balances as of the end of `day`, summed from the ledger's postings on the loan's accounts. */
export async function balancesAsOf(db: Queryable, loan: LoanRow, day: string) {
  const rows = await db.query<{ chart_code: string; balance: bigint }>(
    `SELECT a.chart_code, coalesce(sum(p.amount), 0)::int8 AS balance
       FROM ledger_accounts a
       LEFT JOIN (ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id AND e.business_date <= $2) ON p.account_id = a.id
      WHERE a.subledger_key = $1 GROUP BY a.chart_code`, [loan.ref, day]);
  const by = new Map(rows.map((r) => [r.chart_code, r.balance]));
  const out: Record<string, string> = {};
  let total = 0n;
  for (const [name, chart] of Object.entries(ACCOUNT_OF)) {
    const value = by.get(chart) ?? 0n;
    total += value;
    out[name] = formatKopecks(value);
  }
  return { loan: loan.ref, asOf: day, ...out, total: formatKopecks(total), collateral: formatSats(-(by.get('collateral_pledged') ?? 0n)), accounts: Object.fromEntries(Object.entries(ACCOUNT_OF).map(([name, chart]) => [name, `${chart}:${loan.ref}`])) };
}

/** Every entry on the loan's accounts, oldest first, with the loan's postings in each. */
export async function statement(db: Queryable, loan: LoanRow, options: { afterEntryId?: bigint; limit: number; account?: string }) {
  const rows = await db.query<{ entry_id: bigint; business_date: string; value_time: Date; kind: string; reason: string; chart_code: string; amount: bigint; currency: string }>(
    `SELECT e.id AS entry_id, e.business_date::text, e.value_time, e.kind, e.reason, a.chart_code, p.amount, p.currency
       FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id JOIN ledger_entries e ON e.id = p.entry_id
      WHERE a.subledger_key = $1 AND a.chart_code <> 'borrower_settlement' AND ($4::text IS NULL OR a.chart_code = $4)
        AND e.id IN (SELECT DISTINCT p2.entry_id FROM ledger_postings p2 JOIN ledger_accounts a2 ON a2.id = p2.account_id
                      WHERE a2.subledger_key = $1 AND ($4::text IS NULL OR a2.chart_code = $4) AND p2.entry_id > $2 ORDER BY p2.entry_id LIMIT $3)
      ORDER BY e.id, p.line`, [loan.ref, options.afterEntryId ?? 0n, options.limit, options.account ?? null]);
  const entries: Array<{ entryId: string; businessDate: string; valueTime: string; kind: string; reason: string; postings: Array<{ account: string; debit: string | null; credit: string | null; currency: string }> }> = [];
  for (const row of rows) {
    let entry = entries[entries.length - 1];
    if (entry === undefined || entry.entryId !== row.entry_id.toString()) {
      entry = { entryId: row.entry_id.toString(), businessDate: row.business_date, valueTime: row.value_time.toISOString(), kind: row.kind, reason: row.reason, postings: [] };
      entries.push(entry);
    }
    const amount = row.amount < 0n ? -row.amount : row.amount;
    const text = row.currency === 'BTC' ? formatSats(amount) : formatKopecks(amount);
    entry.postings.push({ account: `${row.chart_code}:${loan.ref}`, debit: row.amount > 0n ? text : null, credit: row.amount < 0n ? text : null, currency: row.currency });
  }
  return { loan: loan.ref, entries, nextAfter: entries.length === options.limit ? entries[entries.length - 1]!.entryId : null };
}

export async function collateralView(db: Queryable, loan: LoanRow) {
  const positions = await db.query<{ id: bigint; sats: bigint; state: string; custodian_ref: string | null; declared_at: Date; confirmed_at: Date | null; released_at: Date | null }>('SELECT * FROM collateral_positions WHERE loan_id = $1 ORDER BY id', [loan.id]);
  const [release] = await db.query<{ sats: bigint; status: string; created_on: string; executed_at: Date | null }>('SELECT sats, status, created_on::text, executed_at FROM collateral_releases WHERE loan_id = $1', [loan.id]);
  const held = positions.filter((p) => p.state === 'confirmed' || p.state === 'pledged').reduce((s, p) => s + p.sats, 0n);
  return {
    loan: loan.ref,
    held: formatSats(held),
    equipment: await equipmentView(db, loan),
    positions: positions.map((p) => ({ id: p.id.toString(), btc: formatSats(p.sats), state: p.state, custodianRef: p.custodian_ref, declaredAt: p.declared_at.toISOString(), confirmedAt: p.confirmed_at?.toISOString() ?? null, releasedAt: p.released_at?.toISOString() ?? null })),
    release: release === undefined ? null : { btc: formatSats(release.sats), status: release.status, createdOn: release.created_on, executedAt: release.executed_at?.toISOString() ?? null },
  };
}

/**
 * The loan's second layer (src/loans/equipment-pledges.ts): the cap fixed at approval, the kopecks
 * counted now (its risk row), each machine group pledged with its latest valuation, and any
 * enforcement on them. Null for a loan without machines.
 */
async function equipmentView(db: Queryable, loan: LoanRow) {
  if (loan.equipment_cap_kopecks === 0n) return null;
  const [pledges, enforcements, risk] = await Promise.all([
    db.query<{ machines_id: bigint; model: string; serials: string[]; pledged_at: Date; released_at: Date | null; released_why: string | null; valued_on: string | null; value_kopecks: bigint | null; weight_bps: number | null; breach: string | null; reason: string | null }>(
      `SELECT p.machines_id, m.model, m.serials, p.pledged_at, p.released_at, p.released_why, v.valued_on::text AS valued_on, v.value_kopecks, v.weight_bps, v.breach, v.reason
         FROM loan_equipment_pledges p JOIN site_machines m ON m.id = p.machines_id
         LEFT JOIN LATERAL (SELECT * FROM equipment_valuations WHERE machines_id = p.machines_id ORDER BY id DESC LIMIT 1) v ON true
        WHERE p.loan_id = $1 ORDER BY p.id`, [loan.id]),
    db.query<{ id: bigint; machines: bigint[]; reason: string; decided_at: Date; debt_kopecks: bigint; proceeds_kopecks: bigint | null; completed_at: Date | null }>(
      'SELECT id, machines, reason, decided_at, debt_kopecks, proceeds_kopecks, completed_at FROM equipment_enforcements WHERE loan_id = $1 ORDER BY id', [loan.id]),
    db.query<{ equipment_kopecks: bigint }>('SELECT equipment_kopecks FROM loan_risk WHERE loan_id = $1', [loan.id]),
  ]);
  return {
    cap: formatKopecks(loan.equipment_cap_kopecks),
    counted: formatKopecks(risk[0]?.equipment_kopecks ?? 0n),
    pledges: pledges.map((p) => ({
      machinesId: p.machines_id.toString(), model: p.model, count: p.serials.length, pledgedAt: p.pledged_at.toISOString(), releasedAt: p.released_at?.toISOString() ?? null, releasedWhy: p.released_why,
      valuation: p.valued_on === null ? null : { valuedOn: p.valued_on, value: formatKopecks(p.value_kopecks!), weighted: formatKopecks(applyBps(p.value_kopecks!, BigInt(p.weight_bps!) as Bps, 'floor')), breach: p.breach, reason: p.reason },
    })),
    enforcements: enforcements.map((e) => ({
      id: e.id.toString(), machines: e.machines.map(String), reason: e.reason, decidedAt: e.decided_at.toISOString(), debt: formatKopecks(e.debt_kopecks),
      proceeds: e.proceeds_kopecks === null ? null : formatKopecks(e.proceeds_kopecks), completedAt: e.completed_at?.toISOString() ?? null,
    })),
  };
}

export interface Mismatch { readonly loan: string; readonly what: string; readonly loanSays: string; readonly ledgerSays: string }

/**
 * Every loan's balance columns against its ledger accounts, every borrower's settlement balance
 * against its account, and every loan's held collateral against its pledge account: set-based,
 * one statement each. Empty means the books agree.
 */
export async function reconcileLoans(db: Queryable): Promise<Mismatch[]> {
  const loanRows = await db.query<{ ref: string; what: string; loan_says: bigint; ledger_says: bigint }>(`
    WITH balances AS (
      SELECT p.account_id, sum(p.amount)::int8 AS balance FROM ledger_postings p
       WHERE p.account_id IN (SELECT id FROM ledger_accounts WHERE chart_code IN ('loan_principal', 'loan_principal_overdue', 'interest_receivable', 'interest_overdue', 'penalty_receivable', 'fee_receivable'))
       GROUP BY p.account_id)
    SELECT l.ref, v.what, v.loan_says, coalesce(b.balance, 0) AS ledger_says
      FROM loans l CROSS JOIN LATERAL (VALUES
        ('principal', l.principal, l.acc_principal), ('principal_overdue', l.principal_overdue, l.acc_principal_overdue),
        ('interest', l.interest, l.acc_interest), ('interest_overdue', l.interest_overdue, l.acc_interest_overdue),
        ('penalty', l.penalty, l.acc_penalty), ('fee', l.fee, l.acc_fee)) AS v (what, loan_says, account_id)
      LEFT JOIN balances b ON b.account_id = v.account_id
     WHERE v.loan_says <> coalesce(b.balance, 0)
     ORDER BY l.id, v.what`);
  const settlementRows = await db.query<{ ref: string; loan_says: bigint; ledger_says: bigint }>(`
    WITH balances AS (
      SELECT a.subledger_key AS ref, -sum(p.amount)::int8 AS balance FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id
       WHERE a.chart_code = 'borrower_settlement' GROUP BY a.subledger_key)
    SELECT br.ref, br.settlement_kopecks AS loan_says, coalesce(b.balance, 0) AS ledger_says
      FROM borrowers br LEFT JOIN balances b ON b.ref = br.ref
     WHERE br.settlement_kopecks <> coalesce(b.balance, 0)`);
  const collateralRows = await db.query<{ ref: string; loan_says: bigint; ledger_says: bigint }>(`
    WITH held AS (
      SELECT loan_id, sum(sats)::int8 AS sats FROM collateral_positions WHERE state IN ('confirmed', 'pledged') GROUP BY loan_id),
    pledged AS (
      SELECT a.subledger_key AS ref, -sum(p.amount)::int8 AS sats FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id
       WHERE a.chart_code = 'collateral_pledged' GROUP BY a.subledger_key)
    SELECT l.ref, coalesce(h.sats, 0) AS loan_says, coalesce(g.sats, 0) AS ledger_says
      FROM loans l LEFT JOIN held h ON h.loan_id = l.id LEFT JOIN pledged g ON g.ref = l.ref
     WHERE coalesce(h.sats, 0) <> coalesce(g.sats, 0)`);
  // The ledger itself: each section (on-balance, off-balance memo) balances in each currency, or a
  // posting was forced in one-sided past the ledger's triggers.
  const unbalanced = await db.query<{ section: string; currency: Currency; difference: bigint }>(`
    SELECT CASE WHEN c.class LIKE 'memo%' THEN 'off_balance' ELSE 'on_balance' END AS section, a.currency, sum(p.amount)::int8 AS difference
      FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id JOIN ledger_chart c ON c.code = a.chart_code
     GROUP BY 1, 2 HAVING sum(p.amount) <> 0 ORDER BY 1, 2`);
  return [
    ...unbalanced.map((r) => ({ loan: 'ledger', what: `unbalanced ${r.section} ${r.currency}`, loanSays: formatMinorUnits(0n, r.currency), ledgerSays: formatMinorUnits(r.difference, r.currency) })),
    ...loanRows.map((r) => ({ loan: r.ref, what: r.what, loanSays: formatKopecks(r.loan_says), ledgerSays: formatKopecks(r.ledger_says) })),
    ...settlementRows.map((r) => ({ loan: r.ref, what: 'settlement', loanSays: formatKopecks(r.loan_says), ledgerSays: formatKopecks(r.ledger_says) })),
    ...collateralRows.map((r) => ({ loan: r.ref, what: 'collateral', loanSays: formatSats(r.loan_says), ledgerSays: formatSats(r.ledger_says) })),
  ];
}
