import type { Database, Queryable } from '../db/database.js';
import { addTime, profiledQuery, type Profile } from '../db/profile.js';
import { addDays } from '../calendar/business.js';
import { isLeapYear, UNITS_PER_KOPECK } from './interest.js';
import { refuse } from './loan-errors.js';
import { endOfDay, keyRateOn, moscowDay } from './loan-store.js';
import { bankAccountId } from '../ledger/ledger-repository.js';
import { BUCKETS } from './waterfall.js';

/**
 * End of day: closes business days for every live loan, set-based. For day D, in one pass over a
 * chunk of loans (each chunk is one transaction of a few statements, whatever its size):
 *
 * 1. interest for D on all principal (overdue principal keeps bearing interest), in units of
 *    1/(10^6 x 365 x 366) kopeck with the loan's carried remainder (interest.ts): exact; none for
 *    a loan whose repayment on D already accrued D's interest on the day's opening balance
 *    (`interest_day_done`, servicing.ts accrueRepaymentDay);
 * 2. penalty for D on what was overdue when the day began (penalty rate a day, capped at 20% a
 *    year for individuals), with its own sub-kopeck remainder;
 * 3. on a due date, the instalment (the line's principal and all accrued interest) is collected
 *    from the borrower's settlement account by the loan's waterfall, together with anything else
 *    due (penalties, overdue amounts, fees), each loan of a borrower in turn;
 * 4. what a due date leaves unpaid moves to overdue (the day after the due date is its first
 *    overdue day, and the first day that bears a penalty);
 * 5. status follows (active / overdue / closed, and a closed loan's collateral-release
 *    instruction), floating rates reset on their reset dates to the key rate then in force;
 * 6. one balanced ledger entry per batch of loans and day holds all of it (a batch memorial order,
 *    idempotency key eod:D:<first id>-<last id>): every loan's own postings (lines 16 x its place
 *    in the batch + 0..15), and the batch's interest and penalty income as one posting each (lines
 *    16 x batch size + 0 and + 1). The loans' balances (their narrow `loan_balances` rows,
 *    migration 0032) and a due line's interest due (`loan_line_dues`, 0033) change in the same
 *    transaction.
 *
 * Why batches: with one entry per loan, a million loans meant a million entry rows, their index
 * entries, content hashes and commit-time completeness checks, and the income side twice over;
 * that was 30% over the 60 s goal on PostgreSQL (docs/BENCHMARKS.md). A loan's statement still
 * shows its own postings (they are on its own accounts); the entry says which loans it covers.
 *
 * Crash safety: a loan's `accrued_through` moves to D in the transaction that books its day, and a
 * chunk takes only loans still at D-1, so a run killed anywhere resumes where it stopped and books
 * nothing twice. A chunk is an aligned id range, a whole number of batches, and the batch size is
 * fixed in eod_days when the day starts: a batch is always booked whole by one transaction, and a
 * resumed run cuts the same batches (if it ever did not, the entry's unique key would stop it).
 * Days are closed in order from the oldest open one; a day already closed is not run again (the
 * call reports it closed), and a day after today is refused.
 *
 * Two chunks at once (issue 21): on PostgreSQL the day's ranges are handed to EOD_WORKERS workers,
 * each booking its chunks on a connection of its own, so both cores work. The chunks hold the
 * end-of-day lock shared and the day's closing step takes it exclusively, after the last chunk.
 * Ranges are disjoint; what two can share is a borrower's money, which goes to its owing loans in
 * id order. Side by side, a chunk therefore leaves out (DEFER) every loan owing something today
 * whose borrower owes on a loan in another range too, and an in-order pass (one worker, one chunk
 * after another, as PGlite always runs) books them afterwards; a batch booked partly by each pass
 * has two entries, the second keyed with ':deferred'. Before reading money a chunk locks the
 * borrowers it may take from (BORROWERS). Each chunk is still one transaction booking loans still
 * at D-1, so crash safety is as above.
 */

export const EOD_LOCK_KEY = 7_207_004;
export const EOD_CHUNK = 20_000;
/** Loans per journal entry (at most: the chunk size, if smaller, for tests of many small chunks). */
export const EOD_ENTRY_BATCH = 1_000;
/** Chunks booked at once on PostgreSQL (the machine has two cores; measured in BENCHMARKS.md). */
export const EOD_WORKERS = 2;

export interface EodDay {
  readonly businessDate: string;
  readonly loans: number;
  readonly entries: number;
  readonly interest: bigint;
  readonly penalties: bigint;
  readonly collected: bigint;
  readonly movedToOverdue: bigint;
  readonly closedLoans: number;
  readonly defaultReviews: number;
}

