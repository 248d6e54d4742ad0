import { Output, checksum as descriptorChecksum, networks, type Network } from '@bitcoinerlab/descriptors';
import { compileMiniscript } from '@bitcoinerlab/miniscript';
import * as ecc from '@bitcoinerlab/secp256k1';
import { BIP32Factory } from 'bip32';
import { payments } from 'bitcoinjs-lib';
import { createHmac } from 'node:crypto';
import secp256k1 from 'secp256k1';

/**
 * Output descriptors (BIP-380..386) for the vaults that hold a loan's collateral: parse and check
 * one (checksum, keys, network), derive its addresses, and build the descriptor of a vault from its
 * keys. Pure: no I/O. Parsing, checksums, miniscript and script building are the libraries' (see
 * docs/ARCHITECTURE.md, "Collateral on chain"); what is ours is what a vault may be (public keys
 * only, segwit v0 script hash, ranged keys in lockstep) and the fast address chain below.
 */

export const VAULT_NETWORKS = ['mainnet', 'testnet', 'signet', 'regtest'] as const;
export type VaultNetwork = (typeof VAULT_NETWORKS)[number];

/** A descriptor, key or network that is not usable; `code` is machine-readable, the message says why. */
export class DescriptorError extends Error {
  constructor(readonly code: 'descriptor_malformed' | 'descriptor_checksum' | 'descriptor_private_key' | 'descriptor_network' | 'descriptor_unsupported' | 'descriptor_index', message: string) {
    super(message);
    this.name = 'DescriptorError';
  }
}

/** Signet uses testnet's address and key versions (tb1…, tpub). */
export function bitcoinNetwork(network: VaultNetwork): Network {
  return network === 'mainnet' ? networks.bitcoin : network === 'regtest' ? networks.regtest : networks.testnet;
}

export function isVaultNetwork(text: string): text is VaultNetwork {
  return (VAULT_NETWORKS as readonly string[]).includes(text);
}

/** The network a descriptor's keys imply when none is named: testnet for tpub keys, mainnet otherwise. */
export function impliedNetwork(text: string): VaultNetwork {
  return /\btpub[1-9A-HJ-NP-Za-km-z]{100,}/.test(text) ? 'testnet' : 'mainnet';
}

