import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testKey } from '../test-support/bitcoin.js';
import { thrownBy } from '../test-support/errors.js';
import { AddressChain, DescriptorError, deriveAddress, parseDescriptor, vaultDescriptor, withChecksum, type VaultNetwork } from './descriptor.js';

const errorOf = (run: () => unknown): DescriptorError => thrownBy(DescriptorError, run);

// Published vectors: BIP-380 (checksums), BIP-383 (multisig scripts), BIP-67 (sorted keys).
const XPUB_A = 'xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL';
const XPUB_B = 'xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y';

describe('descriptor checksums (BIP-380 test vectors)', () => {
  it('accepts a valid checksum and adds a missing one', () => {
    expect(withChecksum('raw(deadbeef)#89f8spxm')).toBe('raw(deadbeef)#89f8spxm');
    expect(withChecksum('raw(deadbeef)')).toBe('raw(deadbeef)#89f8spxm');
    expect(withChecksum('  raw(deadbeef)\n')).toBe('raw(deadbeef)#89f8spxm');
  });

  it.each([
    ['missing checksum', 'raw(deadbeef)#'],
    ['too long checksum', 'raw(deadbeef)#89f8spxmx'],
    ['too short checksum', 'raw(deadbeef)#89f8spx'],
    ['error in payload', 'raw(deedbeef)#89f8spxm'],
    ['error in checksum', 'raw(deedbeef)##9f8spxm'],
  ])('refuses a %s', (_name, text) => {
    expect(errorOf(() => withChecksum(text)).code).toBe('descriptor_checksum');
  });

  it('refuses characters outside the descriptor alphabet', () => {
    expect(errorOf(() => withChecksum('raw(Ü)#00000000')).code).toBe('descriptor_malformed');
  });

  it('matches the checksum another wallet published for a multisig descriptor (Krux)', () => {
    const multi = "wsh(sortedmulti(2,[02e8bff2/48h/1h/0h/2h]tpubDESmyzX6RMHRHvzxgLVXymd193CSYYT6C9M9wa4XK649tbAy2WeEvkPwBgoC7i76MypQxpuruUazQjqibbCogTZuENJX6YiuZ5Fy8sf7GNi/<0;1>/*,[8cb36b38/48h/1h/0h/2h]tpubDESTVwqbbaSoN2mPq7tcWkPBpRBkaEADrUzUhRTVnNef6oVn6w2PHL4zoUjUAJSPLJQRBetkgX4sDRcoaCyFHxqHGyWyaiV8REKDkh7zQac/<0;1>/*,[73c5da0a/48h/1h/0h/2h]tpubDFH9dgzveyD8zTbPUFuLrGmCydNvxehyNdUXKJAQN8x4aZ4j6UZqGfnqFrD4NqyaTVGKbvEW54tsvPTK2UoSbCC1PJY8iCNiwTL3RWZEheQ/<0;1>/*))";
    expect(withChecksum(multi)).toBe(`${multi}#jpxgnm0a`);
  });
});

