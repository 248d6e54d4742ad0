import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { prepared, type Queryable } from '../db/database.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { lockSeconds, type Role } from './roles.js';

/** Users, sessions and API tokens in SQL. */

export interface User {
  readonly id: bigint;
  readonly username: string;
  readonly displayName: string;
  readonly roles: readonly Role[];
  readonly borrowerId: string | null;
  readonly disabledAt: Date | null;
  /** Given a sensitive role through the API: inactive until a second admin approves. */
  readonly activationPending: boolean;
  readonly lockedUntil: Date | null;
  readonly createdAt: Date;
  /** Set by an admin's reset: the user must choose its own password before anything else works. */
  readonly passwordChangeRequired: boolean;
}

interface UserRow {
  id: bigint;
  username: string;
  display_name: string;
  roles: Role[];
  borrower_id: string | null;
  disabled_at: Date | null;
  activation_pending: boolean;
  locked_until: Date | null;
  created_at: Date;
  password_hash: string;
  password_change_required: boolean;
  password_expires_at: Date | null;
  [key: string]: unknown;
}

const USER_COLUMNS = 'id, username, display_name, roles, borrower_id, disabled_at, activation_pending, NULL::timestamptz AS locked_until, created_at, password_hash, password_change_required, password_expires_at';

// Every request authenticates: the credential and its user in one round trip, prepared.
const TOKEN_WITH_USER = prepared(`SELECT t.id AS token_id, t.secret_hash, t.revoked_at, t.expires_at, t.last_used_at, u.*
  FROM api_tokens t CROSS JOIN LATERAL (SELECT ${USER_COLUMNS} FROM users WHERE users.id = t.user_id) u WHERE t.id = $1`);
const SESSION_WITH_USER = prepared(`SELECT s.csrf_token, s.last_seen_at, s.expires_at, u.*
  FROM sessions s CROSS JOIN LATERAL (SELECT ${USER_COLUMNS} FROM users WHERE users.id = s.user_id) u
 WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.last_seen_at > $2::timestamptz - make_interval(secs => $3)`);

function toUser(row: UserRow): User {
  return { id: row.id, username: row.username, displayName: row.display_name, roles: row.roles, borrowerId: row.borrower_id, disabledAt: row.disabled_at, activationPending: row.activation_pending, lockedUntil: row.locked_until, createdAt: row.created_at, passwordChangeRequired: row.password_change_required };
}

export const SYSTEM_USERNAME = 'system';

export async function findUserById(db: Queryable, id: bigint): Promise<User | undefined> {
  const [row] = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
  return row === undefined ? undefined : toUser(row);
}

export async function findUserByUsername(db: Queryable, username: string): Promise<User | undefined> {
  const [row] = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1`, [username]);
  return row === undefined ? undefined : toUser(row);
}

export async function systemUser(db: Queryable): Promise<User> {
  const user = await findUserByUsername(db, SYSTEM_USERNAME);
  if (user === undefined) throw new Error('the system user is missing (migration 0002)');
  return user;
}

export async function listUsers(db: Queryable, options: { limit: number; afterId?: bigint }): Promise<User[]> {
  const rows = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id > $1 AND username <> $2 ORDER BY id LIMIT $3`, [options.afterId ?? 0n, SYSTEM_USERNAME, options.limit]);
  return rows.map(toUser);
}

export interface NewUser {
  readonly username: string;
  readonly displayName: string;
  readonly password: string;
  readonly roles: readonly Role[];
  readonly borrowerId: string | null;
  /** Set by an admin for someone else: the user must change it at its first login, before then. */
  readonly temporaryUntil?: Date;
}

/** Creates a user; undefined when the username is taken. */
export async function createUser(db: Queryable, user: NewUser): Promise<User | undefined> {
  const passwordHash = await hashPassword(user.password);
  const [row] = await db.query<UserRow>(
    `INSERT INTO users (username, display_name, password_hash, roles, borrower_id, password_change_required, password_expires_at) VALUES ($1, $2, $3, $4::text[], $5, $6, $7)
     ON CONFLICT (username) DO NOTHING RETURNING ${USER_COLUMNS}`,
    [user.username, user.displayName, passwordHash, user.roles, user.borrowerId, user.temporaryUntil !== undefined, user.temporaryUntil ?? null],
  );
  return row === undefined ? undefined : toUser(row);
}

