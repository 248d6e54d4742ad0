import { Output, Psbt } from '@bitcoinerlab/descriptors';
import { coinselect, maxFunds } from '@bitcoinerlab/coinselect';
import * as ecc from '@bitcoinerlab/secp256k1';
import { Transaction, address as addressCodec } from 'bitcoinjs-lib';
import { AddressChain, bitcoinNetwork, type ParsedDescriptor } from './descriptor.js';

/**
 * Spending a vault by PSBT (BIP-174), pure: zalog builds the unsigned PSBT (inputs chosen by
 * @bitcoinerlab/coinselect, each input described by the vault's descriptor so any signer knows
 * its script and key paths), the signers sign outside zalog and send their PSBTs back, and zalog
 * checks them (the same transaction as proposed, the fee as proposed, enough valid signatures from
 * the vault's own keys) before it finalises and extracts the transaction to broadcast.
 *
 * Amounts are bigint satoshis everywhere; coinselect counts in JS numbers, which hold every amount
 * of bitcoin exactly (21e14 < 2^53), so they are converted at its boundary only.
 */

export class SpendError extends Error {
  override readonly name = 'SpendError';
  constructor(readonly code: 'spend_insufficient' | 'spend_invalid' | 'psbt_malformed' | 'psbt_altered' | 'psbt_unsigned' | 'psbt_fee', message: string) {
    super(message);
  }
}

/** A vault coin to spend: its outpoint, amount, address index, and the funding transaction (hex). */
export interface VaultCoin {
  readonly txid: string;
  readonly vout: number;
  readonly sats: bigint;
  readonly index: number;
  readonly txHex: string;
}

export interface SpendRequest {
  readonly vault: ParsedDescriptor;
  readonly coins: readonly VaultCoin[];
  /** Where the money goes; `sats` undefined: everything the coins hold, less the fee (a release after repayment). */
  readonly to: { readonly address: string; readonly sats?: bigint };
  /** The vault address index change goes back to (when an amount is sent). */
  readonly changeIndex: number;
  /** sat/vB, already held between the product's floor and cap. */
  readonly feeRate: number;
  /**
   * Spend by the borrower's recovery path instead of the cosigners (only a vault with one): the
   * inputs carry the relative timelock in their sequence, so the spend is valid only that many
   * blocks after each coin confirmed.
   */
  readonly recovery?: boolean;
}

export interface SpendProposal {
  readonly psbt: string;
  readonly unsignedTxid: string;
  readonly inputs: readonly { readonly txid: string; readonly vout: number; readonly sats: bigint; readonly index: number }[];
  readonly outputs: readonly { readonly address: string; readonly sats: bigint; readonly change: boolean }[];
  readonly fee: bigint;
  readonly vsize: number;
}

/** The fee rate to use: the backend's estimate held between a floor and a cap (sat/vB). */
export function boundedFeeRate(estimate: number | undefined, floor: number, cap: number): number {
  if (!(floor > 0) || !(cap >= floor)) throw new SpendError('spend_invalid', `the fee floor (${floor}) and cap (${cap}) are sat/vB with 0 < floor <= cap`);
  if (estimate === undefined || !Number.isFinite(estimate)) return floor;
  return Math.min(cap, Math.max(floor, estimate));
}

/**
 * The keys a spend's path signs with at `index`: the recovery key alone (the last key of a vault
 * with a recovery path), or the cosigners (every key of a plain vault; all but the last otherwise).
 */
export function pathKeys(chain: AddressChain, index: number, recovery: boolean): Uint8Array[] {
  const keys = chain.keysAt(index);
  return recovery ? keys.slice(-1) : hasRecoveryPath(chain.parsed) ? keys.slice(0, -1) : keys;
}

/** Whether the vault has the borrower's timelocked recovery path (vaultDescriptor's or_d(…, older(N)) form). */
function hasRecoveryPath(vault: ParsedDescriptor): boolean {
  return /\bolder\(\d+\)/.test(vault.shape);
}

