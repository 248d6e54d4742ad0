import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { launch, logIn, menu, openWorld, screenshot, type World } from './world.js';
import { makeTransaction, otherScript, testKey } from '../src/test-support/bitcoin.js';
import { startLocalChain } from '../src/test-support/local-chain.js';
import { AddressChain, parseDescriptor } from '../src/vaults/descriptor.js';
import { esploraBackend } from '../src/vaults/esplora.js';
import { VaultWatcher } from '../src/vaults/watcher.js';

/**
 * The staff console in Debian's Chromium: who sees which screens, the four-eyes path from an
 * application to a disbursed loan through the inbox, a price fall that opens a margin call, a
 * borrower kept out of the staff pages, both languages on every main page, and axe-core's
 * accessibility rules. Screenshots of the main pages go to test-results/screenshots.
 */

let world: World;
let browser: Browser;

beforeAll(async () => {
  world = await openWorld({ loans: 2 });
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await world?.close();
});

const MAIN_PAGES = ['/portfolio', '/inbox', '/loans', '/loans/LN-1', '/borrowers', '/borrowers/B-1', '/borrowers/B-1/apply', '/risk', '/books', '/audit'];

/** Waits for a page's data: no loader left and no error shown. */
async function settled(page: Page): Promise<void> {
  await page.locator('main').waitFor();
  await expect.poll(async () => (await page.locator('.mantine-Loader-root').count()) + (await page.locator('main').innerText()).length > 0 && (await page.locator('.mantine-Loader-root').count()) === 0, { timeout: 20_000 }).toBe(true);
}