export interface EodReport {
  readonly through: string;
  /** Days closed by this run, in order (empty when `through` was already closed). */
  readonly days: readonly EodDay[];
  readonly alreadyClosed: boolean;
}

export interface EodOptions {
  readonly now: Date;
  readonly chunkSize?: number;
  /** Called after each committed chunk (progress, and the crash test's hook). */
  readonly onChunk?: (day: string, loans: number) => void | Promise<void>;
  /**
   * Where the seconds go (bench:eod --profile, issue 21): each statement's milliseconds, summed
   * over the chunks, by name. With it, each chunk also asks PostgreSQL to time its functions
   * (track_functions), so the risk refresh the loans' trigger runs inside UPDATE_LOANS can be read
   * apart from it (pg_stat_user_functions).
   */
  readonly profile?: Profile;
  /** Chunks booked at once (default: EOD_WORKERS on PostgreSQL, 1 on PGlite). */
  readonly workers?: number;
}

// Allocation of the available settlement money to each bucket in the loan's own order: a bucket
// gets what is left after every bucket before it in that order is paid in full. Generated from
// the bucket list (constants, not input).
const allocationSql = BUCKETS.map((bucket) => {
  const before = BUCKETS.filter((other) => other !== bucket).map((other) => `CASE WHEN o.wf_${other} < o.wf_${bucket} THEN o.d_${other} ELSE 0 END`).join(' + ');
  return `LEAST(o.d_${bucket}, GREATEST(0, o.avail - (${before})))::int8 AS a_${bucket}`;
}).join(',\n           ');

const WORK_TABLE = `CREATE TEMP TABLE IF NOT EXISTS eod_work (
  id int8, ref text, borrower_id int8, status text, schedule_version int4, line_number int4, new_rate int8,
  acc_principal int8, acc_principal_overdue int8, acc_interest int8, acc_interest_overdue int8, acc_penalty int8, acc_fee int8, acc_settlement int8,
  accr int8, i_rem int8, pen int8, p_rem int8, d_interest int8, collected int8,
  a_penalty int8, a_interest_overdue int8, a_principal_overdue int8, a_interest int8, a_principal int8, a_fee int8,
  move_principal int8, move_interest int8,
  n_principal int8, n_principal_overdue int8, n_interest int8, n_interest_overdue int8, n_penalty int8, n_fee int8,
  n_status text, n_overdue_since date
) ON COMMIT DELETE ROWS`;

const BATCH_TABLE = `CREATE TEMP TABLE IF NOT EXISTS eod_batch (
  batch int8, entry_id int8, loans int4, interest int8, penalty int8, content text
) ON COMMIT DELETE ROWS`;

// The chunk's loans are copied out first: the rest of the computation reads a temp
// table whose size the planner sees. Read straight from loans, the day's filter
// (accrued_through = the previous day, a value the statistics have never seen) was estimated at
// one row, which made every later join a nested loop, quadratic on a due date.
const PICKED = `SELECT id, ref, borrower_id, borrower_kind, status, schedule_version, maturity_on, overdue_since,
       rate_kind, rate_millionths, margin_millionths, rate_reset_months, penalty_millionths_per_day,
       principal, principal_overdue, interest, interest_overdue, penalty, fee, interest_remainder, penalty_remainder, interest_day_done,
       wf_penalty, wf_interest_overdue, wf_principal_overdue, wf_interest, wf_principal, wf_fee,
       acc_principal, acc_principal_overdue, acc_interest, acc_interest_overdue, acc_penalty, acc_fee, acc_settlement
  FROM loan_terms t JOIN loan_balances b ON b.loan_id = t.id`;

/**
 * Locks the chunk's balances rows before PICK reads them. Only the balances: end of day does not
 * write the terms, and a row lock on them too would dirty every terms page of the range. Every
 * writer of a loan (servicing) locks its balances row, through the loans view or directly, so
 * this waits for any that is under way. It is a statement of its own so that PICK, a new
 * statement with a new snapshot, reads the terms as such a writer left them: a lock in PICK itself
 * would re-read the locked balances row after the wait but not the joined terms row (a
 * rescheduled loan's new schedule version). $1 previous day, $2 first id, $3 id after the chunk.
 */
const LOCK = `
SELECT count(*) FROM (SELECT 1 FROM loan_balances
                       WHERE status IN ('active', 'overdue') AND accrued_through = $1::date AND loan_id >= $2 AND loan_id < $3
                         FOR UPDATE) locked`;

const PICK_TABLE = `CREATE TEMP TABLE IF NOT EXISTS eod_pick ON COMMIT DELETE ROWS AS ${PICKED} WITH NO DATA`;

