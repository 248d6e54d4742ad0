import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, parseSigningKey, verifyingKeyOf } from '../audit/checkpoint.js';
import { loadCalendar } from '../calendar/load.js';
import { seedLoans } from '../loans/seed.js';
import { testKey } from '../test-support/bitcoin.js';
import { openTestDatabase, type TestDatabase } from '../test-support/database.js';
import { vaultDescriptor } from './descriptor.js';
import { makeProof, proofProblems } from './proof.js';
import { createVault } from './vault-store.js';

let t: TestDatabase;
const key = parseSigningKey(generateSigningKey().privatePem, 'test proof key');
beforeAll(async () => { t = await openTestDatabase(); });
afterAll(async () => { await t.close(); });

describe('the proof of collateral', () => {
  it('holds with no vault at all, and with a vault that holds nothing yet (zero is an amount)', async () => {
    const empty = await makeProof(t.db, key, new Date('2026-12-07T10:00:00Z'));
    expect(empty).toMatchObject({ vaults: [], totalBtc: '0.00000000', height: null });
    expect(proofProblems(empty, verifyingKeyOf(key))).toEqual([]);
    await seedLoans(t.db, { count: 1, disbursedOn: '2026-01-15', calendar: await loadCalendar(), prefix: 'proof' });
    const [loan] = await t.db.query<{ id: bigint }>('SELECT id FROM loans LIMIT 1');
    await createVault(t.db, { loanId: loan!.id, mode: 'bank', parsed: vaultDescriptor({ network: 'testnet', threshold: 2, chain: 0, keys: [testKey(61, 'testnet'), testKey(62, 'testnet'), testKey(63, 'testnet')] }), chainIndex: 0, confirmations: 3, at: new Date(), lookahead: 2 });
    const one = await makeProof(t.db, key, new Date('2026-12-07T10:00:00Z'));
    expect(one.vaults).toEqual([expect.objectContaining({ network: 'testnet', addresses: [], btc: '0.00000000' })]);
    expect(proofProblems(one, verifyingKeyOf(key))).toEqual([]);
    expect(proofProblems({ ...one, vaults: [{ ...one.vaults[0]!, btc: '-1' }] })).toContain(`vault ${one.vaults[0]!.ref}: its addresses hold 0.00000000 BTC, the line says -1`);
    expect(proofProblems({ kind: 'something else' })).toEqual(['not a zalog proof of collateral (version 1)']);
  });
});
