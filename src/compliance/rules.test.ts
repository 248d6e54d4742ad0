import { describe, expect, it } from 'vitest';
import { attestationsRule, bannedAreaRule, bansOn, householdEnergyRule, latestDuePeriod, monthlyKwh, monthlyReportRule, registryRule, reportDueOn, screeningRule, type BanEntry } from './rules.js';

/** The rules at the edges the brief names (../shared/BRIEF.md, section 5). */

const S21_XP = { powerWatts: 3_645n };
const S21 = { powerWatts: 3_500n };

describe('the 6,000 kWh a month limit for individuals', () => {
  it('passes two S21 XP and fails three S21', () => {
    // 2 x 3,645 W x 24 h x 31 days = 5,423.76 kWh; 3 x 3,500 W x 24 x 31 = 7,812 kWh.
    expect(monthlyKwh([{ ...S21_XP, count: 2n }])).toBe(5_424n);
    expect(householdEnergyRule('individual', [{ ...S21_XP, count: 2n }]).outcome).toBe('pass');
    const three = householdEnergyRule('individual', [{ ...S21, count: 3n }]);
    expect(three.outcome).toBe('fail');
    expect(three.reason).toMatch(/7812 kWh a month/);
  });
  it('uses metered consumption when it is higher than the nameplate', () => {
    expect(householdEnergyRule('individual', [{ ...S21_XP, count: 2n }], [5_100n, 6_001n]).outcome).toBe('fail');
  });
  it('does not apply to registered miners', () => {
    expect(householdEnergyRule('company', [{ ...S21, count: 300n }]).outcome).toBe('not_applicable');
  });
});

// A test table shaped like the decrees: year-round regions, a seasonal area, and southern Irkutsk
// region banned completely from 7 April 2025.
const table: BanEntry[] = [
  { id: 'dagestan', regionCode: '05', municipalities: null, kind: 'year_round', effectiveFrom: '2025-01-01', effectiveTo: '2031-03-15', legalBasis: 'decree 1869 of 23.12.2024' },
  { id: 'irkutsk-seasonal', regionCode: '38', municipalities: ['Bodaybinsky district'], kind: 'seasonal', seasonStart: '11-15', seasonEnd: '03-15', effectiveFrom: '2025-01-01', effectiveTo: '2031-03-15', legalBasis: 'decree 1869 of 23.12.2024' },
  { id: 'irkutsk-south', regionCode: '38', municipalities: ['Irkutsky district'], kind: 'year_round', effectiveFrom: '2025-04-07', effectiveTo: '2031-03-15', legalBasis: 'decree amending 1869, from 07.04.2025' },
];

describe('banned areas', () => {
  const seasonal = { siteId: 'north', regionCode: '38', municipality: 'Bodaybinsky district' };
  const south = { siteId: 'south', regionCode: '38', municipality: 'Irkutsky district' };
  const dagestan = { siteId: 'makhachkala', regionCode: '05', municipality: 'Makhachkala' };

  it('bans a seasonal area on 1 December and allows it on 1 May', () => {
    expect(bannedAreaRule(table, [seasonal], '2025-12-01')).toMatchObject({ outcome: 'fail', reason: expect.stringContaining('seasonally (11-15 to 03-15)') });
    expect(bannedAreaRule(table, [seasonal], '2026-05-01').outcome).toBe('pass');
    expect(bansOn(table, seasonal, '2026-03-15')).toHaveLength(1);
    expect(bansOn(table, seasonal, '2026-03-16')).toHaveLength(0);
  });
  it('bans southern Irkutsk region completely from 7 April 2025, not before', () => {
    expect(bannedAreaRule(table, [south], '2025-04-06').outcome).toBe('pass');
    expect(bannedAreaRule(table, [south], '2025-04-07').outcome).toBe('fail');
    expect(bannedAreaRule(table, [south], '2025-07-01').outcome).toBe('fail');
  });
  it('bans a year-round region on any day within the decree\'s dates', () => {
    expect(bannedAreaRule(table, [dagestan], '2024-12-31').outcome).toBe('pass');
    expect(bannedAreaRule(table, [dagestan], '2027-08-01')).toMatchObject({ outcome: 'fail', legalBasis: 'decree 1869 of 23.12.2024' });
    expect(bannedAreaRule(table, [dagestan], '2031-03-16').outcome).toBe('pass');
  });
  it('names the first banned site and counts the rest', () => {
    expect(bannedAreaRule(table, [dagestan, south], '2026-01-10').reason).toMatch(/site makhachkala .* and 1 more/);
  });
});

