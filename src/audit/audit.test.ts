import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openPglite } from '../db/pglite.js';
import { openTestDatabase, testDatabaseUrl, type TestDatabase } from '../test-support/database.js';
import { auditHash, canonicalJson, GENESIS_HASH, microsecondText, verifyRecords, type AuditFields } from './audit-chain.js';
import { appendAudit, verifyAudit } from './audit-repository.js';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';

function chain(length: number): Array<AuditFields & { hash: string }> {
  const records: Array<AuditFields & { hash: string }> = [];
  let prevHash = GENESIS_HASH;
  for (let i = 1; i <= length; i += 1) {
    const fields: AuditFields = { id: BigInt(i), at: microsecondText(new Date(Date.UTC(2026, 10, 24, 10, 0, i))), actorUserId: 2n, actor: 'officer', action: 'test.action', target: `thing:${i}`, outcome: 'ok', requestId: `req-${i}`, clientRequestId: null, ip: '127.0.0.1', details: { amount: `${i}00.00`, nested: { b: 1, a: [i] } }, prevHash, hashVersion: 2 };
    const hash = auditHash(fields);
    records.push({ ...fields, hash });
    prevHash = hash;
  }
  return records;
}

describe('the chain, pure', () => {
  it('serialises canonically, whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2n], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, 2n] }, b: 1 }));
    expect(canonicalJson({ s: 'a\u0000b' })).toBe('{"s":"a\uFFFDb"}');
  });

  it('verifies an intact chain, counting every record', () => {
    expect(verifyRecords(chain(5), undefined)).toEqual({ intact: 5, skippedIds: 0n, firstBreak: undefined });
  });

  it('names the edited record, for an edit to any field of any record, and counts the intact records before it (property)', () => {
    const fields = ['at', 'actorUserId', 'actor', 'action', 'target', 'outcome', 'requestId', 'clientRequestId', 'ip', 'details'] as const;
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.constantFrom(...fields), (which, field) => {
      const records = chain(6);
      const victim = records[which - 1]!;
      // A timestamp moved by one microsecond is an edit too (version 2 hashes the stored precision).
      const edited = { ...victim, [field]: field === 'at' ? victim.at.replace(/000Z$/, '001Z') : field === 'actorUserId' ? 99n : field === 'outcome' ? 'refused' : field === 'details' ? { amount: '999999.00' } : 'edited' };
      records[which - 1] = edited as typeof victim;
      const checked = verifyRecords(records, undefined);
      expect(checked.firstBreak?.id).toBe(BigInt(which));
      expect(checked.intact).toBe(which - 1);
    }));
  });

  it('allows ids the sequence skipped, counting them, but names a removed or reordered record', () => {
    const gapped = chain(5).map((r) => r);
    // A chain whose third record took id 7 (ids 3..6 rolled back): rebuilt with that id.
    const rebuilt: Array<AuditFields & { hash: string }> = [];
    let prev = GENESIS_HASH;
    for (const [index, r] of gapped.entries()) {
      const fields = { ...r, id: index < 2 ? r.id : r.id + 4n, prevHash: prev };
      const hash = auditHash(fields);
      rebuilt.push({ ...fields, hash });
      prev = hash;
    }
    expect(verifyRecords(rebuilt, undefined)).toEqual({ intact: 5, skippedIds: 4n, firstBreak: undefined });
    const removed = chain(5);
    removed.splice(2, 1);
    expect(verifyRecords(removed, undefined)).toMatchObject({ intact: 2, firstBreak: { id: 4n, problem: expect.stringContaining('previous-hash') } });
    const swapped = chain(5);
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    expect(verifyRecords(swapped, undefined).firstBreak?.id).toBe(3n);
  });

  it('names a record re-hashed after an edit by the next record\'s link', () => {
    const records = chain(4);
    const edited = { ...records[1]!, details: { amount: '1.00' } };
    records[1] = { ...edited, hash: auditHash(edited) };
    expect(verifyRecords(records, undefined)).toMatchObject({ intact: 2, firstBreak: { id: 3n, problem: expect.stringContaining('previous-hash') } });
  });

  it('still verifies version 1 records (millisecond timestamps) as they were written', () => {
    const v1 = chain(3).map((r) => ({ ...r, hashVersion: 1 as const }));
    let prev = GENESIS_HASH;
    const rebuilt = v1.map((r) => {
      const fields = { ...r, prevHash: prev };
      const hash = auditHash(fields);
      prev = hash;
      return { ...fields, hash };
    });
    expect(verifyRecords(rebuilt, undefined).firstBreak).toBeUndefined();
  });
});

