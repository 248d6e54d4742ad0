import type { Database } from '../db/database.js';

/**
 * Reminders and early warnings (issue 19), queued into the outbox the risk notices use
 * (migration 0026): a row per channel the borrower has set up (a webhook or an e-mail address on
 * record, a linked Telegram chat), with its facts as integers in text (kopecks, sats, millionths)
 * and a key that makes queueing it again a no-op. So the job may run as often as it likes, on
 * several instances at once, and after a crash: each reminder is queued once.
 *
 * - `reminder.due`: an instalment of the loan's current schedule falls due within `daysAhead`
 *   days (Moscow date); one per instalment.
 * - `reminder.overdue`: the loan is overdue; on its first day overdue and every 7 days after.
 * - `risk.early_warning`: a live loan the ladder still calls healthy whose LTV at the published
 *   price is at or above the lowest early-warning LTV its company's representatives chose; at
 *   most one a day per loan.
 */

export interface ReminderReport { readonly due: number; readonly overdue: number; readonly early: number }

/** The Moscow calendar date of an instant (UTC+3 all year). */
export const moscowDate = (at: Date): string => new Date(at.getTime() + 3 * 3_600_000).toISOString().slice(0, 10);

/** The channels a borrower has set up, as a lateral subquery over `x.borrower_id`. */
const CHANNELS_OF = `
  JOIN LATERAL (
    SELECT 'webhook' AS channel WHERE EXISTS (SELECT 1 FROM risk_contacts rc WHERE rc.borrower_id = x.borrower_id AND rc.webhook_url IS NOT NULL)
    UNION ALL SELECT 'email' WHERE EXISTS (SELECT 1 FROM risk_contacts rc WHERE rc.borrower_id = x.borrower_id AND rc.email IS NOT NULL)
    UNION ALL SELECT 'telegram' WHERE EXISTS (SELECT 1 FROM borrowers b JOIN users u ON u.borrower_id = b.ref AND u.disabled_at IS NULL JOIN telegram_links k ON k.user_id = u.id WHERE b.id = x.borrower_id)
  ) ch ON true`;

const INSERT = `INSERT INTO risk_outbox (transition_id, loan_id, channel, topic, next_attempt_at, facts, dedupe_key, created_at)`;
const CONFLICT = `ON CONFLICT (dedupe_key, channel) WHERE dedupe_key IS NOT NULL DO NOTHING RETURNING 1`;

const DUE = `
WITH x AS (
  SELECT l.id AS loan_id, l.borrower_id, s.due_date, s.number, s.principal, coalesce(d.interest_due, s.interest) AS interest
    FROM loan_schedule_lines s JOIN loans l ON l.id = s.loan_id AND l.schedule_version = s.version
    LEFT JOIN loan_line_dues d ON d.loan_id = s.loan_id AND d.version = s.version AND d.number = s.number
   WHERE s.due_date > $1::date AND s.due_date <= $1::date + $2::int AND l.status IN ('active', 'overdue')
)
${INSERT}
SELECT NULL, x.loan_id, ch.channel, 'reminder.due', $3, jsonb_build_object('dueDate', x.due_date::text, 'number', x.number,
       'principalKopecks', x.principal::text, 'interestKopecks', x.interest::text, 'totalKopecks', (x.principal + x.interest)::text),
       'due:' || x.loan_id || ':' || x.due_date, $3
  FROM x ${CHANNELS_OF}
${CONFLICT}`;

const OVERDUE = `
WITH x AS (
  SELECT l.id AS loan_id, l.borrower_id, l.overdue_since, ($1::date - l.overdue_since) AS days,
         l.principal_overdue, l.interest_overdue, l.penalty
    FROM loans l WHERE l.status = 'overdue' AND l.overdue_since IS NOT NULL AND l.overdue_since <= $1::date
)
${INSERT}
SELECT NULL, x.loan_id, ch.channel, 'reminder.overdue', $2, jsonb_build_object('overdueSince', x.overdue_since::text, 'days', x.days,
       'principalOverdueKopecks', x.principal_overdue::text, 'interestOverdueKopecks', x.interest_overdue::text, 'penaltyKopecks', x.penalty::text,
       'totalKopecks', (x.principal_overdue + x.interest_overdue + x.penalty)::text),
       'overdue:' || x.loan_id || ':' || x.overdue_since || ':' || (x.days / 7), $2
  FROM x ${CHANNELS_OF}
${CONFLICT}`;

// LTV in millionths, rounded up as the engine rounds it: debt x 10^20 over sats x price x (10^6 - haircut).
const EARLY = `
WITH th AS (
  SELECT b.id AS borrower_id, min(p.early_warning_ltv) AS early
    FROM notice_preferences p JOIN users u ON u.id = p.user_id AND u.disabled_at IS NULL JOIN borrowers b ON b.ref = u.borrower_id
   WHERE p.early_warning_ltv IS NOT NULL GROUP BY b.id
), x AS (
  SELECT r.loan_id, l.borrower_id, r.debt_kopecks, r.sats, th.early, lad.warning, lad.margin_call, lad.haircut,
         div(r.debt_kopecks::numeric * 100000000000000000000 + r.sats::numeric * $1::int8 * (1000000 - lad.haircut) - 1, r.sats::numeric * $1::int8 * (1000000 - lad.haircut))::int8 AS ltv
    FROM th JOIN loans l ON l.borrower_id = th.borrower_id
    JOIN loan_risk r ON r.loan_id = l.id AND r.live AND r.state = 'healthy' AND r.sats > 0 AND r.debt_kopecks > 0
    JOIN risk_ladders lad ON lad.product_code = r.product_code AND lad.product_version = r.product_version
   WHERE th.early < lad.warning
     AND r.debt_kopecks::numeric * 100000000000000000000 >= r.sats::numeric * $1::int8 * (1000000 - lad.haircut) * th.early
)
${INSERT}
SELECT NULL, x.loan_id, ch.channel, 'risk.early_warning', $3, jsonb_build_object('priceKopecks', $1::int8::text, 'ltvMillionths', x.ltv::text,
       'earlyMillionths', x.early::text, 'warningMillionths', x.warning::text, 'debtKopecks', x.debt_kopecks::text, 'sats', x.sats::text,
       -- The prices at which the bank's warning and the margin call come (ladder.ts triggerPrice).
       'warningPriceKopecks', div(x.debt_kopecks::numeric * 100000000000000000000, x.sats::numeric * (1000000 - x.haircut) * x.warning)::text,
       'callPriceKopecks', div(x.debt_kopecks::numeric * 100000000000000000000, x.sats::numeric * (1000000 - x.haircut) * x.margin_call)::text),
       'early:' || x.loan_id || ':' || $2::date, $3
  FROM x ${CHANNELS_OF}
${CONFLICT}`;

/**
 * Queues what is due at `now`: instalment reminders `daysAhead` days ahead (default 3), overdue
 * reminders, and early warnings at `publishedPrice` (kopecks per BTC; none without a price).
 */
export async function queueReminders(db: Database, now: Date, options: { publishedPrice: bigint | null; daysAhead?: number }): Promise<ReminderReport> {
  const today = moscowDate(now);
  return db.transaction(async (tx) => {
    const due = await tx.query(DUE, [today, options.daysAhead ?? 3, now]);
    const overdue = await tx.query(OVERDUE, [today, now]);
    const early = options.publishedPrice === null || options.publishedPrice <= 0n ? [] : await tx.query(EARLY, [options.publishedPrice, today, now]);
    return { due: due.length, overdue: overdue.length, early: early.length };
  });
}