/** $1 previous day, $2 first id, $3 id after the chunk. The lock here takes nothing new (LOCK holds those rows). */
const PICK = `
INSERT INTO eod_pick
${PICKED}
 WHERE status IN ('active', 'overdue') AND accrued_through = $1::date
   AND b.loan_id >= $2 AND b.loan_id < $3 AND t.id >= $2 AND t.id < $3
   FOR UPDATE OF b`;

// Owing today: overdue amounts, penalties or fees already, or a schedule line falling due today.
// DEFER and BORROWERS read the same set of the chunk's loans; DEFER also asks it of other loans.
const OWES_ALREADY = (loan: string) => `${loan}.penalty + ${loan}.interest_overdue + ${loan}.principal_overdue + ${loan}.fee > 0`;

/** The chunk's loans owing today, (id, borrower_id). The lines due today are one range scan of loan_schedule_lines_due (day, loan). $1 day, $2 first id, $3 id after the chunk. */
const OWING_IN_CHUNK = `
SELECT p.id, p.borrower_id FROM eod_pick p WHERE ${OWES_ALREADY('p')}
UNION
SELECT p.id, p.borrower_id FROM eod_pick p
  JOIN loan_schedule_lines s ON s.loan_id = p.id AND s.version = p.schedule_version AND s.due_date = $1::date
                            AND s.loan_id >= $2 AND s.loan_id < $3`;

/** Loan x is live, not yet closed for the day (still at $4, the previous day), and owes today. */
const OWING_ELSEWHERE = `x.status IN ('active', 'overdue') AND x.accrued_through = $4::date
  AND (${OWES_ALREADY('x')}
       OR EXISTS (SELECT 1 FROM loan_schedule_lines s WHERE s.due_date = $1::date AND s.loan_id = x.id AND s.version = x.schedule_version))`;

/**
 * Side by side, a chunk leaves out (to the in-order pass after it) each loan that owes something
 * today while its borrower has another loan, in another range and not yet closed for the day, that
 * owes something too: the borrower's money goes to its loans in id order, which only one chunk
 * after another can keep. Both such loans are left out (each sees the other), so the rule does not
 * depend on which chunk runs first. $1 day, $2 first id, $3 id after the chunk, $4 previous day.
 */
const DEFER = `
WITH owing AS MATERIALIZED (${OWING_IN_CHUNK}
), shared AS MATERIALIZED (
  -- Two range probes of loans_borrower (borrower, id) per borrower, below and above the chunk. As
  -- EXISTS, PostgreSQL turned them into a hash semi-join over all of loans once a chunk (measured:
  -- most of a due day at 1,000,000 loans); a lateral LIMIT keeps them probes.
  SELECT b.borrower_id FROM (SELECT DISTINCT borrower_id FROM owing) b
   CROSS JOIN LATERAL ((SELECT 1 FROM loans x WHERE x.borrower_id = b.borrower_id AND x.id < $2 AND ${OWING_ELSEWHERE} LIMIT 1)
                       UNION ALL
                       (SELECT 1 FROM loans x WHERE x.borrower_id = b.borrower_id AND x.id >= $3 AND ${OWING_ELSEWHERE} LIMIT 1)
                       LIMIT 1) y
)
DELETE FROM eod_pick p USING owing o JOIN shared s ON s.borrower_id = o.borrower_id
 WHERE p.id = o.id`;

/**
 * Locks, in id order, every borrower whose settlement money the chunk may take today (those of
 * its loans owing today). COMPUTE reads their money after this, so a chunk beside it or a refund
 * cannot spend the same kopecks; ordinary days lock none. $1 day, $2 first id, $3 id after the chunk.
 */
const BORROWERS = `
SELECT b.id FROM borrowers b
 WHERE b.id IN (SELECT o.borrower_id FROM (${OWING_IN_CHUNK}) o)
 ORDER BY b.id
   FOR UPDATE`;

