import type { Queryable, Row } from './database.js';

/**
 * Where a batch job's time goes: milliseconds by name, summed over its transactions (end of day's
 * and the seed's statements; `npm run bench:eod -- --profile` prints them).
 */
export type Profile = Map<string, number>;

/** Adds the milliseconds since `started` (a performance.now() reading) to `name`. */
export function addTime(profile: Profile | undefined, name: string, started: number): void {
  profile?.set(name, (profile.get(name) ?? 0) + performance.now() - started);
}

/** A query function for `db` that also adds each statement's time to `profile` under its name (none when there is no profile). */
export function profiledQuery(db: Queryable, profile: Profile | undefined) {
  return async <R extends Row = Row>(name: string, sql: string, params?: readonly unknown[]): Promise<R[]> => {
    if (profile === undefined) return db.query<R>(sql, params);
    const started = performance.now();
    const rows = await db.query<R>(sql, params);
    addTime(profile, name, started);
    return rows;
  };
}
