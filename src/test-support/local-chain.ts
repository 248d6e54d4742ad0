import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transaction, type Block } from 'bitcoinjs-lib';
import { makeBlock, makeCoinbase, makeTransaction, otherScript } from './bitcoin.js';
import { address as addressCodec, networks } from 'bitcoinjs-lib';
import { createHash } from 'node:crypto';

/**
 * A local chain behind an Esplora-compatible HTTP API, for the watcher's tests and benches: blocks
 * of real transactions (built by bitcoinjs-lib), mined on demand; reorganisations that replace
 * the top blocks; and faults (a slow or malformed answer on a path). It serves what the
 * watcher reads: `/blocks/tip/height`, `/blocks/tip/hash`, `/block-height/:h`, `/block/:hash/raw`,
 * in Esplora's formats (plain text heights and hashes, the raw block as bytes); `/fee-estimates`
 * (sat/vB by target), `POST /tx` (a broadcast: the transaction joins the mempool, and the next
 * block mined holds it), `/mempool/txids` and `/tx/:txid/raw`. The same chain answers Bitcoin Core's JSON-RPC at `POST /rpc` (HTTP
 * Basic user `rpcuser`, password `rpcpassword`): getblockcount, getblockhash, getblock (verbosity
 * 0), estimatesmartfee, sendrawtransaction, with Core's error replies (HTTP 500, `error.code`).
 */
export interface LocalChain {
  readonly url: string;
  readonly height: () => number;
  readonly hashAt: (height: number) => string;
  /** Mines a block of the mempool's transactions and `transactions` (after its coinbase) on the tip; returns it. */
  mine(transactions?: readonly Transaction[]): Block;
  /** The transactions broadcast and not yet mined. */
  readonly mempool: () => readonly Transaction[];
  /** Puts a transaction in the mempool as a broadcast would (refused if it spends what is spent); drops it with `drop` (an RBF replacement, an eviction). */
  toMempool(tx: Transaction): void;
  dropFromMempool(txid: string): void;
  /** What `/fee-estimates` answers (sat/vB by target), and so estimatesmartfee; {} : no estimate. */
  setFeeEstimates(estimates: Readonly<Record<string, number>>): void;
  /** Drops the top `depth` blocks and mines `replacement` blocks of transactions in their place. */
  reorg(depth: number, replacement: readonly (readonly Transaction[])[]): void;
  /** Answers on paths starting with `prefix` slowly, with an error status, or with garbage, until cleared. */
  fault(prefix: string, fault: { readonly delayMs?: number; readonly status?: number; readonly body?: string } | undefined): void;
  /** How many requests each path kind got (e.g. 'block-raw'). */
  readonly requests: Map<string, number>;
  close(): Promise<void>;
}

/** A demonstration's payment: `sats` to `address` (any network's form), from an input nobody watches. */
function paymentTo(address: string, sats: bigint, nonce: number): Transaction {
  for (const network of [networks.regtest, networks.testnet, networks.bitcoin]) {
    try {
      const script = addressCodec.toOutputScript(address, network);
      return makeTransaction([{ txid: createHash('sha256').update(`local-chain payment ${nonce} ${Date.now()}`).digest('hex'), vout: 0 }], [{ script, sats }]);
    } catch {
      // the next network's form
    }
  }
  throw new Error(`${address} is not a bitcoin address`);
}