/** $1 day, $2 first id, $3 id after the chunk, $4 interest day factor, $5 days in year, $6 key rate or null. */
const COMPUTE = `
INSERT INTO eod_work
-- OFFSET 0 keeps each step a step: without it PostgreSQL folds the steps into one select list
-- and evaluates an allocation once for every later reference to it (measured: two thirds of the
-- statement's time).
WITH day AS (
  SELECT p.*, s.number AS line_number, s.principal AS line_principal,
         -- A repayment on D already accrued D's interest on the day's opening balance (39-P).
         ((CASE WHEN p.interest_day_done = $1::date THEN 0 ELSE p.principal + p.principal_overdue END)::numeric * p.rate_millionths * $4::int8 + p.interest_remainder) AS i_units,
         ((p.principal_overdue + p.interest_overdue)::numeric
            * (CASE WHEN p.borrower_kind = 'individual' THEN LEAST(p.penalty_millionths_per_day, 200000 / $5::int8) ELSE p.penalty_millionths_per_day END)
            + p.penalty_remainder) AS p_units
    FROM eod_pick p
    LEFT JOIN loan_schedule_lines s ON s.loan_id = p.id AND s.version = p.schedule_version AND s.due_date = $1::date
                                   AND s.loan_id >= $2 AND s.loan_id < $3
  OFFSET 0
), accrued AS (
  SELECT d.*, div(d.i_units, ${UNITS_PER_KOPECK})::int8 AS accr, mod(d.i_units, ${UNITS_PER_KOPECK})::int8 AS i_rem,
         div(d.p_units, 1000000)::int8 AS pen, mod(d.p_units, 1000000)::int8 AS p_rem
    FROM day d
  OFFSET 0
), owed AS (
  SELECT a.*,
         a.penalty + a.pen AS d_penalty,
         a.interest_overdue AS d_interest_overdue,
         a.principal_overdue AS d_principal_overdue,
         CASE WHEN a.line_number IS NOT NULL THEN a.interest + a.accr ELSE 0 END AS d_interest,
         CASE WHEN a.line_number IS NULL THEN 0 WHEN $1::date >= a.maturity_on THEN a.principal ELSE LEAST(a.line_principal, a.principal) END AS d_principal,
         a.fee AS d_fee
    FROM accrued a
), totals AS (
  SELECT o.*, o.d_penalty + o.d_interest_overdue + o.d_principal_overdue + o.d_interest + o.d_principal + o.d_fee AS d_total FROM owed o
), available AS (
  -- Only loans owing something now read their borrower's account; loans of one borrower take
  -- from it in id order.
  SELECT t.id, GREATEST(0, b.settlement_kopecks - coalesce(sum(t.d_total) OVER (PARTITION BY t.borrower_id ORDER BY t.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)) AS avail
    FROM totals t JOIN borrowers b ON b.id = t.borrower_id
   WHERE t.d_total > 0
), allocated AS (
  SELECT o.*,
         ${allocationSql}
    FROM (SELECT t.*, coalesce(v.avail, 0) AS avail FROM totals t LEFT JOIN available v ON v.id = t.id) o
  OFFSET 0
), moved AS (
  SELECT x.*,
         x.a_penalty + x.a_interest_overdue + x.a_principal_overdue + x.a_interest + x.a_principal + x.a_fee AS collected,
         x.d_principal - x.a_principal AS move_principal,
         x.d_interest - x.a_interest AS move_interest
    FROM allocated x
  OFFSET 0
), result AS (
  SELECT m.*,
         m.principal - m.a_principal - m.move_principal AS n_principal,
         m.principal_overdue - m.a_principal_overdue + m.move_principal AS n_principal_overdue,
         m.interest + m.accr - m.a_interest - m.move_interest AS n_interest,
         m.interest_overdue - m.a_interest_overdue + m.move_interest AS n_interest_overdue,
         m.penalty + m.pen - m.a_penalty AS n_penalty,
         m.fee - m.a_fee AS n_fee
    FROM moved m
  OFFSET 0
)
SELECT r.id, r.ref, r.borrower_id, r.status, r.schedule_version, r.line_number,
       CASE WHEN r.rate_kind = 'floating' AND r.line_number IS NOT NULL AND $6::int8 IS NOT NULL AND r.line_number % r.rate_reset_months = 0
            THEN $6::int8 + r.margin_millionths END,
       r.acc_principal, r.acc_principal_overdue, r.acc_interest, r.acc_interest_overdue, r.acc_penalty, r.acc_fee, r.acc_settlement,
       r.accr, r.i_rem, r.pen, r.p_rem, r.d_interest, r.collected,
       r.a_penalty, r.a_interest_overdue, r.a_principal_overdue, r.a_interest, r.a_principal, r.a_fee,
       r.move_principal, r.move_interest,
       r.n_principal, r.n_principal_overdue, r.n_interest, r.n_interest_overdue, r.n_penalty, r.n_fee,
       CASE WHEN r.n_principal + r.n_principal_overdue + r.n_interest + r.n_interest_overdue + r.n_penalty + r.n_fee = 0 THEN 'closed'
            WHEN r.n_principal_overdue + r.n_interest_overdue > 0 THEN 'overdue' ELSE 'active' END,
       CASE WHEN r.n_principal_overdue + r.n_interest_overdue = 0 THEN NULL ELSE coalesce(r.overdue_since, $1::date + 1) END
  FROM result r`;

