import type { Transporter } from 'nodemailer';
import type { Database } from '../db/database.js';

/**
 * Delivery of `mail_outbox` (migration 0017): mail to the bank's own people, such as the auditors'
 * copy of each audit checkpoint. Rows are claimed with FOR UPDATE SKIP LOCKED and leased, sent
 * through SMTP (nodemailer) with a Message-ID fixed per row (a repeat after a crash is
 * recognisable), and marked delivered, retried with back-off (30 s doubling to 1 h), or dead after
 * 8 attempts or a permanent (5xx) refusal.
 */

export interface MailDeliveryReport {
  readonly delivered: number;
  readonly retried: number;
  readonly dead: number;
}

const CLAIM = `
UPDATE mail_outbox o SET attempts = o.attempts + 1, next_attempt_at = $2::timestamptz + make_interval(secs => $3)
  FROM (SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) due
 WHERE o.id = due.id
RETURNING o.id, o.attempts, o.topic, o.to_address, o.subject, o.body_text`;

export async function deliverMail(db: Database, options: { transport: Transporter; from: string; domain: string; now: () => Date; batch?: number }): Promise<MailDeliveryReport> {
  const now = options.now();
  const claimed = await db.transaction((tx) => tx.query<{ id: bigint; attempts: number; topic: string; to_address: string; subject: string; body_text: string }>(CLAIM, [options.batch ?? 50, now, 120]));
  let delivered = 0, retried = 0, dead = 0;
  for (const row of claimed) {
    try {
      const info = await options.transport.sendMail({ from: options.from, to: row.to_address, subject: row.subject, text: row.body_text, messageId: `<mail-${row.id}@${options.domain}>`, headers: { 'X-Zalog-Topic': row.topic } }) as { messageId: string; response: string };
      await db.query(`UPDATE mail_outbox SET status = 'delivered', delivered_at = $2, receipt = $3::jsonb, last_error = NULL WHERE id = $1`, [row.id, options.now(), JSON.stringify({ messageId: info.messageId, response: info.response })]);
      delivered += 1;
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      const text = `SMTP: ${(error as Error).message}`.slice(0, 1000);
      if ((code !== undefined && code >= 500 && code < 600) || row.attempts >= 8) {
        await db.query(`UPDATE mail_outbox SET status = 'dead', last_error = $2 WHERE id = $1`, [row.id, text]);
        dead += 1;
      } else {
        await db.query(`UPDATE mail_outbox SET last_error = $2, next_attempt_at = $3::timestamptz + make_interval(secs => $4) WHERE id = $1`, [row.id, text, options.now(), Math.min(3_600, 30 * 2 ** (row.attempts - 1))]);
        retried += 1;
      }
    }
  }
  return { delivered, retried, dead };
}
