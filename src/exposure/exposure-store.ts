import type { Queryable } from '../db/database.js';
import { figuresDay } from '../loans/loan-store.js';
import { latestCycle } from '../prices/price-repository.js';
import {
  bookFigures, checkLoan, headroomCeiling, limitFor, LIMIT_KINDS, STRESS_SHOCKS_PERCENT, shockedPrice, TOP,
  type BookAggregates, type BookFigures, type BookLoan, type BorrowerKind, type RiskPosition, type Capital, type Check, type Limit, type LimitKind, type Rules, type WeightRule,
} from './exposure.js';

/**
 * The exposure rules and figures in SQL. The book is aggregated in one statement (the pure
 * `aggregate` is its reference and the property test compares the two); a snapshot of it is kept
 * per computation, and the check before an approval reads the latest snapshot plus the loans
 * approved after it, with the borrower's and its group's figures live.
 */

/** Serialises approvals with each other and with the book's computation (pg_advisory_xact_lock). */
const EXPOSURE_LOCK = 7_203_114_520n;

/** A loan's exposure: what it owes, or its commitment (amount and fee) before payout. */
const EXPOSURE_SQL = `CASE WHEN l.status = 'approved' THEN l.amount_kopecks + l.fee_kopecks
  ELSE l.principal + l.principal_overdue + l.interest + l.interest_overdue + l.penalty + l.fee END`;
const LIVE_SQL = `l.status IN ('approved', 'active', 'overdue')`;

export async function rulesOn(db: Queryable, day: string): Promise<Rules> {
  const [capital] = await db.query<{ id: bigint; tier1_kopecks: bigint; effective_from: string; legal_basis: string }>(
    'SELECT id, tier1_kopecks, effective_from, legal_basis FROM bank_capital WHERE effective_from <= $1 ORDER BY effective_from DESC, id DESC LIMIT 1', [day]);
  const limits = await db.query<{ id: bigint; kind: LimitKind; region_code: string | null; soft_bps: number; hard_bps: number; effective_from: string; legal_basis: string; active: boolean }>(
    `SELECT DISTINCT ON (kind, region_code) id, kind, region_code, soft_bps, hard_bps, effective_from, legal_basis, active
       FROM exposure_limits WHERE effective_from <= $1 ORDER BY kind, region_code, effective_from DESC, id DESC`, [day]);
  const weights = await db.query<{ id: bigint; borrower_kind: BorrowerKind | null; collateral: 'btc' | 'equipment'; weight_bps: number; effective_from: string; legal_basis: string; active: boolean }>(
    `SELECT DISTINCT ON (borrower_kind, collateral) id, borrower_kind, collateral, weight_bps, effective_from, legal_basis, active
       FROM risk_weight_rules WHERE effective_from <= $1 ORDER BY borrower_kind, collateral, effective_from DESC, id DESC`, [day]);
  return {
    day,
    capital: capital === undefined ? null : { id: capital.id, tier1: capital.tier1_kopecks, effectiveFrom: capital.effective_from, legalBasis: capital.legal_basis } satisfies Capital,
    limits: limits.filter((l) => l.active).sort((a, b) => LIMIT_KINDS.indexOf(a.kind) - LIMIT_KINDS.indexOf(b.kind) || (a.region_code ?? '').localeCompare(b.region_code ?? '')).map((l): Limit => ({ id: l.id, kind: l.kind, regionCode: l.region_code, softBps: l.soft_bps, hardBps: l.hard_bps, effectiveFrom: l.effective_from, legalBasis: l.legal_basis })),
    weights: weights.filter((w) => w.active).map((w): WeightRule => ({ id: w.id, borrowerKind: w.borrower_kind, collateral: w.collateral, weightBps: w.weight_bps, effectiveFrom: w.effective_from, legalBasis: w.legal_basis })),
  };
}

async function livePrice(db: Queryable): Promise<bigint | null> {
  const latest = await latestCycle(db, 'live');
  return latest?.publishedKopecks ?? null;
}

/** Every live loan as the book sees it, and the risk engine's live positions: the brute-force reference's input (small books, tests). */
export async function bookLoans(db: Queryable): Promise<{ loans: BookLoan[]; positions: RiskPosition[] }> {
  const rows = await db.query<{ borrower_id: bigint; borrower_kind: BorrowerKind; region_code: string; group_ref: string | null; e: bigint }>(
    `SELECT l.borrower_id, l.borrower_kind, b.region_code, b.group_ref, ${EXPOSURE_SQL} AS e FROM loans l JOIN borrowers b ON b.id = l.borrower_id WHERE ${LIVE_SQL}`);
  const positions = await db.query<{ debt_kopecks: bigint; sats: bigint }>('SELECT debt_kopecks, sats FROM loan_risk WHERE live');
  return {
    loans: rows.map((r) => ({ borrowerId: r.borrower_id, borrowerKind: r.borrower_kind, regionCode: r.region_code, groupRef: r.group_ref, exposure: r.e })),
    positions: positions.map((p) => ({ debt: p.debt_kopecks, sats: p.sats })),
  };
}

