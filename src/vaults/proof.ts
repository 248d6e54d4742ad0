import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../audit/audit-chain.js';
import type { SigningKey, VerifyingKey } from '../audit/checkpoint.js';
import type { Queryable } from '../db/database.js';
import { formatSats, parseSats } from '../money/money.js';
import { AddressChain, DescriptorError, isVaultNetwork, parseDescriptor } from './descriptor.js';
import { processedTip } from './vault-store.js';

/**
 * Proof of collateral: every live vault under an opaque reference of its own (no names, no amounts
 * owed), with its descriptor, the addresses that hold its counted coins, its confirmed balance, and
 * the block height it was read at, plus the total; signed with the bank's Ed25519 proof key. A
 * borrower finds its own line by the reference its vault view shows; anyone checks the addresses
 * on chain; an auditor re-derives every address from its descriptor (`zalog vault proof --verify`).
 */

export interface ProofVault {
  /** Opaque, per loan; shown to the loan's borrower in its vault view. */
  readonly ref: string;
  readonly network: string;
  readonly descriptor: string;
  readonly addresses: readonly { readonly index: number; readonly address: string; readonly btc: string }[];
  readonly btc: string;
}

export interface ProofBody {
  readonly kind: 'zalog-proof-of-collateral';
  readonly version: 1;
  readonly at: string;
  /** The watcher's best block when the proof was made (null before its first block). */
  readonly height: number | null;
  readonly blockHash: string | null;
  readonly vaults: readonly ProofVault[];
  readonly totalBtc: string;
  readonly algorithm: 'ed25519';
  readonly keyId: string;
  /** The signer's public key (SPKI, base64), for a reader without the key file: pin it with --public-key. */
  readonly publicKey: string;
}

export interface Proof extends ProofBody {
  /** Base64 Ed25519 signature over the canonical JSON (sorted keys) of everything else. */
  readonly signature: string;
}

export class ProofError extends Error {
  override readonly name = 'ProofError';
}

function bodyBytes(proof: ProofBody): Buffer {
  const { kind, version, at, height, blockHash, vaults, totalBtc, algorithm, keyId, publicKey } = proof;
  return Buffer.from(canonicalJson({ kind, version, at, height, blockHash, vaults, totalBtc, algorithm, keyId, publicKey }), 'utf8');
}

/** The proof now, from the watcher's tables: live loans' vaults and their counted, unspent coins. */
export async function makeProof(db: Queryable, key: SigningKey, at: Date): Promise<Proof> {
  if (key.algorithm !== 'ed25519') throw new ProofError('the proof of collateral is signed with an Ed25519 key (anyone must be able to check it); an HMAC secret is not one');
  const tip = await processedTip(db);
  const rows = await db.query<{ proof_ref: string; network: string; descriptor: string; address_index: number | null; address: string | null; sats: bigint | null }>(`
    SELECT v.proof_ref, v.network, v.descriptor, c.address_index, a.address, sum(c.sats)::int8 AS sats
      FROM vaults v JOIN loans l ON l.id = v.loan_id
      LEFT JOIN vault_coins c ON c.vault_id = v.id AND c.counted_at IS NOT NULL AND c.spent_txid IS NULL
      LEFT JOIN vault_addresses a ON a.vault_id = v.id AND a.address_index = c.address_index
     WHERE l.status IN ('approved', 'active', 'overdue')
     GROUP BY v.proof_ref, v.network, v.descriptor, c.address_index, a.address
     ORDER BY v.proof_ref, c.address_index`);
  const vaults = new Map<string, { network: string; descriptor: string; addresses: { index: number; address: string; btc: string }[]; sats: bigint }>();
  let total = 0n;
  for (const row of rows) {
    const vault = vaults.get(row.proof_ref) ?? { network: row.network, descriptor: row.descriptor, addresses: [], sats: 0n };
    vaults.set(row.proof_ref, vault);
    if (row.address !== null && row.sats !== null && row.address_index !== null) {
      vault.addresses.push({ index: row.address_index, address: row.address, btc: formatSats(row.sats) });
      vault.sats += row.sats;
      total += row.sats;
    }
  }
  const body: ProofBody = {
    kind: 'zalog-proof-of-collateral', version: 1, at: at.toISOString(), height: tip?.height ?? null, blockHash: tip?.hash ?? null,
    vaults: [...vaults].map(([ref, vault]) => ({ ref, network: vault.network, descriptor: vault.descriptor, addresses: vault.addresses, btc: formatSats(vault.sats) })),
    totalBtc: formatSats(total), algorithm: 'ed25519', keyId: key.keyId, publicKey: key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
  return { ...body, signature: sign(null, bodyBytes(body), key.privateKey).toString('base64') };
}

/**
 * What is wrong with a proof, or [] when nothing is: its signature (under `pinned` when given,
 * else its own public key), every address against its descriptor at its index, and the sums.
 */
export function proofProblems(value: unknown, pinned?: VerifyingKey): string[] {
  const proof = value as Proof;
  if (typeof proof !== 'object' || proof === null || proof.kind !== 'zalog-proof-of-collateral' || proof.version !== 1 || !Array.isArray(proof.vaults)) return ['not a zalog proof of collateral (version 1)'];
  const problems: string[] = [];
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(String(proof.publicKey), 'base64'), format: 'der', type: 'spki' });
  } catch {
    return ['its public key does not read as an Ed25519 public key'];
  }
  if (pinned !== undefined) {
    if (pinned.algorithm !== 'ed25519') return ['the key given is not an Ed25519 public key'];
    if (!pinned.publicKey.export({ type: 'spki', format: 'der' }).equals(publicKey.export({ type: 'spki', format: 'der' }))) problems.push(`signed by key ${proof.keyId}, not by the bank's key given (${pinned.keyId})`);
  }
  if (!verify(null, bodyBytes(proof), publicKey, Buffer.from(String(proof.signature), 'base64'))) problems.push('the signature does not match the content (the proof was altered, or signed by another key)');
  let total = 0n;
  for (const vault of proof.vaults) {
    const where = `vault ${vault.ref}`;
    if (!isVaultNetwork(vault.network)) { problems.push(`${where}: unknown network ${vault.network}`); continue; }
    let chain: AddressChain;
    try {
      chain = new AddressChain(parseDescriptor(vault.descriptor, vault.network));
    } catch (error) {
      problems.push(`${where}: ${error instanceof DescriptorError ? error.message : String(error)}`);
      continue;
    }
    let sats = 0n;
    for (const line of vault.addresses) {
      const derived = chain.at(line.index).address;
      if (derived !== line.address) problems.push(`${where}: address ${line.address} is not its descriptor's address at index ${line.index} (${derived})`);
      const amount = parseSats(line.btc, 'non_negative');
      if (!amount.ok) problems.push(`${where}: ${line.btc} is not an amount of BTC`);
      else sats += amount.value;
    }
    const stated = parseSats(vault.btc, 'non_negative');
    if (!stated.ok || stated.value !== sats) problems.push(`${where}: its addresses hold ${formatSats(sats)} BTC, the line says ${vault.btc}`);
    total += sats;
  }
  const stated = parseSats(proof.totalBtc, 'non_negative');
  if (!stated.ok || stated.value !== total) problems.push(`the vaults hold ${formatSats(total)} BTC, the total says ${proof.totalBtc}`);
  return problems;
}
