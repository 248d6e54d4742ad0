import { createHash, createHmac } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import { fetch } from 'undici';
import { guardedAgent, OutboundRefused, urlProblem, type OutboundPolicy } from '../adapters/outbound.js';
import type { Database } from '../db/database.js';
import { formatKopecks, formatPrice, formatSats, type PriceKopecksPerBtc } from '../money/money.js';
import { formatRate } from '../loans/origination.js';
import type { Channel } from './risk-store.js';
import { ANY_PRICE, triggerPrice, type Ladder } from './ladder.js';
import { cureAmounts } from './cure.js';
import { rateFromPercent } from '../loans/interest.js';
import { renderLetter, renderReminder, type Letter } from '../notices/letters.js';
import { TelegramError, type TelegramBot } from '../notices/telegram.js';

/**
 * Delivery of the risk outbox (migration 0015): the rows the engine wrote with its transitions,
 * one per transition and channel, sent by webhook and by e-mail.
 *
 * A worker claims due rows in a short transaction (FOR UPDATE SKIP LOCKED: several workers never
 * take the same row), leases them by moving `next_attempt_at` past the send, commits, sends, and
 * records the outcome: the receipt (HTTP status and a digest of the answer; the SMTP server's
 * reply and message id), or the error and the next attempt after an exponential back-off, or,
 * after the last attempt, the dead letter a person must look at. A crash after a send and before
 * its outcome is recorded sends it again when the lease runs out: the same message id both times
 * (`X-Zalog-Message-Id`, the e-mail's Message-ID), so the receiver can tell a repeat. That is the
 * strongest promise HTTP and SMTP allow; nothing is lost, and a repeat is recognisable.
 */

export interface RiskMessage {
  readonly id: bigint;
  readonly channel: Channel;
  readonly topic: string;
  readonly loanRef: string;
  readonly borrowerRef: string;
  readonly from: string;
  readonly to: string;
  readonly cause: string;
  readonly price: bigint;
  readonly ltvMillionths: bigint | null;
  readonly debt: bigint;
  readonly sats: bigint;
  readonly callDeadline: Date | null;
  readonly at: Date;
  /** The ladder transition it tells of; null for a reminder or an early warning, which carry `facts`. */
  readonly transitionId: bigint | null;
  /** A reminder's or early warning's facts (notices/reminders.ts): integers in text; null for a transition. */
  readonly facts: Readonly<Record<string, unknown>> | null;
  /** A booked liquidation's execution report (risk/liquidations.ts), or null. */
  readonly report: Readonly<Record<string, unknown>> | null;
  readonly email: string | null;
  readonly webhookUrl: string | null;
  readonly webhookSecret: string | null;
  /** The letter's language and channels, from the notice preferences of the borrower's first user (ru, both on, by default). */
  readonly language: 'ru' | 'en';
  readonly emailOn: boolean;
  /** The Telegram chats linked by the borrower's users who keep Telegram on. */
  readonly telegramChats: readonly bigint[];
  /** The loan's ladder (its product's), to say in the letter where the call and liquidation come and what cures a call. */
  readonly ladder: Ladder | null;
  readonly targetLtv: bigint | null;
}

export type Receipt = Readonly<Record<string, string | number>>;

/** A failed send; `permanent` dead-letters it at once (a 4xx answer other than 408 and 429). */
export class DeliveryError extends Error {
  constructor(message: string, readonly permanent = false) {
    super(message);
  }
}

export interface Sender {
  send(message: RiskMessage): Promise<Receipt>;
}

/** A reminder's facts for the webhook: kopecks as roubles, sats as BTC, millionths as percent, in decimal strings. */
function factsBody(facts: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(facts)) {
    const whole = typeof value === 'string' && /^-?\d+$/.test(value) ? BigInt(value) : undefined;
    if (whole !== undefined && key.endsWith('Kopecks')) out[`${key.slice(0, -'Kopecks'.length)}Rub`] = formatKopecks(whole);
    else if (whole !== undefined && key === 'sats') out.collateralBtc = formatSats(whole);
    else if (whole !== undefined && key.endsWith('Millionths')) out[`${key.slice(0, -'Millionths'.length)}Percent`] = formatRate(whole);
    else out[key] = value;
  }
  return out;
}

