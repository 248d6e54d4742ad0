import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import { AddressChain, type ParsedDescriptor } from './descriptor.js';

/** How many addresses of a vault are derived and watched when it is made (a deposit and payouts to come). */
export const VAULT_LOOKAHEAD = 20;

export interface NewVault {
  readonly loanId: bigint;
  readonly mode: 'bank' | 'collaborative';
  readonly parsed: ParsedDescriptor;
  readonly chainIndex: number;
  readonly confirmations: number;
  readonly at: Date;
  readonly lookahead?: number;
  /** The xpub given as the borrower's (it proves it holds it with the key challenge). */
  readonly borrowerXpub?: string;
}

/** Stores a vault and its first addresses (the scripts the watcher looks for); returns its id. */
export async function createVault(tx: Queryable, vault: NewVault): Promise<bigint> {
  const [row] = await tx.query<{ id: bigint }>(`INSERT INTO vaults (loan_id, mode, network, descriptor, chain_index, proof_ref, confirmations, created_at, borrower_xpub)
                                                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
  [vault.loanId, vault.mode, vault.parsed.network, vault.parsed.descriptor, vault.chainIndex, `V-${randomBytes(8).toString('hex')}`, vault.confirmations, vault.at, vault.borrowerXpub ?? null]);
  const chain = new AddressChain(vault.parsed);
  const count = vault.lookahead ?? VAULT_LOOKAHEAD;
  const indexes: number[] = [];
  const addresses: string[] = [];
  const scripts: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const derived = chain.at(index);
    indexes.push(index);
    addresses.push(derived.address);
    scripts.push(derived.scriptPubKey);
  }
  await tx.query('INSERT INTO vault_addresses (vault_id, address_index, address, script) SELECT $1, * FROM unnest($2::int4[], $3::text[], $4::text[])', [row!.id, indexes, addresses, scripts]);
  return row!.id;
}

/** The watcher's best block: the highest it has processed on the chain it believes best (none before its first). */
export async function processedTip(db: Queryable): Promise<{ height: number; hash: string } | undefined> {
  const [tip] = await db.query<{ height: number; hash: string }>('SELECT height, hash FROM chain_blocks ORDER BY height DESC LIMIT 1');
  return tip;
}

/** Makes sure the vault's address at `index` is watched (a change address past the lookahead is derived and stored). */
export async function ensureAddress(tx: Queryable, vaultId: bigint, parsed: ParsedDescriptor, index: number): Promise<string> {
  const [known] = await tx.query<{ address: string }>('SELECT address FROM vault_addresses WHERE vault_id = $1 AND address_index = $2', [vaultId, index]);
  if (known !== undefined) return known.address;
  const derived = new AddressChain(parsed).at(index);
  await tx.query('INSERT INTO vault_addresses (vault_id, address_index, address, script) VALUES ($1, $2, $3, $4)', [vaultId, index, derived.address, derived.scriptPubKey]);
  return derived.address;
}
