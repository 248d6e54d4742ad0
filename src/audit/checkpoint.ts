import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './audit-chain.js';

/**
 * Checkpoints of the audit chain, pure apart from the key's crypto: the head of the chain (its
 * newest record's id and hash) and the number of records up to it, at a time, signed with a key
 * the database does not hold. Written to an append-only file and sent to the auditors, they anchor
 * the chain outside the database, which the chain alone cannot do:
 *
 * - a deleted tail: the record a checkpoint names is gone (or another record has its id);
 * - a chain a superuser rewrote and re-hashed from some record on: the head's hash differs;
 * - records deleted and the rest re-linked: the count up to the head differs.
 *
 * Keys: Ed25519 (a PEM private key; auditors verify with the public key alone, so they need no
 * secret) or HMAC-SHA-256 (a shared secret of at least 32 bytes). Both come from a file or an
 * environment variable (`ZALOG_AUDIT_KEY_FILE`, `ZALOG_AUDIT_KEY`), never from the database.
 */

export interface CheckpointBody {
  readonly version: 1;
  readonly headId: string;
  readonly headHash: string;
  /** Records from the first up to and including the head. */
  readonly count: string;
  /** When the checkpoint was made (UTC ISO). */
  readonly at: string;
  readonly algorithm: 'ed25519' | 'hmac-sha256';
  /** Which key signed it: the first 16 hex digits of SHA-256 over the public key (or the secret). */
  readonly keyId: string;
}

export interface Checkpoint extends CheckpointBody {
  /** Base64 of the Ed25519 signature or the HMAC over the canonical JSON of the body. */
  readonly signature: string;
}

export type SigningKey =
  | { readonly algorithm: 'ed25519'; readonly privateKey: KeyObject; readonly publicKey: KeyObject; readonly keyId: string }
  | { readonly algorithm: 'hmac-sha256'; readonly secret: Buffer; readonly keyId: string };

export type VerifyingKey =
  | { readonly algorithm: 'ed25519'; readonly publicKey: KeyObject; readonly keyId: string }
  | { readonly algorithm: 'hmac-sha256'; readonly secret: Buffer; readonly keyId: string };

export class AuditKeyError extends Error {
  override readonly name = 'AuditKeyError';
}

const keyIdOf = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

function publicKeyId(publicKey: KeyObject): string {
  return keyIdOf(publicKey.export({ type: 'spki', format: 'der' }));
}

/** Reads a signing key: a PEM Ed25519 private key, or an HMAC secret of at least 32 bytes. */
export function parseSigningKey(text: string, where: string): SigningKey {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(trimmed);
    } catch (error) {
      throw new AuditKeyError(`${where}: not a readable private key (${(error as Error).message})`);
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new AuditKeyError(`${where}: the key is ${privateKey.asymmetricKeyType ?? 'unknown'}; an Ed25519 private key is expected`);
    const publicKey = createPublicKey(privateKey);
    return { algorithm: 'ed25519', privateKey, publicKey, keyId: publicKeyId(publicKey) };
  }
  const secret = Buffer.from(trimmed, 'utf8');
  if (secret.length < 32) throw new AuditKeyError(`${where}: an HMAC secret has at least 32 bytes (or give a PEM Ed25519 private key)`);
  return { algorithm: 'hmac-sha256', secret, keyId: keyIdOf(secret) };
}

/** Reads a verifying key: a PEM Ed25519 public key, or what `parseSigningKey` reads. */
export function parseVerifyingKey(text: string, where: string): VerifyingKey {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey(trimmed);
    } catch (error) {
      throw new AuditKeyError(`${where}: not a readable public key (${(error as Error).message})`);
    }
    if (publicKey.asymmetricKeyType !== 'ed25519') throw new AuditKeyError(`${where}: the key is ${publicKey.asymmetricKeyType ?? 'unknown'}; an Ed25519 public key is expected`);
    return { algorithm: 'ed25519', publicKey, keyId: publicKeyId(publicKey) };
  }
  return verifyingKeyOf(parseSigningKey(trimmed, where));
}

