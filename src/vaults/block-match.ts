import { Block, Transaction } from 'bitcoinjs-lib';

/**
 * Matching a block against the live vaults: which of its outputs pay to a vault's script (a
 * deposit, a miner's pool payout, the change of a release), and which of its inputs spend a coin a
 * vault holds. Pure: the raw block in, the matches out (the watcher stores them). The block is
 * parsed by bitcoinjs-lib; a transaction's id is hashed only when it matters (a match), since
 * hashing every one of a block's transactions is most of the work otherwise.
 */

/** A vault coin's place: `${txid}:${vout}`. */
export type Outpoint = string;

export interface Deposit<Owner> {
  readonly txid: string;
  readonly vout: number;
  readonly sats: bigint;
  /** The output script, hex. */
  readonly script: string;
  readonly owner: Owner;
  /** The paying transaction (kept with the coin: a PSBT spending it carries it whole, as hardware signers ask). */
  readonly tx: Transaction;
}

export interface Spend<Owner> {
  /** The spending transaction. */
  readonly txid: string;
  readonly outpoint: Outpoint;
  readonly owner: Owner;
}

export interface BlockMatch<Owner> {
  readonly blockHash: string;
  /** The block's parent, to tell a reorganisation. */
  readonly previousHash: string;
  readonly transactions: number;
  readonly deposits: Deposit<Owner>[];
  readonly spends: Spend<Owner>[];
}

/** The watched set: vault output scripts (hex) and the coins they hold, each with its owner. */
export interface Watched<Owner> {
  readonly scripts: ReadonlyMap<string, Owner>;
  readonly coins: ReadonlyMap<Outpoint, Owner>;
}

export function matchBlock<Owner>(raw: Uint8Array, watched: Watched<Owner>): BlockMatch<Owner> {
  const block = Block.fromBuffer(raw);
  const transactions = block.transactions ?? [];
  const deposits: Deposit<Owner>[] = [];
  const spends: Spend<Owner>[] = [];
  // A coin paid and spent in the same block: later transactions see the earlier ones' deposits.
  const paidHere = new Map<Outpoint, Owner>();
  for (const tx of transactions) {
    const before = deposits.length;
    matchTransaction(tx, watched, deposits, spends, paidHere);
    for (let i = before; i < deposits.length; i += 1) paidHere.set(`${deposits[i]!.txid}:${deposits[i]!.vout}`, deposits[i]!.owner);
  }
  return { blockHash: block.getId(), previousHash: Buffer.from(block.prevHash!).reverse().toString('hex'), transactions: transactions.length, deposits, spends };
}

/** One transaction (a block's, or the mempool's) against the watched set. */
export function matchTransaction<Owner>(tx: Transaction, watched: Watched<Owner>, deposits: Deposit<Owner>[], spends: Spend<Owner>[], paidHere?: ReadonlyMap<Outpoint, Owner>): void {
  let txid: string | undefined;
  if ((watched.coins.size > 0 || (paidHere?.size ?? 0) > 0) && !tx.isCoinbase()) {
    for (const input of tx.ins) {
      const outpoint = `${Buffer.from(input.hash).reverse().toString('hex')}:${input.index}`;
      const owner = watched.coins.get(outpoint) ?? paidHere?.get(outpoint);
      if (owner !== undefined) spends.push({ txid: (txid ??= tx.getId()), outpoint, owner });
    }
  }
  tx.outs.forEach((output, vout) => {
    // A vault's script is P2WSH: 34 bytes. Others are skipped before any hex is made of them.
    if (output.script.length !== 34) return;
    const script = Buffer.from(output.script).toString('hex');
    const owner = watched.scripts.get(script);
    if (owner !== undefined) deposits.push({ txid: (txid ??= tx.getId()), vout, sats: BigInt(output.value), script, owner, tx });
  });
}
