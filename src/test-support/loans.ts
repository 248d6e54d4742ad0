import { expect } from 'vitest';
import { withAccountKey } from '../borrowers/identifiers.js';
import { DEFAULT_PRODUCT, type ProductTerms } from '../loans/product.js';
import { fetchMempoolSnapshot, saveSnapshots } from '../underwriting/network-data.js';
import { latestDuePeriod, reportDueOn } from '../compliance/rules.js';
import type { TestApp } from './app.js';
import type { HttpStub } from './http-stub.js';

/**
 * A world to lend in, built through the API the way a bank would: a fixed-rate product (FIX,
 * 23.5%) and the default floating one (FLOAT, key rate + 7), a company borrower B-1 with bank
 * details, a farm, a registry record, attestations and an approving underwriting report, and the
 * network data it rests on. The price service must already have a price (fixedPriceService).
 * The bank's open day is set by recording the previous day as closed (what end of day does).
 */

/** A settlement account at Sberbank (BIK 044525225) that passes the control key: the one digit that makes it valid. */
export function validAccount(body19: string): string {
  return withAccountKey('044525225', body19);
}

// Their times are a few minutes ago: underwriting decides only on fresh network data.
const newestBlockAt = Math.floor(Date.now() / 1000) - 600;
const blocks = [
  { id: '00…b', height: 922_501, timestamp: newestBlockAt, difficulty: 155_000_000_000_000.4, tx_count: 3000, extras: { totalFees: 2_100_000, reward: 314_600_000 } },
  { id: '00…a', height: 922_500, timestamp: newestBlockAt - 600, difficulty: 155_000_000_000_000.4, tx_count: 2800, extras: { totalFees: 1_900_000, reward: 314_400_000 } },
];

export const FIXED_PRODUCT: ProductTerms = { ...DEFAULT_PRODUCT, name: 'Fixed 23.5%', rate: { kind: 'fixed', percent: '23.5' } };

export async function setOpenDay(t: TestApp, day: string): Promise<void> {
  const closed = new Date(`${day}T00:00:00Z`);
  closed.setUTCDate(closed.getUTCDate() - 1);
  await t.test.db.query('INSERT INTO eod_days (business_date, started_at, finished_at) VALUES ($1, now(), now())', [closed.toISOString().slice(0, 10)]);
}

export async function seedLendingWorld(t: TestApp, stub: HttpStub, options: { openDay: string; borrowers?: readonly string[]; tier1?: string }): Promise<void> {
  stub.set('/mempool/api/v1/blocks', { body: JSON.stringify(blocks) });
  await saveSnapshots(t.test.db, [await fetchMempoolSnapshot({ baseUrl: stub.url('/mempool') })]);
  expect((await t.as('admin').post('/api/v1/loan-products', { code: 'FIX', terms: FIXED_PRODUCT })).statusCode).toBe(201);
  expect((await t.as('admin').post('/api/v1/loan-products', { code: 'FLOAT', terms: DEFAULT_PRODUCT })).statusCode).toBe(201);
  const officer = t.as('officer');
  const refs = options.borrowers ?? ['B-1'];
  const companies = [
    { inn: '7707083893', ogrn: '1027700132195', kpp: '773601001' },
    { inn: '7736050003', ogrn: '1027700070518', kpp: '773601001' },
  ];
  for (const [index, ref] of refs.entries()) {
    const ids = companies[index]!;
    const created = await officer.post('/api/v1/borrowers', { ref, kind: 'company', name: `Farm ${ref}`, ...ids, regionCode: '77', address: 'Moscow', bik: '044525225', account: validAccount(`407028103800000000${index + 1}`) });
    expect(created.statusCode, created.body).toBe(201);
    const site = await officer.post(`/api/v1/borrowers/${ref}/sites`, { name: 'Hangar', regionCode: '77', municipality: 'Moscow', powerSource: 'own', capacityKw: 400, tariffRubPerKwh: '3.00', tariffFrom: '2025-01-01' });
    expect((await officer.post(`/api/v1/borrowers/${ref}/sites/${site.json().siteId}/machines`, { model: 'Antminer S21 XP', count: 80 })).statusCode).toBe(201);
    expect((await officer.post(`/api/v1/borrowers/${ref}/registry-records`, { number: `M-${index + 1}`, includedOn: '2025-01-10', status: 'included', checkedOn: new Date().toISOString().slice(0, 10) })).statusCode).toBe(201);
    for (const kind of ['no_economic_crime_record', 'owns_pledged_btc', 'no_tax_debt']) await officer.post(`/api/v1/borrowers/${ref}/attestations`, { kind, value: true });
    await fileLatestFnsReport(t, ref);
    const report = await officer.post(`/api/v1/borrowers/${ref}/underwriting`, { amount: '1000000.00', months: 12, annualRatePercent: '23.5', repayment: 'annuity' });
    expect(report.statusCode, report.body).toBe(201);
    expect(report.json().recommendation, JSON.stringify(report.json().reasons)).toBe('approve');
  }
  await setOpenDay(t, options.openDay);
  await recordCapital(t, options.tier1 ?? '100000000000.00');
}