/**
 * The chunk's batches that move any money, each with its entry id and income. The content hash
 * covers every loan's movements in id order. $1 batch size, $2 day.
 */
const BATCHES = `
INSERT INTO eod_batch
SELECT b.batch, nextval(pg_get_serial_sequence('ledger_entries', 'id')), b.loans, b.interest, b.penalty, b.content
  FROM (SELECT w.id / $1::int8 AS batch, count(*)::int4 AS loans, sum(w.accr)::int8 AS interest, sum(w.pen)::int8 AS penalty,
               encode(sha256(convert_to('eod|' || $2::text || '|' || string_agg(concat_ws('|', w.ref, w.accr, w.pen, w.a_penalty, w.a_interest_overdue, w.a_principal_overdue, w.a_interest, w.a_principal, w.a_fee, w.move_principal, w.move_interest), ';' ORDER BY w.id), 'UTF8')), 'hex') AS content
          FROM eod_work w
         WHERE w.accr + w.pen + w.collected + w.move_principal + w.move_interest > 0
         GROUP BY 1 ORDER BY 1) b`;

/**
 * $1 day, $2 value time, $3 batch size, $4 whether this is the in-order pass after a side-by-side
 * one: a batch whose other loans the side-by-side pass booked keeps its key with ':deferred'.
 */
const ENTRIES = `
INSERT INTO ledger_entries (id, idempotency_key, content_hash, business_date, value_time, reason, kind)
OVERRIDING SYSTEM VALUE
SELECT b.entry_id, k.key || CASE WHEN $4::boolean AND EXISTS (SELECT 1 FROM ledger_entries e WHERE e.idempotency_key = k.key) THEN ':deferred' ELSE '' END, b.content,
       $1::date, $2::timestamptz,
       'End of day ' || $1::text || ' for ' || b.loans || CASE WHEN b.loans = 1 THEN ' loan' ELSE ' loans' END
         || ' with ids ' || (b.batch * $3::int8) || ' to ' || (b.batch * $3::int8 + $3::int8 - 1), 'eod'
  FROM eod_batch b CROSS JOIN LATERAL (SELECT 'eod:' || $1::text || ':' || (b.batch * $3::int8) || '-' || (b.batch * $3::int8 + $3::int8 - 1) AS key) k`;

/** $1 value time, $2 interest income account, $3 penalty income account, $4 batch size. */
const POSTINGS = `
INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount, value_time)
SELECT b.entry_id, ((w.id - b.batch * $4::int8) * 16 + v.line)::int2, v.account_id, 'RUB', v.amount, $1::timestamptz
  FROM eod_work w JOIN eod_batch b ON b.batch = w.id / $4::int8
 CROSS JOIN LATERAL (VALUES
    (0, w.acc_interest, w.accr), (2, w.acc_penalty, w.pen),
    (4, w.acc_settlement, w.collected),
    (5, w.acc_penalty, -w.a_penalty), (6, w.acc_interest_overdue, -w.a_interest_overdue), (7, w.acc_principal_overdue, -w.a_principal_overdue),
    (8, w.acc_interest, -w.a_interest), (9, w.acc_principal, -w.a_principal), (10, w.acc_fee, -w.a_fee),
    (11, w.acc_principal_overdue, w.move_principal), (12, w.acc_principal, -w.move_principal),
    (13, w.acc_interest_overdue, w.move_interest), (14, w.acc_interest, -w.move_interest)
  ) AS v (line, account_id, amount)
 WHERE v.amount <> 0
UNION ALL
SELECT b.entry_id, ($4::int8 * 16 + v.line)::int2, v.account_id, 'RUB', v.amount, $1::timestamptz
  FROM eod_batch b CROSS JOIN LATERAL (VALUES (0, $2::int8, -b.interest), (1, $3::int8, -b.penalty)) AS v (line, account_id, amount)
 WHERE v.amount <> 0`;

const UPDATE_LOANS = `
UPDATE loan_balances l SET accrued_through = $1::date,
       principal = w.n_principal, principal_overdue = w.n_principal_overdue, interest = w.n_interest,
       interest_overdue = w.n_interest_overdue, penalty = w.n_penalty, fee = w.n_fee,
       interest_remainder = CASE WHEN w.n_status = 'closed' THEN 0 ELSE w.i_rem END,
       penalty_remainder = CASE WHEN w.n_status = 'closed' THEN 0 ELSE w.p_rem END,
       status = w.n_status, overdue_since = w.n_overdue_since,
       closed_on = CASE WHEN w.n_status = 'closed' THEN $1::date END,
       rate_millionths = coalesce(w.new_rate, l.rate_millionths)
  FROM eod_work w WHERE l.loan_id = w.id AND l.loan_id >= $2 AND l.loan_id < $3`;

