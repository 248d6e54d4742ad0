import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Block, Transaction } from 'bitcoinjs-lib';
import { makeBlock, makeCoinbase, otherScript } from './bitcoin.js';

/**
 * A local chain behind an Esplora-compatible HTTP API, for the watcher's tests and benches: blocks
 * of real transactions (built by bitcoinjs-lib), mined on demand; reorganisations that replace
 * the top blocks; and faults (a slow or malformed answer on a path). It serves what the
 * watcher reads: `/blocks/tip/height`, `/blocks/tip/hash`, `/block-height/:h`, `/block/:hash/raw`,
 * in Esplora's formats (plain text heights and hashes, the raw block as bytes).
 */
export interface LocalChain {
  readonly url: string;
  readonly height: () => number;
  readonly hashAt: (height: number) => string;
  /** Mines a block of `transactions` (after its coinbase) on the tip; returns it. */
  mine(transactions?: readonly Transaction[]): Block;
  /** Drops the top `depth` blocks and mines `replacement` blocks of transactions in their place. */
  reorg(depth: number, replacement: readonly (readonly Transaction[])[]): void;
  /** Answers on paths starting with `prefix` slowly, with an error status, or with garbage, until cleared. */
  fault(prefix: string, fault: { readonly delayMs?: number; readonly status?: number; readonly body?: string } | undefined): void;
  /** How many requests each path kind got (e.g. 'block-raw'). */
  readonly requests: Map<string, number>;
  close(): Promise<void>;
}

export async function startLocalChain(): Promise<LocalChain> {
  const GENESIS_TIME = 1_700_000_000;
  const blocks: Block[] = [makeBlock('00'.repeat(32), [makeCoinbase(0, otherScript(0))], GENESIS_TIME)];
  const byHash = new Map<string, Block>([[blocks[0]!.getId(), blocks[0]!]]);
  // Each block serialised once, when mined: serving it is then a copy, as from a node's disk.
  const rawByHash = new Map<string, Uint8Array>([[blocks[0]!.getId(), blocks[0]!.toBuffer()]]);
  const faults = new Map<string, { delayMs?: number; status?: number; body?: string }>();
  const requests = new Map<string, number>();
  let salt = 0;
  const mineOne = (transactions: readonly Transaction[]) => {
    const height = blocks.length;
    salt += 1; // a replacement block at the same height differs from the one it replaces
    const block = makeBlock(blocks[height - 1]!.getId(), [makeCoinbase(height, otherScript(1_000_000 + salt)), ...transactions], GENESIS_TIME + height * 600);
    blocks.push(block);
    const hash = block.getId();
    byHash.set(hash, block);
    rawByHash.set(hash, block.toBuffer());
    return block;
  };
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const kind = path.startsWith('/block-height/') ? 'block-height' : /^\/block\/[0-9a-f]{64}\/raw$/.test(path) ? 'block-raw' : path;
    requests.set(kind, (requests.get(kind) ?? 0) + 1);
    const answer = (status: number, body: string | Uint8Array, type = 'text/plain') => {
      const fault = [...faults].find(([prefix]) => path.startsWith(prefix))?.[1];
      const send = () => {
        if (response.destroyed) return;
        if (fault?.status !== undefined || fault?.body !== undefined) response.writeHead(fault.status ?? 200, { 'content-type': 'text/plain' }).end(fault.body ?? 'fault');
        else response.writeHead(status, { 'content-type': type }).end(body);
      };
      if (fault?.delayMs) setTimeout(send, fault.delayMs).unref();
      else send();
    };
    if (path === '/blocks/tip/height') return answer(200, String(blocks.length - 1));
    if (path === '/blocks/tip/hash') return answer(200, blocks.at(-1)!.getId());
    const height = /^\/block-height\/([0-9]+)$/.exec(path);
    if (height !== null) {
      const block = blocks[Number(height[1])];
      return block === undefined ? answer(404, 'Block not found') : answer(200, block.getId());
    }
    const raw = /^\/block\/([0-9a-f]{64})\/raw$/.exec(path);
    if (raw !== null) {
      const bytes = rawByHash.get(raw[1]!);
      return bytes === undefined ? answer(404, 'Block not found') : answer(200, bytes, 'application/octet-stream');
    }
    return answer(404, 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    height: () => blocks.length - 1,
    hashAt: (h) => blocks[h]!.getId(),
    mine: (transactions = []) => mineOne(transactions),
    reorg(depth, replacement) {
      if (depth >= blocks.length) throw new Error('cannot reorganise the genesis block away');
      blocks.splice(blocks.length - depth, depth); // the old blocks stay fetchable by hash, as on a node
      for (const transactions of replacement) mineOne(transactions);
    },
    fault: (prefix, fault) => { if (fault === undefined) faults.delete(prefix); else faults.set(prefix, fault); },
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
