import { Psbt } from '@bitcoinerlab/descriptors';
import * as ecc from '@bitcoinerlab/secp256k1';
import { Transaction, address as addressCodec, networks, payments } from 'bitcoinjs-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileLoans } from '../loans/views.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { makeTransaction, signPsbt, testKey } from '../test-support/bitcoin.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { startLocalChain, type LocalChain } from '../test-support/local-chain.js';
import { seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';
import { coreRpcBackend } from './core-rpc.js';
import { AddressChain, parseDescriptor } from './descriptor.js';
import { esploraBackend, type ChainBackend } from './esplora.js';
import { VaultWatcher, vaultWatcherJob } from './watcher.js';
import { bankCalendar } from '../calendar/load.js';
import { latestCycle } from '../prices/price-repository.js';
import { runLiquidations } from '../risk/liquidations.js';
import { RiskEngine } from '../risk/risk-engine.js';
import { PgRiskStore } from '../risk/risk-store.js';
import { simulatedVenue } from '../risk/venues.js';

/**
 * Spending a vault through the API, end to end against a local chain: treasury proposes, a second
 * treasurer approves and zalog builds the PSBT; the borrower and the bank sign it in their own
 * wallets (here: bitcoinerlab's BIP-32 signer with the test keys) and send it back; a second
 * treasurer approves the finalised transaction; it is broadcast, mined, and booked at the vault's
 * confirmations, with the books, the positions and the chain in agreement after each step.
 */

const calendar = await bankCalendar();
let stub: HttpStub;
let t: TestApp;
let chain: LocalChain;
// The backend the service uses, switchable: the same chain through Esplora or through Bitcoin Core's RPC.
let active: ChainBackend;
const backend: ChainBackend = {
  get name() { return active.name; },
  tipHeight: () => active.tipHeight(),
  blockHash: (height) => active.blockHash(height),
  rawBlock: (hash) => active.rawBlock(hash),
  feeRateKvb: (target) => active.feeRateKvb(target),
  broadcast: (hex) => active.broadcast(hex),
  mempoolTxids: () => active.mempoolTxids(),
  rawTransaction: (txid) => active.rawTransaction(txid),
};
const [borrower, bank, agent] = [testKey(31), testKey(32), testKey(33)];
const keys = [{ role: 'borrower', ...borrower }, { role: 'bank', ...bank }, { role: 'agent', ...agent }].map(({ role, xpub, fingerprint, originPath }) => ({ role, xpub, fingerprint, originPath }));
const DESK = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
/** The borrower's own wallet address (P2WPKH on regtest). */
const BORROWER_WALLET = addressCodec.toBech32(Buffer.alloc(20, 7), 0, 'bcrt');

beforeAll(async () => {
  stub = await startHttpStub();
  chain = await startLocalChain();
  active = esploraBackend({ baseUrl: chain.url });
  t = await openTestApp({ chain: { backend, feeFloorKvb: 1_000, feeCapKvb: 50_000, feeTargetBlocks: 6, deskAddress: DESK } });
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
}, 60_000);
afterAll(async () => {
  await t.close();
  await chain.close();
  await stub.close();
});

const watcher = () => new VaultWatcher({ db: t.test.db, backend, now: () => new Date(), startHeight: 1 });
const view = async (ref: string) => (await t.as('officer').get(`/api/v1/loans/${ref}/vault`)).json();
const approve = async (proposal: { statusCode: number; body: string; json: () => { id: string } }) => {
  expect(proposal.statusCode, proposal.body).toBe(202);
  const approved = await t.as('treasury2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
  expect(approved.statusCode, approved.body).toBe(200);
  return approved.json().result;
};
const sign = (psbt: string, key: typeof borrower) => signPsbt(psbt, key);
const pledged = async (ref: string) => {
  const [row] = await t.test.db.query<{ sats: bigint }>(`SELECT coalesce(sum(p.sats), 0)::int8 AS sats FROM collateral_positions p JOIN loans l ON l.id = p.loan_id WHERE l.ref = $1 AND p.state IN ('confirmed', 'pledged')`, [ref]);
  return row!.sats;
};
const alerts = async () => (await t.test.db.query('SELECT kind FROM vault_alerts')).length;

/** A disbursed loan of 1,000,000.00 RUB whose vault (2 confirmations) holds the deposits given, counted. */
async function liveVaultLoan(borrowerRef: string, deposits: readonly { index: number; sats: bigint }[]): Promise<{ ref: string; descriptor: string }> {
  const applied = await t.as('officer').post(`/api/v1/borrowers/${borrowerRef}/loan-applications`, { product: 'FIX', amount: '1000000.00', months: 12, repaymentType: 'annuity', collateral: '0.25000000' });
  expect(applied.statusCode, applied.body).toBe(201);
  const proposal = await t.as('officer').post(`/api/v1/loan-applications/${applied.json().applicationId}/approval`, { offerId: applied.json().offer.offerId });
  const ref = (await t.as('officer2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {})).json().result.loan as string;
  const { descriptor } = await approve(await t.as('treasury').post(`/api/v1/loans/${ref}/vault`, { mode: 'collaborative', network: 'regtest', threshold: 2, keys, confirmations: 2 }));
  const vaultChain = new AddressChain(parseDescriptor(descriptor, 'regtest'));
  chain.mine(deposits.map((d, i) => makeTransaction([{ txid: (i + 1).toString(16).padStart(64, borrowerRef === 'B-1' ? 'a' : 'b'), vout: 0 }], [{ script: Buffer.from(vaultChain.at(d.index).scriptPubKey, 'hex'), sats: d.sats }])));
  chain.mine();
  await watcher().sync();
  // The borrower proves it holds its key of the vault before the loan is paid out.
  expect((await t.as('officer').post(`/api/v1/loans/${ref}/disbursement`, {})).json().error.code).toBe('borrower_key_unproven');
  const challenge = (await t.as(borrowerRef === 'B-1' ? 'borrower1' : 'borrower2').get(`/api/v1/loans/${ref}/vault/key-challenge`)).json();
  const proven = await t.as(borrowerRef === 'B-1' ? 'borrower1' : 'borrower2').post(`/api/v1/loans/${ref}/vault/key-proof`, { psbt: sign(challenge.psbt, borrower) });
  expect(proven.statusCode, proven.body).toBe(200);
  expect((await t.as('officer').post(`/api/v1/loans/${ref}/disbursement`, {})).statusCode).toBe(201);
  return { ref, descriptor };
}

describe('spending a vault through the API', () => {
  let ref: string;

  it('releases excess collateral: proposed, built, signed by borrower and bank, finalised, broadcast, booked at its confirmations', async () => {
    // 0.25 BTC deposited and 0.05 BTC of pool payouts to the vault's payout address.
    ({ ref } = await liveVaultLoan('B-1', [{ index: 0, sats: 25_000_000n }, { index: 1, sats: 5_000_000n }]));
    const before = await view(ref);
    expect(before.countedBtc).toBe('0.30000000');
    expect(before.coins.map((c: { source: string; btc: string }) => [c.source, c.btc])).toEqual([['deposit', '0.25000000'], ['payout', '0.05000000']]);
    expect(before.payoutAddress).toBe(before.addresses[1].address);

    // Only the borrower gives the release address, of the vault's network.
    expect((await t.as('treasury').post(`/api/v1/loans/${ref}/vault/release-address`, { address: BORROWER_WALLET })).statusCode).toBe(403);
    expect((await t.as('borrower2').post(`/api/v1/loans/${ref}/vault/release-address`, { address: BORROWER_WALLET })).statusCode).toBe(404);
    const mainnet = await t.as('borrower1').post(`/api/v1/loans/${ref}/vault/release-address`, { address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' });
    expect([mainnet.statusCode, mainnet.json().error.code]).toEqual([400, 'release_address_invalid']);
    expect(mainnet.body).toMatch(/not a regtest address/);
    const own = await t.as('borrower1').post(`/api/v1/loans/${ref}/vault/release-address`, { address: before.depositAddress });
    expect(own.json().error.code).toBe('release_address_invalid');
    expect((await view(ref)).releaseAddress).toBeNull();
    const given = await t.as('borrower1').post(`/api/v1/loans/${ref}/vault/release-address`, { address: BORROWER_WALLET });
    expect(given.statusCode, given.body).toBe(200);

    // The LTV after the release may not pass the product's target (50%): 1,000,000 RUB against
    // 0.24 BTC at 8,000,000 RUB/BTC is 52%; 0.26 BTC is 48%.
    const tooMuch = await t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends`, { purpose: 'excess', btc: '0.06000000' });
    expect([tooMuch.statusCode, tooMuch.json().error.code]).toEqual([409, 'excess_ltv']);
    const proposal = await t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends`, { purpose: 'excess', btc: '0.04000000' });
    // The fee rate is the backend's 6-block estimate (8.137 sat/vB, rounded up to the sat per kvB).
    expect(proposal.json().summary).toMatch(/release excess collateral of LN-\d+: 0.04000000 BTC to bcrt1.*change back to the vault; network fee 0.0000\d{4} BTC at 8.137 sat\/vB/);
    const built = await approve(proposal);
    const spendId = built.spendId as string;
    expect((await t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends`, { purpose: 'excess', btc: '0.01000000' })).json().error.code).toBe('spend_open');

    // The borrower downloads the PSBT, signs it in its wallet and uploads it; a PSBT whose output a
    // signer changed is refused, as is one with no signature.
    const download = await t.as('borrower1').get(`/api/v1/loans/${ref}/vault/spends/${spendId}/psbt`);
    expect(download.statusCode, download.body).toBe(200);
    expect(download.json().unsignedTxid).toBe(built.unsignedTxid);
    const altered = Psbt.fromBase64(download.json().psbt, { network: networks.regtest });
    const tampered = new Psbt({ network: networks.regtest });
    tampered.setVersion(altered.version);
    altered.txInputs.forEach((input, k) => tampered.addInput({ hash: input.hash, index: input.index, sequence: input.sequence, witnessUtxo: altered.data.inputs[k]!.witnessUtxo!, witnessScript: altered.data.inputs[k]!.witnessScript! }));
    altered.txOutputs.forEach((output, k) => tampered.addOutput({ script: output.script, value: k === 0 ? output.value + 1_000n : output.value }));
    const refused = await t.as('borrower1').post(`/api/v1/loans/${ref}/vault/spends/${spendId}/signatures`, { psbt: tampered.toBase64() });
    expect([refused.statusCode, refused.json().error.code]).toEqual([422, 'psbt_altered']);
    const unsigned = await t.as('borrower1').post(`/api/v1/loans/${ref}/vault/spends/${spendId}/signatures`, { psbt: download.json().psbt });
    expect([unsigned.statusCode, unsigned.json().error.code]).toEqual([422, 'psbt_unsigned']);
    const garbage = await t.as('borrower1').post(`/api/v1/loans/${ref}/vault/spends/${spendId}/signatures`, { psbt: 'cHNidP8BAHECAAAAAbad' });
    expect([garbage.statusCode, garbage.json().error.code]).toEqual([400, 'psbt_malformed']);
    const byBorrower = await t.as('borrower1').post(`/api/v1/loans/${ref}/vault/spends/${spendId}/signatures`, { psbt: sign(download.json().psbt, borrower) });
    expect(byBorrower.statusCode, byBorrower.body).toBe(201);
    expect(await t.test.db.query('SELECT 1 FROM vault_spend_signatures')).toHaveLength(1);

    // One signature is not enough to finalise.
    const early = await t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends/${spendId}/finalise`, {});
    expect([early.statusCode, early.json().error.code]).toEqual([422, 'psbt_unsigned']);
    // The bank signs (in its HSM: here its key) the PSBT as it stands and treasury uploads it.
    const current = (await t.as('treasury').get(`/api/v1/loans/${ref}/vault/spends/${spendId}/psbt`)).json().psbt;
    expect((await t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends/${spendId}/signatures`, { psbt: sign(current, bank) })).statusCode).toBe(201);
    expect((await view(ref)).spends[0]).toMatchObject({ id: spendId, state: 'signing', signedBy: expect.arrayContaining([borrower.fingerprint, bank.fingerprint]) });

    const finalised = await approve(await t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends/${spendId}/finalise`, {}));
    expect(finalised.txid).toBe(built.unsignedTxid);
    const sent = await t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends/${spendId}/broadcast`, {});
    expect(sent.statusCode, sent.body).toBe(200);
    expect(chain.mempool().map((tx) => tx.getId())).toEqual([finalised.txid]);
    // The transaction pays exactly what was proposed.
    const tx = chain.mempool()[0]!;
    const spendView = (await view(ref)).spends[0];
    expect(tx.outs.map((o) => [addressCodec.fromOutputScript(o.script, networks.regtest), o.value])).toEqual(expect.arrayContaining([[BORROWER_WALLET, 4_000_000n]]));
    expect(spendView).toMatchObject({ state: 'broadcast', btc: '0.04000000' });
    const fee = BigInt(spendView.feeBtc.replace('.', ''));
    const change = BigInt(spendView.changeBtc.replace('.', ''));
    const inputs = spendView.inputs.reduce((sum: bigint, input: { btc: string }) => sum + BigInt(input.btc.replace('.', '')), 0n);
    expect(4_000_000n + change + fee).toBe(inputs);
    expect(tx.ins).toHaveLength(spendView.inputs.length);

    // Mined: the coins are spent on chain, but the spend is ours, so they stay collateral (no alert) until it has 2 confirmations.
    chain.mine();
    await watcher().sync();
    expect(await alerts()).toBe(0);
    expect(await pledged(ref)).toBe(30_000_000n);
    expect((await view(ref)).countedBtc).toBe('0.30000000');
    chain.mine();
    await watcher().sync();
    const after = await view(ref);
    expect(after.spends[0]).toMatchObject({ state: 'confirmed', txid: finalised.txid });
    expect(after.countedBtc).toBe((Number(30_000_000n - 4_000_000n - fee) / 1e8).toFixed(8));
    expect(after.coins.find((c: { source: string }) => c.source === 'change')).toMatchObject({ counted: true });
    expect(await pledged(ref)).toBe(30_000_000n - 4_000_000n - fee);
    expect(await reconcileLoans(t.test.db)).toEqual([]);
    // The fee is its own entry on the memo accounts.
    expect(await t.test.db.query(`SELECT reason FROM ledger_entries WHERE idempotency_key = $1`, [`vault-spend:${spendId}:fee`])).toEqual([{ reason: expect.stringMatching(/^Network fee of LN-\d+'s vault spend/) }]);
    const [risk] = await t.test.db.query<{ sats: bigint }>('SELECT r.sats FROM loan_risk r JOIN loans l ON l.id = r.loan_id WHERE l.ref = $1', [ref]);
    expect(risk!.sats).toBe(30_000_000n - 4_000_000n - fee);
  });

  it('releases a repaid loan\'s vault through Bitcoin Core\'s RPC: the old release path is refused, the coins go to the borrower\'s address', async () => {
    active = coreRpcBackend({ url: chain.url.replace('http://', 'http://rpcuser:rpcpassword@') + '/rpc' });
    const total = (await t.as('officer').get(`/api/v1/loans/${ref}`)).json().balances.total;
    expect((await t.as('treasury').post(`/api/v1/loans/${ref}/repayments`, { reference: 'PP-VAULT-1', amount: total })).statusCode).toBe(201);
    const closed = await t.as('officer').post(`/api/v1/loans/${ref}/prepayments`, { mode: 'smaller_instalment' });
    expect(closed.json().status).toBe('closed');
    const custodial = await t.as('treasury').post(`/api/v1/loans/${ref}/collateral-release`, {});
    expect([custodial.statusCode, custodial.json().error.code]).toEqual([409, 'release_by_vault_spend']);

    chain.setFeeEstimates({ '2': 30, '6': 4.5 });
    const built = await approve(await t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends`, { purpose: 'release' }));
    const psbt = (await t.as('borrower1').get(`/api/v1/loans/${ref}/vault/spends/${built.spendId}/psbt`)).json().psbt;
    expect((await t.as('borrower1').post(`/api/v1/loans/${ref}/vault/spends/${built.spendId}/signatures`, { psbt: sign(psbt, borrower) })).statusCode).toBe(201);
    // The key agent signs this time (any 2 of the 3).
    expect((await t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends/${built.spendId}/signatures`, { psbt: sign(psbt, agent) })).statusCode).toBe(201);
    const finalised = await approve(await t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends/${built.spendId}/finalise`, {}));
    // Broadcast by the watcher job's round (through sendrawtransaction), not by hand.
    await vaultWatcherJob(watcher(), 30).run(t.test.db);
    expect(chain.mempool().map((tx) => tx.getId())).toEqual([finalised.txid]);
    const tx: Transaction = chain.mempool()[0]!;
    expect(tx.outs).toHaveLength(1);
    expect(addressCodec.fromOutputScript(tx.outs[0]!.script, networks.regtest)).toBe(BORROWER_WALLET);
    const spend = (await view(ref)).spends[0];
    expect(spend.feeRateSatPerVb).toBe('4.5');
    chain.mine();
    chain.mine();
    await watcher().sync();
    expect((await view(ref)).spends[0].state).toBe('confirmed');
    expect(await pledged(ref)).toBe(0n);
    const collateral = (await t.as('officer').get(`/api/v1/loans/${ref}/collateral`)).json();
    expect(collateral).toMatchObject({ held: '0.00000000', release: { status: 'executed' } });
    expect(await reconcileLoans(t.test.db)).toEqual([]);
    expect(await alerts()).toBe(0);
    const audit = await t.test.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE target = $1 AND action LIKE 'vault.spend%' ORDER BY id`, [`loan:${ref}`]);
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['vault.spend.propose', 'vault.spend', 'vault.spend.sign', 'vault.spend.finalise.propose', 'vault.spend.finalise', 'vault.spend.broadcast', 'vault.spend.confirm']));
    active = esploraBackend({ baseUrl: chain.url });
  });

  it('refuses without a release address, for a frozen vault, and a broadcast the network refuses: nothing booked', async () => {
    const { ref: other } = await liveVaultLoan('B-2', [{ index: 0, sats: 40_000_000n }]);
    const missing = await t.as('treasury').post(`/api/v1/loans/${other}/vault/spends`, { purpose: 'excess', btc: '0.01000000' });
    expect([missing.statusCode, missing.json().error.code]).toEqual([409, 'release_address_missing']);
    const notRepaid = await t.as('treasury').post(`/api/v1/loans/${other}/vault/spends`, { purpose: 'release' });
    expect(notRepaid.json().error.code).toBe('release_not_open');
    expect((await t.as('borrower2').post(`/api/v1/loans/${other}/vault/release-address`, { address: BORROWER_WALLET })).statusCode).toBe(200);
    // A cancelled spend frees the coins for the next.
    const first = await approve(await t.as('treasury').post(`/api/v1/loans/${other}/vault/spends`, { purpose: 'excess', btc: '0.01000000' }));
    // Staff routes do not exist for a borrower (404, as any staff page).
    expect((await t.as('borrower2').post(`/api/v1/loans/${other}/vault/spends/${first.spendId}/cancel`, {})).statusCode).toBe(404);
    expect((await t.as('treasury').post(`/api/v1/loans/${other}/vault/spends/${first.spendId}/cancel`, {})).statusCode).toBe(200);
    const second = await approve(await t.as('treasury').post(`/api/v1/loans/${other}/vault/spends`, { purpose: 'excess', btc: '0.01000000' }));
    const psbt = (await t.as('treasury').get(`/api/v1/loans/${other}/vault/spends/${second.spendId}/psbt`)).json().psbt;
    // The cancelled spend takes no more signatures.
    expect((await t.as('treasury').post(`/api/v1/loans/${other}/vault/spends/${first.spendId}/signatures`, { psbt: sign(psbt, bank) })).json().error.code).toBe('spend_not_in_state');
    for (const key of [bank, agent]) expect((await t.as('treasury').post(`/api/v1/loans/${other}/vault/spends/${second.spendId}/signatures`, { psbt: sign(psbt, key) })).statusCode).toBe(201);
    await approve(await t.as('treasury').post(`/api/v1/loans/${other}/vault/spends/${second.spendId}/finalise`, {}));
    // The coins were spent elsewhere meanwhile (a double spend the network refuses).
    chain.fault('/tx', { status: 400, body: 'sendrawtransaction RPC error: {"code":-25,"message":"bad-txns-inputs-missingorspent"}' });
    const sent = await t.as('treasury').post(`/api/v1/loans/${other}/vault/spends/${second.spendId}/broadcast`, {});
    expect([sent.statusCode, sent.json().error.code]).toEqual([502, 'broadcast_failed']);
    expect(sent.body).toMatch(/missingorspent/);
    chain.fault('/tx', undefined);
    expect((await view(other)).spends[0]).toMatchObject({ state: 'finalised', broadcastError: expect.stringMatching(/missingorspent/) });
    expect(chain.mempool()).toEqual([]);
    expect(await pledged(other)).toBe(40_000_000n);
    // Frozen vaults are not spent.
    await t.test.db.query(`UPDATE vaults SET frozen_at = now(), frozen_reason = 'test' WHERE loan_id = (SELECT id FROM loans WHERE ref = $1)`, [ref]);
    expect((await t.as('treasury').post(`/api/v1/loans/${ref}/vault/spends`, { purpose: 'release' })).json().error.code).toBe('vault_frozen');
    expect(await reconcileLoans(t.test.db)).toEqual([]);
  });

  it('sends a liquidation\'s BTC from the vault to the desk; the sale is booked once that spend has confirmed', async () => {
    const { ref: sold } = await liveVaultLoan('B-1', [{ index: 0, sats: 25_000_000n }]);
    const engine = new RiskEngine(t.test.db, new PgRiskStore(t.test.db, calendar));
    await engine.rebuild();
    // 1,000,000 RUB against 0.25 BTC at 4,705,882.35 RUB/BTC: 85%, past the liquidation LTV (80%).
    await t.test.db.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, reasons, inputs) VALUES ('live', now(), $1, $1, 'normal', '{}', '[]')`, [470_588_235n]);
    await engine.onCycle((await latestCycle(t.test.db, 'live'))!);
    const options = { venue: simulatedVenue(), capSats: 10n * 100_000_000n, staleAfterSeconds: 3_600, calendar, now: () => new Date() };
    const run = await runLiquidations(t.test.db, options);
    // The venue sold; the booking waits for the BTC to reach the desk.
    expect(run).toMatchObject({ sold: 1, booked: 0, held: [expect.objectContaining({ code: 'liquidation_awaiting_chain' })] });
    const [liquidation] = await t.test.db.query<{ id: bigint; planned_sats: bigint; status: string }>('SELECT q.id, q.planned_sats, q.status FROM liquidations q JOIN loans l ON l.id = q.loan_id WHERE l.ref = $1', [sold]);
    expect(liquidation!.status).toBe('sold');

    const built = await approve(await t.as('treasury').post(`/api/v1/loans/${sold}/vault/spends`, { purpose: 'liquidation', liquidation: liquidation!.id.toString() }));
    const psbt = (await t.as('treasury').get(`/api/v1/loans/${sold}/vault/spends/${built.spendId}/psbt`)).json().psbt;
    for (const key of [bank, agent]) expect((await t.as('treasury').post(`/api/v1/loans/${sold}/vault/spends/${built.spendId}/signatures`, { psbt: sign(psbt, key) })).statusCode).toBe(201);
    const finalised = await approve(await t.as('treasury').post(`/api/v1/loans/${sold}/vault/spends/${built.spendId}/finalise`, {}));
    expect((await t.as('treasury').post(`/api/v1/loans/${sold}/vault/spends/${built.spendId}/broadcast`, {})).statusCode).toBe(200);
    const tx = chain.mempool().find((m) => m.getId() === finalised.txid)!;
    expect(tx.outs.map((o) => [addressCodec.fromOutputScript(o.script, networks.regtest), o.value])).toEqual(expect.arrayContaining([[DESK, liquidation!.planned_sats]]));
    chain.mine();
    chain.mine();
    await watcher().sync();
    const spend = (await view(sold)).spends[0];
    expect(spend).toMatchObject({ state: 'confirmed', purpose: 'liquidation', btc: (Number(liquidation!.planned_sats) / 1e8).toFixed(8) });
    // The desk holds the planned BTC as a pledged position until the sale is booked; the vault, the change.
    const positions = await t.test.db.query<{ sats: bigint; state: string; coin: boolean }>(`SELECT p.sats, p.state, EXISTS (SELECT 1 FROM vault_coins c WHERE c.position_id = p.id) AS coin FROM collateral_positions p JOIN loans l ON l.id = p.loan_id WHERE l.ref = $1 ORDER BY p.id`, [sold]);
    expect(positions.filter((p) => p.state === 'pledged').map((p) => [p.coin, p.sats])).toEqual([[false, liquidation!.planned_sats], [true, BigInt(spend.changeBtc.replace('.', ''))]]);
    expect(await reconcileLoans(t.test.db)).toEqual([]);
    const booked = await runLiquidations(t.test.db, options);
    expect(booked).toMatchObject({ booked: 1 });
    expect(booked.held ?? []).toEqual([]);
    // The sale took the desk's BTC, not the coin still in the vault.
    const coinPosition = await t.test.db.query<{ state: string }>(`SELECT p.state FROM vault_coins c JOIN collateral_positions p ON p.id = c.position_id WHERE c.txid = $1`, [finalised.txid]);
    expect(coinPosition).toEqual([{ state: 'pledged' }]);
    expect(await reconcileLoans(t.test.db)).toEqual([]);
    expect(await alerts()).toBe(0);
  });

  it('holds a deposit from a sanctioned address until compliance clears the hit (four eyes), then counts it', async () => {
    const applied = await t.as('officer').post('/api/v1/borrowers/B-2/loan-applications', { product: 'FIX', amount: '1000000.00', months: 12, repaymentType: 'annuity', collateral: '0.50000000' });
    const proposal = await t.as('officer').post(`/api/v1/loan-applications/${applied.json().applicationId}/approval`, { offerId: applied.json().offer.offerId });
    const approvedLoan = await t.as('officer2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
    expect(approvedLoan.statusCode, `${applied.body} ${proposal.body} ${approvedLoan.body}`).toBe(200);
    const held = approvedLoan.json().result.loan as string;
    const mainnetKeys = [testKey(34, 'mainnet'), testKey(35, 'mainnet'), testKey(36, 'mainnet')].map((key, i) => ({ role: ['borrower', 'bank', 'agent'][i], xpub: key.xpub, fingerprint: key.fingerprint, originPath: key.originPath }));
    const { descriptor } = await approve(await t.as('treasury').post(`/api/v1/loans/${held}/vault`, { mode: 'collaborative', network: 'mainnet', threshold: 2, keys: mainnetKeys, confirmations: 2 }));
    // The list names the address the deposit is paid from (a P2WPKH input: its witness gives its key).
    const pubkey = Buffer.from(ecc.pointFromScalar(Buffer.alloc(32, 9), true)!);
    const listed = payments.p2wpkh({ pubkey }).address!;
    const imported = await t.as('risk').post('/api/v1/compliance/screening-lists', { name: 'test-sdn', format: 'zalog_csv', version: '1', content: `kind,value,name,program\nbtc_address,${listed},Mixer,test program\n` });
    expect(imported.statusCode, imported.body).toBe(200);
    const tainted = makeTransaction([{ txid: '5d'.repeat(32), vout: 0 }], [{ script: Buffer.from(new AddressChain(parseDescriptor(descriptor, 'mainnet')).at(0).scriptPubKey, 'hex'), sats: 50_000_000n }]);
    tainted.setWitness(0, [Buffer.alloc(71, 0x30), pubkey]);
    chain.mine([tainted]);
    chain.mine();
    await watcher().sync();
    const coin = (await view(held)).coins[0];
    expect(coin).toMatchObject({ txid: tainted.getId(), confirmations: 2, counted: false, held: true, from: [listed] });
    expect(await pledged(held)).toBe(0n);
    const [hit] = (await t.as('risk').get('/api/v1/compliance/screening-hits?status=open')).json().hits.filter((h: { matched: string }) => h.matched === listed);
    expect(hit).toBeDefined();
    const clear = await t.as('risk').post(`/api/v1/compliance/screening-hits/${hit.id}/clear`, { reason: 'the exchange\'s hot wallet, not the listed mixer: checked with the exchange' });
    expect(clear.statusCode, clear.body).toBe(202);
    expect((await t.as('risk2').post(`/api/v1/approvals/${clear.json().id}/approve`, {})).statusCode).toBe(200);
    chain.mine();
    await watcher().sync();
    expect((await view(held)).coins[0]).toMatchObject({ counted: true, held: false });
    expect(await pledged(held)).toBe(50_000_000n);
    expect(await reconcileLoans(t.test.db)).toEqual([]);
  });
});