/** The book's aggregates in one statement (the same figures `aggregate` computes by brute force). */
export async function bookAggregates(db: Queryable, rules: Rules, price: bigint | null): Promise<BookAggregates> {
  const capital = rules.capital?.tier1 ?? null;
  const ceiling = (kind: LimitKind, level: 'softBps' | 'hardBps') => {
    const limit = limitFor(rules.limits, kind);
    return capital === null || limit === undefined ? null : headroomCeiling(limit[level], capital);
  };
  const prices = price === null ? [] : STRESS_SHOCKS_PERCENT.map((shock) => shockedPrice(price, shock));
  // Collateral value at a shocked price p, rounded down, in int8 arithmetic (numeric is several
  // times slower over a million rows): with p = q x 10^8 + r and sats = a x 10^8 + b,
  // floor(sats x p / 10^8) = sats x q + a x r + floor(b x r / 10^8), each term within int8 for any
  // price below 10^10 RUB/BTC (beyond that PostgreSQL refuses with an overflow, never a wrong sum).
  const value = (i: number) => `(r.sats * $${5 + 2 * i} + (r.sats / 100000000) * $${6 + 2 * i} + ((r.sats % 100000000) * $${6 + 2 * i}) / 100000000)`;
  const uncovered = prices.map((_, i) => `COALESCE(sum(GREATEST(0, r.debt_kopecks - ${value(i)})), 0)::text`);
  const split = prices.flatMap((p) => [p / 100_000_000n, p % 100_000_000n]);
  // One pass over the loans, grouped by borrower (parallel where PostgreSQL can), then everything
  // else over the borrowers: their region, group and kind are the borrower's. The stress figures
  // are one pass over the risk engine's live positions (narrow rows, no join).
  const [row] = await db.query<{ loans: bigint; book: bigint; by_kind: { k: BorrowerKind; e: string }[] | null; by_region: { k: string; e: string }[] | null; borrowers: bigint;
    top_b: { k: string; e: string }[] | null; top_g: { k: string; e: string }[] | null; b_soft: bigint; b_hard: bigint; g_soft: bigint; g_hard: bigint; uncovered: string[] | null }>(
    `WITH pb AS MATERIALIZED (
       SELECT l.borrower_id, count(*) AS n, sum(${EXPOSURE_SQL})::int8 AS e FROM loans l WHERE ${LIVE_SQL} GROUP BY l.borrower_id),
     bx AS MATERIALIZED (SELECT pb.*, b.id::text AS k, b.kind, b.region_code, b.group_ref FROM pb JOIN borrowers b ON b.id = pb.borrower_id),
     pg AS MATERIALIZED (SELECT group_ref AS k, sum(e)::int8 AS e FROM bx WHERE group_ref IS NOT NULL GROUP BY group_ref)
     SELECT (SELECT COALESCE(sum(n), 0)::int8 FROM bx) AS loans, (SELECT COALESCE(sum(e), 0)::int8 FROM bx) AS book,
       ${prices.length === 0 ? 'NULL::text[]' : `(SELECT ARRAY[${uncovered.join(', ')}] FROM loan_risk r WHERE r.live)`} AS uncovered,
       (SELECT json_agg(json_build_object('k', k, 'e', e::text)) FROM (SELECT kind AS k, sum(e) AS e FROM bx GROUP BY kind) x) AS by_kind,
       (SELECT json_agg(json_build_object('k', k, 'e', e::text)) FROM (SELECT region_code AS k, sum(e) AS e FROM bx GROUP BY region_code) x) AS by_region,
       (SELECT count(*) FROM bx) AS borrowers,
       (SELECT json_agg(json_build_object('k', k, 'e', e::text) ORDER BY e DESC, k COLLATE "C") FROM (SELECT k, e FROM bx ORDER BY e DESC, k COLLATE "C" LIMIT ${TOP}) x) AS top_b,
       (SELECT json_agg(json_build_object('k', k, 'e', e::text) ORDER BY e DESC, k COLLATE "C") FROM (SELECT * FROM pg ORDER BY e DESC, k COLLATE "C" LIMIT ${TOP}) x) AS top_g,
       (SELECT count(*) FROM bx WHERE e > $1::int8) AS b_soft, (SELECT count(*) FROM bx WHERE e > $2::int8) AS b_hard,
       (SELECT count(*) FROM pg WHERE e > $3::int8) AS g_soft, (SELECT count(*) FROM pg WHERE e > $4::int8) AS g_hard`,
    [ceiling('borrower', 'softBps'), ceiling('borrower', 'hardBps'), ceiling('group', 'softBps'), ceiling('group', 'hardBps'), ...split]);
  const r = row!;
  const measured = (list: { k: string; e: string }[] | null) => (list ?? []).map((m) => ({ key: m.k, exposure: BigInt(m.e) }));
  return {
    loans: Number(r.loans), book: r.book,
    byKind: new Map((r.by_kind ?? []).map((m) => [m.k, BigInt(m.e)])),
    byRegion: new Map((r.by_region ?? []).map((m) => [m.k, BigInt(m.e)])),
    borrowers: Number(r.borrowers),
    topBorrowers: measured(r.top_b), topGroups: measured(r.top_g),
    // A ceiling of null means no such limit or no capital: nobody is over it.
    borrowersOver: { soft: ceiling('borrower', 'softBps') === null ? 0 : Number(r.b_soft), hard: ceiling('borrower', 'hardBps') === null ? 0 : Number(r.b_hard) },
    groupsOver: { soft: ceiling('group', 'softBps') === null ? 0 : Number(r.g_soft), hard: ceiling('group', 'hardBps') === null ? 0 : Number(r.g_hard) },
    uncovered: price === null ? [] : (r.uncovered ?? []).map((u) => BigInt(u)),
  };
}