const UPDATE_SETTLEMENT = `
UPDATE borrowers b SET settlement_kopecks = b.settlement_kopecks - s.total
  FROM (SELECT borrower_id, sum(collected) AS total FROM eod_work WHERE collected > 0 GROUP BY borrower_id) s
 WHERE b.id = s.borrower_id`;

// A due line's interest due is a row of its own (migration 0033), inserted, not a column updated.
const LINE_DUES = `
INSERT INTO loan_line_dues (loan_id, version, number, interest_due)
SELECT w.id, w.schedule_version, w.line_number, w.d_interest FROM eod_work w WHERE w.line_number IS NOT NULL`;

const EVENTS = `
INSERT INTO loan_events (loan_id, business_date, kind, details, at)
SELECT w.id, $1::date, 'status', jsonb_build_object('from', w.status, 'to', w.n_status), $2::timestamptz FROM eod_work w WHERE w.n_status <> w.status
UNION ALL
SELECT w.id, $1::date, 'rate_reset', jsonb_build_object('rateMillionths', w.new_rate), $2::timestamptz FROM eod_work w WHERE w.new_rate IS NOT NULL`;

const RELEASES = `
INSERT INTO collateral_releases (loan_id, sats, status, created_on)
SELECT w.id, (SELECT coalesce(sum(p.sats), 0) FROM collateral_positions p WHERE p.loan_id = w.id AND p.state IN ('confirmed', 'pledged')), 'open', $1::date
  FROM eod_work w WHERE w.n_status = 'closed'`;

const SUMMARY = `
SELECT count(*)::int8 AS loans, (SELECT count(*) FROM eod_batch)::int8 AS entries, coalesce(sum(accr), 0)::int8 AS interest, coalesce(sum(pen), 0)::int8 AS penalties,
       coalesce(sum(collected), 0)::int8 AS collected, coalesce(sum(move_principal + move_interest), 0)::int8 AS moved,
       count(*) FILTER (WHERE n_status = 'closed')::int8 AS closed
  FROM eod_work`;

interface Summary { loans: bigint; entries: bigint; interest: bigint; penalties: bigint; collected: bigint; moved: bigint; closed: bigint; [key: string]: unknown }


/** The first day end of day has to close: the day after the last closed, or after the oldest live loan's last accrual. */
export async function firstOpenDay(db: Queryable): Promise<string | undefined> {
  const [last] = await db.query<{ business_date: string; finished_at: Date | null }>('SELECT business_date, finished_at FROM eod_days ORDER BY business_date DESC LIMIT 1');
  if (last !== undefined) return last.finished_at === null ? last.business_date : addDays(last.business_date, 1);
  const [oldest] = await db.query<{ day: string | null }>(`SELECT min(accrued_through)::text AS day FROM loan_balances WHERE status IN ('active', 'overdue')`);
  return oldest?.day === null || oldest?.day === undefined ? undefined : addDays(oldest.day, 1);
}

