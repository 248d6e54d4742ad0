import type { Currency } from '../money/money.js';
import type { TrialBalanceRow } from './ledger-repository.js';

/**
 * The trial balance in the sections a Russian bank's balance sheet keeps apart, pure: on-balance
 * accounts (assets, liabilities, equity, income, expense) and off-balance memo accounts (91xxx
 * against 99999: collateral held and pledged, debt written off). Each section balances by itself in
 * each currency, since a memo account is only ever posted against another memo account; a section
 * that does not is a broken book (a one-sided posting forced past the ledger's triggers), and the
 * report says so with the difference.
 */

export type Section = 'on_balance' | 'off_balance';

export const sectionOf = (accountClass: string): Section => (accountClass.startsWith('memo') ? 'off_balance' : 'on_balance');

export interface SectionTotals {
  readonly section: Section;
  readonly currency: Currency;
  readonly rows: readonly TrialBalanceRow[];
  readonly debits: bigint;
  readonly credits: bigint;
  /** debits - credits: zero in a book that balances. */
  readonly difference: bigint;
}

export function trialBalanceSections(rows: readonly TrialBalanceRow[]): SectionTotals[] {
  const sections = new Map<string, { section: Section; currency: Currency; rows: TrialBalanceRow[]; debits: bigint; credits: bigint }>();
  for (const row of rows) {
    const section = sectionOf(row.class);
    const key = `${section}:${row.currency}`;
    let entry = sections.get(key);
    if (entry === undefined) sections.set(key, entry = { section, currency: row.currency, rows: [], debits: 0n, credits: 0n });
    entry.rows.push(row);
    entry.debits += row.debits;
    entry.credits += row.credits;
  }
  const order = (s: { section: Section; currency: Currency }) => `${s.section === 'on_balance' ? 0 : 1}:${s.currency === 'RUB' ? 0 : 1}`;
  return [...sections.values()].sort((a, b) => (order(a) < order(b) ? -1 : 1)).map((s) => ({ ...s, difference: s.debits - s.credits }));
}

export const SECTION_TITLES: Record<Section, string> = {
  on_balance: 'On-balance accounts',
  off_balance: 'Off-balance (memo) accounts, 91xxx / 99999',
};
