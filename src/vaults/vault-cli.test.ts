import { describe, expect, it } from 'vitest';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';
import { testKey } from '../test-support/bitcoin.js';
import { vaultDescriptor } from './descriptor.js';

const XPUB_A = 'xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL';
const XPUB_B = 'xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y';
const BIP383 = `wsh(sortedmulti(2,${XPUB_A}/*,${XPUB_B}/0/0/*))`;

describe('zalog vault', () => {
  it('address: derives a vault\'s addresses without a database, as text and as JSON', async () => {
    const json = await runZalog(['vault', 'address', '--descriptor', BIP383, '--index', '1', '--json']);
    expect(json.code).toBe(0);
    const line = JSON.parse(json.stdout.trim());
    expect(line).toMatchObject({ network: 'mainnet', index: 1, witnessScript: '52210264fd4d1f5dea8ded94c61e9641309349b62f27fbffe807291f664e286bfbe6472103f4ece6dfccfa37b211eb3d0af4d0c61dba9ef698622dc17eecdf764beeb005a652ae' });
    expect(line.descriptor).toMatch(/#[a-z0-9]{8}$/);
    const three = await runZalog(['vault', 'address', '--descriptor', line.descriptor, '--count', '3']);
    expect(three.code).toBe(0);
    const rows = three.stdout.trim().split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[1]).toBe(`1\t${line.address}`);
    // A regtest vault of test keys: the network is named, the addresses are bcrt1.
    const vault = vaultDescriptor({ network: 'regtest', threshold: 2, chain: 4, keys: [testKey(1), testKey(2), testKey(3)] });
    const regtest = await runZalog(['vault', 'address', '--descriptor', vault.descriptor, '--network', 'regtest']);
    expect(regtest.stdout.trim()).toMatch(/^bcrt1q[a-z0-9]{58}$/);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('checksum: prints the descriptor with its checksum; a damaged one, a damaged key or a private key exits 2 with the reason', async () => {
    const ok = await runZalog(['vault', 'checksum', `wpkh(${XPUB_A}/0/*)`]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toMatch(new RegExp(`^wpkh\\(${XPUB_A}/0/\\*\\)#[a-z0-9]{8}$`));
    const again = await runZalog(['vault', 'checksum', ok.stdout.trim()]);
    expect(again.stdout.trim()).toBe(ok.stdout.trim());
    const typo = await runZalog(['vault', 'checksum', 'raw(deedbeef)#89f8spxm']);
    expect(typo.code).toBe(2);
    expect(typo.output).toMatch(/checksum 89f8spxm does not match/);
    const damagedKey = await runZalog(['vault', 'checksum', `wsh(sortedmulti(1,${XPUB_A.slice(0, -1)}M/*))`]);
    expect(damagedKey.code).toBe(2);
    expect(damagedKey.output).toMatch(/not a valid public or extended public key/);
    const secret = await runZalog(['vault', 'checksum', 'wpkh(L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1)']);
    expect(secret.code).toBe(2);
    expect(secret.output).toMatch(/public keys only/);
    const network = await runZalog(['vault', 'address', '--descriptor', BIP383, '--network', 'testnet']);
    expect(network.code).toBe(2);
    expect(network.output).toMatch(/not for testnet/);
    const notRanged = await runZalog(['vault', 'address', '--descriptor', 'wsh(sortedmulti(1,02ff12471208c14bd580709cb2358d98975247d8765f92bc25eab3b2763ed605f8))', '--index', '3']);
    expect(notRanged.code).toBe(2);
    expect(notRanged.output).toMatch(/not ranged/);
  }, PROCESS_TEST_TIMEOUT_MS);
});