/** The vault's signature threshold, M of its multi() or sortedmulti(). */
function thresholdOf(vault: ParsedDescriptor): number {
  const found = /multi\((\d+),/.exec(vault.shape);
  if (found === null) throw new SpendError('spend_invalid', `the vault's script has no multisig: ${vault.shape}`);
  return Number(found[1]);
}

/**
 * The descriptor a coin at `index` is spent through. A sortedmulti vault's coin is described as
 * `wsh(multi(M, keys))` with that index's keys already sorted and each key's full origin
 * ([fingerprint/path…/index]): the same script (BIP-67 order is what sortedmulti means), but in
 * miniscript, which the descriptor library can satisfy and finalise (it derives addresses from
 * sortedmulti but cannot spend it), and with the origins a signer's wallet needs to find its keys.
 */
export function spendingDescriptor(chain: AddressChain, index: number): string {
  const vault = chain.parsed;
  if (vault.miniscript !== null) return vault.descriptor;
  const keys = chain.keysAt(index);
  const described = vault.keys.map((key, i) => {
    const steps = key.expression.replace(/^\[[^\]]*\]/, '').replace(/^[xt]pub[1-9A-HJ-NP-Za-km-z]+/, '').replace('*', String(index));
    const origin = key.fingerprint === null ? '' : `[${key.fingerprint}${key.originPath ?? ''}${steps}]`;
    return { pubkey: Buffer.from(keys[i]!), text: `${origin}${Buffer.from(keys[i]!).toString('hex')}` };
  });
  described.sort((a, b) => Buffer.compare(a.pubkey, b.pubkey));
  return `wsh(multi(${thresholdOf(vault)},${described.map((key) => key.text).join(',')}))`;
}

/** The descriptor Output for a coin of the vault, on the path the spend takes. */
export function inputOutput(chain: AddressChain, index: number, recovery: boolean): InstanceType<typeof Output> {
  const vault = chain.parsed;
  const network = bitcoinNetwork(vault.network);
  if (vault.miniscript === null) {
    const output = new Output({ descriptor: spendingDescriptor(chain, index), network });
    if (Buffer.from(output.getWitnessScript()!).toString('hex') !== chain.at(index).witnessScript) throw new Error(`the spending descriptor of index ${index} does not give the vault's script`);
    return output;
  }
  // A vault with a recovery path: say which keys sign, so the satisfier takes that branch (and its timelock).
  return new Output({ descriptor: vault.descriptor, index, network, signersPubKeys: pathKeys(chain, index, recovery) });
}

function destination(vault: ParsedDescriptor, address: string): InstanceType<typeof Output> {
  try {
    addressCodec.toOutputScript(address, bitcoinNetwork(vault.network));
  } catch {
    throw new SpendError('spend_invalid', `${address} is not a ${vault.network} address`);
  }
  return new Output({ descriptor: `addr(${address})`, network: bitcoinNetwork(vault.network) });
}

