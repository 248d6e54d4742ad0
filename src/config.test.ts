import { describe, expect, it } from 'vitest';
import { ConfigError, describeDatabase, loadConfig } from './config.js';

describe('configuration from the environment', () => {
  it('defaults to PGlite under ./var on 127.0.0.1:8080', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8080);
    expect(config.database.engine).toBe('pglite');
    expect(config.database.engine === 'pglite' && config.database.dataDir).toMatch(/var\/pglite$/);
  });

  it('uses PostgreSQL when DATABASE_URL is set, and never logs its password', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://zalog:secret@db:5432/zalog', DATABASE_POOL_SIZE: '20' });
    expect(config.database).toEqual({ engine: 'postgres', url: 'postgres://zalog:secret@db:5432/zalog', poolSize: 20 });
    expect(describeDatabase(config.database)).toBe('PostgreSQL at postgres://zalog:***@db:5432/zalog');
  });

  it('sells at the OTC desk with a 50 BTC cap unless told otherwise; refuses an unknown venue or a cap that is not BTC', () => {
    expect(loadConfig({})).toMatchObject({ liquidationVenue: 'otc', liquidationCapSats: 5_000_000_000n });
    expect(loadConfig({ ZALOG_LIQUIDATION_VENUE: 'simulated', ZALOG_LIQUIDATION_CAP_BTC: '12.5' })).toMatchObject({ liquidationVenue: 'simulated', liquidationCapSats: 1_250_000_000n });
    expect(() => loadConfig({ ZALOG_LIQUIDATION_VENUE: 'binance' })).toThrow(ConfigError);
    expect(() => loadConfig({ ZALOG_LIQUIDATION_CAP_BTC: '1e3' })).toThrow(/ZALOG_LIQUIDATION_CAP_BTC/);
    expect(() => loadConfig({ ZALOG_LIQUIDATION_CAP_BTC: '-1' })).toThrow(ConfigError);
  });

  it('runs the chain watcher only when an Esplora URL is given; refuses a bad URL or height', () => {
    expect(loadConfig({}).chain).toBeUndefined();
    expect(loadConfig({ ZALOG_CHAIN_ESPLORA_URL: 'http://esplora.bank.local/api' }).chain).toEqual({ backend: { kind: 'esplora', url: 'http://esplora.bank.local/api' }, startHeight: undefined, pollSeconds: 30, feeFloorKvb: 1_000, feeCapKvb: 200_000, feeTargetBlocks: 6, deskAddress: undefined });
    expect(loadConfig({ ZALOG_CHAIN_ESPLORA_URL: 'https://e.example/api', ZALOG_CHAIN_START_HEIGHT: '925000', ZALOG_CHAIN_POLL_SECONDS: '10' }).chain).toMatchObject({ backend: { kind: 'esplora', url: 'https://e.example/api' }, startHeight: 925_000, pollSeconds: 10 });
    expect(loadConfig({ ZALOG_CHAIN_BITCOIND_URL: 'http://rpc:pw@10.0.0.5:8332', ZALOG_CHAIN_FEE_FLOOR: '2', ZALOG_CHAIN_FEE_CAP: '50', ZALOG_CHAIN_DESK_ADDRESS: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' }).chain)
      .toMatchObject({ backend: { kind: 'bitcoind', url: 'http://rpc:pw@10.0.0.5:8332' }, feeFloorKvb: 2_000, feeCapKvb: 50_000, deskAddress: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' });
    expect(() => loadConfig({ ZALOG_CHAIN_ESPLORA_URL: 'http://e/api', ZALOG_CHAIN_BITCOIND_URL: 'http://n:8332' })).toThrow(/not both/);
    expect(() => loadConfig({ ZALOG_CHAIN_ESPLORA_URL: 'http://e/api', ZALOG_CHAIN_FEE_FLOOR: '20', ZALOG_CHAIN_FEE_CAP: '10' })).toThrow(/at least ZALOG_CHAIN_FEE_FLOOR/);
    expect(() => loadConfig({ ZALOG_CHAIN_ESPLORA_URL: 'esplora.bank.local' })).toThrow(ConfigError);
    expect(() => loadConfig({ ZALOG_CHAIN_ESPLORA_URL: 'http://e/api', ZALOG_CHAIN_START_HEIGHT: '-1' })).toThrow(/block height/);
  });

  it('believes forwarded headers only from the proxies named', () => {
    expect(loadConfig({}).trustProxy).toEqual([]);
    expect(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' }).trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8']);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be a whole number/],
    [{ PORT: '70000' }, /PORT must be a whole number from 0 to 65535/],
    [{ PORT: '-1' }, /PORT/],
    [{ HOST: 'bad host' }, /HOST/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must be a postgres/],
    [{ DATABASE_URL: 'postgres://x', DATABASE_POOL_SIZE: '0' }, /DATABASE_POOL_SIZE/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ BODY_LIMIT_BYTES: '1.5' }, /BODY_LIMIT_BYTES/],
    [{ TRUST_PROXY: 'yes' }, /TRUST_PROXY is a comma-separated list/],
    [{ TRUST_PROXY: 'true' }, /TRUST_PROXY is a comma-separated list/],
    [{ APPROVAL_TTL_SECONDS: '5' }, /APPROVAL_TTL_SECONDS/],
    [{ LOGIN_RATE_LIMIT_PER_MINUTE: '0' }, /LOGIN_RATE_LIMIT_PER_MINUTE/],
  ])('refuses %j with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