/** Borrower refs for the top list's ids. */
async function borrowerLabels(db: Queryable, agg: BookAggregates): Promise<Map<string, string>> {
  const ids = agg.topBorrowers.map((m) => m.key);
  if (ids.length === 0) return new Map();
  const rows = await db.query<{ id: bigint; ref: string }>('SELECT id, ref FROM borrowers WHERE id = ANY($1::int8[])', [ids]);
  return new Map(rows.map((r) => [r.id.toString(), r.ref]));
}

export interface Snapshot {
  readonly id: bigint;
  readonly takenAt: Date;
  readonly businessDate: string;
  readonly maxLoanId: bigint;
  readonly book: bigint;
  readonly byRegion: ReadonlyMap<string, bigint>;
  readonly figures: BookFigures;
}

interface SnapshotRow { [key: string]: unknown; id: bigint; taken_at: Date; business_date: string; max_loan_id: bigint; book_kopecks: bigint; figures: BookFigures & { byRegionKopecks: Record<string, string> } }

function toSnapshot(row: SnapshotRow): Snapshot {
  const { byRegionKopecks, ...figures } = row.figures;
  return { id: row.id, takenAt: row.taken_at, businessDate: row.business_date, maxLoanId: row.max_loan_id, book: row.book_kopecks, byRegion: new Map(Object.entries(byRegionKopecks).map(([k, v]) => [k, BigInt(v)])), figures };
}

/**
 * Computes the book against every limit and keeps it (the history by day). Takes the exposure
 * lock, so no approval lands between the loans it reads and the max id it records.
 */
export async function takeSnapshot(tx: Queryable, now: Date): Promise<Snapshot> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [EXPOSURE_LOCK]);
  const day = await figuresDay(tx, now);
  const rules = await rulesOn(tx, day);
  const price = await livePrice(tx);
  const [max] = await tx.query<{ id: bigint }>('SELECT COALESCE(max(id), 0)::int8 AS id FROM loans');
  const agg = await bookAggregates(tx, rules, price);
  const figures = bookFigures(agg, rules, price, await borrowerLabels(tx, agg));
  const byRegionKopecks = Object.fromEntries([...agg.byRegion].map(([k, v]) => [k, v.toString()]));
  const [row] = await tx.query<SnapshotRow>(
    'INSERT INTO exposure_snapshots (taken_at, business_date, max_loan_id, capital_id, book_kopecks, figures) VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING *',
    [now, day, max!.id, rules.capital?.id ?? null, agg.book, JSON.stringify({ ...figures, byRegionKopecks })]);
  return toSnapshot(row!);
}

export async function latestSnapshot(db: Queryable): Promise<Snapshot | undefined> {
  const [row] = await db.query<SnapshotRow>('SELECT * FROM exposure_snapshots ORDER BY id DESC LIMIT 1');
  return row === undefined ? undefined : toSnapshot(row);
}

/** The last snapshot of each business day in [from, to]. */
export async function snapshotHistory(db: Queryable, from: string, to: string): Promise<Snapshot[]> {
  const rows = await db.query<SnapshotRow>(
    'SELECT DISTINCT ON (business_date) * FROM exposure_snapshots WHERE business_date BETWEEN $1 AND $2 ORDER BY business_date, id DESC', [from, to]);
  return rows.map(toSnapshot);
}

/**
 * The latest snapshot's totals, if it is current: taken after the last end of day finished
 * (accruals change the book). Reads only the columns a check needs, not the figures.
 */
