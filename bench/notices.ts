/**
 * `npm run bench:notices [-- --loans N] [-- --engine pglite|postgres]` (default N = 10,000)
 *
 * Issue 19: a price tick that moves 1% of 1,000,000 loans into a margin call writes every notice
 * into the outbox within the tick (bench:risk measures that, tick_e2e_ms); here, those notices are
 * delivered, and the figure is how fast.
 *
 * N loans (1,000,000.00 RUB against 0.25 BTC each, ten per borrower) are seeded; each borrower has
 * an e-mail address and a webhook, and one representative with a linked Telegram chat, so each
 * transition has three notices (webhook, e-mail, Telegram). The engine is moved from 8,000,000.00 to
 * 5,600,000.00 RUB/BTC (LTV 50% to 71.4%: every loan into the call), then the service's outbox
 * worker (`deliverDue`, its default lanes, rounds of 200) runs until the outbox is empty,
 * against three local servers in this process: an HTTP receiver for the webhooks, an SMTP server
 * (smtp-server, reached through nodemailer's pool as `zalog serve` reaches its relay) and a local
 * Telegram Bot API server. Every letter is rendered (in Russian) as the miners would get it.
 *
 * notices_per_s: notices delivered (all three channels) over the seconds from the first round to
 * the empty outbox. Goal >= 200. The script then checks that every row is delivered and that each
 * server received exactly its share.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { loadCalendar } from '../src/calendar/load.js';
import { seedLoans } from '../src/loans/seed.js';
import type { PriceKopecksPerBtc } from '../src/money/money.js';
import { telegramBot } from '../src/notices/telegram.js';
import { deliverDue, emailSender, telegramSender, webhookSender } from '../src/risk/outbox.js';
import { RiskEngine } from '../src/risk/risk-engine.js';
import { PgRiskStore } from '../src/risk/risk-store.js';
import { startTelegramServer } from '../src/test-support/telegram-server.js';
import { benchEngines, integerOption, machine, openBenchDatabase, printBench } from './bench-support.js';

const argv = process.argv.slice(2);
const loans = integerOption(argv, 'loans', 10_000);
const PORTAL = 'https://zalog.bank.example';

console.log(`notices benchmark on ${machine()}: ${loans} loans into a margin call, three notices each`);

// The receivers.
let hooks = 0;
const web = createServer((req, res) => {
  req.resume();
  req.on('end', () => { hooks += 1; res.writeHead(200).end('ok'); });
});
await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
const hookUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/zalog`;
let mails = 0;
const smtp = new SMTPServer({
  authOptional: true, disabledCommands: ['STARTTLS'], logger: false, maxClients: 64,
  onData(stream, _session, callback) {
    stream.resume();
    stream.on('end', () => { mails += 1; callback(); });
  },
});
await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
const smtpPort = (smtp.server.address() as AddressInfo).port;
const tg = await startTelegramServer();

const calendar = await loadCalendar();
for (const engine of benchEngines(argv)) {
  const bench = await openBenchDatabase(engine);
  const { db } = bench;
  try {
    hooks = 0; mails = 0; tg.sent.length = 0;
    let started = performance.now();
    await seedLoans(db, { count: loans, disbursedOn: '2026-01-15', calendar, prefix: 'notice', loansPerBorrower: 10 });
    const [system] = await db.query<{ id: bigint }>(`SELECT id FROM users WHERE 'system' = ANY (roles)`);
    await db.query(`INSERT INTO risk_contacts (borrower_id, email, webhook_url, webhook_secret, updated_at, updated_by)
                    SELECT id, 'cfo-' || id || '@farm.example', $1, repeat('s', 40), now(), $2 FROM borrowers`, [hookUrl, system!.id]);
    // One representative per borrower, its chat linked to the bank's bot.
    await db.query(`INSERT INTO users (username, display_name, password_hash, roles, borrower_id)
                    SELECT 'rep-' || id, 'Rep ' || ref, '!', ARRAY['borrower'], ref FROM borrowers`);
    await db.query(`INSERT INTO telegram_links (user_id, chat_id, username, linked_at) SELECT id, 1000000 + id, NULL, now() FROM users WHERE username LIKE 'rep-%'`);
    console.log(`${engine}: seeded ${loans} loans in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const risk = new RiskEngine(db, new PgRiskStore(db, calendar));
    await risk.rebuild();
    const at = new Date();
    await risk.onPrice({ price: 800_000_000n as PriceKopecksPerBtc, cycleId: undefined, at });
    started = performance.now();
    await risk.onPrice({ price: 560_000_000n as PriceKopecksPerBtc, cycleId: undefined, at });
    const [{ n: queued } = { n: 0n }] = await db.query<{ n: bigint }>(`SELECT count(*) AS n FROM risk_outbox WHERE status = 'pending'`);
    console.log(`${engine}: the tick called ${loans} loans and queued ${queued} notices in ${(performance.now() - started).toFixed(0)} ms`);
    if (queued !== BigInt(loans * 3)) throw new Error(`expected ${loans * 3} notices queued, found ${queued}`);

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 4, maxMessages: Infinity });
    const senders = {
      webhook: webhookSender({ timeoutMs: 10_000, now: () => new Date(), policy: { allowHttp: true, allow: ['127.0.0.0/8'] } }),
      email: emailSender(transport, 'risk@bank.example', 'bank.example', PORTAL),
      telegram: telegramSender(telegramBot({ token: tg.token, apiUrl: tg.url }), PORTAL),
    };
    started = performance.now();
    let delivered = 0;
    for (;;) {
      const round = await deliverDue(db, { senders, now: () => new Date(), batch: 200 });
      if (round.retried + round.dead > 0) throw new Error(`a delivery failed: ${JSON.stringify(round)}`);
      if (round.delivered === 0) break;
      delivered += round.delivered;
    }
    const seconds = (performance.now() - started) / 1000;
    transport.close();
    const [left] = await db.query<{ n: bigint }>(`SELECT count(*) AS n FROM risk_outbox WHERE status <> 'delivered'`);
    if (left!.n !== 0n || delivered !== loans * 3 || hooks !== loans || mails !== loans || tg.sent.length !== loans) {
      throw new Error(`not all delivered: ${left!.n} rows left; ${hooks} webhooks, ${mails} mails, ${tg.sent.length} Telegram messages for ${loans} loans`);
    }
    console.log(`${engine}: delivered ${delivered} notices (${hooks} webhooks, ${mails} e-mails, ${tg.sent.length} Telegram messages) in ${seconds.toFixed(1)} s`);
    printBench({ name: 'notices', metric: 'notices_per_s', value: Math.round(delivered / seconds), unit: 'notices/s', engine, goal: '>= 200' });
  } finally {
    await bench.dispose();
  }
}
await new Promise<void>((resolve) => web.close(() => resolve()));
await new Promise<void>((resolve) => smtp.close(() => resolve()));
await tg.close();
