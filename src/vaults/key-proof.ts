import { Psbt } from '@bitcoinerlab/descriptors';
import * as ecc from '@bitcoinerlab/secp256k1';
import { Transaction } from 'bitcoinjs-lib';
import { createHash } from 'node:crypto';
import { AddressChain, bitcoinNetwork, type ParsedDescriptor } from './descriptor.js';
import { inputOutput, unsignedTransaction } from './psbt.js';

/**
 * The borrower proves it holds its vault key (pure). A collaborative vault's second signature is
 * the borrower's: if the xpub given as the borrower's were someone else's (a typo, or a key the
 * bank's side controls), the borrower could not co-sign its own release, or two parties other than
 * the borrower could spend. So before the loan is disbursed the borrower signs a challenge with
 * the vault itself, in the wallet it will sign spends with: a PSBT in the shape of BIP-322's
 * proof of funds (a virtual `to_spend` transaction paying the vault's first address, committing to
 * a message by its tagged hash; `to_sign` spending it to OP_RETURN, version 0, value 0, so it can
 * never be a real spend). A valid signature by the borrower's key of the vault at that address is
 * the proof.
 */

export class KeyProofError extends Error {
  override readonly name = 'KeyProofError';
  constructor(readonly code: 'psbt_malformed' | 'psbt_altered' | 'psbt_unsigned', message: string) {
    super(message);
  }
}

/** BIP-340's tagged hash with BIP-322's tag. */
function messageHash(message: string): Buffer {
  const tag = createHash('sha256').update('BIP0322-signed-message').digest();
  return createHash('sha256').update(Buffer.concat([tag, tag, Buffer.from(message, 'utf8')])).digest();
}

export interface KeyChallenge {
  readonly message: string;
  readonly psbt: string;
  readonly unsignedTxid: string;
}

/** The vault key indexes (in the descriptor) that are the borrower's: its xpub's. */
function borrowerKeys(chain: AddressChain, borrowerXpub: string): string[] {
  const keys = chain.keysAt(0);
  return chain.parsed.keys.flatMap((key, i) => (key.expression.includes(borrowerXpub) ? [Buffer.from(keys[i]!).toString('hex')] : []));
}

export function keyChallenge(vault: ParsedDescriptor, borrowerXpub: string, message: string): KeyChallenge {
  const chain = new AddressChain(vault);
  if (borrowerKeys(chain, borrowerXpub).length === 0) throw new Error('the borrower\'s xpub is not a key of this vault');
  const toSpend = new Transaction();
  toSpend.version = 0;
  toSpend.addInput(Buffer.alloc(32), 0xffffffff, 0, Buffer.concat([Buffer.from([0x00, 0x20]), messageHash(message)]));
  toSpend.addOutput(Buffer.from(chain.at(0).scriptPubKey, 'hex'), 0n);
  const psbt = new Psbt({ network: bitcoinNetwork(vault.network) });
  psbt.setVersion(0);
  // A vault whose borrower key only recovers (bank custody with a recovery path) is proven on that path.
  const cosigns = vault.keys.some((key) => key.expression.includes(borrowerXpub) && /\/0\/\d+\/\*$/.test(key.expression));
  inputOutput(chain, 0, !cosigns).updatePsbtAsInput({ psbt, txHex: toSpend.toHex(), vout: 0 });
  psbt.setInputSequence(0, 0);
  psbt.addOutput({ script: Buffer.from([0x6a]), value: 0n });
  return { message, psbt: psbt.toBase64(), unsignedTxid: unsignedId(psbt) };
}

const unsignedId = (psbt: Psbt): string => unsignedTransaction(psbt).getId();

/** Checks the borrower's signed challenge; returns the key (hex) whose valid signature proves it. */
export function checkKeyProof(vault: ParsedDescriptor, borrowerXpub: string, challenge: KeyChallenge, signed: string): string {
  let psbt: Psbt;
  try {
    psbt = Psbt.fromBase64(signed.trim(), { network: bitcoinNetwork(vault.network) });
  } catch (error) {
    throw new KeyProofError('psbt_malformed', `the PSBT does not parse (${(error as Error).message})`);
  }
  if (psbt.inputCount !== 1 || unsignedId(psbt) !== challenge.unsignedTxid) throw new KeyProofError('psbt_altered', 'this is not the vault\'s key challenge (another vault\'s, or a changed one): download it again and sign it as it is');
  const mine = borrowerKeys(new AddressChain(vault), borrowerXpub);
  for (const partial of psbt.data.inputs[0]!.partialSig ?? []) {
    const pubkey = Buffer.from(partial.pubkey).toString('hex');
    if (!mine.includes(pubkey)) continue;
    if (psbt.validateSignaturesOfInput(0, (key, hash, signature) => ecc.verify(hash, key, signature), partial.pubkey)) return pubkey;
    throw new KeyProofError('psbt_unsigned', `the signature by ${pubkey} does not verify`);
  }
  throw new KeyProofError('psbt_unsigned', 'the PSBT carries no signature by the borrower\'s key of this vault: sign it in the wallet that holds the key given as the borrower\'s');
}
