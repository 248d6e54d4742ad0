/**
 * One SQL dialect (PostgreSQL), two engines: PGlite embedded in the process (the default) and a
 * PostgreSQL server through node-postgres (when DATABASE_URL is set). Everything above this file
 * sees only these interfaces, so every query runs unchanged on both.
 *
 * Values, both ways, are the same on both engines:
 * - parameters: `bigint` is sent as its decimal text (neither driver can be trusted to keep it
 *   exact otherwise); everything else as the driver does it;
 * - results: int8 -> `bigint` (never a lossy JS number), numeric -> string, date -> 'YYYY-MM-DD'
 *   string (a calendar day is not an instant; drivers would otherwise shift it by the time zone),
 *   timestamptz -> Date, json/jsonb -> parsed value.
 */

export type Engine = 'pglite' | 'postgres';

export type Row = Record<string, unknown>;

/**
 * Hot read paths' statements, kept prepared on each PostgreSQL connection (node-postgres names
 * them; PGlite ignores this). Measured under load (issue 17): planning the API's joins on every
 * request was most of PostgreSQL's CPU; with the plan cached, the server used less than half.
 *
 * Prepare a statement only when:
 * - its text is a constant (each distinct text stays prepared on every connection for its life);
 * - its generic plan is as good as a custom one: lookups by key, with no `$1 IS NULL OR ...`
 *   catch-all (build such a query from the filters given, as GET /loans does);
 * - it names its columns (no `SELECT *`: a column added while the service runs would make the
 *   cached plan fail with "cached plan must not change result type").
 */
const PREPARED = new Map<string, string>();

/** Marks `sql` as prepared (see above) and returns it unchanged. */
export function prepared(sql: string): string {
  if (!PREPARED.has(sql)) PREPARED.set(sql, `zalog_${PREPARED.size + 1}`);
  return sql;
}

/** The statement's name when it was marked prepared. */
export function preparedName(sql: string): string | undefined {
  return PREPARED.get(sql);
}

export interface Queryable {
  /** One statement with $1..$n parameters; returns its rows. */
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface TransactionOptions {
  /** Defaults to READ COMMITTED, PostgreSQL's own default. */
  readonly isolation?: 'read committed' | 'repeatable read' | 'serializable';
}

export interface Leadership {
  /** False once the session holding the lock is gone (the lock went with it). */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

export interface Database extends Queryable {
  readonly engine: Engine;
  /**
   * Runs `work` in one transaction: committed if it resolves, rolled back if it throws. On PGlite
   * the whole transaction holds the single connection, so concurrent callers queue rather than
   * interleave.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Subscribes to NOTIFY on `channel` (from this or any other instance); resolves to an
   * unsubscribe function. PostgreSQL: on a dedicated connection.
   */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Tries to take a session-level advisory lock (leadership among instances) and holds it until
   * released or the process ends. Null when another session holds it. PGlite: one process, always.
   */
  tryLeadership(key: number): Promise<Leadership | null>;
  close(): Promise<void>;
}

/** PostgreSQL type OIDs whose parsing we fix on both engines. */
export const TYPE_OID = {
  int8: 20,
  numeric: 1700,
  date: 1082,
  int8Array: 1016,
} as const;

export function parseInt8(text: string): bigint {
  return BigInt(text);
}

export function parseInt8Array(text: string): bigint[] {
  // '{1,2,NULL}' -> [1n, 2n]; NULLs are not expected in the arrays we read.
  const inner = text.slice(1, -1);
  return inner.length === 0 ? [] : inner.split(',').map((item) => BigInt(item));
}

/** Converts parameters both drivers would otherwise mishandle. */
export function toDriverParams(params: readonly unknown[] | undefined): unknown[] {
  if (params === undefined) return [];
  return params.map(toDriverValue);
}

function toDriverValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toDriverValue);
  return value;
}

const SQLSTATE_CLASS = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  insufficientPrivilege: '42501',
} as const;

export const SQLSTATE = SQLSTATE_CLASS;

/** The SQLSTATE of a database error from either driver, if it is one. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** The constraint a database error names, if any. */
export function constraintName(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'constraint' in error) {
    const name = (error as { constraint: unknown }).constraint;
    if (typeof name === 'string') return name;
  }
  return undefined;
}



class RollbackForRejection extends Error {
  constructor(readonly outcome: unknown) {
    super('rolled back: the domain rejected the change');
  }
}

/**
 * Runs `work` in a transaction that commits only when it returns `{ ok: true }`. A rejection
 * (`{ ok: false }`) rolls back everything the work wrote and is returned as it was, so a
 * rejected request changes nothing.
 */
export async function transactOutcome<O extends { readonly ok: boolean }>(
  db: Database,
  work: (tx: Queryable) => Promise<O>,
  options?: TransactionOptions,
): Promise<O> {
  try {
    return await db.transaction(async (tx) => {
      const outcome = await work(tx);
      if (!outcome.ok) throw new RollbackForRejection(outcome);
      return outcome;
    }, options);
  } catch (error) {
    if (error instanceof RollbackForRejection) return error.outcome as O;
    throw error;
  }
}
