import type { BusinessCalendar } from '../calendar/business.js';
import type { Database, Queryable } from '../db/database.js';
import { callDeadline } from './deadline.js';
import type { RiskStore, Tick } from './engine.js';
import { STATES, type Ladder, type RiskState } from './ladder.js';

/**
 * The risk engine's tables (migration 0015): ladders per product version, each live loan's
 * exposure and state (`loan_risk`, refreshed by triggers in every transaction that changes a
 * loan's balances or collateral), the transitions and the outbox.
 */

/** Held shared by every transaction that changes an exposure (the migration's triggers), exclusively by `changesSince`. */
export const RISK_CHANGES_LOCK_KEY = 7_207_101;

/** The delivery channels every transition gets an outbox row for. */
export const CHANNELS = ['webhook', 'email', 'telegram'] as const;
export type Channel = (typeof CHANNELS)[number];

export const ladderKey = (code: string, version: number): string => `${code}:${version}`;

interface LadderRow {
  product_code: string; product_version: number; warning: bigint; margin_call: bigint; accelerated_call: bigint | null;
  liquidation: bigint; band: bigint; haircut: bigint; cure_hours: number; accelerated_cure_hours: number | null;
  [key: string]: unknown;
}

/** Every product version's ladder, by `ladderKey`. One object per version, shared by its loans. */
export async function loadLadders(db: Queryable): Promise<Map<string, Ladder>> {
  const rows = await db.query<LadderRow>('SELECT * FROM risk_ladders');
  return new Map(rows.map((r) => [ladderKey(r.product_code, r.product_version), {
    warning: r.warning, marginCall: r.margin_call, ...(r.accelerated_call === null ? {} : { acceleratedCall: r.accelerated_call }),
    liquidation: r.liquidation, band: r.band, haircut: r.haircut, cureHours: r.cure_hours,
    ...(r.accelerated_cure_hours === null ? {} : { acceleratedCureHours: r.accelerated_cure_hours }),
  }]));
}

export interface RiskRow {
  readonly loanId: bigint;
  readonly live: boolean;
  readonly state: RiskState;
  readonly debt: bigint;
  readonly sats: bigint;
  /** Kopecks the pledged machines count for (0 without). */
  readonly equipment: bigint;
  readonly ladderKey: string;
  readonly seq: bigint;
}

/**
 * The exposures changed since `seq` (all of them from -1), in seq order, and the new high mark.
 * The exclusive lock waits for the transactions that are changing exposures to end, so a change
 * whose seq is below the mark can no longer commit after it has been read.
 */
export async function changesSince(db: Database, seq: bigint, pageRows = CHANGES_PAGE): Promise<{ rows: RiskRow[]; seq: bigint }> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [RISK_CHANGES_LOCK_KEY]);
    const rows = await exposuresAfter(tx, seq, pageRows);
    return { rows, seq: rows.at(-1)?.seq ?? seq };
  });
}

/**
 * The rows of `loan_risk` after `seq`, in seq order (no lock: `changesSince` takes it). Read in
 * pages, each page one text value with a line per row: as separate result rows, a million rows
 * cost PGlite (its wire protocol parsed in WebAssembly) about 10 us each (measured: 2.1 s for
 * 200,000 rows, against 0.4 s as text). Product codes and states hold no commas (their CHECKs).
 */
export async function exposuresAfter(db: Queryable, seq: bigint, pageRows = CHANGES_PAGE): Promise<RiskRow[]> {
  const out: RiskRow[] = [];
  let high = seq;
  for (;;) {
    const [page] = await db.query<{ t: string | null; n: number }>(
      `SELECT string_agg(concat_ws(',', loan_id, live::int, state, debt_kopecks, sats, product_code, product_version, seq, equipment_kopecks), E'\n' ORDER BY seq) AS t, count(*)::int4 AS n
         FROM (SELECT * FROM loan_risk WHERE seq > $1 ORDER BY seq LIMIT $2) x`, [high, pageRows]);
    if (page!.t !== null) {
      for (const line of page!.t.split('\n')) {
        const [l, v, s, d, c, p, n, q, e] = line.split(',') as [string, string, RiskState, string, string, string, string, string, string];
        const row: RiskRow = { loanId: BigInt(l), live: v === '1', state: s, debt: BigInt(d), sats: BigInt(c), equipment: e === '0' ? 0n : BigInt(e), ladderKey: ladderKey(p, Number(n)), seq: BigInt(q) };
        out.push(row);
        high = row.seq;
      }
    }
    if (page!.n < pageRows) return out;
  }
}

/** Rows a page of `changesSince` (one text value of some 5 MB). */
export const CHANGES_PAGE = 100_000;

