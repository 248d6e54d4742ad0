import { Psbt, signers } from '@bitcoinerlab/descriptors';
import { Transaction, address as addressCodec, networks } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { makeTransaction, signPsbt, testKey } from '../test-support/bitcoin.js';
import { thrownBy } from '../test-support/errors.js';
import { AddressChain, vaultDescriptor } from './descriptor.js';
import { boundedFeeRate, buildSpend, checkAndFinalise, inspectSigned, SpendError, type SpendRequest, type VaultCoin } from './psbt.js';
import { readFileSync } from 'node:fs';

const [borrower, bank, agent] = [testKey(21), testKey(22), testKey(23)];
const plain = vaultDescriptor({ network: 'regtest', threshold: 2, chain: 5, keys: [borrower, bank, agent] });
const withRecovery = vaultDescriptor({ network: 'regtest', threshold: 2, chain: 6, keys: [borrower, bank, agent], recovery: { key: borrower, afterBlocks: 144 } });
const other = vaultDescriptor({ network: 'regtest', threshold: 2, chain: 7, keys: [borrower, bank, agent] });
const BORROWER_ADDRESS = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';

/** Coins paid to a vault's addresses by real (unsigned-input) funding transactions. */
function fund(vault: typeof plain, amounts: readonly bigint[]): VaultCoin[] {
  const chain = new AddressChain(vault);
  return amounts.map((sats, index) => {
    const tx = makeTransaction([{ txid: (index + 1).toString(16).padStart(64, 'f'), vout: 0 }], [{ script: Buffer.from(chain.at(index).scriptPubKey, 'hex'), sats }]);
    return { txid: tx.getId(), vout: 0, sats, index, txHex: tx.toHex() };
  });
}

/** A signer's copy of the PSBT, signed with its master key (its wallet finds the key paths in the PSBT). */
const sign = (psbtBase64: string, key: typeof borrower): string => signPsbt(psbtBase64, key);

const errorOf = (run: () => unknown): SpendError => thrownBy(SpendError, run);