async function closeDay(db: Database, day: string, options: EodOptions, accounts: { interest: bigint; penalty: bigint }): Promise<EodDay> {
  const previous = addDays(day, -1);
  const year = Number(day.slice(0, 4));
  const factor = isLeapYear(year) ? 365n : 366n;
  const daysInYear = isLeapYear(year) ? 366n : 365n;
  const keyRate = (await keyRateOn(db, day)) ?? null;
  const valueTime = endOfDay(day);
  // The batch size is fixed when the day starts (a resumed run must cut the same batches).
  await db.query(`INSERT INTO eod_days (business_date, started_at, entry_batch) VALUES ($1, $2, $3) ON CONFLICT (business_date) DO NOTHING`,
    [day, options.now, Math.min(EOD_ENTRY_BATCH, options.chunkSize ?? EOD_CHUNK)]);
  const [started] = await db.query<{ entry_batch: number | null }>('SELECT entry_batch FROM eod_days WHERE business_date = $1', [day]);
  // A day begun before batches existed (migration 0014) resumes with batches of one loan.
  const batch = BigInt(started!.entry_batch ?? 1);
  // Each chunk is an aligned id range of whole batches.
  const span = ((BigInt(options.chunkSize ?? EOD_CHUNK) + batch - 1n) / batch) * batch;
  const total = { loans: 0, entries: 0, interest: 0n, penalties: 0n, collected: 0n, moved: 0n, closed: 0 };
  const context = { day, previous, batch, factor, daysInYear, keyRate, valueTime, accounts };
  // Ranges are handed out one at a time (a claim skips ahead to the next loan still to close;
  // ids of closed loans leave gaps), and each worker books its ranges in transactions of its own.
  const runPass = async (pass: Pass, workers: number) => {
    let after = 0n;
    let stopped = false;
    let claims: Promise<unknown> = Promise.resolve();
    const claim = (): Promise<{ from: bigint; to: bigint } | undefined> => {
      const next = claims.then(async () => {
        if (stopped) return undefined;
        const [first] = await db.query<{ id: bigint | null }>(`SELECT min(loan_id) AS id FROM loan_balances WHERE status IN ('active', 'overdue') AND accrued_through = $1 AND loan_id >= $2`, [previous, after]);
        if (first!.id === null) return undefined;
        const from = first!.id - (first!.id % batch);
        after = from + span;
        return { from, to: from + span };
      });
      claims = next.catch(() => undefined);
      return next;
    };
    const worker = async () => {
      for (let range = await claim(); range !== undefined; range = await claim()) {
        const summary = await closeRange(db, context, range, pass, options).catch((error: unknown) => { stopped = true; throw error; });
        total.loans += Number(summary.loans);
        total.entries += Number(summary.entries);
        total.interest += summary.interest;
        total.penalties += summary.penalties;
        total.collected += summary.collected;
        total.moved += summary.moved;
        total.closed += Number(summary.closed);
        await options.onChunk?.(day, Number(summary.loans));
      }
    };
    // Every worker finishes its chunk before an error is reported (none is left running).
    const failed = (await Promise.allSettled(Array.from({ length: workers }, worker))).find((r) => r.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  };
  const workers = eodWorkers(db, options);
  if (workers > 1) {
    await runPass('side by side', workers);
    // What the side-by-side pass left out (loans sharing a borrower's money across ranges), in id order.
    await runPass('in order after side by side', 1);
  } else {
    await runPass('in order', 1);
  }
  const reviews = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [EOD_LOCK_KEY]);
    const [behind] = await tx.query<{ n: bigint }>(`SELECT count(*)::int8 AS n FROM loan_balances WHERE status IN ('active', 'overdue') AND accrued_through < $1`, [day]);
    if (behind!.n > 0n) refuse('eod_out_of_order', `${behind!.n} live loans have not accrued through ${previous}; close the earlier days first`);
    // Compliance events raised since the last day: a rule that started failing for a borrower with
    // a live loan puts the loan under default review (risk decides; issue 7 acts on it).
    const [state] = await tx.query<{ last: bigint }>('SELECT coalesce(max(compliance_event_id), 0)::int8 AS last FROM eod_days');
    const [newest] = await tx.query<{ id: bigint | null }>('SELECT max(id) AS id FROM compliance_events');
    const flagged = await tx.query<{ id: bigint }>(
      `WITH e AS (SELECT DISTINCT ON (borrower_id) borrower_id, rule, reason FROM compliance_events WHERE id > $1 AND kind = 'started_failing' ORDER BY borrower_id, id DESC)
       UPDATE loan_terms l SET default_review = true, default_review_reason = e.rule || ': ' || e.reason
         FROM e, loan_balances b WHERE l.borrower_id = e.borrower_id AND b.loan_id = l.id AND b.status IN ('active', 'overdue') AND NOT l.default_review
       RETURNING l.id`, [state!.last]);
    if (flagged.length > 0) {
      await tx.query(`INSERT INTO loan_events (loan_id, business_date, kind, details, at)
                      SELECT l.id, $2, 'default_review', jsonb_build_object('reason', l.default_review_reason), $3 FROM loans l WHERE l.id = ANY($1::int8[])`, [flagged.map((f) => f.id), day, options.now]);
    }
    await tx.query('UPDATE eod_days SET finished_at = $2, compliance_event_id = $3 WHERE business_date = $1', [day, options.now, newest!.id ?? state!.last]);
    return flagged.length;
  });
  return { businessDate: day, loans: total.loans, entries: total.entries, interest: total.interest, penalties: total.penalties, collected: total.collected, movedToOverdue: total.moved, closedLoans: total.closed, defaultReviews: reviews };
}

type Pass = 'side by side' | 'in order' | 'in order after side by side';

interface DayContext {
  readonly day: string;
  readonly previous: string;
  readonly batch: bigint;
  readonly factor: bigint;
  readonly daysInYear: bigint;
  readonly keyRate: bigint | null;
  readonly valueTime: Date;
  readonly accounts: { readonly interest: bigint; readonly penalty: bigint };
}