export function verifyingKeyOf(key: SigningKey): VerifyingKey {
  return key.algorithm === 'ed25519' ? { algorithm: 'ed25519', publicKey: key.publicKey, keyId: key.keyId } : key;
}

/** A new Ed25519 key pair as PEM texts. */
export function generateSigningKey(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function publicPemOf(key: SigningKey): string | undefined {
  return key.algorithm === 'ed25519' ? key.publicKey.export({ type: 'spki', format: 'pem' }).toString() : undefined;
}

function signedBytes(body: CheckpointBody): Buffer {
  const { version, headId, headHash, count, at, algorithm, keyId } = body;
  return Buffer.from(canonicalJson({ version, headId, headHash, count, at, algorithm, keyId }), 'utf8');
}

export function signCheckpoint(head: { id: bigint; hash: string } | undefined, count: bigint, at: Date, key: SigningKey): Checkpoint {
  const body: CheckpointBody = { version: 1, headId: (head?.id ?? 0n).toString(), headHash: head?.hash ?? '0'.repeat(64), count: count.toString(), at: at.toISOString(), algorithm: key.algorithm, keyId: key.keyId };
  const bytes = signedBytes(body);
  const signature = key.algorithm === 'ed25519' ? sign(null, bytes, key.privateKey) : createHmac('sha256', key.secret).update(bytes).digest();
  return { ...body, signature: signature.toString('base64') };
}

/** Why a checkpoint's signature does not hold under `key`, or undefined when it does. */
export function signatureProblem(checkpoint: Checkpoint, key: VerifyingKey): string | undefined {
  if (checkpoint.algorithm !== key.algorithm || checkpoint.keyId !== key.keyId) return `signed by key ${checkpoint.keyId} (${checkpoint.algorithm}), not by the key given (${key.keyId}, ${key.algorithm})`;
  const bytes = signedBytes(checkpoint);
  const signature = Buffer.from(checkpoint.signature, 'base64');
  if (key.algorithm === 'ed25519') return verify(null, bytes, key.publicKey, signature) ? undefined : 'the signature does not match its content (the checkpoint was altered)';
  const expected = createHmac('sha256', key.secret).update(bytes).digest();
  return expected.length === signature.length && timingSafeEqual(expected, signature) ? undefined : 'the signature does not match its content (the checkpoint was altered)';
}

/** One line of a checkpoint file, or why it is not one. */
export function parseCheckpointLine(line: string): Checkpoint | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  const c = value as Partial<Checkpoint>;
  const ok = c !== null && typeof c === 'object' && c.version === 1 && typeof c.headId === 'string' && /^[0-9]{1,19}$/.test(c.headId)
    && typeof c.headHash === 'string' && /^[0-9a-f]{64}$/.test(c.headHash) && typeof c.count === 'string' && /^[0-9]{1,19}$/.test(c.count)
    && typeof c.at === 'string' && (c.algorithm === 'ed25519' || c.algorithm === 'hmac-sha256') && typeof c.keyId === 'string' && typeof c.signature === 'string';
  return ok ? (c as Checkpoint) : 'not a checkpoint (version, headId, headHash, count, at, algorithm, keyId, signature)';
}

/** What the chain says about a checkpoint's head: its hash and position, if the record is intact. */
export type HeadLookup = (id: bigint) => { hash: string; count: bigint } | undefined;

/** Why the chain does not match a (correctly signed) checkpoint, or undefined when it does. */
export function checkpointProblem(checkpoint: Checkpoint, lookup: HeadLookup): string | undefined {
  const id = BigInt(checkpoint.headId);
  if (id === 0n) return checkpoint.count === '0' ? undefined : 'an empty chain with a count';
  const found = lookup(id);
  if (found === undefined) return `record ${checkpoint.headId}, the head this checkpoint anchors, is missing or not intact: records were deleted or changed`;
  if (found.hash !== checkpoint.headHash) return `record ${checkpoint.headId} has another hash than the checkpoint's: the chain up to it was rewritten`;
  if (found.count.toString() !== checkpoint.count) return `the chain holds ${found.count} records up to ${checkpoint.headId}; the checkpoint counted ${checkpoint.count}: records were removed or added`;
  return undefined;
}
