import type { Database, Queryable } from '../db/database.js';
import type { Job } from '../jobs/schedule.js';
import { Transaction } from 'bitcoinjs-lib';
import { matchBlock, matchTransaction, type Deposit, type Outpoint, type Spend, type Watched } from './block-match.js';
import type { ChainBackend } from './esplora.js';
import { SourceError } from '../adapters/http.js';
import { bookCoin, bookingContext, bookSpend, reverseCoin, type CountedCoin } from './booking.js';
import { broadcastPending } from './spends.js';
import { processedTip } from './vault-store.js';
import { inputAddresses, outputAddress } from './inputs.js';
import type { VaultNetwork } from './descriptor.js';
import { screen } from '../compliance/screening.js';
import { systemUser } from '../identity/identity-repository.js';

/**
 * The chain watcher: follows the backend's best chain block by block from the last block it
 * processed (chain_blocks), and keeps vault_coins true to it. Each block is one transaction: the
 * block's row, the coins it pays to vault addresses, the vault coins it spends, the vault spends
 * (PSBTs zalog made) that reach their confirmations with it (booked), and the coins that reach
 * their vault's confirmations with it (counted once, never twice: a coin is its txid and vout). A block whose parent is not the block below it means a reorganisation: the top block is
 * undone (its coins lose their block, its spends are unspent) and the walk goes down until the
 * chains agree. A counted coin taken back that way is a reorganisation deeper than the vault's
 * confirmations: the vault is frozen and an alert raised for staff; the coin counts again only if a
 * block of the new branch holds it. Collateral is the counted coins that are unspent: a counted
 * coin spent in a transaction zalog did not make is taken off the books with an alert; one spent by
 * a vault spend stays on them until that spend is booked.
 *
 * A crash between blocks loses nothing (the next sync starts after the last committed block); a
 * crash inside one rolls its transaction back.
 */

export interface WatcherOptions {
  readonly db: Database;
  readonly backend: ChainBackend;
  readonly now: () => Date;
  /**
   * Where to start when no block has been processed yet: the bank's setting (a height at or below
   * the block its first vault's first deposit can be in), or 'tip' (the tip at the first round).
   */
  readonly startHeight: number | 'tip';
  /** The most blocks one sync processes (a catch-up continues on the next). */
  readonly maxBlocksPerSync?: number;
}

export interface SyncReport {
  readonly processed: number;
  readonly undone: number;
  readonly tip: number | null;
  readonly deposits: number;
  readonly counted: number;
  /** Deposits first seen unconfirmed in the backend's mempool this round. */
  readonly unconfirmed: number;
}

interface WatchedOwner { readonly vaultId: bigint; readonly index: number }

/** The watcher as a job of the service: a round every ZALOG_CHAIN_POLL_SECONDS, one instance at a time. */
export function vaultWatcherJob(watcher: VaultWatcher, pollSeconds: number): Job {
  return {
    name: 'vault-watcher',
    lockKey: 7_207_118,
    everyMs: pollSeconds * 1_000,
    async run() {
      const report = await watcher.sync();
      // Then the finalised spends not yet taken by the backend (a broadcast that failed is tried again here).
      const broadcast = await broadcastPending(watcher.db, watcher.backend, watcher.now());
      return report.processed > 0 || report.undone > 0 || broadcast > 0 ? { ...report, broadcast } : undefined;
    },
  };
}

/** How far down a reorganisation may go before the watcher stops and asks for a person. */
export const MAX_REORG_DEPTH = 100;

export class VaultWatcher {
  readonly #options: WatcherOptions;
  /** Mempool txids already looked at (matched or not), so each is fetched once while it waits. */
  readonly #seenInMempool = new Set<string>();
  /** Whether a screening list names bitcoin addresses, as read at the start of the sync. */
  #screensAddresses = false;
  /** Each vault's network and borrower (they never change). */
  readonly #vaults = new Map<bigint, { network: VaultNetwork; borrowerId: bigint }>();
  constructor(options: WatcherOptions) {
    this.#options = options;
  }