describe('the miners\' registry', () => {
  const record = { number: 'FNS-123', includedOn: '2025-02-01', status: 'included' as const, checkedOn: '2026-11-01' };
  it('requires an included, recently checked record of companies and entrepreneurs', () => {
    expect(registryRule('company', record, '2026-11-24').outcome).toBe('pass');
    expect(registryRule('entrepreneur', null, '2026-11-24').outcome).toBe('fail');
    expect(registryRule('company', { ...record, status: 'excluded' }, '2026-11-24').reason).toMatch(/default event/);
    expect(registryRule('company', record, '2026-12-03').reason).toMatch(/checked 32 days ago/);
    expect(registryRule('individual', null, '2026-11-24').outcome).toBe('not_applicable');
    expect(registryRule('company', { status: 'not_found', checkedOn: '2026-11-20' }, '2026-11-24')).toMatchObject({ outcome: 'fail', reason: 'not in the FNS miners\' registry when checked on 2026-11-20' });
  });
});

describe('monthly FNS reports', () => {
  it('expects last month\'s report after the 20th, the one before until then', () => {
    expect(reportDueOn('2026-10')).toBe('2026-11-20');
    expect(latestDuePeriod('2026-11-20')).toBe('2026-09');
    expect(latestDuePeriod('2026-11-21')).toBe('2026-10');
    expect(latestDuePeriod('2026-01-25')).toBe('2025-12');
    const reports = [{ period: '2026-09', filedOn: '2026-10-15', receipt: 'R-9' }];
    expect(monthlyReportRule(reports, '2026-11-20', '2025-01-01').outcome).toBe('pass');
    expect(monthlyReportRule(reports, '2026-11-21', '2025-01-01')).toMatchObject({ outcome: 'fail', reason: 'no FNS report for 2026-10, due by 2026-11-20' });
    expect(monthlyReportRule([], '2026-11-21', '2026-11-02').outcome).toBe('not_applicable');
    expect(monthlyReportRule([{ period: '2026-10', filedOn: '2026-11-22', receipt: 'R-10' }], '2026-11-25', '2025-01-01').reason).toMatch(/after its due date/);
  });
});

describe('screening', () => {
  it('blocks on an uncleared hit', () => {
    expect(screeningRule([]).outcome).toBe('pass');
    expect(screeningRule([{ list: 'bank-sanctions-2026-11', matched: 'bc1qexample', field: 'btc_address', clearedBy: null }]).reason).toMatch(/btc_address "bc1qexample"/);
    expect(screeningRule([{ list: 'l', matched: 'x', field: 'name', clearedBy: 'officer,risk' }]).outcome).toBe('pass');
  });
});

describe('attestations', () => {
  it('asks individuals for two attestations and registered miners for three; the latest of a kind counts', () => {
    const yes = (kind: 'no_economic_crime_record' | 'owns_pledged_btc' | 'no_tax_debt', recordedOn = '2026-11-01') => ({ kind, value: true, recordedOn });
    expect(attestationsRule('individual', [yes('owns_pledged_btc'), yes('no_tax_debt')]).outcome).toBe('pass');
    expect(attestationsRule('company', [yes('owns_pledged_btc'), yes('no_tax_debt')])).toMatchObject({ outcome: 'fail', reason: 'not attested yet: no_economic_crime_record' });
    const withdrawn = [yes('owns_pledged_btc'), yes('no_tax_debt'), yes('no_economic_crime_record'), { kind: 'no_tax_debt' as const, value: false, recordedOn: '2026-11-20' }];
    expect(attestationsRule('entrepreneur', withdrawn)).toMatchObject({ outcome: 'fail', reason: 'attested against: no_tax_debt' });
    expect(attestationsRule('entrepreneur', [...withdrawn, yes('no_tax_debt', '2026-11-21')]).outcome).toBe('pass');
  });
});
