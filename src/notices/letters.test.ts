import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailSender, telegramSender, type RiskMessage } from '../risk/outbox.js';
import { startTelegramServer, wellFormedTelegramHtml, type TelegramTestServer } from '../test-support/telegram-server.js';
import { telegramBot } from './telegram.js';
import { moscow } from './letters.js';

/**
 * Every notice (the risk ladder's, the reminders, the early warning) as the miner gets it, in Russian and in English: sent through the real
 * senders to an SMTP server (smtp-server, parsed back with mailparser) and to a local server that
 * speaks the Telegram Bot API, then read as a person would: the subject, what to do, the amounts
 * grouped in the reader's locale, the times in Moscow time, the link to the loan's portal page.
 */

let smtp: SMTPServer;
let smtpPort: number;
const raw: string[] = [];
let tg: TelegramTestServer;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => { raw.push(Buffer.concat(chunks).toString('utf8')); callback(); });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
  tg = await startTelegramServer();
});
afterAll(async () => {
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await tg.close();
});

const PORTAL = 'https://zalog.bank.example';
const AT = new Date('2026-03-16T07:05:00Z'); // 10:05 in Moscow
const DEADLINE = new Date('2026-03-17T12:30:00Z'); // 15:30 in Moscow
const LADDER = { haircut: 0n, warning: 600_000n, marginCall: 700_000n, acceleratedCall: 800_000n, liquidation: 850_000n, band: 50_000n };

/** A notice of loan LN-7: 1,000,000.00 RUB owed against 0.25 BTC. */
function message(topic: string, over: Partial<RiskMessage>): RiskMessage {
  return {
    id: 41n, channel: 'email', topic, loanRef: 'LN-7', borrowerRef: 'B-1', from: 'healthy', to: 'warning', cause: 'price',
    price: 600_000_000n, ltvMillionths: 666_667n, debt: 100_000_000n, sats: 25_000_000n, callDeadline: null, at: AT, transitionId: 9n, report: null,
    email: 'cfo@farm.example', webhookUrl: null, webhookSecret: null, language: 'ru', emailOn: true, telegramChats: [5551n],
    ladder: LADDER, targetLtv: 500_000n, facts: null, ...over,
  };
}

const CASES: Record<string, Partial<RiskMessage>> = {
  'risk.warning': {},
  // 1,000,000 / (0.25 × 5,500,000) = 72.73%: a margin call.
  'risk.margin_call': { from: 'warning', to: 'margin_call', price: 550_000_000n, ltvMillionths: 727_273n, callDeadline: DEADLINE },
  'risk.accelerated_call': { from: 'margin_call', to: 'accelerated_call', price: 480_000_000n, ltvMillionths: 833_334n, callDeadline: DEADLINE },
  'risk.liquidation': { from: 'margin_call', to: 'liquidation', cause: 'deadline', price: 520_000_000n, ltvMillionths: 769_231n },
  'risk.liquidated': { from: 'liquidation', to: 'healthy', cause: 'liquidation', price: 520_000_000n, ltvMillionths: 500_000n,
    report: { soldBtc: '0.05000000', averagePrice: '5199000.00', grossRub: '259950.00', venueFeesRub: '259.95', liquidationFeeRub: '2599.50', netRub: '257090.55', collateralLeftBtc: '0.20000000' } },
  'risk.liquidation_cancelled': { from: 'liquidation', to: 'healthy', cause: 'liquidation', report: { cancelled: true } },
  'risk.improved': { from: 'warning', to: 'healthy', price: 900_000_000n, ltvMillionths: 444_445n },
  // Reminders and the early warning carry their facts (notices/reminders.ts), integers in text.
  'reminder.due': { facts: { dueDate: '2026-04-15', number: 2, principalKopecks: '7966123', interestKopecks: '1800000', totalKopecks: '9766123' } },
  'reminder.overdue': { facts: { overdueSince: '2026-04-16', days: 7, principalOverdueKopecks: '7966123', interestOverdueKopecks: '1800000', penaltyKopecks: '68363', totalKopecks: '9834486' } },
  'risk.early_warning': { facts: { priceKopecks: '740000000', ltvMillionths: '540541', earlyMillionths: '500000', warningMillionths: '600000', debtKopecks: '100000000', sats: '25000000', warningPriceKopecks: '666666666', callPriceKopecks: '571428571' } },
};