describe('multisig scripts (BIP-383 and BIP-67 test vectors)', () => {
  const ranged = `wsh(sortedmulti(2,${XPUB_A}/*,${XPUB_B}/0/0/*))`;
  const scripts = [
    '5221025d5fc65ebb8d44a5274b53bac21ff8307fec2334a32df05553459f8b1f7fe1b62102fbd47cc8034098f0e6a94c6aeee8528abf0a2153a5d8e46d325b7284c046784652ae',
    '52210264fd4d1f5dea8ded94c61e9641309349b62f27fbffe807291f664e286bfbe6472103f4ece6dfccfa37b211eb3d0af4d0c61dba9ef698622dc17eecdf764beeb005a652ae',
    '5221022ccabda84c30bad578b13c89eb3b9544ce149787e5b538175b1d1ba259cbb83321024d902e1a2fc7a8755ab5b694c575fce742c48d9ff192e63df5193e4c7afe1f9c52ae',
  ];

  it('derives the published scripts of sortedmulti over two xpubs at indexes 0, 1 and 2, by the library and by the fast chain', () => {
    const parsed = parseDescriptor(ranged, 'mainnet');
    expect(parsed.ranged).toBe(true);
    expect(parsed.keys.map((key) => key.expression)).toEqual([`${XPUB_A}/*`, `${XPUB_B}/0/0/*`]);
    const chain = new AddressChain(parsed);
    scripts.forEach((script, index) => {
      const reference = deriveAddress(parsed, index);
      expect(reference.witnessScript).toBe(script);
      // P2WSH: version 0, the script's SHA-256.
      expect(reference.scriptPubKey).toBe(`0020${createHash('sha256').update(Buffer.from(script, 'hex')).digest('hex')}`);
      expect(reference.address).toMatch(/^bc1q[a-z0-9]{58}$/);
      expect(chain.at(index)).toEqual(reference);
    });
  });

  it.each([
    ['vector 1', ['02ff12471208c14bd580709cb2358d98975247d8765f92bc25eab3b2763ed605f8', '02fe6f0a5a297eb38c391581c4413e084773ea23954d93f7753db7dc0adc188b2f'], '522102fe6f0a5a297eb38c391581c4413e084773ea23954d93f7753db7dc0adc188b2f2102ff12471208c14bd580709cb2358d98975247d8765f92bc25eab3b2763ed605f852ae'],
    ['vector 2', ['02632b12f4ac5b1d1b72b2a3b508c19172de44f6f46bcee50ba33f3f9291e47ed0', '027735a29bae7780a9755fae7a1c4374c656ac6a69ea9f3697fda61bb99a4f3e77', '02e2cc6bd5f45edd43bebe7cb9b675f0ce9ed3efe613b177588290ad188d11b404'], '522102632b12f4ac5b1d1b72b2a3b508c19172de44f6f46bcee50ba33f3f9291e47ed021027735a29bae7780a9755fae7a1c4374c656ac6a69ea9f3697fda61bb99a4f3e772102e2cc6bd5f45edd43bebe7cb9b675f0ce9ed3efe613b177588290ad188d11b40453ae'],
    ['vector 4', ['022df8750480ad5b26950b25c7ba79d3e37d75f640f8e5d9bcd5b150a0f85014da', '03e3818b65bcc73a7d64064106a859cc1a5a728c4345ff0b641209fba0d90de6e9', '021f2f6e1e50cb6a953935c3601284925decd3fd21bc445712576873fb8c6ebc18'], '5221021f2f6e1e50cb6a953935c3601284925decd3fd21bc445712576873fb8c6ebc1821022df8750480ad5b26950b25c7ba79d3e37d75f640f8e5d9bcd5b150a0f85014da2103e3818b65bcc73a7d64064106a859cc1a5a728c4345ff0b641209fba0d90de6e953ae'],
  ])('sorts the keys as BIP-67 %s does', (_name, keys, script) => {
    const parsed = parseDescriptor(`wsh(sortedmulti(2,${keys.join(',')}))`, 'mainnet');
    expect(parsed.ranged).toBe(false);
    expect(deriveAddress(parsed).witnessScript).toBe(script);
    expect(new AddressChain(parsed).at(0).witnessScript).toBe(script);
  });
});

describe('what a vault descriptor may hold', () => {
  it('refuses private keys: extended (the BIP-383 vector with xprvs) and WIF', () => {
    const withXprv = "wsh(multi(2,xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U/2147483647'/0,xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt/1/2/*,xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi/10/20/30/40/*'))";
    expect(errorOf(() => parseDescriptor(withXprv, 'mainnet')).code).toBe('descriptor_private_key');
    expect(errorOf(() => parseDescriptor('wsh(pk(L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1))', 'mainnet')).code).toBe('descriptor_private_key');
  });

  it('refuses a key for another network, a damaged xpub, hardened ranges and scripts that are not wsh()', () => {
    const tpub = testKey(1, 'testnet').xpub;
    expect(errorOf(() => parseDescriptor(`wsh(sortedmulti(1,${XPUB_A}/*))`, 'testnet')).code).toBe('descriptor_network');
    expect(errorOf(() => parseDescriptor(`wsh(sortedmulti(1,${tpub}/*))`, 'mainnet')).code).toBe('descriptor_network');
    const damaged = `${XPUB_A.slice(0, 40)}${XPUB_A[40] === 'a' ? 'b' : 'a'}${XPUB_A.slice(41)}`;
    expect(errorOf(() => parseDescriptor(`wsh(sortedmulti(1,${damaged}/*))`, 'mainnet')).code).toBe('descriptor_malformed');
    expect(errorOf(() => parseDescriptor(`wsh(sortedmulti(1,${XPUB_A}/*'))`, 'mainnet')).code).toBe('descriptor_unsupported');
    expect(errorOf(() => parseDescriptor(`wpkh(${XPUB_A}/*)`, 'mainnet')).code).toBe('descriptor_unsupported');
    expect(errorOf(() => parseDescriptor('wsh(sortedmulti(3,02ff12471208c14bd580709cb2358d98975247d8765f92bc25eab3b2763ed605f8,02fe6f0a5a297eb38c391581c4413e084773ea23954d93f7753db7dc0adc188b2f))', 'mainnet')).code).toBe('descriptor_malformed');
    expect(errorOf(() => parseDescriptor('wsh(sortedmulti(2,', 'mainnet')).code).toBe('descriptor_malformed');
  });

  it('gives each network its address prefix; signet and testnet share tb1', () => {
    const on = (network: VaultNetwork) => deriveAddress(vaultDescriptor({ network, threshold: 2, chain: 0, keys: [testKey(1, network), testKey(2, network), testKey(3, network)] }), 0).address;
    expect(on('mainnet')).toMatch(/^bc1q/);
    expect(on('testnet')).toMatch(/^tb1q/);
    expect(on('signet')).toMatch(/^tb1q/);
    expect(on('regtest')).toMatch(/^bcrt1q/);
  });
});

