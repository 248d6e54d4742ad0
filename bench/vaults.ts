/**
 * `npm run bench:vaults` (issue 18): the chain watcher's pure work, in memory.
 *
 * - addresses_per_s: vault addresses derived per second, one thread: 100 collaborative 2-of-3
 *   vaults (test keys from fixed seeds, each its own chain), 200 consecutive addresses each,
 *   through AddressChain (each key's node above `*` derived once per vault; an address is three
 *   child derivations, BIP-67 sorting, the script and its hash). Goal >= 20,000.
 * - block_match_ms: one block of 5,000 transactions (2 inputs and 2 outputs each, P2WPKH and P2WSH
 *   outputs, 50 of them deposits to vaults and 20 inputs spending vault coins), serialised as a
 *   node serves it, parsed and matched against 100,000 live vault scripts and 100,000 vault coins;
 *   the median of 21 runs after one warm-up. Goal <= 200.
 * - catchup_s: the watcher (src/vaults/watcher.ts) over 1,000 blocks of 2,000 transactions each,
 *   served by a local Esplora-compatible chain (in this process; each block serialised once when
 *   mined), from the first block to the tip, on PGlite (and PostgreSQL when DATABASE_URL is set;
 *   `--engine` picks one): 1,000 vaults of 20 addresses watched (`--watched-vaults N`); each block pays 5 deposits to
 *   vaults (booked as collateral at 3 confirmations) and spends 2 of the previous block's deposits.
 *   Goal <= 60 on PGlite.
 *   `--blocks N`, `--block-transactions N`, `--vaults N` change the sizes.
 */
import { randomBytes } from 'node:crypto';
import { makeBlock, makeCoinbase, makeTransaction, otherScript, testKey } from '../src/test-support/bitcoin.js';
import { matchBlock, type Outpoint } from '../src/vaults/block-match.js';
import { AddressChain, vaultDescriptor } from '../src/vaults/descriptor.js';
import { loadCalendar } from '../src/calendar/load.js';
import { seedLoans } from '../src/loans/seed.js';
import { startLocalChain } from '../src/test-support/local-chain.js';
import { esploraBackend } from '../src/vaults/esplora.js';
import { createVault } from '../src/vaults/vault-store.js';
import { VaultWatcher } from '../src/vaults/watcher.js';
import { benchEngines, integerOption, machine, openBenchDatabase, printBench } from './bench-support.js';

const argv = process.argv.slice(2);
const VAULTS = integerOption(argv, 'vaults', 100);
const PER_VAULT = integerOption(argv, 'addresses', 200);
const LIVE = integerOption(argv, 'live', 100_000);
const TXS = integerOption(argv, 'transactions', 5_000);
const BLOCKS = integerOption(argv, 'blocks', 1_000);
const BLOCK_TXS = integerOption(argv, 'block-transactions', 2_000);
const WATCHED_VAULTS = integerOption(argv, 'watched-vaults', 1_000);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`machine: ${machine()}`);

const keys = [testKey(1, 'mainnet'), testKey(2, 'mainnet'), testKey(3, 'mainnet')];
const chains = Array.from({ length: VAULTS }, (_, chain) => new AddressChain(vaultDescriptor({ network: 'mainnet', threshold: 2, chain, keys })));

// addresses_per_s
chains[0]!.at(0); // warm the code paths
const started = performance.now();
let derived = 0;
for (const chain of chains) for (let index = 0; index < PER_VAULT; index += 1) { chain.at(index); derived += 1; }
const seconds = (performance.now() - started) / 1000;
const perSecond = Math.round(derived / seconds);
console.log(`derived ${derived} addresses of ${VAULTS} vaults in ${seconds.toFixed(2)} s`);

// block_match_ms: LIVE vault scripts (from LIVE / 20 vaults, 20 addresses each) and as many coins.
const scripts = new Map<string, number>();
const liveChains = Array.from({ length: Math.ceil(LIVE / 20) }, (_, chain) => new AddressChain(vaultDescriptor({ network: 'mainnet', threshold: 2, chain: VAULTS + chain, keys })));
const vaultScripts: Buffer[] = [];
for (const chain of liveChains) for (let index = 0; index < 20 && scripts.size < LIVE; index += 1) {
  const at = chain.at(index);
  scripts.set(at.scriptPubKey, scripts.size);
  vaultScripts.push(Buffer.from(at.scriptPubKey, 'hex'));
}
const coins = new Map<Outpoint, number>();
const coinOutpoints: { txid: string; vout: number }[] = [];
for (let i = 0; i < LIVE; i += 1) {
  const txid = randomBytes(32).toString('hex');
  coins.set(`${txid}:0`, i);
  if (i < 20) coinOutpoints.push({ txid, vout: 0 });
}
const transactions = [makeCoinbase(900_000, otherScript(0))];
for (let i = 0; i < TXS - 1; i += 1) {
  const inputs = [i < 20 ? coinOutpoints[i]! : { txid: randomBytes(32).toString('hex'), vout: i % 3 }, { txid: randomBytes(32).toString('hex'), vout: 1 }];
  const deposit = i % 100 === 0 ? vaultScripts[(i * 7919) % vaultScripts.length]! : null;
  const p2wsh = Buffer.concat([Buffer.from([0x00, 0x20]), randomBytes(32)]);
  transactions.push(makeTransaction(inputs, [{ script: deposit ?? (i % 2 === 0 ? p2wsh : otherScript(i)), sats: BigInt(10_000 + i) }, { script: otherScript(i + 1), sats: 546n }]));
}
const raw = makeBlock('00'.repeat(32), transactions, 1_764_000_000).toBuffer();
console.log(`block: ${transactions.length} transactions, ${(raw.length / 1e6).toFixed(2)} MB; watching ${scripts.size} scripts and ${coins.size} coins`);
const watched = { scripts, coins };
const first = matchBlock(raw, watched);
if (first.deposits.length !== Math.ceil((TXS - 1) / 100) || first.spends.length !== Math.min(20, TXS - 1)) throw new Error(`matched ${first.deposits.length} deposits and ${first.spends.length} spends`);
const runs: number[] = [];
for (let i = 0; i < 21; i += 1) {
  const t0 = performance.now();
  matchBlock(raw, watched);
  runs.push(performance.now() - t0);
}
console.log(`block match: ${first.deposits.length} deposits, ${first.spends.length} spends; runs ${runs.map((ms) => ms.toFixed(1)).join(', ')} ms`);

