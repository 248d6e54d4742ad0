import { Psbt, signers } from '@bitcoinerlab/descriptors';
import * as ecc from '@bitcoinerlab/secp256k1';
import { BIP32Factory, type BIP32Interface } from 'bip32';
import { Block, Transaction } from 'bitcoinjs-lib';
import { createHash } from 'node:crypto';
import { bitcoinNetwork, type VaultKey, type VaultNetwork } from '../vaults/descriptor.js';

const bip32 = BIP32Factory(ecc);

/**
 * A cosigner's account key (BIP-48, native segwit multisig, m/48'/coin'/0'/2') from a fixed seed:
 * real keys that every run derives again. `master` holds the private key, for tests that sign.
 */
export function testKey(seed: number, network: VaultNetwork = 'regtest'): VaultKey & { readonly master: BIP32Interface } {
  const master = bip32.fromSeed(createHash('sha256').update(`zalog test key ${seed}`).digest(), bitcoinNetwork(network));
  const coin = network === 'mainnet' ? 0 : 1;
  const account = master.derivePath(`m/48'/${coin}'/0'/2'`);
  return { master, xpub: account.neutered().toBase58(), fingerprint: Buffer.from(master.fingerprint).toString('hex'), originPath: `48'/${coin}'/0'/2'` };
}

/**
 * Real transactions and blocks, for the tests and benches of the chain watcher: serialised as on
 * the wire (bitcoinjs-lib), with a coinbase first and a correct merkle root. Unsigned inputs: the
 * watcher reads outputs and outpoints, not signatures (the PSBT tests sign for real).
 */
export interface TestOutput { readonly script: Uint8Array; readonly sats: bigint }

export function makeTransaction(inputs: readonly { readonly txid: string; readonly vout: number }[], outputs: readonly TestOutput[], lockTime = 0): Transaction {
  const tx = new Transaction();
  tx.version = 2;
  tx.locktime = lockTime;
  for (const input of inputs) tx.addInput(Buffer.from(input.txid, 'hex').reverse(), input.vout, 0xfffffffd);
  for (const output of outputs) tx.addOutput(output.script, output.sats);
  return tx;
}

export function makeCoinbase(height: number, script: Uint8Array, sats = 312_500_000n): Transaction {
  const tx = new Transaction();
  tx.version = 2;
  // BIP-34: the height first in the coinbase script.
  const heightBytes = Buffer.alloc(4);
  heightBytes.writeUInt32LE(height);
  tx.addInput(Buffer.alloc(32), 0xffffffff, 0xffffffff, Buffer.concat([Buffer.from([4]), heightBytes]));
  tx.addOutput(script, sats);
  return tx;
}

export function makeBlock(previousHash: string, transactions: readonly Transaction[], time: number): Block {
  const block = new Block();
  block.version = 0x20000000;
  block.prevHash = Buffer.from(previousHash, 'hex').reverse();
  block.timestamp = time;
  block.bits = 0x207fffff; // regtest's easiest target; the watcher does not check work (its backend does)
  block.nonce = 0;
  block.transactions = [...transactions];
  block.merkleRoot = Block.calculateMerkleRoot(block.transactions);
  return block;
}

/** A P2WPKH output script for a fixed seed: someone else's address in a block. */
export function otherScript(seed: number): Uint8Array {
  const hash = createHash('sha256').update(`zalog other ${seed}`).digest().subarray(0, 20);
  return Buffer.concat([Buffer.from([0x00, 0x14]), hash]);
}

/** A signer's wallet: takes a PSBT (base64), signs every input it holds a key for (the PSBT's key origins say which), returns it. */
export function signPsbt(psbtBase64: string, key: { readonly master: BIP32Interface }, network: VaultNetwork = 'regtest'): string {
  const psbt = Psbt.fromBase64(psbtBase64, { network: bitcoinNetwork(network) });
  signers.signBIP32({ psbt, masterNode: key.master });
  return psbt.toBase64();
}