describe(`the chain in the database (${testDatabaseUrl ? 'postgres' : 'pglite'})`, () => {
  let test: TestDatabase;
  beforeAll(async () => { test = await openTestDatabase(); });
  afterAll(() => test.close());

  it('stays intact under concurrent appends, with rising ids from a sequence', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => test.db.transaction((tx) => appendAudit(tx, { actorUserId: 1n, actor: 'system', action: 'test.concurrent', details: { i, amount: `${i}.00`, when: new Date() } }))));
    const report = await verifyAudit(test.db, { pageSize: 7 });
    expect(report).toMatchObject({ records: 20n, firstBreak: undefined, skippedIds: 0n });
    const ids = await test.db.query<{ id: bigint }>('SELECT id FROM audit_log ORDER BY id');
    expect(ids.map((row) => row.id)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
  });

  it('a rolled-back change leaves no audit record (its id stays unused)', async () => {
    await expect(test.db.transaction(async (tx) => {
      await appendAudit(tx, { actorUserId: 1n, actor: 'system', action: 'test.rollback', details: {} });
      throw new Error('abort');
    })).rejects.toThrow('abort');
    expect((await verifyAudit(test.db)).records).toBe(20n);
    const next = await test.db.transaction((tx) => appendAudit(tx, { actorUserId: 1n, actor: 'system', action: 'test.after_rollback', details: {} }));
    expect(next.id).toBe(22n);
    expect(await verifyAudit(test.db)).toMatchObject({ records: 21n, skippedIds: 1n, firstBreak: undefined });
  });

  it('refuses UPDATE and DELETE from everyone by trigger, and from the application role by privilege', async () => {
    await expect(test.db.exec("UPDATE audit_log SET actor = 'x' WHERE id = 1")).rejects.toThrow(/append-only/);
    await expect(test.db.exec('DELETE FROM audit_log WHERE id = 20')).rejects.toThrow(/append-only/);
    for (const statement of ["UPDATE audit_log SET actor = 'x' WHERE id = 1", 'DELETE FROM audit_log WHERE id = 20', 'TRUNCATE audit_log', "UPDATE ledger_postings SET amount = 1"]) {
      await expect(test.db.transaction(async (tx) => {
        await tx.exec('SET LOCAL ROLE zalog_app');
        await tx.exec(statement);
      }), statement).rejects.toThrow(/permission denied/);
    }
    // ... while it may still append.
    await test.db.transaction(async (tx) => {
      await tx.exec('SET LOCAL ROLE zalog_app');
      await appendAudit(tx, { actorUserId: 1n, actor: 'system', action: 'test.as_app_role', details: {} });
    });
    expect((await verifyAudit(test.db)).firstBreak).toBeUndefined();
  });

  it('names the record a superuser edited behind the triggers\' back, and counts the intact records before it', async () => {
    await test.db.transaction(async (tx) => {
      await tx.exec('SET LOCAL session_replication_role = replica'); // skips triggers: what a DBA could do
      await tx.exec(`UPDATE audit_log SET details = '{"i": 999}' WHERE id = 7`);
    });
    expect(await verifyAudit(test.db, { pageSize: 4 })).toMatchObject({ records: 6n, firstBreak: { id: 7n, problem: expect.stringContaining('edited') } });
  });

  it('sees a sub-millisecond edit of a record\'s time', async () => {
    const fresh = await openTestDatabase();
    try {
      for (let i = 0; i < 3; i += 1) await fresh.db.transaction((tx) => appendAudit(tx, { actorUserId: 1n, actor: 'system', action: 'test.time', details: { i } }));
      await fresh.db.transaction(async (tx) => {
        await tx.exec('SET LOCAL session_replication_role = replica');
        await tx.exec(`UPDATE audit_log SET at = at + interval '500 microseconds' WHERE id = 2`);
      });
      expect(await verifyAudit(fresh.db)).toMatchObject({ records: 1n, firstBreak: { id: 2n, problem: expect.stringContaining('edited') } });
    } finally {
      await fresh.close();
    }
  });
});

