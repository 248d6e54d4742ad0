import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { launch, logIn, menu, openWorld, screenshot, type World } from './world.js';
import { FIXED_PRODUCT, originate } from '../src/test-support/loans.js';
import { makeTransaction, otherScript, signPsbt, testKey } from '../src/test-support/bitcoin.js';
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

/** The chain watcher of the world's local chain (the tests run its rounds; the service's job is not scheduled in tests). */
const watcher = () => new VaultWatcher({ db: world.t.test.db, backend: esploraBackend({ baseUrl: world.chain.url }), now: () => new Date(), startHeight: 1 });
const MAIN_PAGES = ['/portfolio', '/inbox', '/loans', '/loans/LN-1', '/borrowers', '/borrowers/B-1', '/borrowers/B-1/apply', '/risk', '/exposure', '/books', '/audit'];

/** Waits for a page's data: no loader left and no error shown. */
async function settled(page: Page): Promise<void> {
  await page.locator('main').waitFor();
  await expect.poll(async () => (await page.locator('.mantine-Loader-root').count()) + (await page.locator('main').innerText()).length > 0 && (await page.locator('.mantine-Loader-root').count()) === 0, { timeout: 20_000 }).toBe(true);
}

describe('the staff console', () => {
  it('shows each role its own screens and no other', async () => {
    const expected: Record<string, string[]> = {
      officer: ['/portfolio', '/inbox', '/loans', '/borrowers', '/risk', '/exposure', '/books', '/proof'],
      risk: ['/portfolio', '/inbox', '/loans', '/borrowers', '/risk', '/exposure', '/books', '/audit', '/proof'],
      treasury: ['/portfolio', '/inbox', '/loans', '/borrowers', '/risk', '/exposure', '/books', '/proof'],
      auditor: ['/portfolio', '/inbox', '/loans', '/borrowers', '/risk', '/exposure', '/books', '/audit', '/proof'],
      admin: ['/inbox', '/loans', '/audit', '/proof', '/admin'],
      borrower1: ['/portal', '/portal/apply', '/portal/money', '/portal/notices', '/proof'],
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
    for (const path of ['/portfolio', '/inbox', '/loans', '/loans/LN-1', '/borrowers/B-1', '/risk', '/exposure', '/books']) {
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
    const { chain } = world;
    const vault = new AddressChain(parseDescriptor(descriptor, 'regtest'));
    chain.mine([makeTransaction([{ txid: 'cd'.repeat(32), vout: 0 }], [{ script: Buffer.from(vault.at(0).scriptPubKey, 'hex'), sats: 5_000_000n }, { script: otherScript(1), sats: 1_000n }])]);
    chain.mine();
    chain.mine([makeTransaction([{ txid: 'ce'.repeat(32), vout: 0 }], [{ script: Buffer.from(vault.at(1).scriptPubKey, 'hex'), sats: 1_250_000n }])]);
    await watcher().sync();
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
      expect(rows.join('\n')).toMatch(locale === 'ru' ? /Внесение[\s\S]*3 \/ 2\s+Зачтена[\s\S]*Выплата пула[\s\S]*1 \/ 2\s+Ждёт подтверждений/ : /Deposit[\s\S]*3 \/ 2\s+Counted[\s\S]*Pool payout[\s\S]*1 \/ 2\s+Waiting for confirmations/);
      await screenshot(page, `loan-vault-${locale}`);
      const results = await new AxeBuilder({ page }).analyze();
      expect(results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
      await page.context().close();
    }
  }, 120_000);

  it('walks a vault spend in the console: treasury proposes, signed PSBTs are uploaded, finalised and broadcast; the proof of collateral checks in the browser', async () => {
    // The price back where LN-2's vault holds more than its target LTV needs (the margin-call test took it down).
    for (const usd of ['75000.00', '80500.00', '86500.00', '93000.00', '100000.00']) {
      world.advance(3_700);
      await world.setPrice(usd);
    }
    expect((await world.t.as('borrower2').post('/api/v1/loans/LN-2/vault/release-address', { address: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080' })).statusCode).toBe(200);
    const approvePending = async (action: string) => {
      const [pending] = await world.t.test.db.query<{ id: bigint }>(`SELECT id FROM approvals WHERE status = 'pending' AND action_type = $1 ORDER BY id DESC LIMIT 1`, [action]);
      const approved = await world.t.as('treasury2').post(`/api/v1/approvals/${pending!.id}/approve`, {});
      expect(approved.statusCode, approved.body).toBe(200);
    };
    const page = await logIn(browser, world, 'treasury');
    const open = async () => {
      await page.goto(`${world.url}/loans/LN-2`);
      await page.getByRole('tab', { name: 'Залог' }).click();
      await page.getByTestId('vault-spends').waitFor();
    };
    await open();
    await page.getByTestId('spend-new').click();
    await page.getByTestId('spend-btc').fill('0,01');
    await page.getByTestId('spend-new-confirm').click();
    await expect.poll(async () => (await world.t.test.db.query(`SELECT 1 FROM approvals WHERE status = 'pending' AND action_type = 'vault.spend'`)).length).toBe(1);
    await approvePending('vault.spend');
    await open();
    const [spend] = await world.t.test.db.query<{ id: bigint }>('SELECT id FROM vault_spends ORDER BY id DESC LIMIT 1');
    const id = spend!.id.toString();
    expect(await page.getByTestId(`spend-${id}-state`).textContent()).toBe('Ждёт подписей');
    // The borrower and the bank sign in their wallets; treasury uploads each signed PSBT (pasted as base64).
    for (const key of [testKey(31), testKey(32)]) {
      const unsigned = (await world.t.as('treasury').get(`/api/v1/loans/LN-2/vault/spends/${id}/psbt`)).json().psbt as string;
      await page.getByTestId(`spend-${id}-upload`).click();
      await page.getByTestId('spend-paste').fill(signPsbt(unsigned, key));
      await page.getByTestId(`spend-${id}-upload-confirm`).click();
      await expect.poll(() => page.getByTestId(`spend-${id}-signers`).textContent()).toContain(key.fingerprint);
    }
    await page.getByTestId(`spend-${id}-finalise`).click();
    await page.getByTestId(`spend-${id}-finalise-confirm`).click();
    await expect.poll(async () => (await world.t.test.db.query(`SELECT 1 FROM approvals WHERE status = 'pending' AND action_type = 'vault.spend.finalise'`)).length).toBe(1);
    await approvePending('vault.spend.finalise');
    await open();
    await page.getByTestId(`spend-${id}-broadcast`).click();
    await page.getByTestId(`spend-${id}-broadcast-confirm`).click();
    await expect.poll(() => page.getByTestId(`spend-${id}-state`).textContent()).toBe('Отправлен в сеть');
    expect(world.chain.mempool()).toHaveLength(1);
    world.chain.mine();
    world.chain.mine();
    await watcher().sync();
    await page.context().close();
    for (const locale of ['ru', 'en'] as const) {
      const reader = await logIn(browser, world, 'treasury', { locale });
      await reader.goto(`${world.url}/loans/LN-2`);
      await reader.getByRole('tab', { name: locale === 'ru' ? 'Залог' : 'Collateral' }).click();
      await expect.poll(() => reader.getByTestId(`spend-${id}-state`).textContent()).toBe(locale === 'ru' ? 'Подтверждён и проведён' : 'Confirmed and booked');
      // The fee rate in the reader's number format (8.137 sat/vB: a decimal comma in Russian, a point in English).
      expect(await reader.getByTestId(`spend-${id}`).textContent()).toContain(locale === 'ru' ? '8,137 сат/vB' : '8.137 sat/vB');
      await screenshot(reader, `loan-vault-spend-${locale}`);
      const proofRef = (await world.t.as('treasury').get('/api/v1/loans/LN-2/vault')).json().proofRef as string;
      await reader.goto(`${world.url}/proof?ref=${proofRef}`);
      await expect.poll(() => reader.getByTestId('proof-signature').textContent()).toMatch(locale === 'ru' ? /Подпись банка верна/ : /signature holds/);
      await reader.getByTestId(`proof-${proofRef}`).waitFor();
      await screenshot(reader, `proof-${locale}`);
      const results = await new AxeBuilder({ page: reader }).analyze();
      expect(results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
      await reader.context().close();
    }
  }, 180_000);

  it('shows the miner its vault on a phone: the deposit QR code, how to verify, its key challenge signed and uploaded', async () => {
    const vault = (await world.t.as('treasury').get('/api/v1/loans/LN-2/vault')).json();
    for (const locale of ['ru', 'en'] as const) {
      const page = await logIn(browser, world, 'borrower2', { locale, viewport: { width: 390, height: 844 } });
      await page.goto(`${world.url}/portal/loans/LN-2`);
      const mine = page.getByTestId('portal-vault-LN-2');
      await mine.waitFor();
      expect(await page.getByTestId('deposit-address').textContent()).toBe(vault.depositAddress);
      expect(await page.getByTestId('deposit-qr').getAttribute('data-uri')).toBe(`bitcoin:${vault.depositAddress}`);
      expect(await page.getByTestId('release-address').textContent()).toBe('bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080');
      if (locale === 'ru') {
        // The key challenge, signed in the borrower's wallet and pasted back: the request to prove the key goes away.
        await page.getByTestId('key-proof').waitFor();
        const challenge = (await world.t.as('borrower2').get('/api/v1/loans/LN-2/vault/key-challenge')).json().psbt as string;
        await page.getByTestId('key-proof-upload').click();
        await page.getByTestId('key-proof-paste').fill(signPsbt(challenge, testKey(31)));
        await page.getByTestId('key-proof-upload-confirm').click();
        await expect.poll(() => page.getByTestId('key-proof').count()).toBe(0);
        expect((await world.t.as('treasury').get('/api/v1/loans/LN-2/vault')).json().borrowerKey.provenAt).not.toBeNull();
      }
      await screenshot(page, `portal-vault-phone-${locale}`);
      const results = await new AxeBuilder({ page }).analyze();
      expect(results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`)).toEqual([]);
      await page.context().close();
    }
  }, 120_000);

  it('shows the book against the bank\'s capital and limits, and takes a limit changed by one risk officer and approved by another', async () => {
    const risk = await logIn(browser, world, 'risk');
    await risk.goto(`${world.url}/exposure`);
    await settled(risk);
    await risk.getByTestId('exposure-recompute').click();
    await risk.getByTestId('exposure-recompute-confirm').click();
    await expect.poll(() => risk.getByTestId('exposure-book').textContent()).toMatch(/₽ · \d+,\d{2}\s?%$/);
    expect(await risk.getByTestId('exposure-limits').locator('tbody tr').count()).toBe(4);
    await screenshot(risk, 'exposure-book-ru');
    await risk.getByRole('tab', { name: 'Правила' }).click();
    await risk.getByTestId('propose-limit').click();
    await risk.getByLabel('Мягкий, % капитала').fill('0.8');
    await risk.getByLabel('Жёсткий, % капитала').fill('1.6');
    await risk.getByLabel('Основание').fill('Письмо Банка России (e2e)');
    await risk.getByLabel('Причина').fill('сужаем лимит портфеля');
    await risk.getByTestId('propose-limit-confirm').click();
    await risk.context().close();

    const checker = await logIn(browser, world, 'risk2');
    await checker.goto(`${world.url}/inbox`);
    await checker.locator('[data-testid^="proposal-"]', { hasText: 'limit for crypto_book' }).locator('[data-testid^="approve-"]').click();
    await checker.locator('[data-testid$="-confirm"]').click();
    await expect.poll(() => checker.locator('[data-testid^="proposal-"]', { hasText: 'limit for crypto_book' }).count()).toBe(0);
    await checker.goto(`${world.url}/exposure`);
    await checker.getByRole('tab', { name: 'Правила' }).click();
    await expect.poll(() => checker.getByTestId('rules-limits').locator('tbody tr').first().innerText()).toMatch(/0,80\s?%.*1,60\s?%/s);
    await screenshot(checker, 'exposure-rules-ru');
    await checker.context().close();

    const english = await logIn(browser, world, 'auditor', { locale: 'en' });
    await english.goto(`${world.url}/exposure`);
    await settled(english);
    await english.getByTestId('exposure-book').waitFor();
    await screenshot(english, 'exposure-book-en');
    await english.getByRole('tab', { name: 'By day' }).click();
    await english.getByTestId('exposure-history').waitFor();
    await screenshot(english, 'exposure-history-en');
    // The sales of pledged BTC by legal channel, with which channels are allowed today.
    await english.goto(`${world.url}/risk`);
    await english.getByRole('tab', { name: 'Sales by channel' }).click();
    await english.getByTestId('sales-by-channel').waitFor();
    await expect.poll(() => english.getByText('Experimental legal regime: allowed').count()).toBe(1);
    await screenshot(english, 'risk-sales-en');
    await english.context().close();
  });

  it('shows a loan\'s pledged machines beside its BTC, in both languages, on the console and on the miner\'s phone', async () => {
    // Through the API: a product counting machines for 20% of the cover, 15 machines of B-2 with
    // serial numbers, the bank's price index, a revaluation, and a loan pledging them.
    const { t } = world;
    expect((await t.as('admin').post('/api/v1/loan-products', { code: 'EQ', terms: { ...FIXED_PRODUCT, name: 'Fixed 23.5% with machines', collateral: { ...FIXED_PRODUCT.collateral, equipment: { maxSharePercent: '20', stressPercent: '50' } } } })).statusCode).toBe(201);
    const site = (await t.as('officer').get('/api/v1/borrowers/B-2/sites')).json().sites[0].id;
    const machines = await t.as('officer').post(`/api/v1/borrowers/B-2/sites/${site}/machines`, { model: 'Antminer S21 XP', count: 15, serials: Array.from({ length: 15 }, (_, i) => `E2E-${i}`), installedOn: '2025-05-01' });
    expect(machines.statusCode, machines.body).toBe(201);
    expect((await t.as('risk').inject({ method: 'PUT', url: '/api/v1/equipment/price-index/2025-11-01', payload: { below19: '25.70', from19to25: '12.00', from25to38: '5.00', from38to68: '2.00', above68: '0.50', source: 'bank index after Luxor, Nov 2025' } })).statusCode).toBe(200);
    // A fresh price for the valuation and the offer (the suite's browser steps take minutes).
    await world.refreshPrice();
    expect((await t.as('risk').post('/api/v1/borrowers/B-2/equipment/revalue', {})).json()).toMatchObject({ groups: 1, breaches: 0 });
    const { ref } = await originate(t, { borrower: 'B-2', product: 'EQ', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.20000000', equipmentMachines: [machines.json().machinesId] });
    for (const locale of ['ru', 'en'] as const) {
      const page = await logIn(browser, world, locale === 'ru' ? 'risk' : 'auditor', { locale });
      await page.goto(`${world.url}/loans/${ref}`);
      await page.getByRole('tab', { name: locale === 'ru' ? 'Залог' : 'Collateral' }).click();
      await page.getByTestId('equipment-layer').waitFor();
      // 20% of the 2,000,000.00 cover at 50%: 400,000.00 counted.
      expect(await page.getByTestId('equipment-counted').textContent()).toMatch(locale === 'ru' ? /400\s000,00\s₽/ : /400,000\.00/);
      expect(await page.getByTestId('equipment-pledges').locator('tbody tr').allInnerTexts()).toEqual([expect.stringMatching(/Antminer S21 XP\s+15/)]);
      // A risk officer may propose an enforcement (refused while the loan is not in default); an auditor sees no button.
      expect(await page.getByTestId('enforce-equipment').count()).toBe(locale === 'ru' ? 1 : 0);
      await screenshot(page, `loan-equipment-${locale}`);
      const results = await new AxeBuilder({ page }).analyze();
      expect(results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
      await page.context().close();
    }
    const miner = await logIn(browser, world, 'borrower2', { viewport: { width: 390, height: 844 } });
    await miner.goto(`${world.url}/portal/loans/${ref}`);
    await miner.getByTestId('portal-equipment').waitFor();
    expect(await miner.getByTestId('portal-equipment').textContent()).toMatch(/400\s000,00\s₽/);
    expect(await miner.getByTestId('ltv-now').textContent()).toMatch(/50\s?%/);
    await screenshot(miner, 'portal-equipment-ru');
    await miner.context().close();
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
        // (The audit trail shows action names such as exposure.snapshot, which are not keys.)
        expect(text, `${locale} ${path}`).not.toMatch(path === '/audit' ? /\b(nav|common|portfolio|loan|inbox|risk|books|audit)\.[a-zA-Z]+\b/ : /\b(nav|common|portfolio|loan|inbox|risk|books|audit|exposure|sales)\.[a-zA-Z]+\b/);
        const name = `${path.replace(/^\//, '').replace(/\//g, '-') || 'home'}-${locale}`;
        await screenshot(page, name);
        const results = await new AxeBuilder({ page }).analyze();
        const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        expect(serious.map((v) => `${v.id} (${v.help}): ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')} ${JSON.stringify(n.any[0]?.data ?? {})}`).join(', ')}`), `${locale} ${path}`).toEqual([]);
      }
      await page.context().close();
    }
  }, 300_000);
});