/** The message's body, the same on both channels: the facts, amounts as decimal strings. */
export function messageBody(m: RiskMessage): Record<string, unknown> {
  if (m.facts !== null) return { messageId: m.id.toString(), topic: m.topic, loan: m.loanRef, borrower: m.borrowerRef, at: m.at.toISOString(), ...factsBody(m.facts) };
  return {
    messageId: m.id.toString(),
    transitionId: m.transitionId?.toString() ?? null,
    topic: m.topic,
    loan: m.loanRef,
    borrower: m.borrowerRef,
    from: m.from,
    to: m.to,
    cause: m.cause,
    priceRubPerBtc: formatPrice(m.price as PriceKopecksPerBtc),
    ltvPercent: m.ltvMillionths === null ? null : formatRate(m.ltvMillionths),
    debtRub: formatKopecks(m.debt),
    collateralBtc: formatSats(m.sats),
    callDeadline: m.callDeadline?.toISOString() ?? null,
    at: m.at.toISOString(),
    ...(m.report === null ? {} : { report: m.report }),
  };
}

/**
 * Webhook: a JSON POST signed with the borrower's key: `X-Zalog-Signature: sha256=HMAC(key,
 * timestamp + "." + body)` with `X-Zalog-Timestamp` (seconds), as Stripe and GitHub sign theirs,
 * so a receiver can check the sender and refuse a replay of an old body.
 */
export function webhookSender(options: { timeoutMs: number; now: () => Date; policy: OutboundPolicy }): Sender {
  // Every connection resolves and checks its address again (DNS rebinding): see adapters/outbound.ts.
  const dispatcher = guardedAgent(options.policy);
  return {
    async send(m) {
      if (m.webhookUrl === null || m.webhookSecret === null) throw new DeliveryError('no webhook set for the borrower', true);
      const form = urlProblem(m.webhookUrl, options.policy);
      if (form !== undefined) throw new DeliveryError(`webhook refused: ${form}`, true);
      const body = JSON.stringify(messageBody(m));
      const timestamp = Math.floor(options.now().getTime() / 1000).toString();
      const signature = createHmac('sha256', m.webhookSecret).update(`${timestamp}.${body}`).digest('hex');
      let response: Response;
      try {
        response = await fetch(m.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-zalog-message-id': m.id.toString(), 'x-zalog-timestamp': timestamp, 'x-zalog-signature': `sha256=${signature}` },
          body,
          signal: AbortSignal.timeout(options.timeoutMs),
          redirect: 'error',
          dispatcher,
        }) as unknown as Response;
      } catch (error) {
        const cause = (error as { cause?: unknown }).cause;
        if (cause instanceof OutboundRefused) throw new DeliveryError(`webhook refused: ${cause.message}`, true);
        throw new DeliveryError(`webhook unreachable: ${(error as Error).message}`);
      }
      const answer = Buffer.from(await response.arrayBuffer());
      if (!response.ok) throw new DeliveryError(`webhook answered ${response.status}`, response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429);
      return { status: response.status, bodySha256: createHash('sha256').update(answer).digest('hex') };
    },
  };
}

/** Whether a message tells of a loan entering a call (it has a deadline to answer by). */
const intoCall = (m: RiskMessage) => m.to === 'margin_call' || m.to === 'accelerated_call';

