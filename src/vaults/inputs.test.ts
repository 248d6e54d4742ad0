import * as ecc from '@bitcoinerlab/secp256k1';
import { payments, networks, Transaction } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { makeTransaction, otherScript } from '../test-support/bitcoin.js';
import { inputAddresses, outputAddress } from './inputs.js';

describe('a deposit\'s input addresses', () => {
  const pubkey = Buffer.from(ecc.pointFromScalar(Buffer.alloc(32, 7), true)!);
  const sig = Buffer.alloc(71, 0x30);
  const spend = (prev: number) => makeTransaction([{ txid: prev.toString(16).padStart(64, 'a'), vout: prev }], [{ script: otherScript(prev), sats: 1_000n }]);

  it('reads P2WPKH, P2SH-P2WPKH, P2WSH and P2PKH inputs from the input itself, in the network\'s form', () => {
    const tx = new Transaction();
    const wpkh = spend(1).ins[0]!;
    tx.addInput(wpkh.hash, 0); tx.setWitness(0, [sig, pubkey]);
    const redeem = payments.p2wpkh({ pubkey }).output!;
    tx.addInput(wpkh.hash, 1, undefined, Buffer.concat([Buffer.from([redeem.length]), redeem])); tx.setWitness(1, [sig, pubkey]);
    const witnessScript = Buffer.concat([Buffer.from([0x21]), pubkey, Buffer.from([0xac])]);
    tx.addInput(wpkh.hash, 2); tx.setWitness(2, [sig, witnessScript]);
    tx.addInput(wpkh.hash, 3, undefined, Buffer.concat([Buffer.from([sig.length]), sig, Buffer.from([33]), pubkey]));
    tx.addOutput(otherScript(9), 1_000n);
    expect(inputAddresses(tx, 'mainnet')).toEqual({
      addresses: [
        payments.p2wpkh({ pubkey }).address,
        payments.p2sh({ redeem: { output: redeem } }).address,
        payments.p2wsh({ redeem: { output: witnessScript } }).address,
        payments.p2pkh({ pubkey }).address,
      ],
      unknown: [],
    });
    expect(inputAddresses(tx, 'regtest').addresses[0]).toBe(payments.p2wpkh({ pubkey, network: networks.regtest }).address);
  });

  it('leaves a taproot input (a signature alone, or a script path) to its previous transaction, which tells it', () => {
    const tx = new Transaction();
    const hash = spend(2).ins[0]!.hash;
    tx.addInput(hash, 0); tx.setWitness(0, [Buffer.alloc(64, 1)]);
    tx.addInput(hash, 1); tx.setWitness(1, [Buffer.alloc(64, 1), Buffer.from([0x51]), Buffer.concat([Buffer.from([0xc0]), Buffer.alloc(32, 2)])]);
    tx.addOutput(otherScript(9), 1_000n);
    const found = inputAddresses(tx, 'mainnet');
    expect(found.addresses).toEqual([]);
    expect(found.unknown.map((u) => u.vout)).toEqual([0, 1]);
    const taproot = payments.p2tr({ internalPubkey: pubkey.subarray(1) });
    const previous = makeTransaction([{ txid: 'bb'.repeat(32), vout: 0 }], [{ script: otherScript(1), sats: 1n }, { script: taproot.output!, sats: 5_000n }]);
    expect(outputAddress(previous.toBuffer(), 1, 'mainnet')).toBe(taproot.address);
    expect(outputAddress(previous.toBuffer(), 7, 'mainnet')).toBeUndefined();
  });
});
