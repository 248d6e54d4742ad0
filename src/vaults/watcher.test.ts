import fc from 'fast-check';
import type { Transaction } from 'bitcoinjs-lib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCalendar } from '../calendar/load.js';
import { SourceError } from '../adapters/http.js';
import { seedLoans } from '../loans/seed.js';
import { makeTransaction, otherScript, testKey } from '../test-support/bitcoin.js';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { startLocalChain, type LocalChain } from '../test-support/local-chain.js';
import { vaultDescriptor } from './descriptor.js';
import { esploraBackend } from './esplora.js';
import { coreRpcBackend } from './core-rpc.js';
import { reconcileLoans } from '../loans/views.js';
import { reverseCoin } from './booking.js';
import { createVault } from './vault-store.js';
import { VaultWatcher } from './watcher.js';

const CONFIRMATIONS = 3;
let t: TestDatabase;
let chain: LocalChain;
let vaultId: bigint;
let scripts: Buffer[];
let loanId: bigint;
/** The loan's collateral before any vault coin: its seeded pledge. */
let seededSats: bigint;
const now = () => new Date('2026-12-07T09:00:00Z');

/** Takes every vault coin off the books (reversals, as a deep reorganisation would) and forgets the chain. */
async function resetChainState(): Promise<void> {
  const booked = await t.db.query<{ txid: string; vout: number; position_id: bigint | null }>('SELECT txid, vout, position_id FROM vault_coins WHERE position_id IS NOT NULL');
  await t.db.transaction(async (tx) => { for (const coin of booked) await reverseCoin(tx, coin, 'test reset', now()); });
  await t.db.exec('DELETE FROM vault_alerts; DELETE FROM vault_coins; DELETE FROM chain_blocks; UPDATE vaults SET frozen_at = NULL, frozen_reason = NULL');
}

/** Collateral positions, the BTC ledger and the risk engine's view of the loan agree with the counted coins. */
async function expectBooksAgree(): Promise<void> {
  const [counted] = await t.db.query<{ sats: bigint }>('SELECT coalesce(sum(sats), 0)::int8 AS sats FROM vault_coins WHERE counted_at IS NOT NULL');
  const [booked] = await t.db.query<{ sats: bigint }>(`SELECT coalesce(sum(p.sats), 0)::int8 AS sats FROM collateral_positions p JOIN vault_coins c ON c.position_id = p.id WHERE p.state IN ('confirmed', 'pledged')`);
  const [positions] = await t.db.query<{ sats: bigint }>(`SELECT coalesce(sum(sats), 0)::int8 AS sats FROM collateral_positions WHERE loan_id = $1 AND state IN ('confirmed', 'pledged')`, [loanId]);
  const [risk] = await t.db.query<{ sats: bigint }>('SELECT sats FROM loan_risk WHERE loan_id = $1', [loanId]);
  expect(booked!.sats).toBe(counted!.sats);
  expect(positions!.sats).toBe(seededSats + counted!.sats);
  expect(risk!.sats).toBe(positions!.sats);
  expect(await reconcileLoans(t.db)).toEqual([]);
}

beforeAll(async () => {
  t = await openTestDatabase();
  await seedLoans(t.db, { count: 2, disbursedOn: '2026-01-15', calendar: await loadCalendar(), prefix: 'vault' });
});
afterAll(async () => { await t.close(); });

beforeEach(async () => {
  await resetChainState();
  await t.db.exec('DELETE FROM vault_addresses; DELETE FROM vaults');
  const [loan] = await t.db.query<{ id: bigint }>('SELECT id FROM loans ORDER BY id LIMIT 1');
  loanId = loan!.id;
  const [seeded] = await t.db.query<{ sats: bigint }>(`SELECT coalesce(sum(sats), 0)::int8 AS sats FROM collateral_positions WHERE loan_id = $1 AND state IN ('confirmed', 'pledged')`, [loanId]);
  seededSats = seeded!.sats;
  const parsed = vaultDescriptor({ network: 'regtest', threshold: 2, chain: 0, keys: [testKey(1), testKey(2), testKey(3)] });
  vaultId = await createVault(t.db, { loanId: loan!.id, mode: 'collaborative', parsed, chainIndex: 0, confirmations: CONFIRMATIONS, at: now(), lookahead: 5 });
  scripts = (await t.db.query<{ script: string }>('SELECT script FROM vault_addresses WHERE vault_id = $1 ORDER BY address_index', [vaultId])).map((r) => Buffer.from(r.script, 'hex'));
  chain = await startLocalChain();
});
afterEach(async () => { await chain.close(); });

