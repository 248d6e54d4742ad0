import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../db/pglite.js';
import type { Database } from '../db/database.js';
import { openTestDatabase, testDatabaseUrl, type TestDatabase } from '../test-support/database.js';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';
import { auditHash, type AuditFields } from './audit-chain.js';
import { appendAudit, readAudit, verifyAudit } from './audit-repository.js';
import { generateSigningKey, parseCheckpointLine, parseSigningKey, parseVerifyingKey, signatureProblem, signCheckpoint, verifyingKeyOf } from './checkpoint.js';
import { makeCheckpoint, readCheckpointFile, verifyCheckpoints } from './checkpoint-file.js';

/**
 * The audit chain anchored outside the database (issue 16, item 2): what a superuser can do to the
 * table without the triggers, and what a signed checkpoint then shows.
 */

const pair = generateSigningKey();
const ed25519 = parseSigningKey(pair.privatePem, 'test key');
const hmac = parseSigningKey('a shared secret of at least thirty-two bytes', 'test secret');

describe('checkpoints, pure', () => {
  it('are signed and verified with Ed25519 (the public key alone) and with HMAC', () => {
    for (const key of [ed25519, hmac]) {
      const checkpoint = signCheckpoint({ id: 12n, hash: 'a'.repeat(64) }, 10n, new Date('2026-11-27T12:00:00Z'), key);
      expect(signatureProblem(checkpoint, verifyingKeyOf(key))).toBeUndefined();
      expect(parseCheckpointLine(JSON.stringify(checkpoint))).toEqual(checkpoint);
      for (const altered of [{ ...checkpoint, count: '11' }, { ...checkpoint, headHash: 'b'.repeat(64) }, { ...checkpoint, headId: '13' }, { ...checkpoint, at: '2026-11-28T12:00:00.000Z' }]) {
        expect(signatureProblem(altered, verifyingKeyOf(key))).toMatch(/altered/);
      }
    }
    expect(signatureProblem(signCheckpoint(undefined, 0n, new Date(), ed25519), parseVerifyingKey(pair.publicPem, 'public'))).toBeUndefined();
    const other = parseSigningKey(generateSigningKey().privatePem, 'another');
    expect(signatureProblem(signCheckpoint(undefined, 0n, new Date(), other), verifyingKeyOf(ed25519))).toMatch(/not by the key given/);
  });

  it('refuse keys that are not keys', () => {
    expect(() => parseSigningKey('short', 'x')).toThrow(/at least 32 bytes/);
    expect(() => parseSigningKey('-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----', 'x')).toThrow(/not a readable private key/);
    expect(parseCheckpointLine('{"version":1}')).toMatch(/not a checkpoint/);
  });
});

/** What a superuser can do: the triggers switched off for one transaction. */
async function asSuperuser(db: Database, sql: string, params: unknown[] = []): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.exec('SET LOCAL session_replication_role = replica');
    await tx.query(sql, params);
  });
}

async function append(db: Database, n: number, from = 0): Promise<void> {
  await db.transaction(async (tx) => {
    for (let i = from; i < from + n; i += 1) await appendAudit(tx, { actorUserId: 1n, actor: 'system', action: 'test.record', target: `thing:${i}`, details: { i, amounts: { RUB: `${i}.00` } } });
  });
}