/** The bank's Tier 1 capital from 2025-01-01, through four eyes (risk proposes, risk2 approves). */
export async function recordCapital(t: TestApp, tier1: string, effectiveFrom = '2025-01-01'): Promise<void> {
  const proposal = await t.as('risk').post('/api/v1/exposure/capital', { effectiveFrom, tier1, legalBasis: 'Form 0409123 as of the date', reason: 'test bank' });
  expect(proposal.statusCode, proposal.body).toBe(202);
  const approved = await t.as('risk2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
  expect(approved.statusCode, approved.body).toBe(200);
}

export interface Originated { readonly ref: string; readonly offer: Record<string, unknown> }

/** Apply, approve by four eyes, deposit and confirm the collateral, disburse: the loan's ref. */
export async function originate(t: TestApp, options: { borrower?: string; product?: string; amount: string; months: number; type: 'annuity' | 'bullet' | 'interest_only'; collateral: string; equipmentMachines?: string[] }): Promise<Originated> {
  const borrower = options.borrower ?? 'B-1';
  const applied = await t.as('officer').post(`/api/v1/borrowers/${borrower}/loan-applications`, {
    product: options.product ?? 'FIX', amount: options.amount, months: options.months, repaymentType: options.type, collateral: options.collateral,
    ...(options.equipmentMachines === undefined ? {} : { equipmentMachines: options.equipmentMachines }),
  });
  expect(applied.statusCode, applied.body).toBe(201);
  const { applicationId, offer } = applied.json();
  expect(offer.blockingReasons).toEqual([]);
  const proposal = await t.as('officer').post(`/api/v1/loan-applications/${applicationId}/approval`, { offerId: offer.offerId });
  expect(proposal.statusCode, proposal.body).toBe(202);
  const approved = await t.as('officer2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
  expect(approved.statusCode, approved.body).toBe(200);
  const ref = approved.json().result.loan as string;
  const declared = await t.as('treasury').post(`/api/v1/loans/${ref}/collateral`, { btc: options.collateral });
  expect(declared.statusCode, declared.body).toBe(201);
  const confirm = await t.as('treasury').post(`/api/v1/collateral-positions/${declared.json().positionId}/confirmation`, { custodianRef: `CUST-${ref}` });
  expect(confirm.statusCode, confirm.body).toBe(202);
  const confirmed = await t.as('treasury2').post(`/api/v1/approvals/${confirm.json().id}/approve`, {});
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  const disbursed = await t.as('officer').post(`/api/v1/loans/${ref}/disbursement`, {});
  expect(disbursed.statusCode, disbursed.body).toBe(201);
  return { ref, offer };
}

/** Files the borrower's monthly FNS report that is due by today (the compliance rule asks for the latest). */
export async function fileLatestFnsReport(t: TestApp, ref: string): Promise<void> {
  const period = latestDuePeriod(new Date().toISOString().slice(0, 10));
  const filed = await t.as('officer').post(`/api/v1/borrowers/${ref}/fns-reports`, { period, filedOn: reportDueOn(period), receipt: `FNS-${ref}-${period}` });
  expect([201, 409]).toContain(filed.statusCode);
}
