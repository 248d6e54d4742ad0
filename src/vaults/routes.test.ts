import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { makeTransaction, otherScript, signPsbt, testKey } from '../test-support/bitcoin.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { startLocalChain, type LocalChain } from '../test-support/local-chain.js';
import { FIXED_PRODUCT, seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';
import { reconcileLoans } from '../loans/views.js';
import { AddressChain, parseDescriptor } from './descriptor.js';
import { esploraBackend } from './esplora.js';
import { VaultWatcher } from './watcher.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateSigningKey, parseSigningKey, parseVerifyingKey, verifyingKeyOf } from '../audit/checkpoint.js';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';
import { proofProblems } from './proof.js';

let stub: HttpStub;
let t: TestApp;
let chain: LocalChain;
const proofPair = generateSigningKey();
const proofKey = parseSigningKey(proofPair.privatePem, 'test proof key');
const [borrower, bank, agent] = [testKey(11), testKey(12), testKey(13)];
const keys = [{ role: 'borrower', ...borrower }, { role: 'bank', ...bank }, { role: 'agent', ...agent }].map(({ role, xpub, fingerprint, originPath }) => ({ role, xpub, fingerprint, originPath }));

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp({ proofKey });
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
  chain = await startLocalChain();
}, 60_000);
afterAll(async () => {
  await chain.close();
  await t.close();
  await stub.close();
});