export function buildSpend(request: SpendRequest): SpendProposal {
  const { vault } = request;
  const network = bitcoinNetwork(vault.network);
  const recovery = request.recovery === true;
  if (recovery && !hasRecoveryPath(vault)) throw new SpendError('spend_invalid', 'this vault has no recovery path');
  if (request.coins.length === 0) throw new SpendError('spend_insufficient', 'the vault holds no coin to spend');
  const to = destination(vault, request.to.address);
  const chain = new AddressChain(vault);
  const utxos = request.coins.map((coin) => ({ coin, output: inputOutput(chain, coin.index, recovery), value: Number(coin.sats) }));
  const change = new Output({ descriptor: vault.descriptor, index: request.changeIndex, network });
  // @bitcoinerlab/coinselect 1.x is typed against descriptors 2.x; it reads the Outputs through
  // their weights and scripts only (isSegwit, inputWeight, outputWeight, getScriptPubKey), which
  // 3.x keeps: the cast is at this boundary, and the tests check the fee and amounts it picks.
  type Selection = { fee: number; vsize: number; utxos: { output: unknown; value: number }[]; targets: { output: unknown; value: number }[] } | undefined;
  const select = (request.to.sats === undefined ? maxFunds : coinselect) as unknown as (args: { utxos: unknown[]; targets: unknown[]; remainder: unknown; feeRate: number }) => Selection;
  const selected = request.to.sats === undefined
    ? select({ utxos, targets: [], remainder: to, feeRate: request.feeRate })
    : select({ utxos, targets: [{ output: to, value: Number(request.to.sats) }], remainder: change, feeRate: request.feeRate });
  if (selected === undefined) {
    throw new SpendError('spend_insufficient', request.to.sats === undefined
      ? `the vault's coins do not cover the fee at ${request.feeRate} sat/vB`
      : `the vault's coins do not cover ${request.to.sats} sats and the fee at ${request.feeRate} sat/vB`);
  }
  const psbt = new Psbt({ network });
  const inputs: SpendProposal['inputs'][number][] = [];
  for (const utxo of selected.utxos) {
    const chosen = utxos.find((u) => u.output === utxo.output)!;
    chosen.output.updatePsbtAsInput({ psbt, txHex: chosen.coin.txHex, vout: chosen.coin.vout });
    inputs.push({ txid: chosen.coin.txid, vout: chosen.coin.vout, sats: chosen.coin.sats, index: chosen.coin.index });
  }
  const outputs: SpendProposal['outputs'][number][] = [];
  for (const target of selected.targets) {
    const output = target.output as InstanceType<typeof Output>;
    output.updatePsbtAsOutput({ psbt, value: BigInt(target.value) });
    outputs.push({ address: output.getAddress(), sats: BigInt(target.value), change: output === change });
  }
  const fee = inputs.reduce((sum, input) => sum + input.sats, 0n) - outputs.reduce((sum, output) => sum + output.sats, 0n);
  if (BigInt(selected.fee) !== fee) throw new Error(`coin selection's fee ${selected.fee} is not inputs less outputs ${fee}`);
  const unsignedTxid = unsignedTransaction(psbt).getId();
  return { psbt: psbt.toBase64(), unsignedTxid, inputs, outputs, fee, vsize: selected.vsize };
}

/** The transaction a PSBT describes, without its signatures (its id does not change with them for segwit). */
export function unsignedTransaction(psbt: Psbt): Transaction {
  const tx = new Transaction();
  tx.version = psbt.version;
  tx.locktime = psbt.locktime;
  for (const input of psbt.txInputs) tx.addInput(input.hash, input.index, input.sequence);
  for (const output of psbt.txOutputs) tx.addOutput(output.script, output.value);
  return tx;
}

/**
 * A signer's PSBT, parsed and checked to be this proposal's transaction: refused when it does not
 * parse, or spends other coins (another vault's, another proposal's), or changes an output.
 */
function parseAgainst(request: SpendRequest, proposal: SpendProposal, text: string, label: string): Psbt {
  const network = bitcoinNetwork(request.vault.network);
  const base = Psbt.fromBase64(proposal.psbt, { network });
  let psbt: Psbt;
  try {
    psbt = Psbt.fromBase64(text.trim(), { network });
  } catch (error) {
    throw new SpendError('psbt_malformed', `${label} does not parse (${(error as Error).message})`);
  }
  if (unsignedTransaction(psbt).getId() !== proposal.unsignedTxid) {
    const sameInputs = psbt.txInputs.length === base.txInputs.length && psbt.txInputs.every((input, k) => Buffer.from(input.hash).equals(Buffer.from(base.txInputs[k]!.hash)) && input.index === base.txInputs[k]!.index);
    throw new SpendError('psbt_altered', sameInputs
      ? `${label} spends the proposal's coins but its outputs or sequence differ from what was proposed: refused`
      : `${label} is not this proposal's transaction (it spends other coins: another vault's, or another proposal's)`);
  }
  return psbt;
}

/**
 * Per input, the vault keys of the spend's path whose signatures in `psbt` verify. Refused when a
 * signature is by a key that is not the vault's for that input, or does not verify.
 */