/** The letter for a message (notices/letters.ts): the facts, the ladder's prices and, for a call, its cure at the transition's price. */
export function letterOf(m: RiskMessage, portalUrl: string): Letter {
  if (m.facts !== null) return renderReminder({ topic: m.topic, loanRef: m.loanRef, facts: m.facts, portalUrl }, m.language);
  const exposure = { debt: m.debt, sats: m.sats };
  const price = (threshold: bigint | undefined) => {
    if (m.ladder === null || threshold === undefined) return null;
    const p = triggerPrice(exposure, threshold, m.ladder.haircut);
    return p <= 0n || p >= ANY_PRICE ? null : p;
  };
  const cure = intoCall(m) && m.ladder !== null && m.targetLtv !== null && m.price > 0n ? cureAmounts(exposure, m.price, m.ladder, m.targetLtv) : null;
  return renderLetter({
    topic: m.topic, loanRef: m.loanRef, from: m.from, to: m.to, cause: m.cause, price: m.price, ltvMillionths: m.ltvMillionths, debt: m.debt, sats: m.sats,
    callDeadline: m.callDeadline, at: m.at, callPrice: price(m.ladder?.marginCall), liquidationPrice: price(m.ladder?.liquidation),
    cure: cure === null ? null : {
      leave: { sats: cure.toLeaveCall.addSats, kopecks: cure.toLeaveCall.repayKopecks, belowMillionths: cure.callCuredBelow },
      target: { sats: cure.toTarget.addSats, kopecks: cure.toTarget.repayKopecks, ltvMillionths: m.targetLtv! },
    },
    report: m.report, portalUrl,
  }, m.language);
}

/** The outcome for a message nobody should get on this channel: recorded as 'skipped' with its reason. */
export class NotWanted extends Error {}

/**
 * E-mail through an SMTP transport (nodemailer): the letter in the borrower's language, with a
 * plain-text and an HTML part. The Message-ID is fixed per outbox row (a repeat is recognisable).
 */
export function emailSender(transport: Transporter, from: string, domain: string, portalUrl: string): Sender {
  return {
    async send(m) {
      if (!m.emailOn) throw new NotWanted('the borrower turned e-mail notices off');
      if (m.email === null) throw new DeliveryError('no e-mail address set for the borrower', true);
      const letter = letterOf(m, portalUrl);
      try {
        const info = await transport.sendMail({
          from, to: m.email, subject: letter.subject, text: letter.text, html: letter.html,
          messageId: `<risk-${m.id}@${domain}>`, headers: { 'X-Zalog-Message-Id': m.id.toString(), 'Content-Language': m.language },
        }) as { messageId: string; response: string; accepted: unknown[] };
        return { messageId: info.messageId, response: info.response, accepted: info.accepted.length };
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode;
        throw new DeliveryError(`SMTP: ${(error as Error).message}`, code !== undefined && code >= 500 && code < 600);
      }
    },
  };
}

/**
 * Telegram (notices/telegram.ts): the letter in the Bot API's HTML to every chat the borrower's
 * users linked. A chat that blocked the bot refuses for good (403); flood control (429) and
 * network errors are tried again. A retry after one chat of two got it sends to both again: the
 * message id is in the receipt, and a borrower has one representative in practice.
 */
export function telegramSender(bot: TelegramBot, portalUrl: string): Sender {
  return {
    async send(m) {
      if (m.telegramChats.length === 0) throw new NotWanted('no Telegram chat linked, or Telegram notices turned off');
      const letter = letterOf(m, portalUrl);
      const sent: string[] = [];
      for (const chat of m.telegramChats) {
        try {
          const message = await bot.sendMessage(chat, letter.telegram);
          sent.push(`${chat}:${message.message_id}`);
        } catch (error) {
          if (error instanceof TelegramError) throw new DeliveryError(error.message, error.permanent);
          throw error;
        }
      }
      return { messages: sent.join(',') };
    },
  };
}

export interface DeliveryOptions {
  readonly senders: Readonly<Partial<Record<Channel, Sender>>>;
  readonly now: () => Date;
  readonly batch?: number;
  readonly maxAttempts?: number;
  /** First retry after this many seconds, doubling, at most `maxBackoffSeconds`. */
  readonly backoffSeconds?: number;
  readonly maxBackoffSeconds?: number;
  /** How long a claimed row is left alone while it is being sent. */
  readonly leaseSeconds?: number;
  /**
   * Sends in flight at once (default 8): a round's rows go out in that many lanes, so one slow
   * receiver holds up one lane, and SMTP's round trips overlap (measured: bench/notices.ts).
   */
  readonly concurrency?: number;
}

