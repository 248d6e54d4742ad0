import { constants } from 'node:fs';
import { chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Queryable } from '../db/database.js';
import { appendAudit, verifyAudit } from './audit-repository.js';
import { AuditKeyError, checkpointProblem, generateSigningKey, parseCheckpointLine, parseSigningKey, parseVerifyingKey, signatureProblem, signCheckpoint, type Checkpoint, type SigningKey, type VerifyingKey } from './checkpoint.js';

/**
 * Checkpoints on disk and in the database: the signing key's source, the append-only file of
 * signed checkpoints (one JSON line each, opened with O_APPEND and flushed to disk before the
 * checkpoint is reported), making a checkpoint (the chain verified first: a broken chain is never
 * anchored) and checking the chain against every checkpoint of a file.
 */

export type AuditKeySource =
  | { readonly kind: 'env'; readonly text: string }
  | { readonly kind: 'file'; readonly path: string; readonly generateIfMissing: boolean };

/** Reads the signing key; a default key file that does not exist yet is created (Ed25519, mode 0600). */
export async function loadSigningKey(source: AuditKeySource): Promise<{ key: SigningKey; generated: boolean }> {
  if (source.kind === 'env') return { key: parseSigningKey(source.text, 'ZALOG_AUDIT_KEY'), generated: false };
  let text: string;
  try {
    text = await readFile(source.path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw new AuditKeyError(`${source.path}: ${(error as Error).message}`);
    if (!source.generateIfMissing) throw new AuditKeyError(`${source.path}: no such key file (ZALOG_AUDIT_KEY_FILE); make one with zalog audit keygen --out ${source.path}`);
    await mkdir(path.dirname(source.path), { recursive: true });
    const pair = generateSigningKey();
    // 'wx': never overwrite a key another process wrote meanwhile.
    await writeFile(source.path, pair.privatePem, { mode: 0o600, flag: 'wx' }).catch(async (raced: { code?: string }) => { if (raced.code !== 'EEXIST') throw raced; });
    await writeFile(`${source.path}.pub`, pair.publicPem, { flag: 'w' });
    return { key: parseSigningKey(await readFile(source.path, 'utf8'), source.path), generated: true };
  }
  return { key: parseSigningKey(text, source.path), generated: false };
}

export async function readVerifyingKey(file: string): Promise<VerifyingKey> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AuditKeyError(`${file}: ${(error as Error).message}`);
  }
  return parseVerifyingKey(text, file);
}

/** Appends one line and flushes it to disk. The file is only ever opened for appending. */
export async function appendCheckpointLine(file: string, checkpoint: Checkpoint): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640);
  try {
    await handle.write(`${JSON.stringify(checkpoint)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(file, 0o640).catch(() => undefined);
}

export interface CheckpointLine {
  readonly line: number;
  readonly checkpoint: Checkpoint | undefined;
  /** Why the line is not a checkpoint. */
  readonly problem?: string;
}

export async function readCheckpointFile(file: string): Promise<CheckpointLine[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw new AuditKeyError(`${file}: ${(error as Error).message}`);
  }
  return text.split('\n').flatMap((line, index) => {
    if (line.trim() === '') return [];
    const parsed = parseCheckpointLine(line);
    return [typeof parsed === 'string' ? { line: index + 1, checkpoint: undefined, problem: parsed } : { line: index + 1, checkpoint: parsed }];
  });
}

export type MakeCheckpointResult =
  | { readonly ok: true; readonly checkpoint: Checkpoint }
  | { readonly ok: false; readonly problem: string };

export interface CheckpointTarget {
  readonly key: SigningKey;
  readonly file: string;
  /** The auditors' mailbox; the checkpoint goes to the mail outbox when set. */
  readonly auditorsEmail?: string | undefined;
}

/**
 * Makes a checkpoint: verifies the whole chain (a broken chain is not anchored: the problem is
 * returned for an alert), signs its head, appends it to the file, then in one transaction queues
 * it for the auditors and records it in the audit trail (that record comes after the head).
 */
export async function makeCheckpoint(db: { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> } & Queryable, target: CheckpointTarget, by: { actorUserId: bigint | null; actor: string; requestId?: string | null; ip?: string | null }, now: Date): Promise<MakeCheckpointResult> {
  const report = await verifyAudit(db);
  if (report.firstBreak !== undefined) return { ok: false, problem: `the audit chain is broken at record ${report.firstBreak.id} (${report.firstBreak.problem}); ${report.records} records before it are intact; no checkpoint was made` };
  const checkpoint = signCheckpoint(report.head, report.records, now, target.key);
  await appendCheckpointLine(target.file, checkpoint);
  await db.transaction(async (tx) => {
    if (target.auditorsEmail !== undefined) {
      await tx.query(
        `INSERT INTO mail_outbox (topic, to_address, subject, body_text, created_at, next_attempt_at) VALUES ('audit.checkpoint', $1, $2, $3, $4, $4)`,
        [target.auditorsEmail, `zalog audit checkpoint: record ${checkpoint.headId}, ${checkpoint.count} records`, checkpointLetter(checkpoint, target.file), now],
      );
    }
    await appendAudit(tx, { ...by, action: 'audit.checkpoint', target: `audit_log:${checkpoint.headId}`, details: { amounts: {}, headHash: checkpoint.headHash, count: checkpoint.count, keyId: checkpoint.keyId, file: target.file, mailedTo: target.auditorsEmail ?? null } }, now);
  });
  return { ok: true, checkpoint };
}

function checkpointLetter(checkpoint: Checkpoint, file: string): string {
  return [
    'A checkpoint of the zalog audit trail. Keep this message: it proves what the trail held at this time.',
    '',
    `Head record: ${checkpoint.headId}`,
    `Head hash:   ${checkpoint.headHash}`,
    `Records:     ${checkpoint.count}`,
    `Made at:     ${checkpoint.at} (UTC)`,
    `Key:         ${checkpoint.keyId} (${checkpoint.algorithm})`,
    '',
    `Check it: save the line below to a file and run  zalog audit verify --checkpoint FILE --public-key KEY.pub`,
    `(the service appends every checkpoint to ${file}).`,
    '',
    JSON.stringify(checkpoint),
  ].join('\n');
}

export interface CheckpointVerdict {
  readonly line: number;
  readonly headId: string | undefined;
  readonly count: string | undefined;
  readonly at: string | undefined;
  readonly problem: string | undefined;
}

/**
 * Checks the chain against every line of a checkpoint file: each line must be a checkpoint signed
 * by `key`, and the chain must hold its head, with its hash, at its position.
 */
export async function verifyCheckpoints(db: Queryable, lines: readonly CheckpointLine[], key: VerifyingKey): Promise<{ chain: Awaited<ReturnType<typeof verifyAudit>>; verdicts: CheckpointVerdict[] }> {
  const anchors = new Set(lines.flatMap((l) => (l.checkpoint === undefined ? [] : [BigInt(l.checkpoint.headId)])));
  const chain = await verifyAudit(db, { anchors });
  const verdicts = lines.map((l): CheckpointVerdict => {
    if (l.checkpoint === undefined) return { line: l.line, headId: undefined, count: undefined, at: undefined, problem: l.problem };
    const c = l.checkpoint;
    const problem = signatureProblem(c, key) ?? checkpointProblem(c, (id) => chain.heads?.get(id));
    return { line: l.line, headId: c.headId, count: c.count, at: c.at, problem };
  });
  return { chain, verdicts };
}
