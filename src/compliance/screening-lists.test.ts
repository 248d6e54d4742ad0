import { describe, expect, it } from 'vitest';
import { normaliseBtcAddress, normaliseName, parseList } from './screening-lists.js';

// Addresses with valid checksums from the Bitcoin wiki and the genesis block; each altered by one
// character to break its checksum.
const GENESIS = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa';
const P2SH = '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy';
const BECH32 = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';

describe('normalising what is screened', () => {
  it.each([
    ['Иванов Иван Иванович', 'Ivanov, Ivan Ivanovich'],
    ['ООО «Майнинг Юг»', 'MAINING IUG LLC'],
    ['Семёнов Пётр', 'SEMENOV, Petr'],
    ['Щукин  Юрий', 'SHCHUKIN, IURII'],
  ])('"%s" meets "%s"', (ours, listed) => {
    expect(normaliseName(ours)).toBe(normaliseName(listed));
  });

  it('keeps different names apart and drops only legal-form words', () => {
    expect(normaliseName('Ivanov Ivan')).not.toBe(normaliseName('Ivanova Ivanna'));
    expect(normaliseName('ООО "Ромашка"')).toBe('ROMASHKA');
    expect(normaliseName('ООО')).toBe('');
  });

  it('accepts mainnet addresses with valid checksums and refuses others', () => {
    expect(normaliseBtcAddress(GENESIS)).toBe(GENESIS);
    expect(normaliseBtcAddress(P2SH)).toBe(P2SH);
    expect(normaliseBtcAddress(BECH32.toUpperCase())).toBe(BECH32);
    expect(normaliseBtcAddress(`${GENESIS.slice(0, -1)}b`)).toBeUndefined();
    expect(normaliseBtcAddress(`${BECH32.slice(0, -1)}p`)).toBeUndefined();
    expect(normaliseBtcAddress('tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx')).toBeUndefined(); // testnet
    expect(normaliseBtcAddress('mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn')).toBeUndefined(); // testnet base58
    expect(normaliseBtcAddress('0x901bb9583b24d97e995513c6778dc6888ab6870e')).toBeUndefined();
  });
});

describe('parsing list files', () => {
  it('reads the bank\'s CSV, skipping bad rows with the reason', () => {
    const parsed = parseList('zalog_csv', [
      'kind,value,name,program',
      'inn,7707083893,Test company,internal stop list',
      `btc_address,${BECH32.toUpperCase()},,Rosfinmonitoring`,
      'name,"Петров Пётр",,Rosfinmonitoring',
      'inn,77070838,,short',
      'passport,1234,,unknown kind',
    ].join('\n'));
    expect(parsed.entries).toEqual([
      { kind: 'inn', value: '7707083893', display: 'Test company (7707083893)', program: 'internal stop list' },
      { kind: 'btc_address', value: BECH32, display: BECH32.toUpperCase(), program: 'Rosfinmonitoring' },
      { kind: 'name', value: 'PETR PETROV', display: 'Петров Пётр', program: 'Rosfinmonitoring' },
    ]);
    expect(parsed.skipped).toEqual(['line 5: "77070838" is not a valid inn', 'line 6: kind "passport" is not name, inn or btc_address']);
  });

  it('reads OFAC\'s sdn.csv: names, programs and XBT addresses from the remarks', () => {
    const sdn = [
      '36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ',
      `25001,"PETROV, Ivan","individual","CYBER2",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"DOB 01 Jan 1980; Digital Currency Address - XBT ${GENESIS}; alt. Digital Currency Address - XBT ${BECH32}; Digital Currency Address - ETH 0x901bb9583b24d97e995513c6778dc6888ab6870e; Digital Currency Address - XBT 1BadAddressXXXXXXXXXXXXXXXXXXXXXX."`,
      '\x1a',
    ].join('\r\n');
    const parsed = parseList('ofac_sdn_csv', sdn);
    expect(parsed.entries).toEqual([
      { kind: 'name', value: 'AEROCARIBBEAN AIRLINES', display: 'AEROCARIBBEAN AIRLINES (SDN 36)', program: 'OFAC SDN CUBA' },
      { kind: 'name', value: 'IVAN PETROV', display: 'PETROV, Ivan (SDN 25001)', program: 'OFAC SDN CYBER2' },
      { kind: 'btc_address', value: GENESIS, display: `${GENESIS} (PETROV, Ivan, SDN 25001)`, program: 'OFAC SDN CYBER2' },
      { kind: 'btc_address', value: BECH32, display: `${BECH32} (PETROV, Ivan, SDN 25001)`, program: 'OFAC SDN CYBER2' },
    ]);
    expect(parsed.skipped).toEqual(['SDN 25001: "1BadAddressXXXXXXXXXXXXXXXXXXXXXX" is not a valid bitcoin address']);
  });

  it('refuses a file that is not CSV', () => {
    expect(() => parseList('zalog_csv', 'kind,value\n"unterminated')).toThrow(SyntaxError);
  });
});