/** What each letter must say, in each language: the subject and phrases of its body. */
const EXPECT: Record<string, Record<'ru' | 'en', { subject: string; says: string[] }>> = {
  'risk.warning': {
    ru: { subject: 'Предупреждение по кредиту LN-7: LTV 66,6667 %', says: ['Цена BTC снизилась до 6 000 000,00 ₽', 'Если цена BTC опустится до 5 714 285,71 ₽, начнётся маржин-колл', '16.03.2026 10:05 МСК'] },
    en: { subject: 'Warning on loan LN-7: LTV 66.6667 %', says: ['BTC fell to 6,000,000.00 ₽', 'If BTC falls to 5,714,285.71 ₽, a margin call starts', '16 Mar 2026, 10:05 Moscow time'] },
  },
  'risk.margin_call': {
    // To the target (50%): 2,000,000 ₽ of cover at 5,500,000 ₽ is 0.36363637 BTC (rounded up), 0.11363637 more; or repay 1,000,000 − 687,500.
    // Out of the call (strictly under 65%): over 1,538,461.54 ₽ of cover is 0.27972028 BTC, 0.02972028 more; or owe under 893,750.00, repay 106,250.01.
    ru: { subject: 'Маржин-колл по кредиту LN-7: ответьте до 17.03.2026 15:30 МСК', says: ['внесите 0,11363637 BTC или погасите 312 500,00 ₽', 'Срок: 17.03.2026 15:30 МСК', 'Чтобы выйти из маржин-колла (LTV ниже 65 %): внесите 0,02972028 BTC или погасите 106 250,01 ₽', 'Подтвердите получение'] },
    en: { subject: 'Margin call on loan LN-7: respond by 17 Mar 2026, 15:30 Moscow time', says: ['add 0.11363637 BTC or repay 312,500.00 ₽', 'Deadline: 17 Mar 2026, 15:30 Moscow time', 'To leave the margin call (LTV under 65 %): add 0.02972028 BTC or repay 106,250.01 ₽', 'acknowledge this notice'] },
  },
  'risk.accelerated_call': {
    ru: { subject: 'Ускоренный маржин-колл по кредиту LN-7: ответьте до 17.03.2026 15:30 МСК', says: ['Если цена BTC опустится до 4 705 882,35 ₽, продажа начнётся сразу'] },
    en: { subject: 'Accelerated margin call on loan LN-7: respond by 17 Mar 2026, 15:30 Moscow time', says: ['If BTC falls to 4,705,882.35 ₽, the sale starts at once'] },
  },
  'risk.liquidation': {
    ru: { subject: 'Продажа залога по кредиту LN-7', says: ['Срок маржин-колла по кредиту LN-7 истёк, а LTV остался 76,9231 %'] },
    en: { subject: 'Collateral of loan LN-7 to be sold', says: ['The margin call on loan LN-7 ran out with the LTV still at 76.9231 %'] },
  },
  'risk.liquidated': {
    ru: { subject: 'Залог по кредиту LN-7 продан: отчёт', says: ['Банк продал 0,05000000 BTC', 'по средней цене 5 199 000,00 ₽', 'Зачтено в долг: 257 090,55 ₽', 'Остаток залога: 0,20000000 BTC'] },
    en: { subject: 'Collateral of loan LN-7 sold: the report', says: ['The bank sold 0.05000000 BTC', 'at an average price of 5,199,000.00 ₽', 'Applied to the debt: 257,090.55 ₽', 'Collateral left: 0.20000000 BTC'] },
  },
  'risk.liquidation_cancelled': {
    ru: { subject: 'Продажа залога по кредиту LN-7 отменена', says: ['уже не выше целевого'] },
    en: { subject: 'Sale of loan LN-7\'s collateral cancelled', says: ['no longer above its target'] },
  },
  'risk.improved': {
    ru: { subject: 'Кредит LN-7: LTV снизился до 44,4445 %', says: ['состояние «в норме» (было «предупреждение»)'] },
    en: { subject: 'Loan LN-7: LTV down to 44.4445 %', says: ['now healthy (was warning)'] },
  },
  'reminder.due': {
    ru: { subject: 'Кредит LN-7: платёж 97 661,23 ₽ до 15.04.2026', says: ['15.04.2026 наступает срок платежа № 2', 'Основной долг: 79 661,23 ₽', 'Проценты: 18 000,00 ₽', 'раздел «Платежи»'] },
    en: { subject: 'Loan LN-7: 97,661.23 ₽ due on 15 Apr 2026', says: ['Instalment no. 2 of loan LN-7 falls due on 15 Apr 2026', 'Principal: 79,661.23 ₽', 'under Payments'] },
  },
  'reminder.overdue': {
    ru: { subject: 'Просрочка по кредиту LN-7: 98 344,86 ₽', says: ['просрочен с 16.04.2026 (дней просрочки: 7)', 'включая пени 683,63 ₽'] },
    en: { subject: 'Loan LN-7 overdue: 98,344.86 ₽', says: ['overdue since 16 Apr 2026 (7 days)', 'penalties of 683.63 ₽ included'] },
  },
  'risk.early_warning': {
    ru: { subject: 'Кредит LN-7: LTV 54,0541 %, выше вашего порога 50 %', says: ['При цене BTC 7 400 000,00 ₽', 'Предупреждение банка придёт при LTV 60 % (цена BTC 6 666 666,66 ₽), маржин-колл — при цене 5 714 285,71 ₽'] },
    en: { subject: 'Loan LN-7: LTV 54.0541 %, above your threshold of 50 %', says: ['At 7,400,000.00 ₽ per BTC', 'The bank\'s warning comes at an LTV of 60 % (BTC at 6,666,666.66 ₽), a margin call at 5,714,285.71 ₽'] },
  },
};