export async function updateUser(db: Queryable, id: bigint, change: { roles?: readonly Role[]; borrowerId?: string | null; disabled?: boolean; displayName?: string }): Promise<User | undefined> {
  forgetCheckedCredentials();
  const [row] = await db.query<UserRow>(
    `UPDATE users SET
       roles = coalesce($2::text[], roles),
       borrower_id = CASE WHEN $3::boolean THEN $4 ELSE borrower_id END,
       disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at WHEN $5 THEN coalesce(disabled_at, now()) ELSE NULL END,
       display_name = coalesce($6, display_name),
       updated_at = now()
     WHERE id = $1 AND username <> 'system' RETURNING ${USER_COLUMNS}`,
    [id, change.roles ?? null, change.borrowerId !== undefined, change.borrowerId ?? null, change.disabled ?? null, change.displayName ?? null],
  );
  return row === undefined ? undefined : toUser(row);
}

/** Marks a user inactive until a second admin approves (or active again on approval); ends its sessions and tokens when pending. */
export async function setActivationPending(db: Queryable, id: bigint, pending: boolean): Promise<void> {
  forgetCheckedCredentials();
  await db.query('UPDATE users SET activation_pending = $2, updated_at = now() WHERE id = $1', [id, pending]);
  if (pending) await revokeCredentials(db, id);
}

/**
 * Ends every session and revokes every API token of a user: after a password reset, a role change,
 * a deactivation or a re-activation, nothing issued before may act for it. `keepSession` (the id
 * hash of the session making a user's own password change) survives.
 */
export async function revokeCredentials(db: Queryable, id: bigint, keepSession?: string): Promise<{ sessions: number; tokens: number }> {
  forgetCheckedCredentials();
  const sessions = await db.query('UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND id_hash IS DISTINCT FROM $2 RETURNING 1', [id, keepSession ?? null]);
  const tokens = await db.query('UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING 1', [id]);
  return { sessions: sessions.length, tokens: tokens.length };
}

/**
 * Sets a user's password and revokes what it had. `temporaryUntil`: an admin's reset; the user
 * must change it at the next login, and it stops working then. Lock-outs on the username end.
 */
export async function setPassword(db: Queryable, id: bigint, passwordHash: string, options: { temporaryUntil?: Date; keepSession?: string } = {}): Promise<void> {
  forgetCheckedCredentials();
  const [row] = await db.query<{ username: string }>('UPDATE users SET password_hash = $2, password_change_required = $3, password_expires_at = $4, updated_at = now() WHERE id = $1 RETURNING username',
    [id, passwordHash, options.temporaryUntil !== undefined, options.temporaryUntil ?? null]);
  if (row !== undefined) await db.query('DELETE FROM login_throttle WHERE username = $1', [row.username]);
  await revokeCredentials(db, id, options.keepSession);
}

export async function passwordHashOf(db: Queryable, id: bigint): Promise<string | undefined> {
  const [row] = await db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [id]);
  return row?.password_hash;
}

export type LoginResult =
  | { readonly ok: true; readonly user: User }
  | { readonly ok: false; readonly reason: 'bad_credentials' | 'locked' | 'disabled' | 'password_expired'; readonly user?: User; readonly lockedUntil?: Date };

/**
 * Checks a username and password and keeps the failure count for that username from that client
 * address. The password is checked even for an unknown user (against a decoy hash), so timing does
 * not tell which usernames exist; and it is checked outside any transaction, so the slow hash never
 * holds a database lock (on PGlite, the only connection). Failures are counted with one atomic
 * upsert, so concurrent guesses all count. A lock-out holds for this username from this address
 * only (OWASP): a stranger who knows a username cannot lock its owner out from the owner's desk.
 */