/** An approved loan of 1,000,000.00 RUB asking 0.25 BTC, not yet disbursed. */
async function approvedLoan(borrowerRef = 'B-1'): Promise<string> {
  const applied = await t.as('officer').post(`/api/v1/borrowers/${borrowerRef}/loan-applications`, { product: 'FIX', amount: '1000000.00', months: 12, repaymentType: 'annuity', collateral: '0.25000000' });
  expect(applied.statusCode, applied.body).toBe(201);
  const proposal = await t.as('officer').post(`/api/v1/loan-applications/${applied.json().applicationId}/approval`, { offerId: applied.json().offer.offerId });
  const approved = await t.as('officer2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
  expect(approved.statusCode, approved.body).toBe(200);
  return approved.json().result.loan as string;
}

describe('a loan\'s vault through the API', () => {
  it('treasury proposes, a second treasurer approves; the loan is disbursed against a deposit the watcher counted', async () => {
    const ref = await approvedLoan();
    const proposed = await t.as('treasury').post(`/api/v1/loans/${ref}/vault`, { mode: 'collaborative', network: 'regtest', threshold: 2, keys, recoveryAfterBlocks: 52_560, confirmations: 2 });
    expect(proposed.statusCode, proposed.body).toBe(202);
    expect(proposed.json().summary).toMatch(/collaborative, 2 of 3 keys .*recovery after 52560 blocks, regtest, 2 confirmations/);
    // Four eyes: not the proposer.
    expect((await t.as('treasury').post(`/api/v1/approvals/${proposed.json().id}/approve`, {})).statusCode).toBe(403);
    const approved = await t.as('treasury2').post(`/api/v1/approvals/${proposed.json().id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    const descriptor = approved.json().result.descriptor as string;
    expect(descriptor).toMatch(/^wsh\(or_d\(multi\(2,.*older\(52560\)\)\)\)#[a-z0-9]{8}$/);

    // The borrower reads its vault and can check the deposit address from the descriptor alone.
    const view = await t.as('borrower1').get(`/api/v1/loans/${ref}/vault`);
    expect(view.statusCode, view.body).toBe(200);
    expect(view.json()).toMatchObject({ loan: ref, mode: 'collaborative', network: 'regtest', descriptor, confirmationsNeeded: 2, frozen: null, coins: [], countedBtc: '0.00000000' });
    const address = view.json().depositAddress as string;
    expect(new AddressChain(parseDescriptor(descriptor, 'regtest')).at(0).address).toBe(address);
    expect((await t.as('borrower2').get(`/api/v1/loans/${ref}/vault`)).statusCode).toBe(404);
    expect((await t.as('treasury').post(`/api/v1/loans/${ref}/vault`, { mode: 'collaborative', network: 'regtest', threshold: 2, keys, confirmations: 2 })).statusCode).toBe(409);

    // Without collateral the loan cannot be disbursed.
    expect((await t.as('officer').post(`/api/v1/loans/${ref}/disbursement`, {})).statusCode).toBe(409);
    // The borrower deposits 0.25 BTC to the vault; two blocks later the watcher counts it.
    const script = Buffer.from(new AddressChain(parseDescriptor(descriptor, 'regtest')).at(0).scriptPubKey, 'hex');
    const deposit = makeTransaction([{ txid: 'ab'.repeat(32), vout: 0 }], [{ script, sats: 25_000_000n }, { script: otherScript(1), sats: 10_000n }]);
    chain.mine([deposit]);
    const watcher = new VaultWatcher({ db: t.test.db, backend: esploraBackend({ baseUrl: chain.url }), now: () => new Date(), startHeight: 1 });
    await watcher.sync();
    expect((await t.as('officer').get(`/api/v1/loans/${ref}/vault`)).json().coins).toEqual([expect.objectContaining({ txid: deposit.getId(), vout: 0, btc: '0.25000000', confirmations: 1, counted: false })]);
    chain.mine();
    await watcher.sync();
    const counted = (await t.as('officer').get(`/api/v1/loans/${ref}/vault`)).json();
    expect(counted).toMatchObject({ countedBtc: '0.25000000', coins: [expect.objectContaining({ confirmations: 2, counted: true })] });
    const collateral = (await t.as('officer').get(`/api/v1/loans/${ref}/collateral`)).json();
    expect(JSON.stringify(collateral)).toMatch(/"state":"confirmed"/);
    // Not before the borrower proves it holds its key of the vault: it signs the vault's key challenge.
    expect((await t.as('officer').post(`/api/v1/loans/${ref}/disbursement`, {})).json().error.code).toBe('borrower_key_unproven');
    const challenge = await t.as('borrower1').get(`/api/v1/loans/${ref}/vault/key-challenge`);
    expect(challenge.statusCode, challenge.body).toBe(200);
    expect((await t.as('borrower1').post(`/api/v1/loans/${ref}/vault/key-proof`, { psbt: signPsbt(challenge.json().psbt, bank) })).json().error.code).toBe('psbt_unsigned');
    const proven = await t.as('borrower1').post(`/api/v1/loans/${ref}/vault/key-proof`, { psbt: signPsbt(challenge.json().psbt, borrower) });
    expect(proven.statusCode, proven.body).toBe(200);
    expect((await t.as('officer').get(`/api/v1/loans/${ref}/vault`)).json().borrowerKey).toEqual({ xpub: borrower.xpub, provenAt: proven.json().provenAt });
    const disbursed = await t.as('officer').post(`/api/v1/loans/${ref}/disbursement`, {});
    expect(disbursed.statusCode, disbursed.body).toBe(201);
    expect(await reconcileLoans(t.test.db)).toEqual([]);

    // The public proof of collateral: no login; the borrower's line under its vault's opaque reference.
    const published = await t.app.inject({ method: 'GET', url: '/api/v1/proof-of-collateral' });
    expect(published.statusCode, published.body).toBe(200);
    const proof = published.json();
    const line = proof.vaults.find((vault: { ref: string }) => vault.ref === view.json().proofRef);
    expect(line).toEqual({ ref: view.json().proofRef, network: 'regtest', descriptor, addresses: [{ index: 0, address, btc: '0.25000000' }], btc: '0.25000000' });
    expect(proof).toMatchObject({ kind: 'zalog-proof-of-collateral', height: 2, blockHash: chain.hashAt(2), totalBtc: '0.25000000', keyId: proofKey.keyId });
    expect(published.body).not.toMatch(new RegExp(`${ref}|Farm B-1|B-1`));
    expect(proofProblems(proof, verifyingKeyOf(proofKey))).toEqual([]);
    // Altered, it fails: another address, another amount, another key.
    const otherAddress = new AddressChain(parseDescriptor(descriptor, 'regtest')).at(1).address;
    expect(proofProblems({ ...proof, vaults: proof.vaults.map((v: object) => ({ ...v, addresses: [{ index: 0, address: otherAddress, btc: '0.25000000' }] })) }, verifyingKeyOf(proofKey)).join('; ')).toMatch(/signature does not match.*not its descriptor's address at index 0/);
    expect(proofProblems({ ...proof, totalBtc: '1.00000000' }).join('; ')).toMatch(/total says 1.00000000/);
    const stranger = parseVerifyingKey(generateSigningKey().publicPem, 'stranger');
    expect(proofProblems(proof, stranger).join('; ')).toMatch(/not by the bank's key given/);
  });

  it('zalog vault proof --verify checks a published proof against the bank\'s public key, and fails an altered one with exit 1', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zalog-proof-'));
    const proof = (await t.app.inject({ method: 'GET', url: '/api/v1/proof-of-collateral' })).json();
    await writeFile(path.join(dir, 'proof.json'), JSON.stringify(proof));
    await writeFile(path.join(dir, 'proof-key.pub'), proofPair.publicPem);
    const ok = await runZalog(['vault', 'proof', '--verify', path.join(dir, 'proof.json'), '--public-key', path.join(dir, 'proof-key.pub')]);
    expect(ok.code, ok.output).toBe(0);
    expect(ok.stdout).toMatch(/^ok: \d+ vaults?, 1 addresses re-derived from their descriptors, 0.25000000 BTC at height 2, signed by key [0-9a-f]{16}\n$/);
    await writeFile(path.join(dir, 'altered.json'), JSON.stringify({ ...proof, totalBtc: '0.35000000' }));
    const altered = await runZalog(['vault', 'proof', '--verify', path.join(dir, 'altered.json'), '--public-key', path.join(dir, 'proof-key.pub')]);
    expect(altered.code).toBe(1);
    expect(altered.output).toMatch(/wrong: the signature does not match/);
    expect(altered.output).toMatch(/wrong: the vaults hold 0.25000000 BTC, the total says 0.35000000/);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('refuses keys for another network, a private key, a wrong key set or threshold: 400 with the reason, nothing proposed', async () => {
    const ref = await approvedLoan('B-2');
    const mainnetKey = testKey(14, 'mainnet');
    const cases: [unknown, number, RegExp][] = [
      [{ mode: 'collaborative', network: 'regtest', threshold: 2, keys: [keys[0], keys[1], { role: 'agent', xpub: mainnetKey.xpub, fingerprint: mainnetKey.fingerprint, originPath: mainnetKey.originPath }], confirmations: 3 }, 400, /not for regtest/],
      [{ mode: 'collaborative', network: 'regtest', threshold: 3, keys, confirmations: 3 }, 400, /needs 2 signatures/],
      [{ mode: 'collaborative', network: 'regtest', threshold: 2, keys: keys.slice(0, 2), confirmations: 3 }, 400, /three keys/],
      [{ mode: 'bank', network: 'regtest', threshold: 1, keys: [keys[1]], recoveryAfterBlocks: 70_000, confirmations: 3 }, 400, /recoveryAfterBlocks|65535/],
      [{ mode: 'bank', network: 'regtest', threshold: 1, keys: [{ ...keys[1], xpub: 'tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF' }], confirmations: 3 }, 400, /pattern|public/],
    ];
    for (const [body, status, reason] of cases) {
      const response = await t.as('treasury').post(`/api/v1/loans/${ref}/vault`, body);
      expect(response.statusCode, response.body).toBe(status);
      expect(response.body).toMatch(reason);
    }
    expect(await t.test.db.query(`SELECT 1 FROM approvals WHERE action_type = 'vault.create' AND payload->>'loan' = $1`, [ref])).toEqual([]);
    expect((await t.as('officer').post(`/api/v1/loans/${ref}/vault`, { mode: 'bank', network: 'regtest', threshold: 1, keys: [keys[1]], confirmations: 3 })).statusCode).toBe(403);
  });

  it('keeps to the product\'s custody: its modes, its least confirmations, a recovery path it requires; no custodian deposit on an on-chain-only product', async () => {
    const created = await t.as('admin').post('/api/v1/loan-products', { code: 'ONCHAIN', terms: { ...FIXED_PRODUCT, collateral: { ...FIXED_PRODUCT.collateral, custody: { modes: ['collaborative'], confirmations: 6, recoveryPath: 'required' } } } });
    expect(created.statusCode, created.body).toBe(201);
    const applied = await t.as('officer').post('/api/v1/borrowers/B-2/loan-applications', { product: 'ONCHAIN', amount: '1000000.00', months: 12, repaymentType: 'annuity', collateral: '0.25000000' });
    expect(applied.statusCode, applied.body).toBe(201);
    const proposal = await t.as('officer').post(`/api/v1/loan-applications/${applied.json().applicationId}/approval`, { offerId: applied.json().offer.offerId });
    const ref = (await t.as('officer2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {})).json().result.loan as string;
    const refused = async (body: object, code: string, reason: RegExp) => {
      const response = await t.as('treasury').post(`/api/v1/loans/${ref}/vault`, body);
      expect([response.statusCode, response.json().error.code], response.body).toEqual([code === 'custody_mode_not_allowed' ? 409 : 400, code]);
      expect(response.body).toMatch(reason);
    };
    await refused({ mode: 'bank', network: 'regtest', threshold: 1, keys: [keys[1]], confirmations: 6 }, 'custody_mode_not_allowed', /allows collaborative custody, not bank/);
    await refused({ mode: 'collaborative', network: 'regtest', threshold: 2, keys, recoveryAfterBlocks: 52_560, confirmations: 3 }, 'invalid_proposal', /at least 6 confirmations/);
    await refused({ mode: 'collaborative', network: 'regtest', threshold: 2, keys, confirmations: 6 }, 'invalid_proposal', /requires the borrower's recovery path/);
    // Without confirmations the vault takes the product's.
    const accepted = await t.as('treasury').post(`/api/v1/loans/${ref}/vault`, { mode: 'collaborative', network: 'regtest', threshold: 2, keys, recoveryAfterBlocks: 52_560 });
    expect(accepted.statusCode, accepted.body).toBe(202);
    expect(accepted.json().summary).toMatch(/regtest, 6 confirmations$/);
    const custodian = await t.as('treasury').post(`/api/v1/loans/${ref}/collateral`, { btc: '0.25000000' });
    expect([custodian.statusCode, custodian.json().error.code]).toEqual([409, 'custody_mode_not_allowed']);
  });
});
