import { startLocalChain } from '../src/test-support/local-chain.js';

/**
 * A local chain for trying on-chain custody by hand (`npm run chain:local`): the tests' chain
 * behind an Esplora-compatible API (and Bitcoin Core's JSON-RPC at /rpc), plus two controls of its
 * own: pay an address from nowhere, mine blocks. Point the service at it with
 * ZALOG_CHAIN_ESPLORA_URL=http://127.0.0.1:3002 ZALOG_CHAIN_START_HEIGHT=0.
 */
const port = Number(process.env.LOCAL_CHAIN_PORT ?? '3002');
const chain = await startLocalChain({ port });
console.log(`local chain at ${chain.url} (height ${chain.height()}); Esplora API there, Bitcoin Core RPC at ${chain.url}/rpc (rpcuser/rpcpassword)`);
console.log(`  pay:  curl -X POST '${chain.url}/regtest/pay?address=ADDRESS&sats=25000000'`);
console.log(`  mine: curl -X POST '${chain.url}/regtest/mine?blocks=3'`);
const stop = () => void chain.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