describe.skipIf(testDatabaseUrl !== undefined)('zalog audit verify', () => {
  let dataDir: string;
  beforeAll(async () => { dataDir = await mkdtemp(path.join(tmpdir(), 'zalog-audit-')); });
  afterAll(async () => { await rm(dataDir, { recursive: true, force: true }); });

  const zalog = (args: string[], input = '') => runZalog(args, { dataDir, input });

  it('passes on an intact chain and fails naming the record edited in the database', async () => {
    for (const username of ['first.admin', 'second.admin', 'third.admin']) {
      const created = await zalog(['users', 'create-admin', '--username', username, '--password-stdin'], 'a long enough password');
      expect(created.code, created.output).toBe(0);
    }
    const intact = await zalog(['audit', 'verify']);
    expect({ code: intact.code, output: intact.output }).toEqual({ code: 0, output: 'audit chain intact: 3 records\n' });

    const db = await openPglite({ dataDir: path.join(dataDir, 'pglite') });
    await db.transaction(async (tx) => {
      await tx.exec('SET LOCAL session_replication_role = replica');
      await tx.exec(`UPDATE audit_log SET actor = 'someone else' WHERE id = 2`);
    });
    await db.close();

    const broken = await zalog(['audit', 'verify']);
    expect(broken.code).toBe(1);
    expect(broken.output).toContain('audit chain BROKEN at record 2');
  }, PROCESS_TEST_TIMEOUT_MS);

  it('refuses to create an admin without a password, or with a weak one', async () => {
    const none = await zalog(['users', 'create-admin', '--username', 'nopass']);
    expect(none.code).toBe(2);
    expect(none.output).toContain('--password-stdin');
    const weak = await zalog(['users', 'create-admin', '--username', 'weakpass', '--password-stdin'], 'short');
    expect(weak.code).toBe(2);
    expect(weak.output).toContain('at least 12');
  }, PROCESS_TEST_TIMEOUT_MS);
});

describe(`decisions are history (${testDatabaseUrl ? 'postgres' : 'pglite'})`, () => {
  let test: TestDatabase;
  beforeAll(async () => { test = await openTestDatabase(); });
  afterAll(() => test.close());

  it('refuses to edit or delete a decided proposal, or to approve one without a decider', async () => {
    const [system] = await test.db.query<{ id: bigint }>("SELECT id FROM users WHERE username = 'system'");
    const [user] = await test.db.query<{ id: bigint }>("INSERT INTO users (username, display_name, password_hash, roles) VALUES ('maker', 'maker', '!', ARRAY['credit_officer']) RETURNING id");
    const [row] = await test.db.query<{ id: bigint }>(
      `INSERT INTO approvals (action_type, payload, summary, proposed_by, proposed_at, expires_at) VALUES ('ledger.manual_entry', '{}', 's', $1, now(), now() + interval '1 hour') RETURNING id`, [user!.id]);
    await expect(test.db.query("UPDATE approvals SET status = 'approved', decided_at = now() WHERE id = $1", [row!.id])).rejects.toThrow(/check constraint/);
    await test.db.query("UPDATE approvals SET status = 'approved', decided_at = now(), decided_by = $2 WHERE id = $1", [row!.id, system!.id]);
    await expect(test.db.query("UPDATE approvals SET status = 'rejected' WHERE id = $1", [row!.id])).rejects.toThrow(/already approved/);
    await expect(test.db.query('DELETE FROM approvals WHERE id = $1', [row!.id])).rejects.toThrow(/cannot be deleted/);
  });

  it('keeps price cycles append-only', async () => {
    await test.db.query(`INSERT INTO price_cycles (at, status, inputs) VALUES (now(), 'degraded', '[]')`);
    await expect(test.db.exec("UPDATE price_cycles SET status = 'normal'")).rejects.toThrow(/append-only/);
    await expect(test.db.exec('DELETE FROM price_cycles')).rejects.toThrow(/append-only/);
  });
});