function validSigners(chain: AddressChain, proposal: SpendProposal, psbt: Psbt, recovery: boolean): string[][] {
  return proposal.inputs.map((input, k) => {
    const allowed = chain.keysAt(input.index).map((key) => Buffer.from(key).toString('hex'));
    const usable = pathKeys(chain, input.index, recovery).map((key) => Buffer.from(key).toString('hex'));
    const valid: string[] = [];
    for (const partial of psbt.data.inputs[k]!.partialSig ?? []) {
      const pubkey = Buffer.from(partial.pubkey).toString('hex');
      if (!allowed.includes(pubkey)) throw new SpendError('psbt_unsigned', `input ${k} carries a signature by ${pubkey}, which is not one of the vault's keys for it`);
      const ok = psbt.validateSignaturesOfInput(k, (key, hash, signature) => ecc.verify(hash, key, signature), partial.pubkey);
      if (!ok) throw new SpendError('psbt_unsigned', `input ${k}: the signature by ${pubkey} does not verify`);
      // A vault key of the other path (a wallet signs with every key of its own it finds) is not counted.
      if (usable.includes(pubkey) && !valid.includes(pubkey)) valid.push(pubkey);
    }
    return valid;
  });
}

/**
 * One signer's PSBT as it arrives (before the others): this proposal's transaction, every
 * signature in it valid and by the vault's keys; returns the keys (hex) that signed, per input.
 * A PSBT without any valid signature of the spend's path is refused (nothing to keep).
 */
export function inspectSigned(request: SpendRequest, proposal: SpendProposal, text: string): string[][] {
  const psbt = parseAgainst(request, proposal, text, 'the PSBT');
  const signers = validSigners(new AddressChain(request.vault), proposal, psbt, request.recovery === true);
  if (signers.every((keys) => keys.length === 0)) throw new SpendError('psbt_unsigned', 'the PSBT carries no signature by a key of this vault: sign it in the wallet that holds one of the vault\'s keys first');
  return signers;
}

export interface CheckedSpend {
  /** The finalised transaction, hex, to broadcast. */
  readonly txHex: string;
  readonly txid: string;
  /** Per input, the public keys (hex) whose signatures were valid. */
  readonly signers: readonly (readonly string[])[];
}

/**
 * Combines the signers' PSBTs with the proposal, checks them and finalises: refused (SpendError,
 * nothing finalised) when a PSBT is not this proposal's transaction (another vault's, or outputs a
 * signer changed), when a signature does not verify or is not by one of the vault's keys for that
 * input, when an input has fewer valid signatures than the vault needs (its threshold, or the
 * recovery key alone), or when the fee is not the proposal's.
 */
export function checkAndFinalise(request: SpendRequest, proposal: SpendProposal, signedPsbts: readonly string[]): CheckedSpend {
  const { vault } = request;
  const network = bitcoinNetwork(vault.network);
  const recovery = request.recovery === true;
  const signed = signedPsbts.map((text, i) => parseAgainst(request, proposal, text, `PSBT ${i + 1}`));
  const combined = Psbt.fromBase64(proposal.psbt, { network });
  if (signed.length > 0) combined.combine(...signed);
  const chain = new AddressChain(vault);
  const need = recovery ? 1 : thresholdOf(vault);
  const signers = validSigners(chain, proposal, combined, recovery);
  signers.forEach((valid, k) => {
    if (valid.length < need) throw new SpendError('psbt_unsigned', `input ${k} has ${valid.length} valid signature${valid.length === 1 ? '' : 's'} of the ${need} the vault needs`);
  });
  // Finalise with the descriptor's own finalisers (they build each witness from the signatures).
  const scratch = new Psbt({ network });
  const finalisers = proposal.inputs.map((input) => {
    const coin = request.coins.find((c) => c.txid === input.txid && c.vout === input.vout);
    if (coin === undefined) throw new SpendError('spend_invalid', `coin ${input.txid}:${input.vout} of the proposal is not among the vault's coins`);
    return inputOutput(chain, input.index, recovery).updatePsbtAsInput({ psbt: scratch, txHex: coin.txHex, vout: coin.vout });
  });
  try {
    for (const finalise of finalisers) finalise({ psbt: combined, validate: true });
  } catch (error) {
    throw new SpendError('psbt_unsigned', `the signatures do not satisfy the vault's script: ${(error as Error).message}`);
  }
  const tx = combined.extractTransaction();
  const fee = combined.getFee();
  if (fee !== proposal.fee) throw new SpendError('psbt_fee', `the fee is ${fee} sats, the proposal's was ${proposal.fee}`);
  return { txHex: tx.toHex(), txid: tx.getId(), signers };
}