async function currentTotals(tx: Queryable, now: Date): Promise<{ maxLoanId: bigint; book: bigint; byRegion: ReadonlyMap<string, bigint> }> {
  const [row] = await tx.query<{ max_loan_id: bigint; book_kopecks: bigint; by_region: Record<string, string>; fresh: boolean }>(
    `SELECT s.max_loan_id, s.book_kopecks, s.figures -> 'byRegionKopecks' AS by_region,
            s.taken_at >= COALESCE((SELECT max(finished_at) FROM eod_days), '-infinity') AS fresh
       FROM exposure_snapshots s ORDER BY s.id DESC LIMIT 1`);
  if (row !== undefined && row.fresh) return { maxLoanId: row.max_loan_id, book: row.book_kopecks, byRegion: new Map(Object.entries(row.by_region).map(([k, v]) => [k, BigInt(v)])) };
  const taken = await takeSnapshot(tx, now);
  return { maxLoanId: taken.maxLoanId, book: taken.book, byRegion: taken.byRegion };
}

/** Takes a snapshot when the latest is older than the last finished end of day (or there is none); else nothing. */
export async function refreshSnapshot(tx: Queryable, now: Date): Promise<Snapshot | undefined> {
  const [row] = await tx.query<{ stale: boolean }>(
    `SELECT NOT EXISTS (SELECT 1 FROM exposure_snapshots WHERE taken_at >= COALESCE((SELECT max(finished_at) FROM eod_days), '-infinity')) AS stale`);
  if (!row!.stale) return undefined;
  // No computation while a day is closing: its balances are half moved.
  const [open] = await tx.query<{ n: bigint }>('SELECT count(*) AS n FROM eod_days WHERE finished_at IS NULL');
  if (open!.n > 0n) return undefined;
  return takeSnapshot(tx, now);
}

export interface LoanCheckInput {
  readonly borrowerId: bigint;
  readonly amount: bigint;
}

/**
 * The check before one new loan of `amount` (its commitment: amount plus fee) to a borrower:
 * the book and the borrower's region from the current snapshot plus every loan approved after it,
 * the borrower and its group live. `lock`: take the exposure lock (an approval does, so two
 * approvals cannot each pass a limit that both together cross); an offer only reads.
 */
export async function checkNewLoan(tx: Queryable, input: LoanCheckInput, now: Date, options: { lock: boolean }): Promise<Check> {
  if (options.lock) await tx.query('SELECT pg_advisory_xact_lock($1)', [EXPOSURE_LOCK]);
  const snapshot = await currentTotals(tx, now);
  const [borrower] = await tx.query<{ region_code: string; group_ref: string | null }>('SELECT region_code, group_ref FROM borrowers WHERE id = $1', [input.borrowerId]);
  const [figures] = await tx.query<{ book: bigint; region: bigint; borrower: bigint; grp: bigint | null }>(
    `SELECT (SELECT COALESCE(sum(${EXPOSURE_SQL}), 0)::int8 FROM loans l WHERE l.id > $1 AND ${LIVE_SQL}) AS book,
            (SELECT COALESCE(sum(${EXPOSURE_SQL}), 0)::int8 FROM loans l JOIN borrowers b ON b.id = l.borrower_id WHERE l.id > $1 AND ${LIVE_SQL} AND b.region_code = $2) AS region,
            (SELECT COALESCE(sum(${EXPOSURE_SQL}), 0)::int8 FROM loans l WHERE l.borrower_id = $3 AND ${LIVE_SQL}) AS borrower,
            CASE WHEN $4::text IS NULL THEN NULL ELSE
              (SELECT COALESCE(sum(${EXPOSURE_SQL}), 0)::int8 FROM borrowers b JOIN loans l ON l.borrower_id = b.id WHERE b.group_ref = $4 AND ${LIVE_SQL}) END AS grp`,
    [snapshot.maxLoanId, borrower!.region_code, input.borrowerId, borrower!.group_ref]);
  const rules = await rulesOn(tx, await figuresDay(tx, now));
  const f = figures!;
  return checkLoan({ book: snapshot.book + f.book, region: (snapshot.byRegion.get(borrower!.region_code) ?? 0n) + f.region, borrower: f.borrower, group: f.grp }, input.amount, rules, borrower!.region_code);
}

/** Records a check (offer or approval) with the figures and rule ids it used. */
export async function recordCheck(tx: Queryable, check: Check, at: { applicationId: bigint; stage: 'offer' | 'approval'; approvalId?: bigint; userId: bigint | null; now: Date }): Promise<void> {
  await tx.query('INSERT INTO exposure_checks (application_id, stage, approval_id, decision, figures, at, by_user) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)',
    [at.applicationId, at.stage, at.approvalId ?? null, check.decision, JSON.stringify(check), at.now, at.userId]);
}