const watcher = (options: { timeoutMs?: number } = {}) => new VaultWatcher({ db: t.db, backend: esploraBackend({ baseUrl: chain.url, timeoutMs: options.timeoutMs ?? 5_000 }), now, startHeight: 1 });
const coins = () => t.db.query<{ txid: string; vout: number; sats: bigint; block_height: number | null; counted: boolean; spent_txid: string | null }>('SELECT txid, vout, sats, block_height, counted_at IS NOT NULL AS counted, spent_txid FROM vault_coins ORDER BY txid, vout');
let nonce = 0;
const deposit = (script: Buffer, sats: bigint) => makeTransaction([{ txid: (++nonce).toString(16).padStart(64, '0'), vout: 0 }], [{ script, sats }, { script: otherScript(nonce), sats: 1_000n }]);

describe('the vault watcher against a local Esplora chain', () => {
  it('sees deposits unconfirmed in the mempool (never counted), through Esplora and through Bitcoin Core\'s RPC alike, and forgets one that leaves it without a block', async () => {
    for (const backend of [esploraBackend({ baseUrl: chain.url }), coreRpcBackend({ url: `${chain.url.replace('http://', 'http://rpcuser:rpcpassword@')}/rpc` })]) {
      await resetChainState();
      const watching = new VaultWatcher({ db: t.db, backend, now, startHeight: 1 });
      const kept = deposit(scripts[0]!, 10_000_000n);
      const replaced = deposit(scripts[1]!, 5_000_000n);
      chain.toMempool(kept);
      chain.toMempool(replaced);
      const mine = async () => (await coins()).filter((coin) => [kept.getId(), replaced.getId()].includes(coin.txid));
      expect(await watching.sync()).toMatchObject({ unconfirmed: 2 });
      expect(await mine()).toEqual([kept, replaced].map((tx) => ({ txid: tx.getId(), vout: 0, sats: tx.outs[0]!.value, block_height: null, counted: false, spent_txid: null })).sort((a, b) => a.txid.localeCompare(b.txid)));
      // Seen once: the next round fetches nothing again.
      const fetched = chain.requests.get('/rpc') ?? 0;
      expect(await watching.sync()).toMatchObject({ unconfirmed: 0 });
      if (backend.name.startsWith('bitcoind')) expect(chain.requests.get('/rpc')! - fetched).toBeLessThan(5);
      // One is replaced (RBF) and leaves the mempool; the other is mined.
      chain.dropFromMempool(replaced.getId());
      chain.mine();
      await watching.sync();
      expect(await mine()).toEqual([{ txid: kept.getId(), vout: 0, sats: 10_000_000n, block_height: chain.height(), counted: false, spent_txid: null }]);
      await expectBooksAgree();
    }
  });

  it('sees a deposit in a block, counts it at the vault\'s confirmations, once, and resumes after a restart', async () => {
    chain.mine();
    const tx = deposit(scripts[0]!, 25_000_000n);
    chain.mine([tx]);
    expect(await watcher().sync()).toMatchObject({ processed: 2, deposits: 1, counted: 0, tip: 2 });
    expect(await coins()).toEqual([{ txid: tx.getId(), vout: 0, sats: 25_000_000n, block_height: 2, counted: false, spent_txid: null }]);
    chain.mine();
    expect(await watcher().sync()).toMatchObject({ processed: 1, counted: 0 });
    chain.mine();
    // A new watcher (a restart) resumes after the last processed block: the deposit has 3 confirmations.
    expect(await watcher().sync()).toMatchObject({ processed: 1, counted: 1 });
    expect((await coins())[0]!.counted).toBe(true);
    expect(await watcher().sync()).toMatchObject({ processed: 0, counted: 0 });
    // On the books once: a pledged position of the loan, its entry, the loan's LTV.
    await expectBooksAgree();
    const positions = await t.db.query<{ sats: bigint; state: string }>('SELECT p.sats, p.state FROM collateral_positions p JOIN vault_coins c ON c.position_id = p.id');
    expect(positions).toEqual([{ sats: 25_000_000n, state: 'pledged' }]);
    const [audit] = await t.db.query<{ action: string; target: string }>(`SELECT action, target FROM audit_log WHERE action = 'vault.coin.count' ORDER BY id DESC LIMIT 1`);
    expect(audit).toMatchObject({ action: 'vault.coin.count', target: expect.stringMatching(/^loan:/) });
    const blocks = await t.db.query<{ height: number; hash: string }>('SELECT height, hash FROM chain_blocks ORDER BY height');
    expect(blocks.map((b) => [b.height, b.hash])).toEqual([1, 2, 3, 4].map((h) => [h, chain.hashAt(h)]));
  });

  it('takes back a deposit a reorganisation removes before it counts, and books it again where the new branch holds it', async () => {
    const tx = deposit(scripts[1]!, 1_000_000n);
    chain.mine([tx]);
    await watcher().sync();
    expect((await coins())[0]!.block_height).toBe(1);
    chain.reorg(1, [[], []]);
    expect(await watcher().sync()).toMatchObject({ undone: 1, processed: 2 });
    expect(await coins()).toEqual([expect.objectContaining({ txid: tx.getId(), block_height: null, counted: false })]);
    // The same coin in a block of the new branch: one row, its new block.
    chain.mine([tx]);
    await watcher().sync();
    expect(await coins()).toEqual([expect.objectContaining({ txid: tx.getId(), block_height: 3, counted: false })]);
    expect(await t.db.query('SELECT 1 FROM vaults WHERE frozen_at IS NOT NULL')).toEqual([]);
  });

  it('freezes the vault and raises an alert when a reorganisation deeper than its confirmations takes back a counted coin', async () => {
    const tx = deposit(scripts[0]!, 5_000_000n);
    chain.mine([tx]);
    chain.mine();
    chain.mine();
    await watcher().sync();
    expect((await coins())[0]!.counted).toBe(true);
    chain.reorg(3, [[], [], [], []]);
    expect(await watcher().sync()).toMatchObject({ undone: 3, processed: 4 });
    expect((await coins())[0]).toMatchObject({ block_height: null, counted: false });
    const [vault] = await t.db.query<{ frozen_reason: string }>('SELECT frozen_reason FROM vaults WHERE id = $1', [vaultId]);
    expect(vault!.frozen_reason).toMatch(new RegExp(`took back counted coin ${tx.getId()}:0`));
    expect(await t.db.query<{ kind: string }>('SELECT kind FROM vault_alerts')).toEqual([{ kind: 'deep_reorg' }]);
    // The booking is reversed, not deleted.
    expect(await t.db.query(`SELECT 1 FROM collateral_positions WHERE state = 'reversed' AND sats = 5000000`)).toHaveLength(1);
    await expectBooksAgree();
  });

  it('marks a vault coin spent when a block spends it, and unspent when that block is taken back', async () => {
    const tx = deposit(scripts[2]!, 7_000_000n);
    chain.mine([tx]);
    await watcher().sync();
    const spend = makeTransaction([{ txid: tx.getId(), vout: 0 }], [{ script: otherScript(99), sats: 6_990_000n }]);
    chain.mine([spend]);
    await watcher().sync();
    expect((await coins())[0]!.spent_txid).toBe(spend.getId());
    chain.reorg(1, [[]]);
    await watcher().sync();
    expect((await coins())[0]!.spent_txid).toBeNull();
  });

  it('takes a counted coin spent outside zalog off the books with an alert, and books it again if the spend is taken back', async () => {
    const tx = deposit(scripts[3]!, 9_000_000n);
    chain.mine([tx]);
    chain.mine();
    chain.mine();
    await watcher().sync();
    expect((await coins())[0]!.counted).toBe(true);
    const spend = makeTransaction([{ txid: tx.getId(), vout: 0 }], [{ script: otherScript(98), sats: 8_990_000n }]);
    chain.mine([spend]);
    await watcher().sync();
    expect((await coins())[0]).toMatchObject({ counted: false, spent_txid: spend.getId() });
    expect(await t.db.query<{ kind: string }>('SELECT kind FROM vault_alerts')).toEqual([{ kind: 'unexpected_spend' }]);
    await expectBooksAgree();
    chain.reorg(1, [[], []]);
    await watcher().sync();
    expect((await coins())[0]).toMatchObject({ counted: true, spent_txid: null });
    await expectBooksAgree();
  });

  it('writes nothing when the backend is slow, answers garbage or serves a block that is not the one asked for', async () => {
    chain.mine([deposit(scripts[0]!, 1n)]);
    chain.fault('/block/', { delayMs: 2_000 });
    await expect(watcher({ timeoutMs: 200 }).sync()).rejects.toMatchObject({ kind: 'timeout' });
    chain.fault('/block/', undefined);
    chain.fault('/block-height/', { body: 'not a hash' });
    await expect(watcher().sync()).rejects.toBeInstanceOf(SourceError);
    chain.fault('/block-height/', undefined);
    chain.fault('/block/', { body: 'garbage' });
    await expect(watcher().sync()).rejects.toMatchObject({ kind: 'malformed' });
    chain.fault('/block/', undefined);
    chain.fault('/blocks/tip/height', { status: 503, body: 'busy' });
    await expect(watcher().sync()).rejects.toMatchObject({ kind: 'http' });
    chain.fault('/blocks/tip/height', undefined);
    expect(await t.db.query('SELECT 1 FROM chain_blocks')).toEqual([]);
    expect(await coins()).toEqual([]);
    expect(await watcher().sync()).toMatchObject({ processed: 1, deposits: 1 });
  });

  it('agrees with the chain after any history of blocks, deposits, spends, reorganisations and restarts (property)', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(
        fc.record({ kind: fc.constant('mine' as const), deposits: fc.array(fc.record({ address: fc.integer({ min: 0, max: 4 }), sats: fc.bigInt({ min: 1n, max: 100_000_000n }) }), { maxLength: 3 }), spend: fc.boolean() }),
        fc.record({ kind: fc.constant('reorg' as const), depth: fc.integer({ min: 1, max: 5 }), length: fc.integer({ min: 0, max: 6 }), replay: fc.boolean() }),
        fc.record({ kind: fc.constant('sync' as const) }),
      ), { minLength: 1, maxLength: 14 }),
      async (steps) => {
        await resetChainState();
        await chain.close();
        chain = await startLocalChain();
        // The model: which transactions are in which block of the best chain.
        let best: Transaction[][] = [[]]; // index = height; genesis has none of ours
        const ours: Transaction[] = [];
        for (const step of steps) {
          if (step.kind === 'mine') {
            const txs = step.deposits.map((d) => deposit(scripts[d.address]!, d.sats));
            const unspent = ours.filter((tx) => best.some((block) => block.includes(tx)) && !best.flat().some((other) => other.ins.some((input) => Buffer.from(input.hash).reverse().toString('hex') === tx.getId())));
            if (step.spend && unspent.length > 0) txs.push(makeTransaction([{ txid: unspent[0]!.getId(), vout: 0 }], [{ script: otherScript(7), sats: 1n }]));
            ours.push(...txs.filter((tx) => tx.outs.some((out) => scripts.some((s) => Buffer.from(out.script).equals(s)))));
            chain.mine(txs);
            best.push(txs);
          } else if (step.kind === 'reorg') {
            const depth = Math.min(step.depth, best.length - 1);
            if (depth === 0) continue;
            const dropped = best.slice(best.length - depth).flat();
            // The replacement branch re-mines the dropped transactions (as a node would from its mempool) or not.
            const replacement: Transaction[][] = Array.from({ length: Math.max(step.length, 1) }, (_, i) => (step.replay && i === 0 ? dropped : []));
            chain.reorg(depth, replacement);
            best = [...best.slice(0, best.length - depth), ...replacement];
          } else {
            await watcher().sync();
            await expectBooksAgree();
          }
        }
        await watcher().sync();
        await expectBooksAgree();
        // What the chain says: each of our deposits' block in the best chain, its confirmations, its spend.
        const tip = best.length - 1;
        const expected = ours.map((tx) => {
          const height = best.findIndex((block) => block.includes(tx));
          const spender = best.flat().find((other) => other.ins.some((input) => Buffer.from(input.hash).reverse().toString('hex') === tx.getId()));
          return { txid: tx.getId(), block_height: height < 0 ? null : height, counted: height >= 0 && tip - height + 1 >= CONFIRMATIONS && spender === undefined, spent_txid: spender?.getId() ?? null };
        }).filter((coin, i, all) => all.findIndex((other) => other.txid === coin.txid) === i);
        const seen = await coins();
        // A deposit the watcher never saw in a block of the best chain (mined and taken back between two syncs) has no row.
        const rows = seen.map(({ txid, block_height, counted, spent_txid }) => ({ txid, block_height, counted, spent_txid }));
        expect(rows.filter((row) => row.block_height !== null)).toEqual(expected.filter((coin) => coin.block_height !== null).sort((a, b) => a.txid.localeCompare(b.txid)));
        expect(rows.filter((row) => row.block_height === null).every((row) => !row.counted && expected.some((coin) => coin.txid === row.txid && coin.block_height === null))).toBe(true);
        const [top] = await t.db.query<{ height: number; hash: string }>('SELECT height, hash FROM chain_blocks ORDER BY height DESC LIMIT 1');
        expect(top === undefined ? 0 : top.height).toBe(tip);
        if (top !== undefined) expect(top.hash).toBe(chain.hashAt(tip));
      },
    ), { numRuns: 25 });
  }, 120_000);
});