export interface DeliveryReport {
  readonly delivered: number;
  readonly retried: number;
  readonly dead: number;
  /** Not wanted on the channel (turned off, nothing linked); present when some were. */
  readonly skipped?: number;
  /** A call's notice not sent before the call's deadline; present when some were. */
  readonly expired?: number;
}

const CLAIM = `
UPDATE risk_outbox o SET attempts = o.attempts + 1, next_attempt_at = $2::timestamptz + make_interval(secs => $3)
  FROM (SELECT id FROM risk_outbox WHERE status = 'pending' AND next_attempt_at <= $2 AND channel = ANY ($4::text[])
         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) due
 WHERE o.id = due.id
RETURNING o.id, o.attempts`;

const READ = `
SELECT o.id, o.channel, o.topic, l.ref AS loan_ref, b.ref AS borrower_ref, t.id AS transition_id, t.from_state, t.to_state, t.cause,
       t.price_kopecks, t.ltv_millionths, t.debt_kopecks, t.sats, t.call_deadline, coalesce(t.at, o.created_at) AS at, t.report, o.facts,
       c.email, c.webhook_url, c.webhook_secret,
       coalesce(p.language, 'ru') AS language, coalesce(p.email, true) AS email_on,
       ARRAY(SELECT k.chat_id FROM users u JOIN telegram_links k ON k.user_id = u.id LEFT JOIN notice_preferences q ON q.user_id = u.id
              WHERE u.borrower_id = b.ref AND u.disabled_at IS NULL AND coalesce(q.telegram, true) ORDER BY u.id) AS telegram_chats,
       lad.haircut, lad.warning, lad.margin_call, lad.accelerated_call, lad.liquidation, lad.band, v.terms->'collateral'->'ltv'->>'target' AS target
  -- A reminder has no transition (migration 0026): its facts are on the row.
  FROM risk_outbox o LEFT JOIN risk_transitions t ON t.id = o.transition_id JOIN loans l ON l.id = o.loan_id JOIN borrowers b ON b.id = l.borrower_id
  LEFT JOIN risk_contacts c ON c.borrower_id = b.id
  -- The letter's language and the e-mail switch: the borrower's first user's choices.
  LEFT JOIN LATERAL (SELECT q.language, q.email FROM users u JOIN notice_preferences q ON q.user_id = u.id WHERE u.borrower_id = b.ref ORDER BY u.id LIMIT 1) p ON true
  LEFT JOIN risk_ladders lad ON lad.product_code = coalesce(t.product_code, l.product_code) AND lad.product_version = coalesce(t.product_version, l.product_version)
  LEFT JOIN loan_product_versions v ON v.product_code = coalesce(t.product_code, l.product_code) AND v.version = coalesce(t.product_version, l.product_version)
 WHERE o.id = ANY ($1::int8[]) ORDER BY o.id`;

interface ReadRow {
  id: bigint; channel: Channel; topic: string; loan_ref: string; borrower_ref: string; transition_id: bigint | null; from_state: string | null; to_state: string | null; cause: string | null;
  price_kopecks: bigint | null; ltv_millionths: bigint | null; debt_kopecks: bigint | null; sats: bigint | null; call_deadline: Date | null; at: Date;
  report: Record<string, unknown> | null; facts: Record<string, unknown> | null; email: string | null; webhook_url: string | null; webhook_secret: string | null;
  language: 'ru' | 'en'; email_on: boolean; telegram_chats: bigint[];
  haircut: bigint | null; warning: bigint | null; margin_call: bigint | null; accelerated_call: bigint | null; liquidation: bigint | null; band: bigint | null; target: string | null; [key: string]: unknown;
}

