import { getBytes, SourceError } from '../adapters/http.js';

/**
 * What the vault watcher asks of a chain backend. Two real backends implement it: the Esplora HTTP
 * API (a bank's own esplora or mempool instance; this file) and Bitcoin Core's JSON-RPC (next).
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
}

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
  };
}
