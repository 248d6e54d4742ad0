/**
 * Screenshots of a running demo bank's console, as its users see it, for the README:
 *
 *   npm run demo > demo.log &            # wait for "Loans:" in demo.log, and a few minutes of crash
 *   npx tsx scripts/demo-screenshots.ts demo.log docs/screenshots
 *
 * Reads the address and the printed passwords from the demo's output; drives Debian's Chromium.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const [logFile, outDir = 'docs/screenshots'] = process.argv.slice(2);
if (logFile === undefined) throw new Error('usage: tsx scripts/demo-screenshots.ts DEMO_LOG [OUT_DIR]');
const log = await readFile(logFile, 'utf8');
const url = /zalog demo bank: (http:\/\/\S+)/.exec(log)?.[1];
if (url === undefined) throw new Error('no demo address in the log');
const passwords = new Map([...log.matchAll(/^ {4}(\S+)\s+(\S+)\s{3}/gm)].map((m) => [m[1]!, m[2]!]));
await mkdir(outDir, { recursive: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
const shots: Array<{ user: string; path: string; name: string; phone?: boolean; locale?: 'en' }> = [
  { user: 'risk', path: '/portfolio', name: 'portfolio' },
  { user: 'risk', path: '/inbox', name: 'inbox' },
  { user: 'risk', path: '/loans', name: 'loans' },
  { user: 'officer', path: '/borrowers/SEVER-HASH', name: 'borrower' },
  { user: 'risk', path: '/risk', name: 'risk', locale: 'en' },
  { user: 'miner-petrov', path: '/portal', name: 'portal-phone', phone: true },
];
for (const shot of shots) {
  const context = await browser.newContext({ viewport: shot.phone ? { width: 390, height: 844 } : { width: 1366, height: 900 }, locale: 'ru-RU' });
  const page = await context.newPage();
  if (shot.locale === 'en') await page.addInitScript(() => (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem('zalog.locale', 'en'));
  await page.goto(url);
  await page.locator('input[name="username"]').fill(shot.user);
  await page.locator('input[name="password"]').fill(passwords.get(shot.user)!);
  await page.locator('button[type="submit"]').click();
  await page.getByTestId('nav').waitFor();
  await page.goto(`${url}${shot.path}`);
  await page.waitForTimeout(2_500); // charts draw after their data: a picture, not a test
  await page.screenshot({ path: `${outDir}/${shot.name}.png`, fullPage: !shot.phone });
  await context.close();
}
await browser.close();