/** Non-breaking spaces (between digits and before ₽) read as spaces in these expectations. */
const plain = (text: string) => text.replace(/\u00a0/g, ' ');

describe('notices as letters', () => {
  it('gives Moscow time whatever the server\'s zone, in each language\'s form', () => {
    expect(moscow(new Date('2026-12-31T22:15:00Z'), 'ru')).toBe('01.01.2027 01:15 МСК');
    expect(moscow(new Date('2026-12-31T22:15:00Z'), 'en')).toBe('1 Jan 2027, 01:15 Moscow time');
  });

  for (const lang of ['ru', 'en'] as const) {
    it(`sends every notice in ${lang === 'ru' ? 'Russian' : 'English'} by e-mail (text and HTML) and by Telegram, saying what to do and by when`, async () => {
      const mailer = emailSender(nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true }), 'risk@bank.example', 'bank.example', PORTAL);
      const telegram = telegramSender(telegramBot({ token: tg.token, apiUrl: tg.url }), PORTAL);
      for (const [topic, over] of Object.entries(CASES)) {
        const before = { mails: raw.length, messages: tg.sent.length };
        const m = message(topic, { ...over, language: lang });
        await mailer.send(m);
        const receipt = await telegram.send({ ...m, channel: 'telegram' });
        expect(receipt.messages, topic).toMatch(/^5551:\d+$/);
        expect(raw.length).toBe(before.mails + 1);
        const mail: ParsedMail = await simpleParser(raw.at(-1)!);
        const want = EXPECT[topic]![lang];
        expect(plain(mail.subject ?? ''), `${topic} ${lang}`).toBe(want.subject);
        expect(mail.headers.get('content-language')).toBe(lang);
        const text = plain(mail.text ?? '');
        const html = plain(mail.html === false ? '' : mail.html ?? '');
        const sent = tg.sent.at(-1)!;
        expect(sent.chatId).toBe(5551);
        expect(sent.parseMode).toBe('HTML');
        expect(wellFormedTelegramHtml(sent.text), sent.text).toBe(true);
        const chat = plain(sent.text).replace(/<[^>]+>/g, '').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
        for (const phrase of want.says) {
          expect(text, `${topic} ${lang} text`).toContain(phrase);
          expect(chat, `${topic} ${lang} Telegram`).toContain(phrase);
          // A fact's label and value sit in two cells of a row: read as "label: value".
          expect(html.replace(/<\/td><td[^>]*>/g, ': ').replace(/<[^>]+>/g, '').replace(/&quot;/g, '"').replace(/&amp;/g, '&'), `${topic} ${lang} HTML`).toContain(phrase);
        }
        // Every letter carries its time in Moscow time and a link to the loan's page in the portal.
        if (m.facts === null) expect(text).toContain(plain(moscow(AT, lang)));
        expect(text).toContain(`${PORTAL}/portal/loans/LN-7`);
        expect(html).toContain(`href="${PORTAL}/portal/loans/LN-7"`);
        expect(sent.text).toContain(`<a href="${PORTAL}/portal/loans/LN-7">`);
        // No UTC ISO stamps and no raw JSON reach the reader.
        expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T|\{"/);
        expect(chat).not.toMatch(/\d{4}-\d{2}-\d{2}T|\{"/);
        expect(tg.sent.length).toBe(before.messages + 1);
      }
    });
  }

  it('escapes what it did not write: a loan reference with markup stays text in HTML and Telegram', async () => {
    const telegram = telegramSender(telegramBot({ token: tg.token, apiUrl: tg.url }), PORTAL);
    await telegram.send(message('risk.warning', { loanRef: 'LN-<b>&"x', channel: 'telegram' }));
    const sent = tg.sent.at(-1)!;
    expect(wellFormedTelegramHtml(sent.text)).toBe(true);
    expect(sent.text).toContain('LN-&lt;b&gt;&amp;&quot;x');
  });
});