export async function checkLogin(db: Queryable, username: string, password: string, ip: string, now: Date): Promise<LoginResult> {
  const [row] = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1 AND username <> $2`, [username, SYSTEM_USERNAME]);
  const matches = await verifyPassword(password, row?.password_hash);
  const [throttle] = await db.query<{ locked_until: Date | null }>('SELECT locked_until FROM login_throttle WHERE username = $1 AND ip = $2', [username, ip]);
  if (throttle?.locked_until != null && throttle.locked_until > now) return { ok: false, reason: 'locked', ...(row ? { user: toUser(row) } : {}), lockedUntil: throttle.locked_until };
  if (row === undefined || !matches) {
    const [counted] = await db.query<{ failures: number }>(
      `INSERT INTO login_throttle (username, ip, failures, updated_at) VALUES ($1, $2, 1, $3)
       ON CONFLICT (username, ip) DO UPDATE SET failures = login_throttle.failures + 1, updated_at = $3 RETURNING failures`, [username.slice(0, 64), ip, now]);
    const seconds = lockSeconds(counted?.failures ?? 1);
    const user = row === undefined ? undefined : toUser(row);
    if (seconds === 0) return { ok: false, reason: 'bad_credentials', ...(user ? { user } : {}) };
    const lockedUntil = new Date(now.getTime() + seconds * 1000);
    await db.query('UPDATE login_throttle SET locked_until = greatest(coalesce(locked_until, $3), $3) WHERE username = $1 AND ip = $2', [username.slice(0, 64), ip, lockedUntil]);
    return { ok: false, reason: 'locked', ...(user ? { user } : {}), lockedUntil };
  }
  const user = toUser(row);
  if (row.disabled_at !== null || row.activation_pending) return { ok: false, reason: 'disabled', user };
  if (row.password_change_required && row.password_expires_at !== null && row.password_expires_at <= now) return { ok: false, reason: 'password_expired', user };
  if (throttle !== undefined) await db.query('DELETE FROM login_throttle WHERE username = $1 AND ip = $2', [username, ip]);
  return { ok: true, user };
}

// ---------------------------------------------------------------------------------------------
// Sessions (browser) and API tokens (machines). Both are random secrets stored only as SHA-256.

export const SESSION = { absoluteSeconds: 8 * 3_600, idleSeconds: 30 * 60 } as const;
export const TOKEN = { maxDays: 365 } as const;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function secret(): string {
  return randomBytes(32).toString('base64url');
}

export interface Session {
  readonly cookieValue: string;
  readonly csrfToken: string;
  readonly expiresAt: Date;
}

export async function createSession(db: Queryable, userId: bigint, ip: string, now: Date): Promise<Session> {
  const cookieValue = secret();
  const csrfToken = secret();
  const expiresAt = new Date(now.getTime() + SESSION.absoluteSeconds * 1000);
  await db.query('INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip) VALUES ($1, $2, $3, $4, $4, $5, $6)', [sha256(cookieValue), userId, csrfToken, now, expiresAt, ip]);
  return { cookieValue, csrfToken, expiresAt };
}

export interface Authenticated {
  readonly user: User;
  readonly via: 'session' | 'token';
  /** For sessions: the token a browser must echo in X-CSRF-Token on unsafe methods. */
  readonly csrfToken?: string;
  readonly sessionIdHash?: string;
  readonly tokenId?: bigint;
}

/**
 * Credentials checked in the last second, per database. Every API request authenticates, and a
 * page or a client sends its requests in bursts: without this, one query in three the API made
 * was this lookup (issue 17). What may be stale, and for how long:
 * - in this process, nothing: revoking a token or a session, logging out, disabling a user,
 *   changing roles or a password all go through this file and forget every checked credential;
 * - another process (a second instance of the service) keeps using what it checked for at most
 *   CHECKED_CREDENTIAL_MS: a revoked token works there for up to a second more.
 * The entry's own expiry (and a session's idle limit) is still checked on every use, by the
 * caller's clock; a clock that moves back never uses an entry.
 */
export const CHECKED_CREDENTIAL_MS = 1_000;
const CHECKED_MAX = 10_000;
let credentialsGeneration = 0;
interface Checked { readonly at: number; readonly generation: number; readonly validUntil: number; readonly result: Authenticated }
const checkedByDb = new WeakMap<Queryable, Map<string, Checked>>();

// Keyed by the credential's SHA-256, never the credential itself (no secret kept in memory past
// its request); an entry found unusable is dropped.
function recall(db: Queryable, key: string, now: Date): Authenticated | undefined {
  const checked = checkedByDb.get(db);
  const entry = checked?.get(key);
  if (entry === undefined) return undefined;
  const t = now.getTime();
  if (entry.generation === credentialsGeneration && t >= entry.at && t - entry.at < CHECKED_CREDENTIAL_MS && t < entry.validUntil) return entry.result;
  checked!.delete(key);
  return undefined;
}

function remember(db: Queryable, key: string, entry: Checked): void {
  if (entry.generation !== credentialsGeneration) return; // a credential changed while we read it
  let checked = checkedByDb.get(db);
  if (checked === undefined) checkedByDb.set(db, (checked = new Map()));
  if (checked.size >= CHECKED_MAX) checked.clear();
  checked.set(key, entry);
}

/** Every credential checked so far must be checked again (called by every change to one). */
export function forgetCheckedCredentials(): void {
  credentialsGeneration += 1;
}

/** The session behind a cookie, if live (not revoked, not past its absolute or idle expiry). */
export async function findSession(db: Queryable, cookieValue: string, now: Date): Promise<Authenticated | undefined> {
  const idHash = sha256(cookieValue);
  const key = `s:${idHash}`;
  const known = recall(db, key, now);
  if (known !== undefined) return known;
  const generation = credentialsGeneration;
  const [row] = await db.query<{ csrf_token: string; last_seen_at: Date; expires_at: Date } & UserRow>(SESSION_WITH_USER, [idHash, now, SESSION.idleSeconds]);
  if (row === undefined) return undefined;
  // The idle clock is kept to the minute: a page's every request used to write (and flush) the
  // session's row; now only one a minute does, and a session idles out at most a minute late.
  if (now.getTime() - row.last_seen_at.getTime() >= SESSION_TOUCH_MS) {
    await db.query('UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2', [idHash, now]);
  }
  const user = toUser(row);
  if (user.disabledAt !== null || user.activationPending) return undefined;
  const result: Authenticated = { user, via: 'session', csrfToken: row.csrf_token, sessionIdHash: idHash };
  remember(db, key, { at: now.getTime(), generation, validUntil: Math.min(row.expires_at.getTime(), row.last_seen_at.getTime() + SESSION.idleSeconds * 1000), result });
  return result;
}

/** How stale a session's last_seen_at may be before a request writes it again. */
export const SESSION_TOUCH_MS = 60_000;

export async function revokeSession(db: Queryable, idHash: string): Promise<void> {
  forgetCheckedCredentials();
  await db.query('UPDATE sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL', [idHash]);
}

export interface ApiToken {
  readonly id: bigint;
  readonly userId: bigint;
  readonly name: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
}

interface TokenRow {
  id: bigint;
  user_id: bigint;
  name: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  secret_hash: string;
  [key: string]: unknown;
}

function toToken(row: TokenRow): ApiToken {
  return { id: row.id, userId: row.user_id, name: row.name, createdAt: row.created_at, expiresAt: row.expires_at, revokedAt: row.revoked_at, lastUsedAt: row.last_used_at };
}

/** Creates a token; the secret text is returned once and never stored. Format: zlg_<id>_<secret>. */
export async function createApiToken(db: Queryable, userId: bigint, name: string, expiresAt: Date): Promise<{ token: ApiToken; text: string }> {
  const value = secret();
  const [row] = await db.query<TokenRow>('INSERT INTO api_tokens (user_id, name, secret_hash, expires_at) VALUES ($1, $2, $3, $4) RETURNING *', [userId, name, sha256(value), expiresAt]);
  return { token: toToken(row!), text: `zlg_${row!.id}_${value}` };
}

/** How stale a token's last_used_at may be before a request writes it again. */
export const TOKEN_TOUCH_MS = 60_000;

export async function findToken(db: Queryable, text: string, now: Date): Promise<Authenticated | undefined> {
  const match = /^zlg_([1-9][0-9]{0,18})_([A-Za-z0-9_-]{43})$/.exec(text);
  if (match === null) return undefined;
  const key = `t:${sha256(text)}`;
  const known = recall(db, key, now);
  if (known !== undefined) return known;
  const generation = credentialsGeneration;
  // One round trip for the token and its user: every API request makes it (issue 17).
  const [row] = await db.query<{ token_id: bigint; secret_hash: string; revoked_at: Date | null; expires_at: Date; last_used_at: Date | null } & UserRow>(TOKEN_WITH_USER, [BigInt(match[1]!)]);
  if (row === undefined) return undefined;
  const expected = Buffer.from(row.secret_hash, 'hex');
  const actual = Buffer.from(sha256(match[2]!), 'hex');
  if (!timingSafeEqual(expected, actual) || row.revoked_at !== null || row.expires_at <= now) return undefined;
  const user = toUser(row);
  if (user.disabledAt !== null || user.activationPending) return undefined;
  // "Last used" to the minute: writing it on every request made every read a commit (and a disk
  // flush) on the token's one row, the API's slowest step under load (issue 17).
  if (row.last_used_at === null || now.getTime() - row.last_used_at.getTime() >= TOKEN_TOUCH_MS) {
    await db.query('UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)', [row.token_id, now]);
  }
  const result: Authenticated = { user, via: 'token', tokenId: row.token_id };
  remember(db, key, { at: now.getTime(), generation, validUntil: row.expires_at.getTime(), result });
  return result;
}

export async function listTokens(db: Queryable, userId: bigint): Promise<ApiToken[]> {
  return (await db.query<TokenRow>('SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY id', [userId])).map(toToken);
}

export async function findTokenById(db: Queryable, id: bigint): Promise<ApiToken | undefined> {
  const [row] = await db.query<TokenRow>('SELECT * FROM api_tokens WHERE id = $1', [id]);
  return row === undefined ? undefined : toToken(row);
}

export async function revokeToken(db: Queryable, id: bigint): Promise<ApiToken | undefined> {
  forgetCheckedCredentials();
  const [row] = await db.query<TokenRow>('UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING *', [id]);
  return row === undefined ? undefined : toToken(row);
}