/**
 * How many chunks are booked at once: PostgreSQL runs each on a connection (a core) of its own;
 * PGlite has one connection. What two side-by-side chunks could share, a borrower's money, DEFER
 * leaves to the in-order pass; the day's eod_days row is updated last.
 */
function eodWorkers(db: Database, options: EodOptions): number {
  return options.workers ?? (db.engine === 'postgres' ? EOD_WORKERS : 1);
}

/** Books one aligned id range of the day in one transaction. */
async function closeRange(db: Database, c: DayContext, range: { from: bigint; to: bigint }, pass: Pass, options: EodOptions): Promise<Summary> {
  const chunkStarted = performance.now();
  const { day, previous, batch, factor, daysInYear, keyRate, valueTime, accounts } = c;
  const { from, to } = range;
  const summary = await db.transaction(async (tx) => {
    // Chunks run side by side (shared); the day's closing step waits for all of them (exclusive).
    await tx.query('SELECT pg_advisory_xact_lock_shared($1)', [EOD_LOCK_KEY]);
    // The chunk's plan is costed far above jit_above_cost, and PostgreSQL then spent over two
    // seconds a chunk compiling it (measured: most of the day at 1,000,000 loans) for a single
    // pass over the rows. Sorts of a 50,000-loan chunk fit in 64 MB instead of spilling to disk.
    await tx.query('SET LOCAL jit = off');
    await tx.query(`SET LOCAL work_mem = '64MB'`);
    const run = profiledQuery(tx, options.profile);
    if (options.profile !== undefined) await tx.query(`SET LOCAL track_functions = 'all'`);
    await tx.query(PICK_TABLE);
    await tx.query(WORK_TABLE);
    await tx.query(BATCH_TABLE);
    await run('lock', LOCK, [previous, from, to]);
    await run('pick', PICK, [previous, from, to]);
    if (pass === 'side by side') await run('defer', DEFER, [day, from, to, previous]);
    await run('borrowers', BORROWERS, [day, from, to]);
    await run('compute', COMPUTE, [day, from, to, factor, daysInYear, keyRate]);
    await run('batches', BATCHES, [batch, day]);
    const [s] = await run<Summary>('summary', SUMMARY);
    await run('entries', ENTRIES, [day, valueTime, batch, pass === 'in order after side by side']);
    await run('postings', POSTINGS, [valueTime, accounts.interest, accounts.penalty, batch]);
    await run('update_loans (with the risk refresh)', UPDATE_LOANS, [day, from, to]);
    await run('update_settlement', UPDATE_SETTLEMENT);
    await run('line_dues', LINE_DUES);
    await run('events', EVENTS, [day, options.now]);
    await run('releases', RELEASES, [day]);
    await run('eod_days', 'UPDATE eod_days SET loans = loans + $2, entries = entries + $3 WHERE business_date = $1', [day, s!.loans, s!.entries]);
    return s!;
  });
  addTime(options.profile, 'whole chunk transaction', chunkStarted);
  return summary;
}

/** Closes every open day up to `through`, in order. */
export async function runEod(db: Database, through: string, options: EodOptions): Promise<EodReport> {
  if (through > moscowDay(options.now)) refuse('eod_future_date', `${through} has not begun yet in Moscow; end of day closes days up to today`);
  const first = await firstOpenDay(db);
  if (first === undefined) {
    // No loan has ever been live and no day closed: close just this one.
    return { through, days: [await closeDay(db, through, options, await incomeAccounts(db))], alreadyClosed: false };
  }
  if (through < first) return { through, days: [], alreadyClosed: true };
  const accounts = await incomeAccounts(db);
  const days: EodDay[] = [];
  for (let day = first; day <= through; day = addDays(day, 1)) days.push(await closeDay(db, day, options, accounts));
  return { through, days, alreadyClosed: false };
}

async function incomeAccounts(db: Queryable) {
  return { interest: await bankAccountId(db, 'interest_income'), penalty: await bankAccountId(db, 'penalty_income') };
}

/** The service's end-of-day job: every hour, close every open day up to yesterday (Moscow) on the service's clock. */
export const eodJobAt = (clock: () => Date) => ({
  name: 'end of day',
  lockKey: 7_207_005,
  everyMs: 3_600_000,
  async run(db: Database) {
    const now = clock();
    const yesterday = addDays(moscowDay(now), -1);
    const report = await runEod(db, yesterday, { now });
    return report.days.length === 0 ? undefined : { through: report.through, days: report.days.map((d) => ({ day: d.businessDate, loans: d.loans, entries: d.entries })) };
  },
});
