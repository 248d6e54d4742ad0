import pg from 'pg';
import { parseInt8, parseInt8Array, preparedName, toDriverParams, TYPE_OID, type Database, type Queryable, type Row, type TransactionOptions } from './database.js';

const parsersByOid = new Map<number, (text: string) => unknown>([
  [TYPE_OID.int8, parseInt8],
  [TYPE_OID.int8Array, parseInt8Array],
  [TYPE_OID.numeric, (text: string) => text],
  [TYPE_OID.date, (text: string) => text],
]);

/** Per-pool type parsers, so this process's other pg users keep the driver's defaults. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    return parsersByOid.get(oid) ?? pg.types.getTypeParser(oid, format ?? 'text');
  },
} as pg.CustomTypesConfig;

export interface PostgresOptions {
  /** Pool size; defaults to 10. */
  readonly poolSize?: number;
  /** Schema to put first on the search path (the test suite gives every test file its own). */
  readonly schema?: string;
  readonly applicationName?: string;
}

/** The server engine: node-postgres with a connection pool. */
export async function openPostgres(connectionString: string, options: PostgresOptions = {}): Promise<Database> {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize ?? 10,
    types,
    application_name: options.applicationName ?? 'zalog',
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener the
  // process would crash. The next query reconnects.
  pool.on('error', () => undefined);

  const handle = (client: pg.Pool | pg.PoolClient): Queryable => ({
    async query<R extends Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      const name = preparedName(sql);
      const values = toDriverParams(params);
      const result = await client.query<R>(name === undefined ? { text: sql, values } : { text: sql, values, name });
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
  });

  // Fail at start-up, not at the first request, when the server is unreachable.
  await pool.query('SELECT 1');

  return {
    engine: 'postgres',
    ...handle(pool),
    async transaction<T>(work: (tx: Queryable) => Promise<T>, txOptions?: TransactionOptions): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query(txOptions?.isolation !== undefined ? `BEGIN ISOLATION LEVEL ${txOptions.isolation.toUpperCase()}` : 'BEGIN');
        const result = await work(handle(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is gone; do not return it to the pool
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async listen(channel, onPayload) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`bad channel name ${channel}`);
      const client = new pg.Client({ connectionString, ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}) });
      client.on('error', () => undefined);
      await client.connect();
      client.on('notification', (message) => { if (message.channel === channel) onPayload(message.payload ?? ''); });
      await client.query(`LISTEN ${channel}`);
      return async () => { await client.end(); };
    },
    async tryLeadership(key) {
      // A pooled connection held out of the pool for as long as the lock is held.
      const client = await pool.connect();
      // A checked-out client's 'error' would otherwise crash the process: losing the connection
      // loses the lock, which `stillHeld` then reports.
      let lost = false;
      const onError = () => { lost = true; };
      client.on('error', onError);
      const [row] = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key])).rows;
      if (row?.locked !== true) {
        client.off('error', onError);
        client.release();
        return null;
      }
      return {
        async stillHeld() {
          if (lost) return false;
          try {
            await client.query('SELECT 1');
            return true;
          } catch {
            lost = true;
            return false;
          }
        },
        async release() {
          try {
            if (!lost) await client.query('SELECT pg_advisory_unlock($1)', [key]);
          } finally {
            client.off('error', onError);
            client.release(lost);
          }
        },
      };
    },
    close: () => pool.end(),
  };
}