describe(`the chain against its checkpoints (${testDatabaseUrl ? 'postgres' : 'pglite'})`, () => {
  let test: TestDatabase;
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'zalog-checkpoint-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });
  const fresh = async () => {
    test = await openTestDatabase();
    await append(test.db, 1000);
  };

  it('a deleted tail: verify alone says intact; the checkpoint names the missing head, and new records do not reuse its ids', async () => {
    await fresh();
    try {
      const file = path.join(dir, 'tail.jsonl');
      const made = await makeCheckpoint(test.db, { key: ed25519, file }, { actorUserId: null, actor: 'test' }, new Date());
      expect(made).toMatchObject({ ok: true, checkpoint: { headId: '1000', count: '1000' } });
      // The checkpoint's own record (1001) comes after its head; delete the last 50 records anchored.
      await asSuperuser(test.db, 'DELETE FROM audit_log WHERE id > 950');
      expect(await verifyAudit(test.db)).toMatchObject({ records: 950n, firstBreak: undefined });
      await append(test.db, 1, 5000);
      const [next] = await readAudit(test.db, { afterId: 950n, limit: 5 });
      expect(next!.id).toBe(1002n); // from the sequence: never 951 again
      const { chain, verdicts } = await verifyCheckpoints(test.db, await readCheckpointFile(file), verifyingKeyOf(ed25519));
      expect(chain).toMatchObject({ records: 951n, firstBreak: undefined, skippedIds: 51n });
      expect(verdicts).toEqual([expect.objectContaining({ headId: '1000', problem: expect.stringContaining('record 1000, the head this checkpoint anchors, is missing') })]);
    } finally {
      await test.close();
    }
  });

  it('a chain rewritten and re-hashed by a superuser: verify alone says intact; the checkpoint sees the head\'s hash changed', async () => {
    await fresh();
    try {
      const file = path.join(dir, 'rehash.jsonl');
      expect((await makeCheckpoint(test.db, { key: hmac, file }, { actorUserId: null, actor: 'test' }, new Date())).ok).toBe(true);
      // Change record 500's amount and recompute every hash after it, as someone who read the code would.
      const records = await readAudit(test.db, { afterId: 499n, limit: 1000 });
      let prev = (await readAudit(test.db, { afterId: 498n, limit: 1 }))[0]!.hash;
      for (const record of records) {
        const fields: AuditFields = { ...record, details: record.id === 500n ? { i: 500, amounts: { RUB: '5000000.00' } } : record.details, prevHash: prev };
        const hash = auditHash(fields);
        await asSuperuser(test.db, 'UPDATE audit_log SET details = $2::jsonb, prev_hash = $3, hash = $4 WHERE id = $1', [record.id, JSON.stringify(fields.details), prev, hash]);
        prev = hash;
      }
      expect((await verifyAudit(test.db)).firstBreak).toBeUndefined();
      const { verdicts } = await verifyCheckpoints(test.db, await readCheckpointFile(file), verifyingKeyOf(hmac));
      expect(verdicts[0]!.problem).toMatch(/record 1000 has another hash than the checkpoint's: the chain up to it was rewritten/);
    } finally {
      await test.close();
    }
  });

  it('records deleted in the middle and the rest re-linked: the count up to the head differs', async () => {
    await fresh();
    try {
      const file = path.join(dir, 'middle.jsonl');
      await makeCheckpoint(test.db, { key: ed25519, file }, { actorUserId: null, actor: 'test' }, new Date());
      const checkpoint = (await readCheckpointFile(file))[0]!.checkpoint!;
      // Record 10 deleted, 11 re-linked to 9 and every later hash recomputed: the chain verifies, but
      // its head no longer has the hash the checkpoint signed (and holds one record fewer before it).
      await asSuperuser(test.db, 'DELETE FROM audit_log WHERE id = 10');
      const records = await readAudit(test.db, { afterId: 9n, limit: 2000 });
      let prev = (await readAudit(test.db, { afterId: 8n, limit: 1 }))[0]!.hash;
      for (const record of records) {
        const hash = auditHash({ ...record, prevHash: prev });
        await asSuperuser(test.db, 'UPDATE audit_log SET prev_hash = $2, hash = $3 WHERE id = $1', [record.id, prev, hash]);
        prev = hash;
      }
      expect((await verifyAudit(test.db)).firstBreak).toBeUndefined();
      const { chain, verdicts } = await verifyCheckpoints(test.db, [{ line: 1, checkpoint }], verifyingKeyOf(ed25519));
      expect(chain.records).toBe(1000n); // 999 anchored records and the checkpoint's own
      expect(verdicts[0]!.problem).toMatch(/another hash|records were removed/);
    } finally {
      await test.close();
    }
  });

  it('an intact chain matches every checkpoint made along the way', async () => {
    await fresh();
    try {
      const file = path.join(dir, 'intact.jsonl');
      await makeCheckpoint(test.db, { key: ed25519, file }, { actorUserId: null, actor: 'test' }, new Date());
      await append(test.db, 10, 2000);
      await makeCheckpoint(test.db, { key: ed25519, file }, { actorUserId: null, actor: 'test' }, new Date());
      const { chain, verdicts } = await verifyCheckpoints(test.db, await readCheckpointFile(file), verifyingKeyOf(ed25519));
      expect(chain).toMatchObject({ records: 1012n, firstBreak: undefined });
      expect(verdicts.map((v) => [v.headId, v.count, v.problem])).toEqual([['1000', '1000', undefined], ['1011', '1011', undefined]]);
      // A broken chain is never anchored.
      await asSuperuser(test.db, `UPDATE audit_log SET actor = 'someone' WHERE id = 3`);
      const refused = await makeCheckpoint(test.db, { key: ed25519, file }, { actorUserId: null, actor: 'test' }, new Date());
      expect(refused).toEqual({ ok: false, problem: expect.stringContaining('broken at record 3') });
      expect(refused.ok === false && refused.problem).toContain('2 records before it are intact');
    } finally {
      await test.close();
    }
  });
});

describe.skipIf(testDatabaseUrl !== undefined)('zalog audit checkpoint and verify --checkpoint', () => {
  let dataDir: string;
  beforeAll(async () => { dataDir = await mkdtemp(path.join(tmpdir(), 'zalog-audit-cli-')); });
  afterAll(async () => { await rm(dataDir, { recursive: true, force: true }); });

  const zalog = (args: string[], env: Record<string, string> = {}) => runZalog(args, { dataDir, env });

  it('makes a signed checkpoint, then catches a deleted tail that verify alone cannot see', async () => {
    const keyFile = path.join(dataDir, 'keys', 'audit.pem');
    await rm(path.dirname(keyFile), { recursive: true, force: true });
    const keygen = await zalog(['audit', 'keygen', '--out', path.join(dataDir, 'audit.pem')]);
    expect(keygen.code, keygen.output).toBe(0);
    expect(keygen.output).toContain('BEGIN PUBLIC KEY');
    expect((await zalog(['audit', 'keygen', '--out', path.join(dataDir, 'audit.pem')])).output).toContain('never overwritten');
    const env = { ZALOG_AUDIT_KEY_FILE: path.join(dataDir, 'audit.pem') };
    const db = await openPglite({ dataDir: path.join(dataDir, 'pglite') });
    const { migrate } = await import('../db/migrate.js');
    await migrate(db);
    await append(db, 20);
    await db.close();

    const made = await zalog(['audit', 'checkpoint'], env);
    expect(made.code, made.output).toBe(0);
    expect(made.output).toMatch(/checkpoint: record 20, 20 records/);
    const file = path.join(dataDir, 'audit-checkpoints.jsonl');
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(1);

    const intact = await zalog(['audit', 'verify', '--checkpoint', file, '--public-key', path.join(dataDir, 'audit.pem.pub')]);
    expect(intact.code, intact.output).toBe(0);
    expect(intact.output).toContain('1 of 1 checkpoints match the chain');

    const again = await openPglite({ dataDir: path.join(dataDir, 'pglite') });
    await asSuperuser(again, 'DELETE FROM audit_log WHERE id > 15');
    await again.close();
    const plain = await zalog(['audit', 'verify']);
    expect(plain.output).toContain('audit chain intact: 15 records');
    const anchored = await zalog(['audit', 'verify', '--checkpoint', file], env);
    expect(anchored.code).toBe(1);
    expect(anchored.output).toContain('record 20, the head this checkpoint anchors, is missing');

    // An altered checkpoint line fails on its signature.
    await writeFile(file, (await readFile(file, 'utf8')).replace('"count":"20"', '"count":"15"'));
    expect((await zalog(['audit', 'verify', '--checkpoint', file], env)).output).toContain('the checkpoint was altered');
  }, PROCESS_TEST_TIMEOUT_MS);
});