/** One round: claims due rows, sends them, records each outcome. */
export async function deliverDue(db: Database, options: DeliveryOptions): Promise<DeliveryReport> {
  const maxAttempts = options.maxAttempts ?? 8;
  const backoff = options.backoffSeconds ?? 30;
  const maxBackoff = options.maxBackoffSeconds ?? 3_600;
  const channels = Object.keys(options.senders);
  const now = options.now();
  const claimed = await db.transaction((tx) => tx.query<{ id: bigint; attempts: number }>(CLAIM, [options.batch ?? 100, now, options.leaseSeconds ?? 120, channels]));
  if (claimed.length === 0) return { delivered: 0, retried: 0, dead: 0 };
  const attempts = new Map(claimed.map((c) => [c.id, c.attempts]));
  const rows = await db.query<ReadRow>(READ, [claimed.map((c) => c.id)]);
  let delivered = 0, retried = 0, dead = 0, skipped = 0, expired = 0;
  const one = async (row: ReadRow): Promise<void> => {
    const message: RiskMessage = {
      id: row.id, channel: row.channel, topic: row.topic, loanRef: row.loan_ref, borrowerRef: row.borrower_ref, from: row.from_state ?? '', to: row.to_state ?? '', cause: row.cause ?? '',
      price: row.price_kopecks ?? 0n, ltvMillionths: row.ltv_millionths, debt: row.debt_kopecks ?? 0n, sats: row.sats ?? 0n, callDeadline: row.call_deadline, at: row.at, transitionId: row.transition_id, report: row.report,
      facts: row.facts,
      email: row.email, webhookUrl: row.webhook_url, webhookSecret: row.webhook_secret,
      language: row.language, emailOn: row.email_on, telegramChats: row.telegram_chats,
      ladder: row.haircut === null ? null : { haircut: row.haircut, warning: row.warning!, marginCall: row.margin_call!, ...(row.accelerated_call === null ? {} : { acceleratedCall: row.accelerated_call }), liquidation: row.liquidation!, band: row.band! },
      targetLtv: row.target === null ? null : rateFromPercent(row.target) ?? null,
    };
    const attempt = attempts.get(row.id)!;
    // A call's notice that could not go out before the call's deadline is not sent late, as if
    // there were still time: it is marked expired and shows in the staff's inbox (GET /inbox).
    if (message.callDeadline !== null && message.callDeadline <= now && intoCall(message)) {
      await db.query(`UPDATE risk_outbox SET status = 'expired', last_error = $2 WHERE id = $1`, [row.id, `not delivered before the call's deadline ${message.callDeadline.toISOString()}`]);
      expired += 1;
      return;
    }
    try {
      const receipt = await options.senders[row.channel]!.send(message);
      await db.query(`UPDATE risk_outbox SET status = 'delivered', delivered_at = $2, receipt = $3::jsonb, last_error = NULL WHERE id = $1`, [row.id, options.now(), JSON.stringify(receipt)]);
      delivered += 1;
    } catch (error) {
      if (error instanceof NotWanted) {
        await db.query(`UPDATE risk_outbox SET status = 'skipped', last_error = $2 WHERE id = $1`, [row.id, error.message]);
        skipped += 1;
        return;
      }
      const permanent = error instanceof DeliveryError && error.permanent;
      const text = (error as Error).message.slice(0, 1000);
      if (permanent || attempt >= maxAttempts) {
        await db.query(`UPDATE risk_outbox SET status = 'dead', last_error = $2 WHERE id = $1`, [row.id, text]);
        dead += 1;
      } else {
        const wait = Math.min(maxBackoff, backoff * 2 ** (attempt - 1));
        await db.query(`UPDATE risk_outbox SET last_error = $2, next_attempt_at = $3::timestamptz + make_interval(secs => $4) WHERE id = $1`, [row.id, text, options.now(), wait]);
        retried += 1;
      }
    }
  };
  // Lanes take the next row until none is left; each row's outcome is its own UPDATE.
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 8, rows.length)) }, async () => {
    while (next < rows.length) await one(rows[next++]!);
  });
  await Promise.all(lanes);
  return { delivered, retried, dead, ...(skipped > 0 ? { skipped } : {}), ...(expired > 0 ? { expired } : {}) };
}
