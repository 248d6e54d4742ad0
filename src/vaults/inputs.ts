import * as ecc from '@bitcoinerlab/secp256k1';
import { address as addressCodec, initEccLib, payments, Transaction } from 'bitcoinjs-lib';
import { bitcoinNetwork, type VaultNetwork } from './descriptor.js';

/**
 * Where a deposit came from: the addresses its transaction's inputs spent from, for screening
 * (a sanctions list names addresses; a deposit from one is held for compliance). Pure.
 *
 * Most inputs say their address themselves: a P2WPKH input's witness ends with its public key, a
 * P2SH-wrapped one's script signature is its redeem script, a P2WSH input's witness ends with its
 * witness script, a P2PKH input's script signature ends with its public key. A taproot input (a
 * signature alone) and anything else do not: their previous output must be read (the watcher asks
 * the backend for the previous transaction). Addresses come in the form screening compares:
 * bech32 in lower case, base58 as is, for the vault's network.
 */
export interface InputAddresses {
  readonly addresses: string[];
  /** The outpoints whose address only the previous transaction tells. */
  readonly unknown: { readonly txid: string; readonly vout: number }[];
}

/** A taproot script-path spend's last witness item: its control block (leaf version 0xc0/0xc1 first, then 32-byte steps). */
// Taproot outputs' addresses (bech32m) are checked as points: bitcoinjs-lib needs the curve for that.
initEccLib(ecc);

const isControlBlock = (bytes: Uint8Array | undefined): boolean => bytes !== undefined && bytes.length >= 33 && (bytes.length - 33) % 32 === 0 && (bytes[0]! & 0xfe) === 0xc0;

const isPubkey = (bytes: Uint8Array | undefined): boolean => bytes !== undefined && bytes.length === 33 && (bytes[0] === 2 || bytes[0] === 3);

/** The pushes of a script signature (data only; undefined if it is not push-only). */
function pushes(script: Uint8Array): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < script.length) {
    const op = script[i]!;
    let length: number;
    let start: number;
    if (op >= 1 && op <= 75) { length = op; start = i + 1; }
    else if (op === 76) { length = script[i + 1] ?? 0; start = i + 2; }
    else if (op === 77) { length = (script[i + 1] ?? 0) | ((script[i + 2] ?? 0) << 8); start = i + 3; }
    else if (op === 0) { out.push(new Uint8Array()); i += 1; continue; }
    else return undefined;
    if (start + length > script.length) return undefined;
    out.push(script.subarray(start, start + length));
    i = start + length;
  }
  return out;
}

export function inputAddresses(tx: Transaction, network: VaultNetwork): InputAddresses {
  const net = bitcoinNetwork(network);
  const addresses = new Set<string>();
  const unknown: InputAddresses['unknown'] = [];
  if (tx.isCoinbase()) return { addresses: [], unknown: [] };
  for (const input of tx.ins) {
    const witness = input.witness;
    const sig = pushes(input.script);
    let address: string | undefined;
    try {
      if (input.script.length === 0 && witness.length === 2 && isPubkey(witness[1])) address = payments.p2wpkh({ pubkey: witness[1]!, network: net }).address;
      else if (input.script.length === 0 && witness.length >= 2 && !isControlBlock(witness[witness.length - 1])) address = payments.p2wsh({ redeem: { output: witness[witness.length - 1]! }, network: net }).address;
      else if (sig !== undefined && sig.length === 1 && witness.length > 0) address = payments.p2sh({ redeem: { output: sig[0]! }, network: net }).address;
      else if (sig !== undefined && sig.length === 2 && witness.length === 0 && isPubkey(sig[1])) address = payments.p2pkh({ pubkey: sig[1]!, network: net }).address;
    } catch {
      address = undefined;
    }
    if (address !== undefined) addresses.add(/^(bc|tb|bcrt)1/.test(address) ? address.toLowerCase() : address);
    else unknown.push({ txid: Buffer.from(input.hash).reverse().toString('hex'), vout: input.index });
  }
  return { addresses: [...addresses], unknown };
}

/** The address of output `vout` of a previous transaction (raw), or undefined when it has none (OP_RETURN, bare scripts). */
export function outputAddress(raw: Uint8Array, vout: number, network: VaultNetwork): string | undefined {
  const output = Transaction.fromBuffer(Buffer.from(raw)).outs[vout];
  if (output === undefined) return undefined;
  try {
    const address = addressCodec.fromOutputScript(output.script, bitcoinNetwork(network));
    return /^(bc|tb|bcrt)1/.test(address) ? address.toLowerCase() : address;
  } catch {
    return undefined;
  }
}