const RECORD = `
WITH m AS (
  SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::timestamptz[], $13::int8[]) AS m (id, from_state, to_state, debt, sats, deadline, equipment)
), u AS (
  UPDATE loan_risk r
     SET state = m.to_state, state_since = $7::timestamptz,
         call_deadline = CASE WHEN m.deadline IS NULL THEN NULL
                              WHEN r.state IN ('margin_call', 'accelerated_call') THEN least(r.call_deadline, m.deadline)
                              ELSE m.deadline END,
         worsen_at = risk_worsen_at(m.to_state, r.debt_kopecks, r.sats, r.equipment_kopecks, lad),
         improve_above = risk_improve_above(m.to_state, r.debt_kopecks, r.sats, r.equipment_kopecks, lad)
    FROM m, risk_ladders lad
   WHERE r.loan_id = m.id AND r.live AND r.state = m.from_state AND r.debt_kopecks = m.debt AND r.sats = m.sats AND r.equipment_kopecks = m.equipment
     AND lad.product_code = r.product_code AND lad.product_version = r.product_version
  RETURNING r.loan_id, m.from_state, m.to_state, r.debt_kopecks, r.sats, r.equipment_kopecks, r.product_code, r.product_version, r.call_deadline, lad.haircut
), t AS (
  INSERT INTO risk_transitions (loan_id, from_state, to_state, cause, price_kopecks, price_cycle_id, debt_kopecks, sats, equipment_kopecks, ltv_millionths, product_code, product_version, call_deadline, at)
  SELECT u.loan_id, u.from_state, u.to_state, $8::text, $9::int8, $10::int8, u.debt_kopecks, u.sats, u.equipment_kopecks,
         -- collateral.ts ltvMillionths: rounded up, none without collateral (the machines count at E x 10^14).
         CASE WHEN u.sats > 0 OR u.equipment_kopecks > 0 THEN
           div(u.debt_kopecks::numeric * 100000000000000000000 + u.sats::numeric * $9::int8 * (1000000 - u.haircut) + u.equipment_kopecks::numeric * 100000000000000 - 1,
               u.sats::numeric * $9::int8 * (1000000 - u.haircut) + u.equipment_kopecks::numeric * 100000000000000)::int8 END,
         u.product_code, u.product_version, u.call_deadline, $7::timestamptz
    FROM u ORDER BY u.loan_id
  RETURNING id, loan_id, from_state, to_state
), o AS (
  INSERT INTO risk_outbox (transition_id, loan_id, channel, topic, next_attempt_at)
  SELECT t.id, t.loan_id, ch.channel,
         CASE WHEN array_position($12::text[], t.to_state) > array_position($12::text[], t.from_state) THEN 'risk.' || t.to_state ELSE 'risk.improved' END, $7::timestamptz
    FROM t CROSS JOIN unnest($11::text[]) AS ch (channel)
   -- A Telegram row only where someone of the borrower linked a chat (most borrowers have none).
   WHERE ch.channel <> 'telegram' OR EXISTS (SELECT 1 FROM loans l JOIN users us ON us.borrower_id = (SELECT ref FROM borrowers WHERE id = l.borrower_id) JOIN telegram_links k ON k.user_id = us.id WHERE l.id = t.loan_id)
)
SELECT loan_id FROM t`;

/**
 * The PostgreSQL store: a tick's moves, their transitions and their outbox rows in one statement
 * (one transaction). A move is written only if the loan's row still holds the state, debt and
 * collateral the engine decided on; a move that lost a race with a repayment or a top-up is
 * skipped, and the engine re-decides the loan from its new row (`changesSince` returns it, since
 * the change bumped its seq). `skipped` counts those.
 */
export class PgRiskStore implements RiskStore {
  skipped = 0;

  constructor(private readonly db: Queryable, private readonly calendar: BusinessCalendar) {}

  async record(tick: Tick): Promise<void> {
    const deadlines = new Map<number, Date>();
    const deadlineIn = (hours: number): Date => {
      let found = deadlines.get(hours);
      if (found === undefined) deadlines.set(hours, (found = callDeadline(tick.at, hours, this.calendar)));
      return found;
    };
    const n = tick.moves.length;
    const ids = new Array<bigint>(n); const from = new Array<string>(n); const to = new Array<string>(n);
    const debt = new Array<bigint>(n); const sats = new Array<bigint>(n); const deadline = new Array<string | null>(n); const equipment = new Array<bigint>(n);
    tick.moves.forEach((m, i) => {
      ids[i] = m.id; from[i] = m.from; to[i] = m.to; debt[i] = m.exposure.debt; sats[i] = m.exposure.sats; equipment[i] = m.exposure.equipment ?? 0n;
      const hours = m.to === 'margin_call' ? m.ladder.cureHours : m.to === 'accelerated_call' ? m.ladder.acceleratedCureHours ?? m.ladder.cureHours : undefined;
      if ((m.to === 'margin_call' || m.to === 'accelerated_call') && hours === undefined) throw new Error(`loan ${m.id}: its ladder has no cure period`);
      deadline[i] = hours === undefined ? null : deadlineIn(hours).toISOString();
    });
    const rows = await this.db.query<{ loan_id: bigint }>(RECORD, [ids, from, to, debt, sats, deadline, tick.at, tick.cause, tick.price, tick.cycleId ?? null, CHANNELS, STATES, equipment]);
    this.skipped += n - rows.length;
  }
}