// catchup_s
const calendar = await loadCalendar();
const catchup: { engine: string; seconds: number }[] = [];
for (const engine of benchEngines(argv)) {
  const bench = await openBenchDatabase(engine);
  const localChain = await startLocalChain();
  try {
    await seedLoans(bench.db, { count: WATCHED_VAULTS, disbursedOn: '2026-01-15', calendar, prefix: 'vault' });
    const loanIds = (await bench.db.query<{ id: bigint }>('SELECT id FROM loans ORDER BY id')).map((r) => r.id);
    const madeAt = performance.now();
    const vaultScripts: Buffer[] = [];
    for (let i = 0; i < loanIds.length; i += 1) {
      const parsed = vaultDescriptor({ network: 'regtest', threshold: 2, chain: i, keys: [testKey(1), testKey(2), testKey(3)] });
      await createVault(bench.db, { loanId: loanIds[i]!, mode: 'collaborative', parsed, chainIndex: i, confirmations: 3, at: new Date() });
    }
    for (const row of await bench.db.query<{ script: string }>('SELECT script FROM vault_addresses WHERE address_index = 0 ORDER BY vault_id')) vaultScripts.push(Buffer.from(row.script, 'hex'));
    console.log(`${engine}: ${loanIds.length} vaults made (20 addresses each) in ${((performance.now() - madeAt) / 1000).toFixed(1)} s`);
    // The blocks: a pool of unrelated transactions reused across blocks (the watcher only reads
    // them), and in each block 5 deposits of its own and 2 spends of the previous block's deposits
    // (before they count: a counted coin spent outside zalog is an alert, not a block's routine).
    const pool = Array.from({ length: Math.max(BLOCK_TXS - 8, 0) }, (_, i) => makeTransaction([{ txid: randomBytes(32).toString('hex'), vout: 0 }, { txid: randomBytes(32).toString('hex'), vout: 1 }], [{ script: i % 2 === 0 ? Buffer.concat([Buffer.from([0x00, 0x20]), randomBytes(32)]) : otherScript(i), sats: 50_000n }, { script: otherScript(i + 1), sats: 546n }]));
    const minedAt = performance.now();
    const earlier: string[] = [];
    for (let b = 0; b < BLOCKS; b += 1) {
      const deposits = Array.from({ length: 5 }, (_, i) => makeTransaction([{ txid: randomBytes(32).toString('hex'), vout: 0 }], [{ script: vaultScripts[(b * 5 + i) % vaultScripts.length]!, sats: BigInt(1_000_000 + b) }]));
      const spends = earlier.splice(0).slice(0, 2).map((txid) => makeTransaction([{ txid, vout: 0 }], [{ script: otherScript(b), sats: 999_000n }]));
      localChain.mine([...pool.slice(0, BLOCK_TXS - 1 - deposits.length - spends.length), ...deposits, ...spends]);
      earlier.push(...deposits.map((tx) => tx.getId()));
    }
    console.log(`${engine}: ${BLOCKS} blocks of ${BLOCK_TXS} transactions mined in ${((performance.now() - minedAt) / 1000).toFixed(1)} s`);
    const watcher = new VaultWatcher({ db: bench.db, backend: esploraBackend({ baseUrl: localChain.url }), now: () => new Date(), startHeight: 1 });
    const t0 = performance.now();
    const report = await watcher.sync();
    const seconds = (performance.now() - t0) / 1000;
    const [coins] = await bench.db.query<{ coins: bigint; counted: bigint; spent: bigint }>('SELECT count(*) AS coins, count(counted_at) AS counted, count(spent_txid) AS spent FROM vault_coins');
    if (report.processed !== BLOCKS || coins!.coins !== BigInt(BLOCKS * 5)) throw new Error(`processed ${report.processed} blocks, ${coins!.coins} coins`);
    console.log(`${engine}: caught up ${report.processed} blocks in ${seconds.toFixed(1)} s (${(seconds * 1000 / BLOCKS).toFixed(1)} ms a block): ${coins!.coins} coins, ${coins!.counted} counted, ${coins!.spent} spent`);
    catchup.push({ engine, seconds });
  } finally {
    await localChain.close();
    await bench.dispose();
  }
}

printBench({ name: 'vaults', metric: 'addresses_per_s', value: perSecond, unit: 'addresses/s', engine: 'memory', goal: '>= 20000' });
printBench({ name: 'vaults', metric: 'block_match_ms', value: Number(median(runs).toFixed(1)), unit: 'ms', engine: 'memory', goal: '<= 200' });
for (const { engine, seconds } of catchup) printBench({ name: 'vaults', metric: 'catchup_s', value: Number(seconds.toFixed(1)), unit: 's', engine: engine as 'pglite' | 'postgres', goal: engine === 'pglite' ? '<= 60' : 'none (<= 60 on PGlite)' });