describe('vault descriptors', () => {
  const [borrower, bank, agent] = [testKey(1), testKey(2), testKey(3)];

  it('builds the collaborative 2-of-3 with key origins and one chain per loan', () => {
    const vault = vaultDescriptor({ network: 'regtest', threshold: 2, chain: 7, keys: [borrower, bank, agent] });
    expect(vault.descriptor).toBe(withChecksum(`wsh(sortedmulti(2,[${borrower.fingerprint}/48'/1'/0'/2']${borrower.xpub}/0/7/*,[${bank.fingerprint}/48'/1'/0'/2']${bank.xpub}/0/7/*,[${agent.fingerprint}/48'/1'/0'/2']${agent.xpub}/0/7/*))`));
    expect(vault.shape).toBe('wsh(sortedmulti(2,@0,@1,@2))');
    expect(vault.keys.map((key) => key.fingerprint)).toEqual([borrower.fingerprint, bank.fingerprint, agent.fingerprint]);
    // The script's keys are the cosigners' keys at m/48'/1'/0'/2'/0/7/index, sorted.
    const expected = [borrower, bank, agent].map((key) => Buffer.from(key.master.derivePath(`m/48'/1'/0'/2'/0/7/5`).publicKey).toString('hex')).sort();
    expect(new AddressChain(vault).at(5).witnessScript).toBe(`52${expected.map((key) => `21${key}`).join('')}53ae`);
    // Another loan's chain gives other addresses.
    expect(new AddressChain(vaultDescriptor({ network: 'regtest', threshold: 2, chain: 8, keys: [borrower, bank, agent] })).at(5).address).not.toBe(new AddressChain(vault).at(5).address);
  });

  it('adds the borrower\'s recovery path after a relative timelock, checked as sane miniscript', () => {
    const vault = vaultDescriptor({ network: 'regtest', threshold: 2, chain: 7, keys: [borrower, bank, agent], recovery: { key: borrower, afterBlocks: 52_560 } });
    expect(vault.shape).toBe('wsh(or_d(multi(2,@0,@1,@2),and_v(v:pk(@3),older(52560))))');
    expect(vault.miniscript).toBe('or_d(multi(2,@0,@1,@2),and_v(v:pk(@3),older(52560)))');
    const at = new AddressChain(vault).at(3);
    const recoveryKey = Buffer.from(borrower.master.derivePath(`m/48'/1'/0'/2'/1/7/3`).publicKey).toString('hex');
    // … OP_IFDUP OP_NOTIF <recovery key> OP_CHECKSIGVERIFY <52560> OP_CHECKSEQUENCEVERIFY OP_ENDIF
    expect(at.witnessScript).toContain(`7364${'21'}${recoveryKey}ad0350cd00b268`);
  });

  it('refuses thresholds, timelocks, keys and chains out of range, with the reason', () => {
    const keys = [borrower, bank, agent];
    expect(errorOf(() => vaultDescriptor({ network: 'regtest', threshold: 4, chain: 0, keys })).message).toMatch(/threshold/);
    expect(errorOf(() => vaultDescriptor({ network: 'regtest', threshold: 0, chain: 0, keys })).message).toMatch(/threshold/);
    expect(errorOf(() => vaultDescriptor({ network: 'regtest', threshold: 2, chain: 0, keys, recovery: { key: borrower, afterBlocks: 65_536 } })).message).toMatch(/65535 blocks/);
    expect(errorOf(() => vaultDescriptor({ network: 'regtest', threshold: 2, chain: -1, keys })).code).toBe('descriptor_index');
    expect(errorOf(() => vaultDescriptor({ network: 'regtest', threshold: 2, chain: 0, keys: [borrower, borrower, agent] })).message).toMatch(/distinct/);
    expect(errorOf(() => vaultDescriptor({ network: 'regtest', threshold: 2, chain: 0, keys: [{ ...bank, fingerprint: 'xyz' }, agent] })).message).toMatch(/fingerprint/);
    expect(errorOf(() => vaultDescriptor({ network: 'mainnet', threshold: 2, chain: 0, keys })).code).toBe('descriptor_network');
  });

  it('the fast chain derives what the descriptor library derives, for any index, both shapes', () => {
    const plain = vaultDescriptor({ network: 'regtest', threshold: 2, chain: 3, keys: [borrower, bank, agent] });
    const recovery = vaultDescriptor({ network: 'regtest', threshold: 2, chain: 3, keys: [borrower, bank, agent], recovery: { key: borrower, afterBlocks: 144 } });
    const chains = [new AddressChain(plain), new AddressChain(recovery)];
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 1 }), (index, which) => {
      const chain = chains[which]!;
      expect(chain.at(index)).toEqual(deriveAddress(chain.parsed, index));
    }), { numRuns: 40 });
  });

  it('refuses an index out of range', () => {
    const chain = new AddressChain(vaultDescriptor({ network: 'regtest', threshold: 1, chain: 0, keys: [bank] }));
    expect(errorOf(() => chain.at(2 ** 31)).code).toBe('descriptor_index');
    expect(errorOf(() => chain.at(1.5)).code).toBe('descriptor_index');
  });
});
