import { getBytes, getJson, SourceError } from '../adapters/http.js';

/**
 * What the vault watcher asks of a chain backend. Two real backends implement it: the Esplora HTTP
 * API (a bank's own esplora or mempool instance; this file) and Bitcoin Core's JSON-RPC (core-rpc.ts).
 * Every failure is a SourceError (timeout, network, http, malformed): the watcher retries on its
 * next round and never takes a half answer for a block.
 */
export interface ChainBackend {
  readonly name: string;
  /** The height of the best chain's tip. */
  tipHeight(): Promise<number>;
  /** The hash of the best chain's block at `height` (hex, as explorers show it). */
  blockHash(height: number): Promise<string>;
  /** The block, serialised as on the wire. */
  rawBlock(hash: string): Promise<Uint8Array>;
  /**
   * The backend's fee-rate estimate for a confirmation within `targetBlocks`, in sat per 1,000
   * vbytes (rounded up); undefined when it has none (a fresh node, an empty mempool history).
   */
  feeRateKvb(targetBlocks: number): Promise<number | undefined>;
  /** Hands a finalised transaction (hex) to the network; returns its txid. Sending one already known is harmless. */
  broadcast(txHex: string): Promise<string>;
  /** The txids in the backend's mempool (unconfirmed transactions), to see deposits before a block holds them. */
  mempoolTxids(): Promise<string[]>;
  /** A transaction, serialised as on the wire (one in the mempool, or in a block). */
  rawTransaction(txid: string): Promise<Uint8Array>;
}

/** Whether a text is a block or transaction hash as explorers show them. */
export const isHash = (text: string): boolean => HASH.test(text);

const HASH = /^[0-9a-f]{64}$/;
/** The largest block the watcher reads: 4 MB of weight is at most 4 MB of bytes. */
const MAX_BLOCK_BYTES = 4_000_000 + 1_000;

/** Esplora's HTTP API (Blockstream's esplora, mempool.space's backend): `GET /blocks/tip/height`, `/block-height/:h`, `/block/:hash/raw`. */
export function esploraBackend(options: { readonly baseUrl: string; readonly timeoutMs?: number }): ChainBackend {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const text = async (path: string) => new TextDecoder().decode(await getBytes(`${base}${path}`, { timeoutMs, maxBytes: 1_000 })).trim();
  return {
    name: `esplora ${base}`,
    async tipHeight() {
      const body = await text('/blocks/tip/height');
      if (!/^[0-9]{1,9}$/.test(body)) throw new SourceError('malformed', `esplora tip height: not a height: ${body.slice(0, 40)}`);
      return Number(body);
    },
    async blockHash(height) {
      const body = await text(`/block-height/${height}`);
      if (!HASH.test(body)) throw new SourceError('malformed', `esplora block-height ${height}: not a block hash: ${body.slice(0, 80)}`);
      return body;
    },
    async rawBlock(hash) {
      if (!HASH.test(hash)) throw new SourceError('rejected', `not a block hash: ${hash.slice(0, 80)}`);
      return getBytes(`${base}/block/${hash}/raw`, { timeoutMs, maxBytes: MAX_BLOCK_BYTES });
    },
    async feeRateKvb(targetBlocks) {
      // `GET /fee-estimates`: {"1": 87.882, "2": 87.882, …, "144": 1.027, …} in sat/vB by target.
      const body = await getJson(`${base}/fee-estimates`, { timeoutMs, maxBytes: 10_000 });
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SourceError('malformed', 'esplora fee-estimates: not an object of targets');
      const targets = Object.entries(body as Record<string, unknown>)
        .filter(([target, rate]) => /^[0-9]{1,4}$/.test(target) && typeof rate === 'number' && Number.isFinite(rate) && rate > 0)
        .map(([target, rate]) => [Number(target), rate as number] as const).sort((a, b) => a[0] - b[0]);
      // The estimate for the target, or for the nearest target after it (slower, so cheaper) that the backend has.
      const chosen = targets.find(([target]) => target >= targetBlocks) ?? targets.at(-1);
      return chosen === undefined ? undefined : Math.ceil(chosen[1] * 1_000);
    },
    async mempoolTxids() {
      // `GET /mempool/txids`: a JSON array of every txid in the mempool (a few MB on a busy day).
      const body = await getJson(`${base}/mempool/txids`, { timeoutMs, maxBytes: 64 * 1_048_576 });
      if (!Array.isArray(body) || !body.every((txid) => typeof txid === 'string' && HASH.test(txid))) throw new SourceError('malformed', 'esplora mempool/txids: not an array of txids');
      return body as string[];
    },
    async rawTransaction(txid) {
      if (!HASH.test(txid)) throw new SourceError('rejected', `not a txid: ${txid.slice(0, 80)}`);
      return getBytes(`${base}/tx/${txid}/raw`, { timeoutMs, maxBytes: MAX_BLOCK_BYTES });
    },
    async broadcast(txHex) {
      if (!/^([0-9a-f]{2})+$/.test(txHex)) throw new SourceError('rejected', 'not a transaction in hex');
      const body = new TextDecoder().decode(await getBytes(`${base}/tx`, { timeoutMs, maxBytes: 1_000, post: { body: txHex, contentType: 'text/plain' } })).trim();
      if (!HASH.test(body)) throw new SourceError('malformed', `esplora broadcast: not a txid: ${body.slice(0, 80)}`);
      return body;
    },
  };
}