describe('spending a vault by PSBT', () => {
  const coins = fund(plain, [15_000_000n, 10_000_000n]);

  it('releases everything to the borrower: 2 of 3 sign, the transaction pays exactly the proposal', () => {
    const request: SpendRequest = { vault: plain, coins, to: { address: BORROWER_ADDRESS }, changeIndex: 2, feeRate: 5 };
    const proposal = buildSpend(request);
    expect(proposal.inputs.map((i) => i.sats)).toEqual([15_000_000n, 10_000_000n]);
    expect(proposal.outputs).toEqual([{ address: BORROWER_ADDRESS, sats: 25_000_000n - proposal.fee, change: false }]);
    // 2-of-3 P2WSH inputs at 5 sat/vB: a few hundred vbytes.
    expect(proposal.fee).toBe(BigInt(Math.ceil(proposal.vsize * 5)));
    expect(proposal.vsize).toBeGreaterThan(200);
    expect(proposal.vsize).toBeLessThan(500);
    const done = checkAndFinalise(request, proposal, [sign(proposal.psbt, borrower), sign(proposal.psbt, bank)]);
    const tx = Transaction.fromHex(done.txHex);
    expect(tx.getId()).toBe(proposal.unsignedTxid);
    expect(tx.outs.map((out) => [addressCodec.fromOutputScript(out.script, networks.regtest), out.value])).toEqual([[BORROWER_ADDRESS, 25_000_000n - proposal.fee]]);
    expect(tx.ins.map((input) => Buffer.from(input.hash).reverse().toString('hex'))).toEqual(coins.map((c) => c.txid));
    // Each input's witness: the empty CHECKMULTISIG dummy, two signatures, the witness script.
    expect(tx.ins.every((input) => input.witness.length === 4 && input.witness[0]!.length === 0)).toBe(true);
    expect(done.signers.every((keys) => keys.length === 2)).toBe(true);
  });

  it('sells part to the desk with change back to the vault; the fee is as proposed', () => {
    const request: SpendRequest = { vault: plain, coins, to: { address: BORROWER_ADDRESS, sats: 12_000_000n }, changeIndex: 3, feeRate: 12 };
    const proposal = buildSpend(request);
    const change = proposal.outputs.find((o) => o.change)!;
    expect(change.address).toBe(new AddressChain(plain).at(3).address);
    expect(proposal.outputs.find((o) => !o.change)).toEqual({ address: BORROWER_ADDRESS, sats: 12_000_000n, change: false });
    expect(proposal.inputs.reduce((s, i) => s + i.sats, 0n) - proposal.outputs.reduce((s, o) => s + o.sats, 0n)).toBe(proposal.fee);
    const done = checkAndFinalise(request, proposal, [sign(proposal.psbt, bank), sign(proposal.psbt, agent)]);
    expect(Transaction.fromHex(done.txHex).outs).toHaveLength(2);
  });

  it('refuses one signature, a signer that changed an output, and a PSBT of another vault', () => {
    const request: SpendRequest = { vault: plain, coins, to: { address: BORROWER_ADDRESS }, changeIndex: 2, feeRate: 5 };
    const proposal = buildSpend(request);
    expect(errorOf(() => checkAndFinalise(request, proposal, [sign(proposal.psbt, borrower)])).message).toMatch(/1 valid signature of the 2/);
    // A signer sends the money elsewhere: same coins, other output.
    const altered = Psbt.fromBase64(proposal.psbt, { network: networks.regtest });
    const tampered = new Psbt({ network: networks.regtest });
    altered.txInputs.forEach((input, k) => tampered.addInput({ ...altered.data.inputs[k]!, hash: input.hash, index: input.index, sequence: input.sequence }));
    tampered.addOutput({ address: new AddressChain(other).at(0).address, value: altered.txOutputs[0]!.value });
    expect(errorOf(() => checkAndFinalise(request, proposal, [sign(tampered.toBase64(), borrower), sign(proposal.psbt, bank)]))).toMatchObject({ code: 'psbt_altered', message: expect.stringMatching(/outputs or sequence differ/) });
    // Another vault's proposal, signed: not this proposal's transaction.
    const otherRequest: SpendRequest = { vault: other, coins: fund(other, [5_000_000n]), to: { address: BORROWER_ADDRESS }, changeIndex: 1, feeRate: 5 };
    const otherProposal = buildSpend(otherRequest);
    expect(errorOf(() => checkAndFinalise(request, proposal, [sign(otherProposal.psbt, borrower), sign(otherProposal.psbt, bank)]))).toMatchObject({ code: 'psbt_altered', message: expect.stringMatching(/spends other coins/) });
    expect(errorOf(() => checkAndFinalise(request, proposal, ['not a psbt'])).code).toBe('psbt_malformed');
  });

  it('refuses a destination on another network and coins that do not cover the amount', () => {
    expect(errorOf(() => buildSpend({ vault: plain, coins, to: { address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' }, changeIndex: 2, feeRate: 5 })).message).toMatch(/not a regtest address/);
    expect(errorOf(() => buildSpend({ vault: plain, coins, to: { address: BORROWER_ADDRESS, sats: 30_000_000n }, changeIndex: 2, feeRate: 5 })).code).toBe('spend_insufficient');
  });

  it('holds the fee rate between the floor and the cap', () => {
    expect(boundedFeeRate(undefined, 2, 50)).toBe(2);
    expect(boundedFeeRate(1, 2, 50)).toBe(2);
    expect(boundedFeeRate(17.5, 2, 50)).toBe(17.5);
    expect(boundedFeeRate(900, 2, 50)).toBe(50);
    expect(() => boundedFeeRate(5, 0, 50)).toThrow(SpendError);
  });
});

describe('the borrower\'s recovery path', () => {
  const coins = fund(withRecovery, [20_000_000n]);

  it('the cosigners spend as usual; the borrower\'s key alone spends only with the timelock in the input\'s sequence', () => {
    const cooperative: SpendRequest = { vault: withRecovery, coins, to: { address: BORROWER_ADDRESS }, changeIndex: 1, feeRate: 3 };
    const proposal = buildSpend(cooperative);
    const done = checkAndFinalise(cooperative, proposal, [sign(proposal.psbt, bank), sign(proposal.psbt, agent)]);
    expect(Transaction.fromHex(done.txHex).ins[0]!.sequence).not.toBe(144);

    const recovery: SpendRequest = { ...cooperative, recovery: true };
    const recoveryProposal = buildSpend(recovery);
    // BIP-68: the relative lock is the input's sequence; the network accepts the spend only 144 blocks after the coin confirmed.
    expect(Psbt.fromBase64(recoveryProposal.psbt, { network: networks.regtest }).txInputs[0]!.sequence).toBe(144);
    const recovered = checkAndFinalise(recovery, recoveryProposal, [sign(recoveryProposal.psbt, borrower)]);
    const tx = Transaction.fromHex(recovered.txHex);
    expect(tx.ins[0]!.sequence).toBe(144);
    expect(tx.version).toBeGreaterThanOrEqual(2);
    // The borrower's key cannot take the recovery path without the timelock: its signature on the
    // cooperative proposal (no lock in the sequence) is not a key that path may use.
    expect(errorOf(() => checkAndFinalise(cooperative, proposal, [sign(proposal.psbt, borrower)])).message).toMatch(/1 valid signature of the 2|not one of the vault's keys/);
    // And the cosigners' keys cannot pass for the recovery path.
    expect(errorOf(() => checkAndFinalise(recovery, recoveryProposal, [sign(recoveryProposal.psbt, bank)])).code).toBe('psbt_unsigned');
  });
});

describe('BIP-174\'s invalid PSBTs', () => {
  const { vectors } = JSON.parse(readFileSync(new URL('./fixtures/bip174-invalid.json', import.meta.url), 'utf8')) as { vectors: [string, string][] };
  const coins = fund(plain, [15_000_000n]);
  const request: SpendRequest = { vault: plain, coins, to: { address: BORROWER_ADDRESS }, changeIndex: 2, feeRate: 5 };
  const proposal = buildSpend(request);

  it.each(vectors)('refuses "%s" as a signer\'s upload, and at finalisation', (_name, base64) => {
    expect(['psbt_malformed', 'psbt_altered']).toContain(errorOf(() => inspectSigned(request, proposal, base64)).code);
    expect(['psbt_malformed', 'psbt_altered']).toContain(errorOf(() => checkAndFinalise(request, proposal, [base64])).code);
  });
});

