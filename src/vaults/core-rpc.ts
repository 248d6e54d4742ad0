import { getJson, SourceError } from '../adapters/http.js';
import { isHash, type ChainBackend } from './esplora.js';

/**
 * Bitcoin Core's JSON-RPC as a chain backend (a bank's own node; a watch-only descriptor wallet
 * there is optional: the watcher matches blocks itself, so the node needs no wallet to serve it).
 * Calls: getblockcount, getblockhash, getblock with verbosity 0 (the raw block as hex),
 * estimatesmartfee (BTC per kvB), sendrawtransaction, getrawmempool and getrawtransaction (a
 * mempool transaction needs no -txindex). The URL may carry the RPC user and
 * password (http://user:password@host:8332); they are sent as HTTP Basic authorisation, never
 * logged (the backend's name masks the password).
 */
export function coreRpcBackend(options: { readonly url: string; readonly timeoutMs?: number }): ChainBackend {
  const parsed = new URL(options.url);
  const authorization = parsed.username === '' ? undefined : `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
  parsed.username = '';
  parsed.password = '';
  const endpoint = parsed.toString();
  const timeoutMs = options.timeoutMs ?? 10_000;
  let id = 0;
  const call = async (method: string, params: readonly unknown[], maxBytes = 10_000): Promise<unknown> => {
    id += 1;
    let body: unknown;
    try {
      body = await getJson(endpoint, { timeoutMs, maxBytes, post: { body: JSON.stringify({ jsonrpc: '1.0', id, method, params }), contentType: 'application/json' }, ...(authorization === undefined ? {} : { headers: { authorization } }) });
    } catch (error) {
      // Core answers an RPC error with HTTP 500 (404 for an unknown method) and the error in the body.
      if (error instanceof SourceError && error.httpStatus !== undefined) {
        const inner = /"message"\s*:\s*"([^"]*)"/.exec(error.message)?.[1];
        throw new SourceError(error.httpStatus === 401 ? 'rejected' : 'http', `bitcoind ${method}: ${error.httpStatus === 401 ? 'the RPC user or password is wrong' : inner ?? error.message}`, error.httpStatus);
      }
      throw error;
    }
    if (typeof body !== 'object' || body === null || !('result' in body)) throw new SourceError('malformed', `bitcoind ${method}: not a JSON-RPC reply`);
    const reply = body as { result: unknown; error: { code: number; message: string } | null };
    if (reply.error !== null && reply.error !== undefined) throw new SourceError('rejected', `bitcoind ${method}: ${reply.error.message} (code ${reply.error.code})`);
    return reply.result;
  };
  const hashOf = (value: unknown, what: string): string => {
    if (typeof value !== 'string' || !isHash(value)) throw new SourceError('malformed', `bitcoind ${what}: not a hash: ${String(value).slice(0, 80)}`);
    return value;
  };
  return {
    name: `bitcoind ${parsed.host}`,
    async tipHeight() {
      const height = await call('getblockcount', []);
      if (typeof height !== 'number' || !Number.isInteger(height) || height < 0) throw new SourceError('malformed', `bitcoind getblockcount: not a height: ${String(height).slice(0, 40)}`);
      return height;
    },
    async blockHash(height) {
      return hashOf(await call('getblockhash', [height]), 'getblockhash');
    },
    async rawBlock(hash) {
      if (!isHash(hash)) throw new SourceError('rejected', `not a block hash: ${hash.slice(0, 80)}`);
      const hex = await call('getblock', [hash, 0], 2 * 4_001_000 + 1_000);
      if (typeof hex !== 'string' || !/^([0-9a-f]{2})+$/.test(hex)) throw new SourceError('malformed', 'bitcoind getblock: not a block in hex');
      return Buffer.from(hex, 'hex');
    },
    async feeRateKvb(targetBlocks) {
      const estimate = await call('estimatesmartfee', [targetBlocks]);
      const feerate = (estimate as { feerate?: unknown } | null)?.feerate;
      if (feerate === undefined) return undefined; // "Insufficient data or no feerate found"
      if (typeof feerate !== 'number' || !Number.isFinite(feerate) || feerate <= 0) throw new SourceError('malformed', `bitcoind estimatesmartfee: not a fee rate: ${String(feerate).slice(0, 40)}`);
      // BTC per kvB to sat per kvB (a rate, not an amount: rounded up to a whole sat).
      return Math.ceil(Math.round(feerate * 1e8 * 1_000) / 1_000);
    },
    async mempoolTxids() {
      const txids = await call('getrawmempool', [false], 64 * 1_048_576);
      if (!Array.isArray(txids) || !txids.every((txid) => typeof txid === 'string' && isHash(txid))) throw new SourceError('malformed', 'bitcoind getrawmempool: not an array of txids');
      return txids as string[];
    },
    async rawTransaction(txid) {
      if (!isHash(txid)) throw new SourceError('rejected', `not a txid: ${txid.slice(0, 80)}`);
      const hex = await call('getrawtransaction', [txid, false], 2 * 4_001_000 + 1_000);
      if (typeof hex !== 'string' || !/^([0-9a-f]{2})+$/.test(hex)) throw new SourceError('malformed', 'bitcoind getrawtransaction: not a transaction in hex');
      return Buffer.from(hex, 'hex');
    },
    async broadcast(txHex) {
      if (!/^([0-9a-f]{2})+$/.test(txHex)) throw new SourceError('rejected', 'not a transaction in hex');
      return hashOf(await call('sendrawtransaction', [txHex]), 'sendrawtransaction');
    },
  };
}
