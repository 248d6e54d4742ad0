import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { originate, seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';
import { startTelegramServer, type TelegramTestServer } from '../test-support/telegram-server.js';
import { bankCalendar } from '../calendar/load.js';
import type { PriceKopecksPerBtc } from '../money/money.js';
import { deliverDue, telegramSender } from '../risk/outbox.js';
import { RiskEngine } from '../risk/risk-engine.js';
import { PgRiskStore } from '../risk/risk-store.js';
import { telegramBot, type TelegramBot } from './telegram.js';
import { pollTelegram } from './telegram-link.js';

/**
 * A miner's notice settings and its Telegram link, end to end through the API and the bank's bot
 * against a local server that speaks the Bot API: the code from the portal, "/start CODE" sent to
 * the bot, the chat linked, and then a risk notice arriving in that chat in the chosen language.
 */

let stub: HttpStub;
let tg: TelegramTestServer;
let bot: TelegramBot;
let t: TestApp;
let ref: string;
// The app's clock (test-support/app.ts: real time, moved by advance) and the bot poller's, kept together.
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);

beforeAll(async () => {
  stub = await startHttpStub();
  tg = await startTelegramServer({ username: 'zalog_bank_bot' });
  bot = telegramBot({ token: tg.token, apiUrl: tg.url });
  t = await openTestApp({ telegram: { bot, username: (await bot.getMe()).username ?? null } });
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
  ref = (await originate(t, { borrower: 'B-1', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25' })).ref;
}, 120_000);
afterAll(async () => {
  await t.close();
  await stub.close();
  await tg.close();
});

const put = (name: 'borrower1' | 'borrower2', body: unknown) => t.as(name).inject({ method: 'PUT', url: '/api/v1/me/notices', payload: body as object });
const audits = (action: string) => t.test.db.query<{ target: string; details: Record<string, unknown> }>('SELECT target, details FROM audit_log WHERE action = $1 ORDER BY id', [action]);

describe('notice settings', () => {
  it('start in Russian with both channels on, and change only the caller\'s own, audited', async () => {
    const first = await t.as('borrower1').get('/api/v1/me/notices');
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ preferences: { language: 'ru', email: true, telegram: true }, telegram: { available: true, bot: 'zalog_bank_bot', linked: null } });
    const set = await put('borrower1', { language: 'en', email: false, telegram: true });
    expect(set.statusCode).toBe(200);
    expect(set.json().preferences).toEqual({ language: 'en', email: false, telegram: true, earlyWarningLtvPercent: null });
    expect((await t.as('borrower2').get('/api/v1/me/notices')).json().preferences.language).toBe('ru');
    const [audit] = await audits('notices.preferences.set');
    expect(audit).toMatchObject({ target: `user:${t.as('borrower1').user.id}`, details: { language: 'en', email: false, telegram: true } });
    // Bad input changes nothing.
    for (const bad of [{ language: 'de', email: true, telegram: true }, { language: 'ru', email: 'yes', telegram: true }, { language: 'ru', email: true }, { language: 'ru', email: true, telegram: true, extra: 1 }]) {
      const refused = await put('borrower1', bad);
      expect(refused.statusCode, JSON.stringify(bad)).toBe(400);
      expect(typeof refused.json().error.code).toBe('string');
    }
    expect((await t.as('borrower1').get('/api/v1/me/notices')).json().preferences).toEqual({ language: 'en', email: false, telegram: true, earlyWarningLtvPercent: null });
    // Staff have no portal settings here.
    expect((await t.as('officer').get('/api/v1/me/notices')).statusCode).toBe(403);
  });
});

describe('linking Telegram', () => {
  it('links the chat that sends the one-time code to the bank\'s bot, answers in the user\'s language, and refuses a used or unknown code', async () => {
    const issued = await t.as('borrower1').post('/api/v1/me/notices/telegram-code', {});
    expect(issued.statusCode).toBe(201);
    const { code, link } = issued.json() as { code: string; link: string };
    expect(link).toBe(`https://t.me/zalog_bank_bot?start=${code}`);
    expect((await audits('notices.telegram.code'))[0]!.details).not.toHaveProperty('code');

    const sentBefore = tg.sent.length;
    tg.pushMessage(700_001, 'hello');
    tg.pushMessage(700_002, `/start ${code}`, 'farm_cfo');
    tg.pushMessage(700_003, `/start ${code}`); // someone else with the same code, too late
    tg.pushMessage(700_004, '/start AAAAAAAAAAAAAAAAAAAAAAAA');
    expect(await pollTelegram(t.test.db, bot, now)).toEqual({ updates: 4, linked: 1 });
    const replies = tg.sent.slice(sentBefore);
    expect(replies.map((m) => m.chatId)).toEqual([700_001, 700_002, 700_003, 700_004]);
    expect(replies[0]!.text).toMatch(/^Это бот банка/);
    expect(replies[1]!.text).toMatch(/^Done: the bank's notices/); // borrower1 chose English
    expect(replies[2]!.text).toMatch(/^Код не подошёл или устарел/);
    expect(replies[3]!.text).toMatch(/^Код не подошёл или устарел/);
    // The offset moved past them: a second round reads nothing new.
    expect(await pollTelegram(t.test.db, bot, now)).toEqual({ updates: 0, linked: 0 });
    const view = (await t.as('borrower1').get('/api/v1/me/notices')).json();
    expect(view.telegram.linked).toMatchObject({ username: 'farm_cfo' });
    const [linked] = await audits('notices.telegram.link');
    expect(linked).toMatchObject({ target: `user:${t.as('borrower1').user.id}`, details: { chatId: '700002', username: 'farm_cfo' } });
  });

  it('refuses an expired code', async () => {
    const { code } = (await t.as('borrower2').post('/api/v1/me/notices/telegram-code', {})).json() as { code: string };
    offsetMs += 16 * 60_000;
    t.advance(16 * 60);
    const sentBefore = tg.sent.length;
    tg.pushMessage(700_010, `/start ${code}`);
    expect(await pollTelegram(t.test.db, bot, now)).toEqual({ updates: 1, linked: 0 });
    expect(tg.sent.slice(sentBefore)[0]!.text).toMatch(/^Код не подошёл или устарел/);
    expect((await t.as('borrower2').get('/api/v1/me/notices')).json().telegram.linked).toBeNull();
  });

  it('sends the loan\'s risk notices to the linked chat in the chosen language; a chat that blocked the bot is a dead letter', async () => {
    const engine = new RiskEngine(t.test.db, new PgRiskStore(t.test.db, await bankCalendar()));
    await engine.rebuild();
    await engine.onPrice({ price: 800_000_000n as PriceKopecksPerBtc, cycleId: undefined, at: now() });
    await engine.onPrice({ price: 560_000_000n as PriceKopecksPerBtc, cycleId: undefined, at: now() }); // 1,000,000 / (0.25 × 5,600,000) = 71.4%
    const rows = await t.test.db.query<{ channel: string; topic: string }>(`SELECT o.channel, o.topic FROM risk_outbox o JOIN loans l ON l.id = o.loan_id WHERE l.ref = $1 ORDER BY o.id`, [ref]);
    expect(rows.filter((r) => r.channel === 'telegram').length).toBeGreaterThan(0);
    const sentBefore = tg.sent.length;
    const report = await deliverDue(t.test.db, { senders: { telegram: telegramSender(bot, 'https://zalog.bank.example') }, now });
    expect(report.delivered).toBe(rows.filter((r) => r.channel === 'telegram').length);
    const notices = tg.sent.slice(sentBefore);
    expect(notices.every((m) => m.chatId === 700_002 && m.parseMode === 'HTML')).toBe(true);
    expect(notices.at(-1)!.text).toContain(`<a href="https://zalog.bank.example/portal/loans/${ref}">Open the loan in the portal</a>`);
    expect(notices.at(-1)!.text).toMatch(/Moscow time/);

    // The miner blocks the bot: the next notice is a dead letter at once, not retried forever.
    tg.blocked.add(700_002);
    await engine.onPrice({ price: 900_000_000n as PriceKopecksPerBtc, cycleId: undefined, at: now() });
    const again = await deliverDue(t.test.db, { senders: { telegram: telegramSender(bot, 'https://zalog.bank.example') }, now });
    expect(again).toMatchObject({ delivered: 0, dead: 1 });
    tg.blocked.delete(700_002);
  });

  it('does not send a call\'s notice after the call\'s deadline: it expires and the staff inbox lists it, with the dead letter', async () => {
    const [call] = await t.test.db.query<{ id: bigint; call_deadline: Date }>(
      `SELECT o.id, t.call_deadline FROM risk_outbox o JOIN risk_transitions t ON t.id = o.transition_id WHERE o.channel = 'telegram' AND t.to_state = 'margin_call' ORDER BY o.id LIMIT 1`);
    expect(call).toBeDefined();
    // As if the bot had been unreachable until after the deadline.
    await t.test.db.query(`UPDATE risk_outbox SET status = 'pending', delivered_at = NULL, receipt = NULL, next_attempt_at = now() - interval '1 day' WHERE id = $1`, [call!.id]);
    const sentBefore = tg.sent.length;
    const late = () => new Date(call!.call_deadline.getTime() + 1_000);
    expect(await deliverDue(t.test.db, { senders: { telegram: telegramSender(bot, 'https://zalog.bank.example') }, now: late })).toEqual({ delivered: 0, retried: 0, dead: 0, expired: 1 });
    expect(tg.sent.length).toBe(sentBefore);
    const inbox = (await t.as('officer').get('/api/v1/inbox')).json() as { undeliveredNotices: Array<{ loan: string; channel: string; topic: string; status: string; error: string }> };
    expect(inbox.undeliveredNotices).toEqual(expect.arrayContaining([
      expect.objectContaining({ loan: ref, channel: 'telegram', topic: 'risk.margin_call', status: 'expired', error: expect.stringMatching(/^not delivered before the call's deadline/) }),
      expect.objectContaining({ loan: ref, channel: 'telegram', status: 'dead', error: expect.stringMatching(/blocked/) }),
    ]));
    expect((await t.as('borrower1').get('/api/v1/inbox')).statusCode).toBe(403);
  });

  it('unlinks: no Telegram rows for the next notice', async () => {
    const gone = await t.as('borrower1').inject({ method: 'DELETE', url: '/api/v1/me/notices/telegram' });
    expect(gone.statusCode).toBe(200);
    expect(gone.json().telegram.linked).toBeNull();
    const [row] = await t.test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM telegram_links');
    expect(row!.n).toBe(0n);
  });
});

describe('without a bot', () => {
  it('answers 409 telegram_not_configured for a code', async () => {
    const bare = await openTestApp();
    try {
      const refused = await bare.as('borrower1').post('/api/v1/me/notices/telegram-code', {});
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.code).toBe('telegram_not_configured');
      expect((await bare.as('borrower1').get('/api/v1/me/notices')).json().telegram).toEqual({ available: false, bot: null, linked: null });
    } finally {
      await bare.close();
    }
  });
});
