import { PGlite } from '@electric-sql/pglite';
import { Mutex } from 'async-mutex';
import { parseInt8, parseInt8Array, toDriverParams, TYPE_OID, type Database, type Queryable, type Row, type TransactionOptions } from './database.js';

/**
 * The embedded engine. PGlite is one PostgreSQL backend with a single connection, so the whole
 * process shares one session: a mutex serialises every top-level query and transaction, and a
 * transaction holds it from BEGIN to COMMIT, so concurrent requests queue instead of interleaving
 * their statements inside each other's transactions. Inside a transaction, use only the `tx`
 * handed to the callback: a query on the database itself would wait for the transaction to end.
 */
export async function openPglite(options: { dataDir?: string } = {}): Promise<Database> {
  const pg = await PGlite.create({
    // undefined: in memory, gone when closed (tests). A path: the data directory on disk.
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    parsers: {
      [TYPE_OID.int8]: parseInt8,
      [TYPE_OID.int8Array]: parseInt8Array,
      [TYPE_OID.numeric]: (text: string) => text,
      [TYPE_OID.date]: (text: string) => text,
    },
  });
  const mutex = new Mutex();

  const handle = (target: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async query<R extends Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      const result = await target.query<R>(sql, toDriverParams(params));
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  });
  const direct = handle(pg);

  return {
    engine: 'pglite',
    query: (sql, params) => mutex.runExclusive(() => direct.query(sql, params)),
    exec: (sql) => mutex.runExclusive(() => direct.exec(sql)),
    transaction<T>(work: (tx: Queryable) => Promise<T>, txOptions?: TransactionOptions): Promise<T> {
      return mutex.runExclusive(() =>
        pg.transaction(async (tx) => {
          const scoped = handle(tx);
          if (txOptions?.isolation !== undefined) {
            await scoped.exec(`SET TRANSACTION ISOLATION LEVEL ${txOptions.isolation.toUpperCase()}`);
          }
          return work(scoped);
        }),
      );
    },
    async listen(channel, onPayload) {
      const unsubscribe = await mutex.runExclusive(() => pg.listen(channel, onPayload));
      return () => mutex.runExclusive(() => unsubscribe());
    },
    // One embedded database belongs to one process: it is always the leader.
    tryLeadership: async () => ({ stillHeld: async () => true, release: async () => undefined }),
    close: () => mutex.runExclusive(() => pg.close()),
  };
}
