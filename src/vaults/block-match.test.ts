import { Block } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { makeBlock, makeCoinbase, makeTransaction, otherScript, testKey } from '../test-support/bitcoin.js';
import { matchBlock, type Watched } from './block-match.js';
import { AddressChain, vaultDescriptor } from './descriptor.js';

const chain = new AddressChain(vaultDescriptor({ network: 'regtest', threshold: 2, chain: 1, keys: [testKey(1), testKey(2), testKey(3)] }));
const vaultScript = (index: number) => Buffer.from(chain.at(index).scriptPubKey, 'hex');
const GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';

describe('matching a block against the vaults', () => {
  it('finds deposits to vault scripts and spends of vault coins, with amounts exact and ids as the chain shows them', () => {
    const funding = makeTransaction([{ txid: 'aa'.repeat(32), vout: 1 }], [{ script: otherScript(1), sats: 5_000n }, { script: vaultScript(0), sats: 25_000_000n }]);
    const payout = makeTransaction([{ txid: 'bb'.repeat(32), vout: 0 }], [{ script: vaultScript(1), sats: 1_234_567n }, { script: vaultScript(0), sats: 1n }]);
    const spend = makeTransaction([{ txid: 'cc'.repeat(32), vout: 3 }, { txid: 'dd'.repeat(32), vout: 0 }], [{ script: otherScript(2), sats: 9_000_000n }]);
    const unrelated = makeTransaction([{ txid: 'ee'.repeat(32), vout: 0 }], [{ script: otherScript(3), sats: 7n }]);
    const block = makeBlock(GENESIS, [makeCoinbase(1, otherScript(4)), funding, unrelated, payout, spend], 1_700_000_000);
    const watched: Watched<string> = {
      scripts: new Map([[chain.at(0).scriptPubKey, 'vault-a/0'], [chain.at(1).scriptPubKey, 'vault-a/1']]),
      coins: new Map([[`${'cc'.repeat(32)}:3`, 'coin-1']]),
    };
    const match = matchBlock(block.toBuffer(), watched);
    expect(match.blockHash).toBe(block.getId());
    expect(match.previousHash).toBe(GENESIS);
    expect(match.transactions).toBe(5);
    // Each deposit carries its whole paying transaction (a PSBT that spends the coin includes it).
    expect(match.deposits.map(({ tx, ...deposit }) => ({ ...deposit, tx: tx.toHex() }))).toEqual([
      { txid: funding.getId(), vout: 1, sats: 25_000_000n, script: chain.at(0).scriptPubKey, owner: 'vault-a/0', tx: funding.toHex() },
      { txid: payout.getId(), vout: 0, sats: 1_234_567n, script: chain.at(1).scriptPubKey, owner: 'vault-a/1', tx: payout.toHex() },
      { txid: payout.getId(), vout: 1, sats: 1n, script: chain.at(0).scriptPubKey, owner: 'vault-a/0', tx: payout.toHex() },
    ]);
    expect(match.spends).toEqual([{ txid: spend.getId(), outpoint: `${'cc'.repeat(32)}:3`, owner: 'coin-1' }]);
    // The block round-trips: what the test builds is what a node would serve.
    expect(Block.fromBuffer(block.toBuffer()).checkTxRoots()).toBe(true);
  });

  it('finds nothing in a block that pays no vault, and refuses bytes that are not a block', () => {
    const block = makeBlock(GENESIS, [makeCoinbase(1, otherScript(4)), makeTransaction([{ txid: 'aa'.repeat(32), vout: 0 }], [{ script: otherScript(5), sats: 1n }])], 1_700_000_000);
    const match = matchBlock(block.toBuffer(), { scripts: new Map([[chain.at(0).scriptPubKey, 1]]), coins: new Map() });
    expect(match.deposits).toEqual([]);
    expect(match.spends).toEqual([]);
    expect(() => matchBlock(block.toBuffer().subarray(0, 100), { scripts: new Map(), coins: new Map() })).toThrow();
  });
});
