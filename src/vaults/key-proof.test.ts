import { Psbt } from '@bitcoinerlab/descriptors';
import { networks, Transaction } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { signPsbt, testKey } from '../test-support/bitcoin.js';
import { thrownBy } from '../test-support/errors.js';
import { AddressChain, vaultDescriptor } from './descriptor.js';
import { checkKeyProof, keyChallenge, KeyProofError } from './key-proof.js';

const [borrower, bank, agent] = [testKey(61), testKey(62), testKey(63)];
const collaborative = vaultDescriptor({ network: 'regtest', threshold: 2, chain: 3, keys: [borrower, bank, agent] });
const bankWithRecovery = vaultDescriptor({ network: 'regtest', threshold: 1, chain: 4, keys: [bank], recovery: { key: borrower, afterBlocks: 1_000 } });

describe('the borrower proves it holds its vault key', () => {
  it('signs a BIP-322-shaped challenge on the vault\'s first address, which never spends anything', () => {
    const challenge = keyChallenge(collaborative, borrower.xpub, 'zalog: the borrower of LN-7 holds its key of vault V-0123456789abcdef');
    const psbt = Psbt.fromBase64(challenge.psbt, { network: networks.regtest });
    expect(psbt.version).toBe(0);
    expect(psbt.txOutputs.map((o) => [Buffer.from(o.script).toString('hex'), o.value])).toEqual([['6a', 0n]]);
    // The virtual to_spend pays the vault's first address and commits to the message.
    const toSpend = Transaction.fromBuffer(Buffer.from(psbt.data.inputs[0]!.nonWitnessUtxo!));
    expect(Buffer.from(toSpend.outs[0]!.script).toString('hex')).toBe(new AddressChain(collaborative).at(0).scriptPubKey);
    expect(toSpend.outs[0]!.value).toBe(0n);
    expect(checkKeyProof(collaborative, borrower.xpub, challenge, signPsbt(challenge.psbt, borrower))).toMatch(/^0[23][0-9a-f]{64}$/);
  });

  it('refuses a signature by another of the vault\'s keys, an unsigned challenge, another vault\'s, and bytes that are not a PSBT', () => {
    const challenge = keyChallenge(collaborative, borrower.xpub, 'message A');
    const code = (signed: string) => thrownBy(KeyProofError, () => checkKeyProof(collaborative, borrower.xpub, challenge, signed)).code;
    expect(code(signPsbt(challenge.psbt, bank))).toBe('psbt_unsigned');
    expect(code(challenge.psbt)).toBe('psbt_unsigned');
    expect(code(signPsbt(keyChallenge(collaborative, borrower.xpub, 'message B').psbt, borrower))).toBe('psbt_altered');
    expect(code('not a psbt')).toBe('psbt_malformed');
    expect(() => keyChallenge(collaborative, testKey(64).xpub, 'x')).toThrow(/not a key of this vault/);
  });

  it('proves a recovery-only borrower key (bank custody with the borrower\'s recovery path) on that path', () => {
    const challenge = keyChallenge(bankWithRecovery, borrower.xpub, 'recovery');
    expect(checkKeyProof(bankWithRecovery, borrower.xpub, challenge, signPsbt(challenge.psbt, borrower))).toMatch(/^0[23]/);
    expect(thrownBy(KeyProofError, () => checkKeyProof(bankWithRecovery, borrower.xpub, challenge, signPsbt(challenge.psbt, bank))).code).toBe('psbt_unsigned');
  });
});
