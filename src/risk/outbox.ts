import { createHash, createHmac } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import { fetch } from 'undici';
import { guardedAgent, OutboundRefused, urlProblem, type OutboundPolicy } from '../adapters/outbound.js';
import type { Database } from '../db/database.js';
import { formatKopecks, formatPrice, formatSats, type PriceKopecksPerBtc } from '../money/money.js';
import { formatRate } from '../loans/origination.js';
import type { Channel } from './risk-store.js';

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
  readonly transitionId: bigint;
  /** A booked liquidation's execution report (risk/liquidations.ts), or null. */
  readonly report: Readonly<Record<string, unknown>> | null;
  readonly email: string | null;
  readonly webhookUrl: string | null;
  readonly webhookSecret: string | null;
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

/** The message's body, the same on both channels: the facts, amounts as decimal strings. */
export function messageBody(m: RiskMessage): Record<string, unknown> {
  return {
    messageId: m.id.toString(),
    transitionId: m.transitionId.toString(),
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

const SUBJECTS: Record<string, string> = {
  'risk.warning': 'LTV warning',
  'risk.margin_call': 'Margin call',
  'risk.accelerated_call': 'Accelerated margin call',
  'risk.liquidation': 'Collateral liquidation',
  'risk.improved': 'LTV back within limits',
  'risk.liquidated': 'Collateral sold: execution report',
  'risk.liquidation_cancelled': 'Liquidation cancelled',
};

/** E-mail through an SMTP transport (nodemailer). The Message-ID is fixed per outbox row. */
export function emailSender(transport: Transporter, from: string, domain: string): Sender {
  return {
    async send(m) {
      if (m.email === null) throw new DeliveryError('no e-mail address set for the borrower', true);
      const b = messageBody(m);
      const lines = [
        `Loan ${m.loanRef}: ${m.from} -> ${m.to} (${m.cause}).`,
        `BTC/RUB ${b.priceRubPerBtc}; LTV ${b.ltvPercent ?? 'n/a'}%; debt ${b.debtRub} RUB; collateral ${b.collateralBtc} BTC.`,
        ...(m.callDeadline === null ? [] : [`Top up the collateral or repay before ${b.callDeadline} (UTC); then acknowledge this call in the portal.`]),
        ...(m.report === null ? [] : ['', 'Execution report:', JSON.stringify(m.report, null, 2)]),
      ];
      try {
        const info = await transport.sendMail({
          from, to: m.email, subject: `${SUBJECTS[m.topic] ?? m.topic}: ${m.loanRef}`, text: lines.join('\n'),
          messageId: `<risk-${m.id}@${domain}>`, headers: { 'X-Zalog-Message-Id': m.id.toString() },
        }) as { messageId: string; response: string; accepted: unknown[] };
        return { messageId: info.messageId, response: info.response, accepted: info.accepted.length };
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode;
        throw new DeliveryError(`SMTP: ${(error as Error).message}`, code !== undefined && code >= 500 && code < 600);
      }
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
}

export interface DeliveryReport {
  readonly delivered: number;
  readonly retried: number;
  readonly dead: number;
}

const CLAIM = `
UPDATE risk_outbox o SET attempts = o.attempts + 1, next_attempt_at = $2::timestamptz + make_interval(secs => $3)
  FROM (SELECT id FROM risk_outbox WHERE status = 'pending' AND next_attempt_at <= $2 AND channel = ANY ($4::text[])
         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) due
 WHERE o.id = due.id
RETURNING o.id, o.attempts`;

const READ = `
SELECT o.id, o.channel, o.topic, l.ref AS loan_ref, b.ref AS borrower_ref, t.id AS transition_id, t.from_state, t.to_state, t.cause,
       t.price_kopecks, t.ltv_millionths, t.debt_kopecks, t.sats, t.call_deadline, t.at, t.report,
       c.email, c.webhook_url, c.webhook_secret
  FROM risk_outbox o JOIN risk_transitions t ON t.id = o.transition_id JOIN loans l ON l.id = o.loan_id JOIN borrowers b ON b.id = l.borrower_id
  LEFT JOIN risk_contacts c ON c.borrower_id = b.id
 WHERE o.id = ANY ($1::int8[]) ORDER BY o.id`;

interface ReadRow {
  id: bigint; channel: Channel; topic: string; loan_ref: string; borrower_ref: string; transition_id: bigint; from_state: string; to_state: string; cause: string;
  price_kopecks: bigint; ltv_millionths: bigint | null; debt_kopecks: bigint; sats: bigint; call_deadline: Date | null; at: Date;
  report: Record<string, unknown> | null; email: string | null; webhook_url: string | null; webhook_secret: string | null; [key: string]: unknown;
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
  let delivered = 0, retried = 0, dead = 0;
  for (const row of rows) {
    const message: RiskMessage = {
      id: row.id, channel: row.channel, topic: row.topic, loanRef: row.loan_ref, borrowerRef: row.borrower_ref, from: row.from_state, to: row.to_state, cause: row.cause,
      price: row.price_kopecks, ltvMillionths: row.ltv_millionths, debt: row.debt_kopecks, sats: row.sats, callDeadline: row.call_deadline, at: row.at, transitionId: row.transition_id, report: row.report,
      email: row.email, webhookUrl: row.webhook_url, webhookSecret: row.webhook_secret,
    };
    const attempt = attempts.get(row.id)!;
    try {
      const receipt = await options.senders[row.channel]!.send(message);
      await db.query(`UPDATE risk_outbox SET status = 'delivered', delivered_at = $2, receipt = $3::jsonb, last_error = NULL WHERE id = $1`, [row.id, options.now(), JSON.stringify(receipt)]);
      delivered += 1;
    } catch (error) {
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
  }
  return { delivered, retried, dead };
}