  get db(): Database { return this.#options.db; }
  get backend(): ChainBackend { return this.#options.backend; }
  now(): Date { return this.#options.now(); }

  /** Brings the database up to the backend's tip (or maxBlocksPerSync blocks nearer it). */
  async sync(): Promise<SyncReport> {
    const { db, backend } = this.#options;
    const tip = await backend.tipHeight();
    const watched = await loadWatched(db);
    let processed = 0;
    let undone = 0;
    let deposits = 0;
    let counted = 0;
    const limit = this.#options.maxBlocksPerSync ?? 10_000;
    // Read once a sync rather than once a block: whether any vault spend is in flight (its
    // confirmation is looked for only then; the spend loop sets it when a block holds one), and
    // whether any screening list names addresses (taproot inputs are looked up only then).
    const [state] = await db.query<{ spends: boolean; lists: boolean }>(`SELECT EXISTS (SELECT 1 FROM vault_spends WHERE state IN ('finalised', 'broadcast')) AS spends,
                                                                                EXISTS (SELECT 1 FROM screening_entries WHERE kind = 'btc_address') AS lists`);
    let spendsInFlight = state!.spends;
    this.#screensAddresses = state!.lists;
    const undoTop = async (top: { height: number; hash: string }) => {
      if (undone >= MAX_REORG_DEPTH) throw new SourceError('rejected', `${backend.name}: a reorganisation deeper than ${MAX_REORG_DEPTH} blocks; the watcher stops for a person to look`);
      await this.#undoTop(top.height, top.hash, watched);
      undone += 1;
    };
    while (processed < limit) {
      const last = await processedTip(db);
      const start = this.#options.startHeight === 'tip' ? tip : this.#options.startHeight;
      const height = last === undefined ? start : last.height + 1;
      if (last !== undefined && height > tip) {
        // At the tip: is our top block still the best chain's? A reorganisation to a branch no
        // longer than ours shows only here.
        const best = last.height > tip ? null : await backend.blockHash(last.height);
        if (best === last.hash) break;
        await undoTop(last);
        continue;
      }
      if (height > tip) break;
      const hash = await backend.blockHash(height);
      const raw = await backend.rawBlock(hash);
      let match;
      try {
        match = matchBlock(raw, watched);
      } catch (error) {
        throw new SourceError('malformed', `${backend.name}: block ${height} does not parse: ${(error as Error).message}`);
      }
      if (match.blockHash !== hash) throw new SourceError('malformed', `${backend.name}: asked for block ${hash} at ${height}, got ${match.blockHash}`);
      if (last !== undefined && match.previousHash !== last.hash) {
        await undoTop(last);
        continue;
      }
      const sources = await this.#depositSources(match.deposits);
      const result = await db.transaction(async (tx) => {
        const at = this.#options.now();
        await tx.query('INSERT INTO chain_blocks (height, hash, previous_hash, transactions, processed_at) VALUES ($1, $2, $3, $4, $5)', [height, hash, match.previousHash, match.transactions, at]);
        if (match.deposits.length > 0) {
          // A coin seen before (in a block a reorganisation took back) gets its new block.
          const d = match.deposits;
          const hexOf = new Map<string, string>();
          for (const x of d) if (!hexOf.has(x.txid)) hexOf.set(x.txid, x.tx.toHex());
          await tx.query(`INSERT INTO vault_coins (txid, vout, vault_id, address_index, sats, tx_hex, block_height, block_hash, first_seen_at)
                          SELECT txid, vout, vault_id, address_index, sats, tx_hex, $7, $8, $9 FROM unnest($1::text[], $2::int4[], $3::int8[], $4::int4[], $5::int8[], $6::text[]) AS d (txid, vout, vault_id, address_index, sats, tx_hex)
                          ON CONFLICT (txid, vout) DO UPDATE SET block_height = EXCLUDED.block_height, block_hash = EXCLUDED.block_hash, in_mempool = false`,
          [d.map((x) => x.txid), d.map((x) => x.vout), d.map((x) => x.owner.vaultId), d.map((x) => x.owner.index), d.map((x) => x.sats), d.map((x) => hexOf.get(x.txid)!), height, hash, at]);
          await this.#recordSources(tx, match.deposits, sources, at);
        }
        for (const spend of match.spends) {
          const [coin] = await tx.query<{ txid: string; vout: number; vault_id: bigint; sats: bigint; position_id: bigint | null; counted: boolean }>(
            'UPDATE vault_coins SET spent_txid = $3, spent_height = $4 WHERE txid = $1 AND vout = $2 RETURNING txid, vout, vault_id, sats, position_id, counted_at IS NOT NULL AS counted',
            [spend.outpoint.slice(0, 64), Number(spend.outpoint.slice(65)), spend.txid, height]);
          if (coin?.counted) {
            // A vault spend zalog built and finalised: expected. The coin stays on the books until
            // the spend has its confirmations (settleSpends books it then).
            const ours = await tx.query(`UPDATE vault_spends SET state = 'broadcast', broadcast_at = coalesce(broadcast_at, $2) WHERE txid = $1 AND state IN ('finalised', 'broadcast') RETURNING id`, [spend.txid, at]);
            if (ours.length > 0) {
              spendsInFlight = true;
              continue;
            }
            // A counted coin left the vault in a transaction zalog did not build: the recovery
            // path, or a key used outside zalog. The collateral is gone from the books at once
            // and staff are alerted.
            await uncount(tx, coin, `spent by ${spend.txid} in block ${height}, a spend zalog did not make`, at);
            await tx.query('INSERT INTO vault_alerts (vault_id, kind, details, at) VALUES ($1, $2, $3, $4)', [coin.vault_id, 'unexpected_spend', JSON.stringify({ txid: coin.txid, vout: coin.vout, sats: coin.sats.toString(), spentBy: spend.txid, height }), at]);
          }
        }
        if (spendsInFlight) await settleSpends(tx, height, at);
        const newlyCounted = await countEligible(tx, height, at);
        return { deposits: match.deposits.length, counted: newlyCounted };
      });
      for (const deposit of match.deposits) watched.coins.set(`${deposit.txid}:${deposit.vout}`, deposit.owner);
      for (const spend of match.spends) watched.coins.delete(spend.outpoint);
      processed += 1;
      deposits += result.deposits;
      counted += result.counted;
    }
    if (undone > 0) {
      // After a reorganisation: coins whose block stayed but whose confirmations fell short on the new branch wait again.
      counted -= await db.transaction(async (tx) => {
        const top = await processedTip(tx);
        const short = await tx.query<{ txid: string; vout: number; position_id: bigint | null }>(`SELECT c.txid, c.vout, c.position_id FROM vault_coins c JOIN vaults v ON v.id = c.vault_id
                                  WHERE c.counted_at IS NOT NULL AND c.block_height IS NOT NULL AND $1::int4 - c.block_height + 1 < v.confirmations FOR UPDATE OF c`, [top?.height ?? -1]);
        const at = this.#options.now();
        for (const coin of short) await uncount(tx, coin, 'its confirmations fell short on the new branch of a reorganisation', at);
        // And coins whose spend the reorganisation took back count again (when they have their confirmations).
        const recounted = top === undefined ? 0 : await countEligible(tx, top.height, at);
        return short.length - recounted;
      });
    }
    const unconfirmed = await this.#scanMempool(watched);
    return { processed, undone, tip, deposits, counted, unconfirmed };
  }

  /**
   * Deposits seen before a block holds them: the mempool's new transactions matched against the
   * vault scripts and stored without a block (shown with 0 confirmations, never counted); a
   * deposit that leaves the mempool without a block (replaced, evicted) is forgotten. A block that
   * holds one later gives it its block as any deposit.
   */
  async #scanMempool(watched: WatchedSet): Promise<number> {
    const { db, backend } = this.#options;
    const txids = await backend.mempoolTxids();
    const current = new Set(txids);
    for (const seen of this.#seenInMempool) if (!current.has(seen)) this.#seenInMempool.delete(seen);
    const found: Deposit<WatchedOwner>[] = [];
    const noCoins = { scripts: watched.scripts, coins: new Map<Outpoint, WatchedOwner>() };
    for (const txid of txids) {
      if (this.#seenInMempool.has(txid)) continue;
      const raw = await backend.rawTransaction(txid);
      let tx: Transaction;
      try {
        tx = Transaction.fromBuffer(Buffer.from(raw));
      } catch (error) {
        throw new SourceError('malformed', `${backend.name}: mempool transaction ${txid} does not parse: ${(error as Error).message}`);
      }
      if (tx.getId() !== txid) throw new SourceError('malformed', `${backend.name}: asked for transaction ${txid}, got ${tx.getId()}`);
      matchTransaction(tx, noCoins, found, [] as Spend<WatchedOwner>[]);
      this.#seenInMempool.add(txid);
    }
    const at = this.#options.now();
    const sources = await this.#depositSources(found);
    return db.transaction(async (tx) => {
      const waiting = await tx.query<{ txid: string; vout: number }>('SELECT txid, vout FROM vault_coins WHERE in_mempool AND block_height IS NULL');
      const gone = waiting.filter((coin) => !current.has(coin.txid));
      if (gone.length > 0) await tx.query('DELETE FROM vault_coins WHERE (txid, vout) IN (SELECT * FROM unnest($1::text[], $2::int4[])) AND in_mempool AND block_height IS NULL', [gone.map((c) => c.txid), gone.map((c) => c.vout)]);
      if (found.length === 0) return 0;
      const inserted = await tx.query(`INSERT INTO vault_coins (txid, vout, vault_id, address_index, sats, tx_hex, first_seen_at, in_mempool)
                                        SELECT *, $7::timestamptz, true FROM unnest($1::text[], $2::int4[], $3::int8[], $4::int4[], $5::int8[], $6::text[])
                                        ON CONFLICT (txid, vout) DO NOTHING RETURNING txid`,
      [found.map((x) => x.txid), found.map((x) => x.vout), found.map((x) => x.owner.vaultId), found.map((x) => x.owner.index), found.map((x) => x.sats), found.map((x) => x.tx.toHex()), at]);
      await this.#recordSources(tx, found, sources, at);
      return inserted.length;
    });
  }

  async #vault(id: bigint): Promise<{ network: VaultNetwork; borrowerId: bigint }> {
    let vault = this.#vaults.get(id);
    if (vault === undefined) {
      const [row] = await this.#options.db.query<{ network: VaultNetwork; borrower_id: bigint }>('SELECT v.network, l.borrower_id FROM vaults v JOIN loans l ON l.id = v.loan_id WHERE v.id = $1', [id]);
      vault = { network: row!.network, borrowerId: row!.borrower_id };
      this.#vaults.set(id, vault);
    }
    return vault;
  }

  /**
   * Each deposit transaction's input addresses (inputs.ts). An input that does not tell its address
   * (taproot) is looked up in its previous transaction, but only while some screening list names
   * bitcoin addresses (otherwise nothing could match, and a block's deposits would cost a request
   * per such input); one the backend cannot give (Core without -txindex) stays unknown.
   */
  async #depositSources(deposits: readonly Deposit<WatchedOwner>[]): Promise<Map<string, string[]>> {
    const sources = new Map<string, string[]>();
    if (deposits.length === 0) return sources;
    for (const deposit of deposits) {
      if (sources.has(deposit.txid)) continue;
      const { network } = await this.#vault(deposit.owner.vaultId);
      const found = inputAddresses(deposit.tx, network);
      const addresses = [...found.addresses];
      if (this.#screensAddresses) {
        for (const previous of found.unknown) {
          try {
            const address = outputAddress(await this.#options.backend.rawTransaction(previous.txid), previous.vout, network);
            if (address !== undefined && !addresses.includes(address)) addresses.push(address);
          } catch (error) {
            if (!(error instanceof SourceError)) throw error;
          }
        }
      }
      sources.set(deposit.txid, addresses);
    }
    return sources;
  }

  /**
   * Keeps each deposit's input addresses on its coins, records them as the borrower's pledge
   * addresses and screens the borrower against the lists: a hit holds the coin (countEligible
   * does not count it) until compliance clears the hit.
   */
  async #recordSources(tx: Queryable, deposits: readonly Deposit<WatchedOwner>[], sources: ReadonlyMap<string, string[]>, at: Date): Promise<void> {
    const borrowers = new Set<bigint>();
    const done = new Set<string>();
    for (const deposit of deposits) {
      const addresses = sources.get(deposit.txid) ?? [];
      if (addresses.length === 0 || done.has(deposit.txid)) continue;
      done.add(deposit.txid);
      await tx.query('UPDATE vault_coins SET input_addresses = $2 WHERE txid = $1', [deposit.txid, addresses]);
      const { borrowerId } = await this.#vault(deposit.owner.vaultId);
      const system = await systemUser(tx);
      const added = await tx.query(`INSERT INTO borrower_btc_addresses (borrower_id, address, purpose, recorded_by, recorded_at) SELECT $1, a, 'pledge', $3, $4 FROM unnest($2::text[]) AS a
                                    ON CONFLICT DO NOTHING RETURNING address`, [borrowerId, addresses, system.id, at]);
      if (added.length > 0) borrowers.add(borrowerId);
    }
    for (const borrowerId of borrowers) await screen(tx, at, borrowerId);
  }

  /** Undoes the top processed block: its coins lose their block (a counted one freezes its vault), its spends are undone. */
  async #undoTop(height: number, hash: string, watched: WatchedSet): Promise<void> {
    const at = this.#options.now();
    await this.#options.db.transaction(async (tx) => {
      const counted = await tx.query<{ txid: string; vout: number; vault_id: bigint; sats: bigint; position_id: bigint | null }>('SELECT txid, vout, vault_id, sats, position_id FROM vault_coins WHERE block_height = $1 AND counted_at IS NOT NULL', [height]);
      for (const coin of counted) {
        await reverseCoin(tx, coin, `a reorganisation took back block ${height}, deeper than the vault's confirmations`, at);
        await tx.query('INSERT INTO vault_alerts (vault_id, kind, details, at) VALUES ($1, $2, $3, $4)', [coin.vault_id, 'deep_reorg', JSON.stringify({ txid: coin.txid, vout: coin.vout, sats: coin.sats.toString(), height, hash }), at]);
        await tx.query(`UPDATE vaults SET frozen_at = coalesce(frozen_at, $2), frozen_reason = coalesce(frozen_reason, $3) WHERE id = $1`, [coin.vault_id, at, `a reorganisation took back counted coin ${coin.txid}:${coin.vout} (block ${height})`]);
      }
      await tx.query('UPDATE vault_coins SET block_height = NULL, block_hash = NULL, counted_at = NULL, counted_height = NULL WHERE block_height = $1', [height]);
      // A coin counted by a block being undone, whose own block stays, keeps counting while the
      // reorganisation is walked down (so that a deeper one is told by its counted coins); the
      // end of the sync uncounts what the new branch leaves short of its confirmations.
      const unspent = await tx.query<{ txid: string; vout: number; vault_id: bigint; address_index: number }>('UPDATE vault_coins SET spent_txid = NULL, spent_height = NULL WHERE spent_height = $1 RETURNING txid, vout, vault_id, address_index', [height]);
      for (const coin of unspent) watched.coins.set(`${coin.txid}:${coin.vout}`, { vaultId: coin.vault_id, index: coin.address_index });
      const deleted = await tx.query('DELETE FROM chain_blocks WHERE height = $1 AND hash = $2 RETURNING height', [height, hash]);
      if (deleted.length !== 1) throw new Error(`chain_blocks changed under the watcher at ${height}`);
    });
  }
}

