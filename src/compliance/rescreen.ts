import type { Queryable } from '../db/database.js';

/**
 * Re-screening every borrower against the banned-area table, set-based: one statement decides,
 * for all borrowers at once, which have a site banned on the day (the same rule as
 * `bansOn` in rules.ts, in SQL: region, municipalities, dates in force, the season across New
 * Year), stores each borrower's outcome, and raises an event for each borrower whose outcome
 * changed. Run after any change to the table, and daily (a season starts without any change).
 */

export interface RescreenSummary {
  readonly borrowers: number;
  readonly banned: number;
  readonly startedFailing: number;
  readonly stoppedFailing: number;
}

export async function rescreenBannedAreas(tx: Queryable, day: string, now: Date): Promise<RescreenSummary> {
  const [result] = await tx.query<{ borrowers: bigint; banned: bigint; started: bigint; stopped: bigint }>(
    `WITH hits AS (
       SELECT s.borrower_id, array_agg(DISTINCT b.id ORDER BY b.id) AS ban_ids
         FROM mining_sites s
         JOIN mining_bans b ON b.region_code = s.region_code
          AND (b.municipalities IS NULL OR s.municipality = ANY (b.municipalities))
          AND $1::date >= b.effective_from AND (b.effective_to IS NULL OR $1::date <= b.effective_to)
          AND (b.kind = 'year_round'
               OR (b.season_start <= b.season_end AND to_char($1::date, 'MM-DD') BETWEEN b.season_start AND b.season_end)
               OR (b.season_start > b.season_end AND (to_char($1::date, 'MM-DD') >= b.season_start OR to_char($1::date, 'MM-DD') <= b.season_end)))
        GROUP BY s.borrower_id
     ),
     outcome AS (
       SELECT br.id AS borrower_id, h.borrower_id IS NOT NULL AS banned, coalesce(h.ban_ids, '{}') AS ban_ids, prev.banned AS was_banned
         FROM borrowers br LEFT JOIN hits h ON h.borrower_id = br.id LEFT JOIN ban_screenings prev ON prev.borrower_id = br.id
     ),
     stored AS (
       INSERT INTO ban_screenings (borrower_id, as_of, banned, ban_ids, screened_at)
       SELECT borrower_id, $1::date, banned, ban_ids, $2 FROM outcome
       ON CONFLICT (borrower_id) DO UPDATE SET as_of = EXCLUDED.as_of, banned = EXCLUDED.banned, ban_ids = EXCLUDED.ban_ids, screened_at = EXCLUDED.screened_at
       RETURNING borrower_id
     ),
     events AS (
       INSERT INTO compliance_events (borrower_id, rule, kind, reason, raised_at)
       SELECT borrower_id, 'banned_area', CASE WHEN banned THEN 'started_failing' ELSE 'stopped_failing' END,
              CASE WHEN banned THEN 'a site is now in a banned area (' || array_to_string(ban_ids, ', ') || ') on ' || $1::text ELSE 'no site is in a banned area any more on ' || $1::text END, $2
         FROM outcome WHERE banned IS DISTINCT FROM coalesce(was_banned, false)
       RETURNING kind
     )
     SELECT (SELECT count(*) FROM stored) AS borrowers, (SELECT count(*) FROM outcome WHERE banned) AS banned,
            (SELECT count(*) FROM events WHERE kind = 'started_failing') AS started,
            (SELECT count(*) FROM events WHERE kind = 'stopped_failing') AS stopped`,
    [day, now],
  );
  return { borrowers: Number(result!.borrowers), banned: Number(result!.banned), startedFailing: Number(result!.started), stoppedFailing: Number(result!.stopped) };
}
