import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { originate, seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';
import { startTelegramServer, type TelegramTestServer } from '../test-support/telegram-server.js';
import { runEod } from '../loans/eod.js';
import { deliverDue, emailSender, telegramSender } from '../risk/outbox.js';
import { telegramBot } from './telegram.js';
import { queueReminders } from './reminders.js';

/**
 * Reminders before an instalment falls due and while a loan is overdue, and a miner's own early
 * warning: queued once each however often the job runs, sent through the outbox to the channels
 * the borrower set up (an SMTP server and a local Bot API server here), read back as letters.
 */

let stub: HttpStub;
let tg: TelegramTestServer;
let smtp: SMTPServer;
let smtpPort: number;
const mails: string[] = [];
let t: TestApp;
let ref: string;
let lines: Array<{ dueDate: string; principal: string; interest: string }>;
const PORTAL = 'https://zalog.bank.example';

beforeAll(async () => {
  stub = await startHttpStub();
  tg = await startTelegramServer();
  smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => { mails.push(Buffer.concat(chunks).toString('utf8')); callback(); });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
  t = await openTestApp();
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
  ref = (await originate(t, { borrower: 'B-1', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25' })).ref;
  lines = (await t.as('officer').get(`/api/v1/loans/${ref}/schedule`)).json().lines;
  // B-1 has an e-mail address on record and its representative a linked chat; B-2 has nothing set up.
  await t.test.db.query(`INSERT INTO risk_contacts (borrower_id, email, updated_at, updated_by) SELECT id, 'cfo@farm.example', now(), $1 FROM borrowers WHERE ref = 'B-1'`, [t.as('officer').user.id]);
  await t.test.db.query('INSERT INTO telegram_links (user_id, chat_id, username, linked_at) VALUES ($1, 777, NULL, now())', [t.as('borrower1').user.id]);
}, 120_000);
afterAll(async () => {
  await t.close();
  await stub.close();
  await tg.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const senders = () => ({
  email: emailSender(nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true }), 'risk@bank.example', 'bank.example', PORTAL),
  telegram: telegramSender(telegramBot({ token: tg.token, apiUrl: tg.url }), PORTAL),
});
/** 09:00 in Moscow on a day. */
const moscowMorning = (day: string) => new Date(`${day}T06:00:00Z`);
const kop = (rub: string) => BigInt(rub.replace('.', ''));
const plain = (text: string) => text.replace(/\u00a0/g, ' ');
const rubRu = (kopecks: bigint) => `${(kopecks / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ')},${(kopecks % 100n).toString().padStart(2, '0')} ₽`;

describe('reminders', () => {
  it('remind once of an instalment three days ahead, by e-mail and Telegram, with the amount by the schedule', async () => {
    const due = lines[0]!.dueDate;
    const fourBefore = new Date(Date.parse(`${due}T06:00:00Z`) - 4 * 86_400_000);
    expect(await queueReminders(t.test.db, fourBefore, { publishedPrice: null })).toEqual({ due: 0, overdue: 0, early: 0 });
    const twoBefore = new Date(Date.parse(`${due}T06:00:00Z`) - 2 * 86_400_000);
    expect(await queueReminders(t.test.db, twoBefore, { publishedPrice: null })).toEqual({ due: 2, overdue: 0, early: 0 });
    // The job runs again, and again the next day: nothing more is queued for that instalment.
    expect(await queueReminders(t.test.db, twoBefore, { publishedPrice: null })).toEqual({ due: 0, overdue: 0, early: 0 });
    expect((await queueReminders(t.test.db, new Date(twoBefore.getTime() + 86_400_000), { publishedPrice: null })).due).toBe(0);

    const report = await deliverDue(t.test.db, { senders: senders(), now: () => twoBefore });
    expect(report).toMatchObject({ delivered: 2, dead: 0 });
    const mail = await simpleParser(mails.at(-1)!);
    const total = kop(lines[0]!.principal) + kop(lines[0]!.interest);
    const [y, m, d] = due.split('-');
    expect(plain(mail.subject ?? '')).toBe(`Кредит ${ref}: платёж ${rubRu(total)} до ${d}.${m}.${y}`);
    expect(plain(mail.text ?? '')).toContain(`Основной долг: ${rubRu(kop(lines[0]!.principal))}`);
    expect(plain(mail.text ?? '')).toContain('раздел «Платежи»');
    expect(tg.sent.at(-1)).toMatchObject({ chatId: 777 });
    expect(plain(tg.sent.at(-1)!.text)).toContain(`платёж ${rubRu(total)} до ${d}.${m}.${y}`);
  });

  it('remind of an overdue loan on its first day overdue and weekly after, with the overdue amount and penalties', async () => {
    // Nothing is paid: end of day runs through the first due dates until an instalment is overdue.
    let since: string | undefined;
    for (const line of lines.slice(0, 3)) {
      await runEod(t.test.db, line.dueDate, { now: new Date() });
      const [row] = await t.test.db.query<{ status: string; overdue_since: string | null }>('SELECT status, overdue_since::text FROM loans WHERE ref = $1', [ref]);
      if (row!.status === 'overdue') { since = row!.overdue_since!; break; }
    }
    expect(since).toBeDefined();
    expect(await queueReminders(t.test.db, moscowMorning(since!), { publishedPrice: null })).toMatchObject({ overdue: 2 });
    expect(await queueReminders(t.test.db, moscowMorning(since!), { publishedPrice: null })).toMatchObject({ overdue: 0 });
    const nextDay = new Date(moscowMorning(since!).getTime() + 86_400_000);
    expect(await queueReminders(t.test.db, nextDay, { publishedPrice: null })).toMatchObject({ overdue: 0 });
    const aWeekOn = new Date(moscowMorning(since!).getTime() + 7 * 86_400_000);
    expect(await queueReminders(t.test.db, aWeekOn, { publishedPrice: null })).toMatchObject({ overdue: 2 });
    // B-2's loans (none overdue, and nothing set up) get nothing; only B-1's rows exist.
    const rows = await t.test.db.query<{ topic: string; channel: string; loan: string }>(`SELECT o.topic, o.channel, l.ref AS loan FROM risk_outbox o JOIN loans l ON l.id = o.loan_id WHERE o.topic LIKE 'reminder.%' ORDER BY o.id`);
    expect(new Set(rows.map((r) => r.loan))).toEqual(new Set([ref]));
    expect(rows.filter((r) => r.topic === 'reminder.overdue').map((r) => r.channel).sort()).toEqual(['email', 'email', 'telegram', 'telegram']);

    const before = mails.length;
    expect(await deliverDue(t.test.db, { senders: senders(), now: () => aWeekOn })).toMatchObject({ delivered: 4, dead: 0 });
    expect(mails.length).toBe(before + 2);
    const mail = await simpleParser(mails.at(-1)!);
    const [loan] = await t.test.db.query<{ principal_overdue: bigint; interest_overdue: bigint; penalty: bigint }>('SELECT principal_overdue, interest_overdue, penalty FROM loans WHERE ref = $1', [ref]);
    const [y, m, d] = since!.split('-');
    expect(plain(mail.subject ?? '')).toBe(`Просрочка по кредиту ${ref}: ${rubRu(loan!.principal_overdue + loan!.interest_overdue + loan!.penalty)}`);
    expect(plain(mail.text ?? '')).toContain(`просрочен с ${d}.${m}.${y}`);
  });
});

describe('an early warning of the miner\'s own', () => {
  it('is refused outside 1-99.99% and, set at 45%, warns once a day while the LTV is at or above it and the ladder says healthy', async () => {
    const put = (body: object) => t.as('borrower1').inject({ method: 'PUT', url: '/api/v1/me/notices', payload: body });
    for (const bad of ['0', '100', '55.555', '-1', '5e1']) expect((await put({ language: 'ru', email: true, telegram: true, earlyWarningLtvPercent: bad })).statusCode, bad).toBe(400);
    const set = await put({ language: 'en', email: true, telegram: true, earlyWarningLtvPercent: '45' });
    expect(set.statusCode).toBe(200);
    expect(set.json().preferences.earlyWarningLtvPercent).toBe('45');

    const [risk] = await t.test.db.query<{ debt_kopecks: bigint; sats: bigint; state: string }>('SELECT r.debt_kopecks, r.sats, r.state FROM loan_risk r JOIN loans l ON l.id = r.loan_id WHERE l.ref = $1', [ref]);
    expect(risk!.state).toBe('healthy');
    // The LTV at 8,000,000.00 RUB/BTC, rounded up: over 45% and under the bank's 60% warning.
    const price = 800_000_000n;
    const ltv = (risk!.debt_kopecks * 10n ** 20n + risk!.sats * price * 1_000_000n - 1n) / (risk!.sats * price * 1_000_000n);
    expect(ltv).toBeGreaterThanOrEqual(450_000n);
    expect(ltv).toBeLessThan(600_000n);
    const day = new Date('2025-06-02T06:00:00Z');
    expect((await queueReminders(t.test.db, day, { publishedPrice: price })).early).toBe(2);
    expect((await queueReminders(t.test.db, new Date(day.getTime() + 3_600_000), { publishedPrice: price })).early).toBe(0);
    // At a price where the LTV is under 45%, nothing the next day.
    const under = (risk!.debt_kopecks * 10n ** 20n) / (risk!.sats * 1_000_000n * 449_000n);
    expect((await queueReminders(t.test.db, new Date(day.getTime() + 86_400_000), { publishedPrice: under })).early).toBe(0);
    expect((await queueReminders(t.test.db, new Date(day.getTime() + 86_400_000), { publishedPrice: price })).early).toBe(2);

    const sentBefore = tg.sent.length;
    await deliverDue(t.test.db, { senders: senders(), now: () => new Date(day.getTime() + 86_400_000) });
    const message = tg.sent.slice(sentBefore).find((s) => s.text.includes('threshold'))!;
    expect(message.text).toContain(`Loan ${ref}: LTV`);
    expect(plain(message.text)).toContain('above your threshold of 45 %');
    expect(plain(message.text)).toContain('The bank\'s warning comes at an LTV of 60 %');
  });
});