/**
 * Counts the coins that have their vault's confirmations at `height` (confirmations = height -
 * block_height + 1), are unspent and are not held (an input address under an open screening hit:
 * counted at the first block after compliance clears the hit), and books each in the same transaction: the collateral
 * position, its entry, the loan's LTV (by trigger). Returns how many.
 */
async function countEligible(tx: Queryable, height: number, at: Date): Promise<number> {
  const coins = await tx.query<CountedCoin>(`UPDATE vault_coins c SET counted_at = $2, counted_height = $1
                                               FROM vaults v WHERE v.id = c.vault_id AND c.counted_at IS NULL AND c.block_height IS NOT NULL AND c.spent_txid IS NULL
                                                AND $1::int4 - c.block_height + 1 >= v.confirmations
                                                AND (c.input_addresses = '{}' OR NOT EXISTS (SELECT 1 FROM screening_hits h JOIN loans l ON l.borrower_id = h.borrower_id
                                                      WHERE l.id = v.loan_id AND h.status = 'open' AND h.field = 'btc_address' AND h.matched = ANY (c.input_addresses)))
                                              RETURNING c.txid, c.vout, c.vault_id, c.sats, $1::int4 - c.block_height + 1 AS confirmations`, [height, at]);
  if (coins.length > 0) {
    const context = await bookingContext(tx, at);
    for (const coin of coins) await bookCoin(tx, coin, context);
  }
  return coins.length;
}

