import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import { seedLoans } from '../loans/seed.js';
import type { PriceKopecksPerBtc } from '../money/money.js';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { deliverDue, emailSender, webhookSender } from './outbox.js';
import { RiskEngine } from './risk-engine.js';
import { PgRiskStore } from './risk-store.js';

/**
 * The outbox's delivery against real servers in the process: an HTTP server for the webhook (it
 * checks the signature, and fails on demand) and an SMTP server (smtp-server, the maintained
 * counterpart of nodemailer) that keeps what it is sent.
 */

let t: TestDatabase;
let web: Server;
let smtp: SMTPServer;
let webhookUrl: string;
let smtpPort: number;
const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
const mails: string[] = [];
let failNext = 0;
let failStatus = 503;
const SECRET = 'k'.repeat(40);
let clock = new Date('2026-03-16T07:00:00Z');
const now = () => clock;

beforeAll(async () => {
  t = await openTestDatabase();
  web = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      if (failNext > 0) { failNext -= 1; res.writeHead(failStatus).end('no'); return; }
      received.push({ headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webhookUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/hook`;
  smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, _session, callback) {
      let text = '';
      stream.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
      stream.on('end', () => { mails.push(text); callback(); });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;

  // Two loans of one borrower cross into warning; the borrower has both contacts.
  await seedLoans(t.db, { count: 2, loansPerBorrower: 2, disbursedOn: '2026-01-15', calendar: await loadCalendar(), sats: 25_000_000n });
  const [user] = await t.db.query<{ id: bigint }>('SELECT id FROM users ORDER BY id LIMIT 1');
  await t.db.query(`INSERT INTO risk_contacts (borrower_id, email, webhook_url, webhook_secret, updated_at, updated_by)
                    SELECT borrower_id, 'cfo@farm.example', $1, $2, now(), $3 FROM loans GROUP BY borrower_id`, [webhookUrl, SECRET, user!.id]);
  const engine = new RiskEngine(t.db, new PgRiskStore(t.db, await loadCalendar()));
  await engine.onPrice({ price: 800_000_000n as PriceKopecksPerBtc, cycleId: undefined, at: clock });
  await engine.onPrice({ price: 660_000_000n as PriceKopecksPerBtc, cycleId: undefined, at: clock }); // 60.6% LTV
}, 60_000);
afterAll(async () => {
  await new Promise<void>((resolve) => web.close(() => resolve()));
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await t.close();
});

/** The test's receiver is on 127.0.0.1 over http: allowed here as an operator would allow an internal relay. */
const LOOPBACK_ALLOWED = { allowHttp: true, allow: ['127.0.0.0/8'] };
const senders = () => ({
  webhook: webhookSender({ timeoutMs: 2_000, now, policy: LOOPBACK_ALLOWED }),
  email: emailSender(nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true }), 'risk@bank.example', 'bank.example', 'https://zalog.bank.example'),
});
const outbox = () => t.db.query<{ id: bigint; channel: string; status: string; attempts: number; receipt: Record<string, unknown> | null; last_error: string | null; next_attempt_at: Date }>('SELECT * FROM risk_outbox ORDER BY id');

describe('the risk outbox', () => {
  it('retries a failing webhook with back-off, then delivers it signed, and mails the notice once', async () => {
    failNext = 2;
    const first = await deliverDue(t.db, { senders: senders(), now, backoffSeconds: 30 });
    expect(first).toEqual({ delivered: 2, retried: 2, dead: 0 }); // the two e-mails went; both webhooks failed
    expect(mails).toHaveLength(2);
    const letter = await simpleParser(mails[0]!);
    // Russian by default (the borrower's user chose nothing), with a plain-text and an HTML part.
    expect(letter.subject).toMatch(/^Предупреждение по кредиту LN-\d+: LTV 60,6061\u00a0%$/);
    expect(letter.messageId).toMatch(/^<risk-\d+@bank\.example>$/);
    expect(letter.text).toContain('Цена BTC: 6\u00a0600\u00a0000,00\u00a0₽');
    expect(letter.html).toContain('https://zalog.bank.example/portal/loans/LN-');
    const waiting = (await outbox()).filter((r) => r.status === 'pending');
    expect(waiting.map((r) => [r.attempts, r.next_attempt_at.getTime() - clock.getTime()])).toEqual([[1, 30_000], [1, 30_000]]);
    expect(await deliverDue(t.db, { senders: senders(), now })).toEqual({ delivered: 0, retried: 0, dead: 0 }); // not due yet
    clock = new Date(clock.getTime() + 30_000);
    expect(await deliverDue(t.db, { senders: senders(), now })).toEqual({ delivered: 2, retried: 0, dead: 0 });
    expect(received).toHaveLength(2);
    const { headers, body } = received[0]!;
    expect(headers['x-zalog-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(`${headers['x-zalog-timestamp']}.${body}`).digest('hex')}`);
    expect(JSON.parse(body)).toMatchObject({ topic: 'risk.warning', from: 'healthy', to: 'warning', cause: 'price', priceRubPerBtc: '6600000.00', ltvPercent: '60.6061', debtRub: '1000000.00', collateralBtc: '0.25000000' });
    const rows = await outbox();
    expect(rows.every((r) => r.status === 'delivered' && r.receipt !== null)).toBe(true);
    expect(rows.find((r) => r.channel === 'webhook')!.receipt).toMatchObject({ status: 200 });
    expect(String(rows.find((r) => r.channel === 'email')!.receipt!.response)).toMatch(/^250/);
    // Nothing is sent twice.
    expect(await deliverDue(t.db, { senders: senders(), now })).toEqual({ delivered: 0, retried: 0, dead: 0 });
    expect(received).toHaveLength(2);
    expect(mails).toHaveLength(2);
  });

  it('dead-letters a webhook the receiver refuses, and one that fails past the last attempt', async () => {
    const [transition] = await t.db.query<{ id: bigint; loan_id: bigint }>('SELECT id, loan_id FROM risk_transitions ORDER BY id LIMIT 1');
    await t.db.query(`INSERT INTO risk_outbox (transition_id, loan_id, channel, topic, next_attempt_at) SELECT $1, $2, 'webhook', 'risk.warning', $3
                      FROM generate_series(1, 1) ON CONFLICT DO NOTHING`, [transition!.id, transition!.loan_id, clock]);
    // The unique (transition, channel) pair refuses a second row: one message per transition and channel.
    expect((await outbox()).filter((r) => r.status === 'pending')).toHaveLength(0);
    await t.db.query(`UPDATE risk_outbox SET status = 'pending', next_attempt_at = $1 WHERE channel = 'webhook'`, [clock]);
    failNext = 1; failStatus = 410;
    expect(await deliverDue(t.db, { senders: { webhook: senders().webhook }, now, batch: 1 })).toEqual({ delivered: 0, retried: 0, dead: 1 });
    failNext = 100; failStatus = 503;
    for (let i = 0; i < 3; i += 1) {
      await deliverDue(t.db, { senders: { webhook: senders().webhook }, now, batch: 1, maxAttempts: 3, backoffSeconds: 1 });
      clock = new Date(clock.getTime() + 10_000);
    }
    failNext = 0;
    const dead = (await outbox()).filter((r) => r.status === 'dead');
    expect(dead).toHaveLength(2);
    expect(dead.map((r) => r.last_error)).toEqual(['webhook answered 410', 'webhook answered 503']);
  });

  it('never POSTs to a loopback, private or metadata address: refused at delivery though it was saved (DNS rebinding)', async () => {
    const [transition] = await t.db.query<{ id: bigint; loan_id: bigint; borrower_id: bigint }>('SELECT t.id, t.loan_id, l.borrower_id FROM risk_transitions t JOIN loans l ON l.id = t.loan_id ORDER BY t.id LIMIT 1');
    const strict = { webhook: webhookSender({ timeoutMs: 2_000, now, policy: { allowHttp: true, allow: [] } }) };
    const before = received.length;
    // A name that resolved to a public address when it was saved, and to loopback now.
    for (const url of [webhookUrl.replace('127.0.0.1', 'localhost'), webhookUrl, 'http://169.254.169.254/latest/meta-data', webhookUrl.replace('127.0.0.1', '[::ffff:127.0.0.1]'), 'http://10.1.2.3/x']) {
      await t.db.query('UPDATE risk_contacts SET webhook_url = $1 WHERE borrower_id = $2', [url, transition!.borrower_id]);
      await t.db.query(`UPDATE risk_outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, last_error = NULL WHERE channel = 'webhook' AND transition_id = $2`, [clock, transition!.id]);
      expect(await deliverDue(t.db, { senders: strict, now, batch: 1 }), url).toEqual({ delivered: 0, retried: 0, dead: 1 });
      const [row] = await t.db.query<{ last_error: string }>(`SELECT last_error FROM risk_outbox WHERE channel = 'webhook' AND transition_id = $1`, [transition!.id]);
      expect(row!.last_error, url).toMatch(/^webhook refused: .*(loopback|linkLocal|private|not a public)/);
    }
    expect(received.length).toBe(before);
    await t.db.query('UPDATE risk_contacts SET webhook_url = $1', [webhookUrl]);
  });
});