export async function startLocalChain(options: { readonly port?: number } = {}): Promise<LocalChain> {
  const GENESIS_TIME = 1_700_000_000;
  const blocks: Block[] = [makeBlock('00'.repeat(32), [makeCoinbase(0, otherScript(0))], GENESIS_TIME)];
  const byHash = new Map<string, Block>([[blocks[0]!.getId(), blocks[0]!]]);
  // Each block serialised once, when mined: serving it is then a copy, as from a node's disk.
  const rawByHash = new Map<string, Uint8Array>([[blocks[0]!.getId(), blocks[0]!.toBuffer()]]);
  const faults = new Map<string, { delayMs?: number; status?: number; body?: string }>();
  const requests = new Map<string, number>();
  let salt = 0;
  let mempool: Transaction[] = [];
  let feeEstimates: Readonly<Record<string, number>> = { '1': 20.5, '3': 12.25, '6': 8.137, '144': 1.5 };
  const spentOutpoints = () => new Set([...blocks.flatMap((b) => b.transactions ?? []), ...mempool].flatMap((tx) => tx.ins.map((input) => `${Buffer.from(input.hash).toString('hex')}:${input.index}`)));
  /** A broadcast: the transaction parses and spends nothing already spent, or the reason it is refused. */
  const accept = (hex: string): { ok: true; txid: string } | { ok: false; reason: string } => {
    let tx: Transaction;
    try {
      tx = Transaction.fromHex(hex);
    } catch {
      return { ok: false, reason: 'TX decode failed' };
    }
    const txid = tx.getId();
    if (mempool.some((m) => m.getId() === txid) || blocks.some((b) => (b.transactions ?? []).some((m) => m.getId() === txid))) return { ok: true, txid };
    const spent = spentOutpoints();
    if (tx.ins.some((input) => spent.has(`${Buffer.from(input.hash).toString('hex')}:${input.index}`))) return { ok: false, reason: 'bad-txns-inputs-missingorspent' };
    mempool.push(tx);
    return { ok: true, txid };
  };
  const readBody = (request: import('node:http').IncomingMessage) => new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8'))).on('error', reject);
  });
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
    // A faulty path answers its fault without doing the work (a refused broadcast joins no mempool).
    const faulty = [...faults].some(([prefix, fault]) => path.startsWith(prefix) && (fault.status !== undefined || fault.body !== undefined));
    if (request.method === 'POST' && faulty) return answer(500, '');
    // A demonstration's controls (not Esplora's): pay an address from nowhere, mine blocks.
    if (request.method === 'POST' && path === '/regtest/pay') {
      const query = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams;
      try {
        const tx = paymentTo(query.get('address') ?? '', BigInt(query.get('sats') ?? '0'), salt += 1);
        const result = accept(tx.toHex());
        return answer(result.ok ? 200 : 400, result.ok ? `${result.txid}\n` : result.reason);
      } catch (error) {
        return answer(400, (error as Error).message);
      }
    }
    if (request.method === 'POST' && path === '/regtest/mine') {
      const count = Math.min(Math.max(Number(new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('blocks') ?? '1') || 1, 1), 1_000);
      for (let i = 0; i < count; i += 1) {
        const pending = mempool;
        mempool = [];
        mineOne(pending);
      }
      return answer(200, `${blocks.length - 1}\n`);
    }
    if (request.method === 'POST' && path === '/tx') {
      void readBody(request).then((hex) => {
        const result = accept(hex.trim());
        answer(result.ok ? 200 : 400, result.ok ? result.txid : `sendrawtransaction RPC error: {"code":-25,"message":"${result.reason}"}`);
      });
      return;
    }
    if (request.method === 'POST' && path === '/rpc') {
      if (request.headers.authorization !== `Basic ${Buffer.from('rpcuser:rpcpassword').toString('base64')}`) return answer(401, '');
      void readBody(request).then((text) => {
        const call = JSON.parse(text) as { id: unknown; method: string; params: unknown[] };
        const ok = (result: unknown) => answer(200, JSON.stringify({ result, error: null, id: call.id }), 'application/json');
        const fail = (code: number, message: string) => answer(500, JSON.stringify({ result: null, error: { code, message }, id: call.id }), 'application/json');
        switch (call.method) {
          case 'getblockcount': return ok(blocks.length - 1);
          case 'getblockhash': {
            const block = blocks[Number(call.params[0])];
            return block === undefined ? fail(-8, 'Block height out of range') : ok(block.getId());
          }
          case 'getblock': {
            const bytes = rawByHash.get(String(call.params[0]));
            return bytes === undefined ? fail(-5, 'Block not found') : ok(Buffer.from(bytes).toString('hex'));
          }
          case 'estimatesmartfee': {
            const target = Number(call.params[0]);
            const chosen = Object.entries(feeEstimates).map(([t, r]) => [Number(t), r] as const).sort((a, b) => a[0] - b[0]).find(([t]) => t >= target);
            return ok(chosen === undefined ? { errors: ['Insufficient data or no feerate found'], blocks: target } : { feerate: chosen[1] / 1e5, blocks: chosen[0] });
          }
          case 'getrawmempool': return ok(mempool.map((tx) => tx.getId()));
          case 'getrawtransaction': {
            const found = [...mempool, ...blocks.flatMap((b) => b.transactions ?? [])].find((tx) => tx.getId() === String(call.params[0]));
            return found === undefined ? fail(-5, 'No such mempool or blockchain transaction') : ok(found.toHex());
          }
          case 'sendrawtransaction': {
            const result = accept(String(call.params[0]));
            return result.ok ? ok(result.txid) : fail(-25, result.reason);
          }
          default: return fail(-32601, 'Method not found');
        }
      });
      return;
    }
    if (path === '/mempool/txids') return answer(200, JSON.stringify(mempool.map((tx) => tx.getId())), 'application/json');
    const rawTx = /^\/tx\/([0-9a-f]{64})\/raw$/.exec(path);
    if (rawTx !== null) {
      const found = [...mempool, ...blocks.flatMap((b) => b.transactions ?? [])].find((tx) => tx.getId() === rawTx[1]);
      return found === undefined ? answer(404, 'Transaction not found') : answer(200, found.toBuffer(), 'application/octet-stream');
    }
    if (path === '/fee-estimates') return answer(200, JSON.stringify(feeEstimates), 'application/json');
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
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    height: () => blocks.length - 1,
    hashAt: (h) => blocks[h]!.getId(),
    mine: (transactions = []) => {
      const pending = mempool;
      mempool = [];
      return mineOne([...pending, ...transactions]);
    },
    mempool: () => mempool,
    toMempool(tx) {
      const result = accept(tx.toHex());
      if (!result.ok) throw new Error(result.reason);
    },
    dropFromMempool(txid) { mempool = mempool.filter((tx) => tx.getId() !== txid); },
    setFeeEstimates: (estimates) => { feeEstimates = estimates; },
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