/**
 * Books the vault spends whose transaction has its vault's confirmations at `height` (before the
 * change they pay back is counted, in the same transaction).
 */
async function settleSpends(tx: Queryable, height: number, at: Date): Promise<void> {
  const due = await tx.query<{ id: bigint }>(`SELECT s.id FROM vault_spends s JOIN vaults v ON v.id = s.vault_id
                                               WHERE s.state = 'broadcast' AND EXISTS (SELECT 1 FROM vault_coins c WHERE c.spent_txid = s.txid AND c.spent_height IS NOT NULL AND $1::int4 - c.spent_height + 1 >= v.confirmations)
                                               ORDER BY s.id`, [height]);
  for (const spend of due) await bookSpend(tx, spend.id, height, at);
}

/** A counted coin leaves the books: its booking reversed, and it no longer counts. */
async function uncount(tx: Queryable, coin: { readonly txid: string; readonly vout: number; readonly position_id: bigint | null }, reason: string, at: Date): Promise<void> {
  await reverseCoin(tx, coin, reason, at);
  await tx.query('UPDATE vault_coins SET counted_at = NULL, counted_height = NULL WHERE txid = $1 AND vout = $2', [coin.txid, coin.vout]);
}

/** The watched set as the watcher keeps it: it adds the coins each block pays and drops those it spends. */
type WatchedSet = Watched<WatchedOwner> & { readonly coins: Map<Outpoint, WatchedOwner> };

/** The watched set: every vault address's script, and the vault coins not yet spent. */
export async function loadWatched(db: Queryable): Promise<WatchedSet> {
  const scripts = new Map<string, WatchedOwner>();
  for (const row of await db.query<{ script: string; vault_id: bigint; address_index: number }>('SELECT script, vault_id, address_index FROM vault_addresses')) {
    scripts.set(row.script, { vaultId: row.vault_id, index: row.address_index });
  }
  const coins = new Map<Outpoint, WatchedOwner>();
  for (const row of await db.query<{ txid: string; vout: number; vault_id: bigint; address_index: number }>('SELECT txid, vout, vault_id, address_index FROM vault_coins WHERE spent_txid IS NULL')) {
    coins.set(`${row.txid}:${row.vout}`, { vaultId: row.vault_id, index: row.address_index });
  }
  return { scripts, coins };
}