describe('the staff console', () => {
  it('shows each role its own screens and no other', async () => {
    const expected: Record<string, string[]> = {
      officer: ['/portfolio', '/inbox', '/loans', '/borrowers', '/risk', '/books'],
      risk: ['/portfolio', '/inbox', '/loans', '/borrowers', '/risk', '/books', '/audit'],
      treasury: ['/portfolio', '/inbox', '/loans', '/borrowers', '/risk', '/books'],
      auditor: ['/portfolio', '/inbox', '/loans', '/borrowers', '/risk', '/books', '/audit'],
      admin: ['/inbox', '/loans', '/audit', '/admin'],
      borrower1: ['/portal'],
    };
    for (const [user, screens] of Object.entries(expected)) {
      const page = await logIn(browser, world, user);
      expect(await menu(page), user).toEqual(screens);
      // A screen the role lacks, opened by its address, says so and shows nothing of it.
      const forbidden = ['/admin', '/audit', '/portfolio', '/borrowers'].find((path) => !screens.includes(path))!;
      await page.goto(`${world.url}${forbidden}`);
      await page.getByTestId('no-access').waitFor();
      await page.context().close();
    }
  });

  it('keeps a borrower out of the staff pages, in the browser and at the API', async () => {
    const page = await logIn(browser, world, 'borrower1', { viewport: { width: 390, height: 844 } });
    await page.waitForURL(/\/portal$/);
    await settled(page);
    await screenshot(page, 'portal-phone-ru');
    for (const path of ['/portfolio', '/inbox', '/loans', '/loans/LN-1', '/borrowers/B-1', '/risk', '/books']) {
      await page.goto(`${world.url}${path}`);
      await page.getByTestId('no-access').waitFor();
    }
    const answers = await page.evaluate(async () => Promise.all(['/api/v1/loans', '/api/v1/portfolio', '/api/v1/inbox'].map(async (url) => (await fetch(url)).status)));
    expect(answers).toEqual([403, 403, 403]);
    await page.context().close();
  });

  it('takes an application to a disbursed loan through four eyes', async () => {
    const officer = await logIn(browser, world, 'officer');
    await officer.goto(`${world.url}/borrowers/B-1/apply`);
    await officer.getByTestId('amount').fill('750000.00');
    await officer.getByTestId('collateral').fill('0.20000000');
    await officer.getByTestId('compute-offer').click();
    await officer.getByTestId('offer').waitFor();
    await expect.poll(() => officer.getByTestId('collateral-required').textContent()).toMatch(/^0,\d{8}\u00a0BTC$/);
    await screenshot(officer, 'application-ru');
    await officer.getByTestId('propose').click();
    await officer.getByTestId('propose-confirm').click();
    const proposedText = await officer.getByTestId('proposed').textContent();
    const proposalId = /№ (\d+)/.exec(proposedText ?? '')?.[1];
    expect(proposalId).toBeDefined();
    // The maker does not see its own proposal to approve.
    await officer.goto(`${world.url}/inbox`);
    await settled(officer);
    expect(await officer.getByTestId(`proposal-${proposalId}`).count()).toBe(0);
    await officer.context().close();

    const checker = await logIn(browser, world, 'officer2');
    await checker.goto(`${world.url}/inbox`);
    await checker.getByTestId(`approve-${proposalId}`).click();
    await checker.getByTestId(`approve-${proposalId}-confirm`).click();
    await expect.poll(() => checker.getByTestId(`proposal-${proposalId}`).count()).toBe(0);
    await checker.context().close();

    const loans = (await world.t.as('officer').get('/api/v1/loans?status=approved')).json().loans as Array<{ ref: string }>;
    expect(loans).toHaveLength(1);
    const ref = loans[0]!.ref;

    const treasury = await logIn(browser, world, 'treasury');
    await treasury.goto(`${world.url}/loans/${ref}`);
    await treasury.getByTestId('declare-collateral').click();
    await treasury.getByTestId('declare-btc').fill('0.20000000');
    await treasury.getByTestId('declare-collateral-confirm').click();
    await treasury.getByRole('tab', { name: 'Залог' }).click();
    const confirm = treasury.locator('[data-testid^="confirm-position-"]');
    await confirm.click();
    await treasury.getByTestId('custodian-ref').fill(`CUST-${ref}`);
    await treasury.locator('[data-testid^="confirm-position-"][data-testid$="-confirm"]').click();
    await treasury.context().close();

    const treasury2 = await logIn(browser, world, 'treasury2');
    await treasury2.goto(`${world.url}/inbox`);
    const approve = treasury2.locator('[data-testid^="approve-"]').first();
    await approve.click();
    await treasury2.locator('[data-testid$="-confirm"]').click();
    await expect.poll(() => treasury2.locator('[data-testid^="proposal-"]').count()).toBe(0);
    await treasury2.context().close();

    const disburser = await logIn(browser, world, 'officer');
    await disburser.goto(`${world.url}/loans/${ref}`);
    await disburser.getByTestId('disburse').click();
    await disburser.getByTestId('disburse-confirm').click();
    await expect.poll(() => disburser.getByText('Действует').count()).toBeGreaterThan(0);
    await disburser.context().close();
    expect((await world.t.as('officer').get(`/api/v1/loans/${ref}`)).json().status).toBe('active');
  });

  it('shows a margin call in the inbox and on the loan, with its deadline', async () => {
    // BTC falls from 100,000 to 69,500 USD in steps under the breaker's 10% an hour, an hour and more apart.
    for (const usd of ['93000.00', '86500.00', '80500.00', '75000.00', '69500.00']) {
      world.advance(3_700);
      await world.setPrice(usd);
    }
    const page = await logIn(browser, world, 'risk');
    await page.goto(`${world.url}/inbox`);
    const calls = page.getByTestId('inbox-calls');
    await calls.getByRole('link', { name: 'LN-1' }).waitFor();
    await expect.poll(() => calls.getByTestId('countdown').first().textContent()).toMatch(/\d+\u00a0ч \d{2}\u00a0мин/);
    await screenshot(page, 'inbox-ru');
    await calls.getByRole('link', { name: 'LN-1' }).click();
    await page.getByTestId('loan-call').waitFor();
    expect(await page.getByTestId('loan-call').textContent()).toMatch(/Срок довнесения залога: \d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}\u00a0МСК/);
    await screenshot(page, 'loan-call-ru');
    await page.context().close();
  });

  it('shows a loan\'s on-chain vault: its deposit address, descriptor and each coin\'s confirmations, in both languages', async () => {
    // Treasury makes LN-2's vault through the API (four eyes); a deposit confirms on a local chain.
    const keys = [testKey(31), testKey(32), testKey(33)].map((key, i) => ({ role: ['borrower', 'bank', 'agent'][i], xpub: key.xpub, fingerprint: key.fingerprint, originPath: key.originPath }));
    const proposed = await world.t.as('treasury').post('/api/v1/loans/LN-2/vault', { mode: 'collaborative', network: 'regtest', threshold: 2, keys, confirmations: 2 });
    expect(proposed.statusCode, proposed.body).toBe(202);
    const approved = await world.t.as('treasury2').post(`/api/v1/approvals/${proposed.json().id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    const descriptor = approved.json().result.descriptor as string;
    const chain = await startLocalChain();
    try {
      const vault = new AddressChain(parseDescriptor(descriptor, 'regtest'));
      chain.mine([makeTransaction([{ txid: 'cd'.repeat(32), vout: 0 }], [{ script: Buffer.from(vault.at(0).scriptPubKey, 'hex'), sats: 5_000_000n }, { script: otherScript(1), sats: 1_000n }])]);
      chain.mine();
      chain.mine([makeTransaction([{ txid: 'ce'.repeat(32), vout: 0 }], [{ script: Buffer.from(vault.at(1).scriptPubKey, 'hex'), sats: 1_250_000n }])]);
      await new VaultWatcher({ db: world.t.test.db, backend: esploraBackend({ baseUrl: chain.url }), now: () => new Date(), startHeight: 1 }).sync();
    } finally {
      await chain.close();
    }
    for (const locale of ['ru', 'en'] as const) {
      const page = await logIn(browser, world, 'treasury', { locale });
      await page.goto(`${world.url}/loans/LN-2`);
      await page.getByRole('tab', { name: locale === 'ru' ? 'Залог' : 'Collateral' }).click();
      const panel = page.getByTestId('vault');
      await panel.waitFor();
      expect(await page.getByTestId('vault-descriptor').textContent()).toBe(descriptor);
      expect(await page.getByTestId('vault-address').textContent()).toMatch(/^bcrt1q[a-z0-9]{58}$/);
      expect(await page.getByTestId('vault-counted').textContent()).toMatch(locale === 'ru' ? /0,05000000\sBTC/ : /0\.05000000\sBTC/);
      const rows = await page.getByTestId('vault-coins').locator('tbody tr').allInnerTexts();
      expect(rows).toHaveLength(2);
      expect(rows.join('\n')).toMatch(locale === 'ru' ? /3 \/ 2\s+Зачтена[\s\S]*1 \/ 2\s+Ждёт подтверждений/ : /3 \/ 2\s+Counted[\s\S]*1 \/ 2\s+Waiting for confirmations/);
      await screenshot(page, `loan-vault-${locale}`);
      const results = await new AxeBuilder({ page }).analyze();
      expect(results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
      await page.context().close();
    }
  }, 120_000);

  it('renders every main page in Russian and in English, with no serious accessibility violation', async () => {
    for (const locale of ['ru', 'en'] as const) {
      const page = await logIn(browser, world, 'risk', { locale });
      for (const path of MAIN_PAGES) {
        await page.goto(`${world.url}${path}`);
        await settled(page);
        const text = await page.locator('main').innerText();
        expect(text.length, `${locale} ${path}`).toBeGreaterThan(20);
        expect(await page.getByTestId('no-access').count(), `${locale} ${path}`).toBe(path === '/borrowers/B-1/apply' ? 1 : 0);
        // Russian pages show Russian money; English ones English money; neither shows a raw key.
        expect(text, `${locale} ${path}`).not.toMatch(/\b(nav|common|portfolio|loan|inbox|risk|books|audit)\.[a-zA-Z]+\b/);
        const name = `${path.replace(/^\//, '').replace(/\//g, '-') || 'home'}-${locale}`;
        await screenshot(page, name);
        const results = await new AxeBuilder({ page }).analyze();
        const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        expect(serious.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')} ${JSON.stringify(n.any[0]?.data ?? {})}`).join(', ')}`), `${locale} ${path}`).toEqual([]);
      }
      await page.context().close();
    }
  }, 300_000);
});