const CHECKSUM_CHARSET = /^[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{8}$/;
/** The highest unhardened child index (BIP-32): a chain's addresses are numbered 0 to this. */
export const MAX_INDEX = 2 ** 31 - 1;

/**
 * The descriptor with its BIP-380 checksum: added when absent, checked when given. Whitespace
 * around it is dropped; anything else that is not in the descriptor alphabet is refused.
 */
export function withChecksum(text: string): string {
  const trimmed = text.trim();
  const parts = trimmed.split('#');
  if (parts.length > 2) throw new DescriptorError('descriptor_checksum', 'a descriptor has at most one "#", before its 8-character checksum');
  const body = parts[0]!;
  if (body === '') throw new DescriptorError('descriptor_malformed', 'the descriptor is empty');
  let computed: string;
  try {
    computed = descriptorChecksum(body);
  } catch {
    throw new DescriptorError('descriptor_malformed', 'the descriptor has a character outside the descriptor alphabet (BIP-380)');
  }
  if (!/^[0-9()[\],'/*a-zA-Z@:$%{}&+\-.;<=>?!^_|~`"\\ ]+$/.test(body) || computed === '' || computed.length !== 8) {
    throw new DescriptorError('descriptor_malformed', 'the descriptor has a character outside the descriptor alphabet (BIP-380)');
  }
  if (parts.length === 2) {
    const given = parts[1]!;
    if (!CHECKSUM_CHARSET.test(given)) throw new DescriptorError('descriptor_checksum', `the checksum "${given}" is not 8 characters of the checksum alphabet`);
    if (given !== computed) throw new DescriptorError('descriptor_checksum', `the checksum ${given} does not match the descriptor (a character was changed or lost); its checksum is ${computed}`);
  }
  return `${body}#${computed}`;
}

/** One key of a parsed descriptor, as the address chain derives it. */
interface ChainKey {
  /** The key's node one step above the ranged `*` (ranged keys), or its fixed public key. */
  readonly parent: ParentKey | undefined;
  readonly fixed: Uint8Array | undefined;
}

/**
 * BIP-32's public child derivation (CKDpub), by hand over libsecp256k1 (the `secp256k1` package's
 * native binding): HMAC-SHA512 of the parent key and index under the chain code, and the parent
 * key tweaked by its left half. Written here for speed: the same derivation through bip32 over the
 * pure-JS curves of @bitcoinerlab/secp256k1 took about 0.6 ms a key on this machine, over
 * tiny-secp256k1's WASM 0.2 ms, here about 0.04 ms. Tests check it against bip32 for random
 * indexes. The parent's public key and chain code are public: nothing secret passes here.
 */
/** A key's node above `*`: its compressed key (what the HMAC hashes), the same point uncompressed (parsed by libsecp256k1 without a square root: about a fifth of a tweak-add saved per key), its chain code. */
interface ParentKey { readonly publicKey: Buffer; readonly point: Uint8Array; readonly chainCode: Buffer }

function publicChild(parent: ParentKey, index: number): Uint8Array {
  const data = Buffer.allocUnsafe(37);
  parent.publicKey.copy(data, 0);
  data.writeUInt32BE(index, 33);
  const digest = createHmac('sha512', parent.chainCode).update(data).digest();
  try {
    return secp256k1.publicKeyTweakAdd(parent.point, digest.subarray(0, 32), true);
  } catch {
    // The left half is not below the curve order, or the child is the point at infinity: BIP-32
    // calls the index invalid (odds about 1 in 2^127); a wallet skips it, and so must the vault.
    throw new DescriptorError('descriptor_index', `index ${index} is invalid for a key of this descriptor (BIP-32): use the next`);
  }
}

export interface ParsedDescriptor {
  /** The descriptor with its checksum. */
  readonly descriptor: string;
  readonly network: VaultNetwork;
  /** Whether it describes a chain of addresses (keys ending in `/*`) rather than one. */
  readonly ranged: boolean;
  /** The script form, with keys as @0, @1, …: e.g. `wsh(sortedmulti(2,@0,@1,@2))`. */
  readonly shape: string;
  /** The miniscript inside wsh(), when it is one (not sortedmulti). */
  readonly miniscript: string | null;
  readonly keys: readonly DescriptorKey[];
}

export interface DescriptorKey {
  /** As written in the descriptor, e.g. `[d34db33f/48'/0'/0'/2']xpub…/7/*`. */
  readonly expression: string;
  /** The key origin's fingerprint (hex) and path, when the descriptor gives them. */
  readonly fingerprint: string | null;
  readonly originPath: string | null;
}

/** A key expression: optional origin [fingerprint/path], then a hex public key or an xpub/tpub with its derivation steps. */
const KEY_EXPRESSION = /(?:\[([0-9a-fA-F]{8})((?:\/[0-9]+['h]?)*)\])?(?:[xt]pub[1-9A-HJ-NP-Za-km-z]{100,112}(?:\/[0-9]+['h]?)*(?:\/\*)?|0[23][0-9a-fA-F]{64}(?![0-9a-fA-F])|04[0-9a-fA-F]{128})/g;

const bip32 = BIP32Factory(ecc);

/**
 * Parses and checks a descriptor for `network`. A vault's descriptor holds public keys only (zalog
 * never holds a private key), pays to a segwit v0 script hash (`wsh(...)`), and when ranged derives
 * every key with one index in lockstep. Throws DescriptorError with the reason. `vault: false`
 * checks any descriptor the library reads (keys, checksum, network) without a vault's rules, but
 * still refuses private keys.
 */
export function parseDescriptor(text: string, network: VaultNetwork, options: { readonly vault?: boolean } = {}): ParsedDescriptor {
  const vault = options.vault ?? true;
  const descriptor = withChecksum(text);
  const body = descriptor.slice(0, -9);
  if (/\b[xt]prv[1-9A-HJ-NP-Za-km-z]{20,}/.test(body)) throw new DescriptorError('descriptor_private_key', 'the descriptor holds an extended private key (xprv/tprv): zalog takes public keys only; export the descriptor with xpubs');
  const ranged = body.includes('*');
  if (/\*'|\*h/.test(body)) throw new DescriptorError('descriptor_unsupported', 'hardened ranged derivation (*\' or *h) needs private keys: a vault\'s keys end in an unhardened /*');
  let output: InstanceType<typeof Output>;
  try {
    output = new Output({ descriptor, ...(ranged ? { index: 0 } : {}), network: bitcoinNetwork(network), checksumRequired: true });
  } catch (error) {
    throw describeLibraryError(error, network);
  }
  const expansion = output.expand();
  const map = expansion.expansionMap ?? {};
  for (const info of Object.values(map)) {
    if (info.xPrv !== undefined || info.privkey !== undefined) {
      throw new DescriptorError('descriptor_private_key', 'the descriptor holds a private key: zalog takes public keys only');
    }
  }
  // The keys as written, in the order the library numbers them (@0, @1, …: textual order).
  const keys: DescriptorKey[] = [...body.matchAll(KEY_EXPRESSION)].map((match) => ({ expression: match[0], fingerprint: match[1]?.toLowerCase() ?? null, originPath: match[2] ?? null }));
  if (vault && keys.length !== Object.keys(map).length) throw new DescriptorError('descriptor_unsupported', 'a vault\'s keys are public keys in hex or extended public keys (xpub/tpub)');
  const shape = expansion.expandedExpression ?? '';
  if (vault && (!output.isSegwit() || !/^wsh\(/.test(shape))) throw new DescriptorError('descriptor_unsupported', 'a vault pays to a segwit script hash: the descriptor starts with wsh(');
  const miniscript = expansion.expandedMiniscript ?? null;
  if (miniscript !== null) {
    const compiled = compileMiniscript(miniscript);
    if (!compiled.issane) throw new DescriptorError('descriptor_unsupported', `the miniscript is not sane (${compiled.error ?? 'a spending path without a signature, mixed timelocks or a malleable branch'}): a vault needs every path signed`);
  }
  return { descriptor, network, ranged, shape, miniscript, keys };
}

function describeLibraryError(error: unknown, network: VaultNetwork): DescriptorError {
  const message = (error as Error)?.message ?? String(error);
  if (/network version|Invalid network|network mismatch/i.test(message)) {
    return new DescriptorError('descriptor_network', `a key is not for ${network} (mainnet keys are xpub, testnet, signet and regtest keys tpub)`);
  }
  if (/base58|Invalid (public )?key|point|Expected Buffer|Invalid checksum|too short|length/i.test(message)) {
    return new DescriptorError('descriptor_malformed', `a key in the descriptor is not a valid public or extended public key (${message.replace(/^Error: /, '').slice(0, 200)})`);
  }
  return new DescriptorError('descriptor_malformed', `the descriptor does not parse: ${message.replace(/^Error: /, '').slice(0, 300)}`);
}

export interface DerivedAddress {
  readonly index: number;
  readonly address: string;
  /** The output script (hex) a transaction pays to. */
  readonly scriptPubKey: string;
  /** The witness script (hex) a spend reveals; null for a descriptor without one (not a vault's). */
  readonly witnessScript: string | null;
}

export function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) throw new DescriptorError('descriptor_index', `the index is a whole number from 0 to ${MAX_INDEX}`);
}

/** One address of the descriptor, by the descriptor library itself (the reference the chain below is checked against). */
export function deriveAddress(parsed: ParsedDescriptor, index = 0): DerivedAddress {
  checkIndex(index);
  if (!parsed.ranged && index !== 0) throw new DescriptorError('descriptor_index', 'the descriptor is not ranged (no /*): it has one address, index 0');
  const output = new Output({ descriptor: parsed.descriptor, ...(parsed.ranged ? { index } : {}), network: bitcoinNetwork(parsed.network) });
  return { index, address: output.getAddress(), scriptPubKey: hex(output.getScriptPubKey()), witnessScript: output.getWitnessScript() === undefined ? null : hex(output.getWitnessScript()!) };
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/**
 * A vault's address chain, fast: each key's node above `*` is derived once, so an address costs one
 * child derivation per key and a hash. The descriptor library builds a fresh Output per index
 * (about 7 ms each here: it parses and compiles again), too slow for a watcher deriving ahead for
 * every live loan. The script is the library's own for index 0 with the keys put in: sortedmulti
 * sorts them (BIP-67), a miniscript keeps them where the template had them. Tests check it
 * against deriveAddress for random indexes.
 */
export class AddressChain {
  readonly #keys: readonly ChainKey[];
  readonly #sorted: boolean;
  readonly #threshold: number;
  /** For a miniscript: the witness script of index 0 and where each key's 33 bytes sit in it. */
  readonly #template: Uint8Array | undefined;
  readonly #offsets: readonly number[];
  readonly #network: Network;

  constructor(readonly parsed: ParsedDescriptor) {
    this.#network = bitcoinNetwork(parsed.network);
    const output = new Output({ descriptor: parsed.descriptor, ...(parsed.ranged ? { index: 0 } : {}), network: this.#network });
    const expansion = output.expand();
    const infos = Object.entries(expansion.expansionMap ?? {}).sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1))).map(([, info]) => info);
    this.#keys = infos.map((info, i) => {
      if (info.xPub !== undefined && info.keyPath !== undefined && parsed.keys[i]!.expression.endsWith('/*')) {
        const steps = info.keyPath.split('/').filter((step) => step !== '');
        const above = steps.slice(0, -1).join('/');
        const node = bip32.fromBase58(info.xPub, this.#network);
        const parent = above === '' ? node : node.derivePath(above);
        return { parent: { publicKey: Buffer.from(parent.publicKey), point: secp256k1.publicKeyConvert(parent.publicKey, false), chainCode: Buffer.from(parent.chainCode) }, fixed: undefined };
      }
      return { parent: undefined, fixed: info.pubkey };
    });
    const sorted = /^wsh\(sortedmulti\((\d+),/.exec(parsed.shape);
    this.#sorted = sorted !== null;
    this.#threshold = sorted === null ? 0 : Number(sorted[1]);
    if (sorted === null) {
      const template = output.getWitnessScript()!;
      this.#template = template;
      this.#offsets = infos.map((info) => {
        const key = info.pubkey!;
        const at = indexOfPush(template, key);
        if (at < 0) throw new DescriptorError('descriptor_unsupported', 'a key of the descriptor is not pushed whole in its script (hashed keys, pkh(), are not supported in a vault)');
        return at;
      });
    } else {
      this.#template = undefined;
      this.#offsets = [];
    }
  }

  /** The public keys at `index`, in the descriptor's key order. */
  keysAt(index: number): Uint8Array[] {
    return this.#keys.map((key) => key.fixed ?? publicChild(key.parent!, index));
  }

  at(index: number): DerivedAddress {
    checkIndex(index);
    if (!this.parsed.ranged && index !== 0) throw new DescriptorError('descriptor_index', 'the descriptor is not ranged (no /*): it has one address, index 0');
    const keys = this.keysAt(index);
    let witnessScript: Uint8Array;
    if (this.#sorted) {
      keys.sort(Buffer.compare);
      witnessScript = payments.p2ms({ m: this.#threshold, pubkeys: keys, network: this.#network }).output!;
    } else {
      witnessScript = new Uint8Array(this.#template!);
      keys.forEach((key, i) => witnessScript.set(key, this.#offsets[i]!));
    }
    const payment = payments.p2wsh({ redeem: { output: witnessScript, network: this.#network }, network: this.#network });
    return { index, address: payment.address!, scriptPubKey: hex(payment.output!), witnessScript: hex(witnessScript) };
  }
}

/** Where `key` is pushed (33 bytes after its push opcode) in `script`; -1 when it is not. */
function indexOfPush(script: Uint8Array, key: Uint8Array): number {
  outer: for (let i = 0; i + key.length < script.length; i += 1) {
    if (script[i] !== key.length) continue;
    for (let j = 0; j < key.length; j += 1) if (script[i + 1 + j] !== key[j]) continue outer;
    return i + 1;
  }
  return -1;
}

/** A cosigner's key as a vault takes it: the account-level extended public key and its origin. */
export interface VaultKey {
  /** The account xpub (tpub off mainnet), e.g. at m/48'/0'/0'/2' (BIP-48, native segwit multisig). */
  readonly xpub: string;
  /** The master key's fingerprint, 8 hex digits, and the path from it to the xpub, e.g. 48'/0'/0'/2'. */
  readonly fingerprint: string;
  readonly originPath: string;
}

export interface VaultSpec {
  readonly network: VaultNetwork;
  /** Signatures needed of `keys`. */
  readonly threshold: number;
  readonly keys: readonly VaultKey[];
  /**
   * The loan's address chain (one per loan, numbered by the bank): a cosigning key derives
   * /0/<chain>/*, the recovery key /1/<chain>/* (so a borrower whose key both cosigns and recovers
   * has two distinct keys in the script, as miniscript requires).
   */
  readonly chain: number;
  /** The borrower's recovery path: its key alone spends a coin `afterBlocks` blocks after the coin confirmed (BIP-68). */
  readonly recovery?: { readonly key: VaultKey; readonly afterBlocks: number };
}

/** BIP-68 relative lock in blocks: at most 65,535 (about 455 days), counted from each coin's confirmation. */
export const MAX_RELATIVE_BLOCKS = 65_535;
/** A P2WSH multisig's key limit (BIP-383 inside wsh()). */
export const MAX_VAULT_KEYS = 20;

/**
 * A vault's descriptor, with its checksum: `wsh(sortedmulti(M, K1/0/<chain>/*, …))`, or with a
 * recovery path `wsh(or_d(multi(M, …), and_v(v:pk(B/1/<chain>/*), older(N))))`. Miniscript has no
 * sortedmulti, so the keys of the recovery form stay in the order given (every wallet that
 * imports the descriptor derives the same script). Checked by parsing it back, miniscript
 * included.
 */
export function vaultDescriptor(spec: VaultSpec): ParsedDescriptor {
  const n = spec.keys.length;
  if (n < 1 || n > MAX_VAULT_KEYS) throw new DescriptorError('descriptor_unsupported', `a vault has 1 to ${MAX_VAULT_KEYS} keys; got ${n}`);
  if (!Number.isInteger(spec.threshold) || spec.threshold < 1 || spec.threshold > n) throw new DescriptorError('descriptor_unsupported', `the threshold is a whole number from 1 to the number of keys (${n})`);
  if (!Number.isInteger(spec.chain) || spec.chain < 0 || spec.chain > MAX_INDEX) throw new DescriptorError('descriptor_index', `the chain is a whole number from 0 to ${MAX_INDEX}`);
  const expression = (key: VaultKey, branch: 0 | 1) => {
    if (!/^[0-9a-fA-F]{8}$/.test(key.fingerprint)) throw new DescriptorError('descriptor_malformed', `a key's fingerprint is 8 hex digits; got "${key.fingerprint}"`);
    if (!/^[0-9]+['h]?(\/[0-9]+['h]?)*$/.test(key.originPath)) throw new DescriptorError('descriptor_malformed', `a key's origin path is steps like 48'/0'/0'/2'; got "${key.originPath}"`);
    if (!/^[xt]pub[1-9A-HJ-NP-Za-km-z]{100,112}$/.test(key.xpub)) throw new DescriptorError(/^[xt]prv/.test(key.xpub) ? 'descriptor_private_key' : 'descriptor_malformed', /^[xt]prv/.test(key.xpub) ? 'an extended private key was given: zalog takes public keys only' : 'a key is an extended public key (xpub or tpub)');
    return `[${key.fingerprint.toLowerCase()}/${key.originPath}]${key.xpub}/${branch}/${spec.chain}/*`;
  };
  const keys = spec.keys.map((key) => expression(key, 0));
  if (new Set(spec.keys.map((key) => key.xpub)).size !== n) throw new DescriptorError('descriptor_unsupported', 'a vault\'s keys are distinct: the same xpub is given twice');
  let body: string;
  if (spec.recovery === undefined) {
    body = `wsh(sortedmulti(${spec.threshold},${keys.join(',')}))`;
  } else {
    const { key, afterBlocks } = spec.recovery;
    if (!Number.isInteger(afterBlocks) || afterBlocks < 1 || afterBlocks > MAX_RELATIVE_BLOCKS) throw new DescriptorError('descriptor_unsupported', `the recovery timelock is 1 to ${MAX_RELATIVE_BLOCKS} blocks (BIP-68); got ${afterBlocks}`);
    body = `wsh(or_d(multi(${spec.threshold},${keys.join(',')}),and_v(v:pk(${expression(key, 1)}),older(${afterBlocks}))))`;
  }
  return parseDescriptor(body, spec.network);
}
