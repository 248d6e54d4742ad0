import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openTestApp, TEST_PASSWORD, type TestApp } from '../src/test-support/app.js';
import { startHttpStub, type HttpStub } from '../src/test-support/http-stub.js';
import { testPriceService } from '../src/test-support/prices.js';
import { originate, seedLendingWorld } from '../src/test-support/loans.js';
import { RiskEngine } from '../src/risk/risk-engine.js';
import { PgRiskStore } from '../src/risk/risk-store.js';
import { bankCalendar } from '../src/calendar/load.js';
import type { PriceService } from '../src/prices/price-service.js';
import { startLocalChain, type LocalChain } from '../src/test-support/local-chain.js';
import { esploraBackend } from '../src/vaults/esplora.js';
import { generateSigningKey, parseSigningKey } from '../src/audit/checkpoint.js';
import { startTelegramServer, type TelegramTestServer } from '../src/test-support/telegram-server.js';
import { telegramBot, type TelegramBot } from '../src/notices/telegram.js';

/**
 * The console end to end: the service (the same app as `zalog serve`, on a test database, with
 * its web app) listening on a loopback port, a small lending world built through the API, a price
 * service whose three exchanges are a local stub, the risk engine moved by its cycles, and
 * Debian's Chromium driven by playwright-core (never a downloaded browser).
 */

export const WEB_ROOT = fileURLToPath(new URL('../web/dist', import.meta.url));
export const SCREENSHOTS = fileURLToPath(new URL('../test-results/screenshots', import.meta.url));
export const CHROMIUM = process.env.ZALOG_CHROMIUM ?? '/usr/bin/chromium';

export interface World {
  readonly t: TestApp;
  readonly url: string;
  readonly stub: HttpStub;
  readonly prices: PriceService;
  readonly risk: RiskEngine;
  /** The local chain the service's vaults live on (its Esplora-compatible API is the service's chain backend). */
  readonly chain: LocalChain;
  /** A local Telegram Bot API server, the bank's bot's (the bot's client talks to it). */
  readonly telegram: TelegramTestServer;
  readonly bot: TelegramBot;
  /** Quotes BTC/USD at `usd` on every exchange, runs a price cycle and moves the risk engine with it. */
  setPrice(usd: string): Promise<void>;
  /**
   * A new price cycle at the price quoted now: a step that needs a fresh price (an offer, a
   * disbursement: at most 120 s old) after long browser steps takes one, as the service's price
   * job would have every minute.
   */
  refreshPrice(): Promise<void>;
  /** Moves the service's clock (and the price service's) forward. */
  advance(seconds: number): void;
  close(): Promise<void>;
}

export async function openWorld(options: { loans?: number } = {}): Promise<World> {
  // The bank's day opens on a business day: on a weekend or holiday the world's clock starts on
  // the next business day (10:00 UTC), so a loan can be disbursed whatever day the suite runs.
  const calendar = await bankCalendar();
  const today = new Date().toISOString().slice(0, 10);
  const openDay = calendar.isBusinessDay(today) ? today : calendar.nextBusinessDay(today);
  let offsetMs = openDay === today ? 0 : Date.parse(`${openDay}T10:00:00Z`) - Date.now();
  const now = () => new Date(Date.now() + offsetMs);
  const stub = await startHttpStub();
  const chain = await startLocalChain();
  const telegram = await startTelegramServer({ username: 'zalog_bank_bot' });
  const bot = telegramBot({ token: telegram.token, apiUrl: telegram.url });
  const t = await openTestApp({ telegram: { bot, username: 'zalog_bank_bot' }, webRoot: WEB_ROOT, now, proofKey: parseSigningKey(generateSigningKey().privatePem, 'e2e proof key'), chain: { backend: esploraBackend({ baseUrl: chain.url }), feeFloorKvb: 1_000, feeCapKvb: 100_000, feeTargetBlocks: 6, deskAddress: undefined } });
  const names = ['ex-a', 'ex-b', 'ex-c'];
  let usd = '100000.00';
  for (const name of names) stub.set(`/${name}`, () => ({ body: JSON.stringify({ price: usd, time: now().toISOString() }) }));
  const prices = testPriceService({ db: t.test.db, sources: names.map((name) => ({ name, kind: 'coinbase', pair: 'BTC/USD', weight: 1, url: stub.url(`/${name}`) })), cbrUrl: stub.url('/cbr'), now });
  await prices.init();
  await prices.cycle();
  const risk = new RiskEngine(t.test.db, new PgRiskStore(t.test.db, calendar));
  await risk.rebuild();
  await seedLendingWorld(t, stub, { openDay, borrowers: ['B-1', 'B-2'] });
  for (let i = 0; i < (options.loans ?? 0); i += 1) {
    await originate(t, { borrower: i % 2 === 0 ? 'B-1' : 'B-2', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25000000' });
  }
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
  const setPrice = async (next: string) => {
    usd = next;
    const cycle = await prices.cycle();
    await risk.onCycle(cycle);
  };
  await setPrice(usd);
  return {
    t, url: address, stub, prices, risk, chain, telegram, bot, setPrice, refreshPrice: () => setPrice(usd),
    advance: (seconds) => { offsetMs += seconds * 1000; },
    close: async () => { await prices.stop(); await t.close(); await stub.close(); await chain.close(); await telegram.close(); },
  };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As the machine's probe runs it: no sandbox as root, and no background calls to Google's
    // hosts (this machine's network refuses them, and a test must not wait on them).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Logs in through the login form, in the language asked (Russian unless told). */
export async function logIn(browser: Browser, world: World, username: string, options: { locale?: 'ru' | 'en'; viewport?: { width: number; height: number } } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1366, height: 900 }, locale: options.locale === 'en' ? 'en-GB' : 'ru-RU', timezoneId: 'Asia/Vladivostok' });
  const page = await context.newPage();
  if (options.locale === 'en') await page.addInitScript(() => (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage.setItem('zalog.locale', 'en'));
  // The login form allows 20 tries a minute from one address, and a fast machine runs this file's
  // logins quicker than that: refused, a person waits the time the form gives and tries again.
  for (let attempt = 0; ; attempt += 1) {
    await page.goto(world.url);
    await page.locator('input[name="username"]').fill(username);
    await page.locator('input[name="password"]').fill(TEST_PASSWORD);
    await page.locator('button[type="submit"]').click();
    const limited = page.getByText(/try again in \d+ s/);
    // The wait that loses the race times out later on its own: caught, so it rejects nothing.
    const outcome = await Promise.race([
      page.getByTestId('nav').waitFor().then(() => 'in' as const, () => 'not in' as const),
      limited.waitFor().then(() => 'limited' as const, () => 'not in' as const),
    ]);
    if (outcome === 'in') return page;
    if (outcome === 'not in') throw new Error(`${username} could not log in: neither the console nor a refusal showed`);
    const message = await limited.innerText();
    if (attempt >= 2) throw new Error(`${username} could not log in: ${message}`);
    await page.waitForTimeout((Number(/try again in (\d+) s/.exec(message)![1]) + 1) * 1000);
  }
}

/** The console's menu: the paths of its links, in order. */
export async function menu(page: Page): Promise<string[]> {
  return page.getByTestId('nav').locator('a').evaluateAll((links) => links.map((link) => new URL((link as unknown as { href: string }).href).pathname));
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  // Charts load their code after the page's first paint (LazyChart): the picture waits for them
  // to be drawn and for the page's reads to settle, as a reader would see it a moment later.
  await page.locator('[data-chart-pending]').first().waitFor({ state: 'detached' });
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}
