import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEod } from '../loans/eod.js';
import { reconcileLoans } from '../loans/views.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { FIXED_PRODUCT, originate, seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';

/**
 * Machines as the second layer of a loan's cover (issue 20, item 3), through the API: counted at
 * origination up to the product's share, on the loan's risk row beside its BTC, zeroed by a
 * breach that raises the call in the revaluation's own transaction, and enforced on after a
 * default by four eyes, the proceeds repaying the loan once.
 */

let stub: HttpStub;
let t: TestApp;
let siteId: string;
let pledged: string; // 15 S21 XP with serials
let bare: string; // the world's 80 machines, no serials pledged
let ref: string;
const INDEX = { below19: '25.70', from19to25: '12.00', from25to38: '5.00', from38to68: '2.00', above68: '0.50', source: 'bank index after Luxor, Nov 2025' };
const today = new Date().toISOString().slice(0, 10);
const kop = (rub: string) => BigInt(rub.replace('.', ''));
const EQUIPMENT = { ...FIXED_PRODUCT, name: 'Fixed 23.5% with machines', collateral: { ...FIXED_PRODUCT.collateral, equipment: { maxSharePercent: '30', stressPercent: '50' } } };
const apply = (body: Record<string, unknown>) => t.as('officer').post('/api/v1/borrowers/B-1/loan-applications', { product: 'EQ', amount: '1000000.00', months: 12, repaymentType: 'annuity', collateral: '0.25000000', ...body });

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp();
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC, 80 RUB/USD
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
  expect((await t.as('admin').post('/api/v1/loan-products', { code: 'EQ', terms: EQUIPMENT })).statusCode).toBe(201);
  const sites = (await t.as('officer').get('/api/v1/borrowers/B-1/sites')).json().sites;
  siteId = sites[0].id;
  bare = sites[0].machines[0].id;
  const added = await t.as('officer').post(`/api/v1/borrowers/B-1/sites/${siteId}/machines`, { model: 'Antminer S21 XP', count: 15, serials: Array.from({ length: 15 }, (_, i) => `XP-${i}`), installedOn: '2025-05-01' });
  expect(added.statusCode, added.body).toBe(201);
  pledged = added.json().machinesId;
  expect((await t.as('risk').inject({ method: 'PUT', url: '/api/v1/equipment/price-index/2025-11-01', payload: INDEX })).statusCode).toBe(200);
}, 120_000);
afterAll(async () => {
  await t.close();
  await stub.close();
});

describe('machines counted at origination', () => {
  it('are refused before they are valued, under a product that takes none, and when they carry no serials or are not the borrower\'s', async () => {
    expect((await apply({ equipmentMachines: [pledged] })).json().error.code).toBe('equipment_not_valued');
    const revalued = await t.as('risk').post('/api/v1/borrowers/B-1/equipment/revalue', {});
    expect(revalued.statusCode, revalued.body).toBe(200);
    expect(revalued.json()).toMatchObject({ groups: 1, breaches: 0, loansChanged: 0 });
    const fix = await apply({ product: 'FIX', equipmentMachines: [pledged] });
    expect([fix.statusCode, fix.json().error.code]).toEqual([422, 'equipment_not_accepted']);
    expect((await apply({ equipmentMachines: [bare] })).json().error.code).toBe('invalid_equipment');
    const b2 = (await t.as('officer').get('/api/v1/borrowers/B-2/sites')).json().sites[0].machines[0].id;
    const foreign = await apply({ equipmentMachines: [b2] });
    expect([foreign.statusCode, foreign.json().error.message]).toEqual([422, `machine group ${b2} is not one of the borrower's`]);
    expect((await apply({ equipmentMachines: [pledged, pledged] })).json().error.code).toBe('invalid_equipment');
    expect((await t.test.db.query('SELECT 1 FROM loan_applications WHERE cardinality(equipment_machines) > 0')).length).toBe(0);
  });

  it('count up to the product\'s share of the cover, and the BTC asked is what they leave', async () => {
    const quote = await t.as('officer').get(`/api/v1/borrowers/B-1/loan-quote?product=EQ&amount=1000000.00&months=12&repaymentType=annuity&collateral=0.17500000&equipmentMachines=${pledged}`);
    expect(quote.statusCode, quote.body).toBe(200);
    const offer = quote.json();
    // Cover at 50%: 2,000,000.00; 30% of it is 600,000.00; the machines' weighted value is more.
    expect(offer.equipment).toMatchObject({ sharePercent: '30', cover: '2000000.00', cap: '600000.00', counted: '600000.00', groups: [{ machinesId: pledged, model: 'Antminer S21 XP', count: 15 }] });
    expect(kop(offer.equipment.weighted)).toBeGreaterThan(60_000_000n);
    expect(offer.equipment.capKopecks).toBeUndefined();
    // (2,000,000 - 600,000) / 8,000,000 = 0.175 BTC, against 0.25 without machines.
    expect(offer.collateralRequired).toBe('0.17500000');
    expect(offer.blockingReasons).toEqual([]);
    // The call with machines: (1,000,000 / 0.7 - 600,000) / 0.175 = 4,734,693.87 RUB/BTC.
    expect(offer.levels.marginCall).toBe('4734693.87');
    const without = (await t.as('officer').get('/api/v1/borrowers/B-1/loan-quote?product=EQ&amount=1000000.00&months=12&repaymentType=annuity&collateral=0.17500000')).json();
    expect(without).toMatchObject({ equipment: null, collateralRequired: '0.25000000' });
  });

  it('pledge the group at approval, fix the cap, and put the machines on the loan\'s risk row', async () => {
    ({ ref } = await originate(t, { product: 'EQ', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.17500000', equipmentMachines: [pledged] }));
    const [risk] = await t.test.db.query<{ equipment_kopecks: bigint; debt_kopecks: bigint; sats: bigint; state: string }>('SELECT r.* FROM loan_risk r JOIN loans l ON l.id = r.loan_id WHERE l.ref = $1', [ref]);
    expect(risk).toMatchObject({ equipment_kopecks: 60_000_000n, sats: 17_500_000n, state: 'healthy' });
    const collateral = (await t.as('borrower1').get(`/api/v1/loans/${ref}/collateral`)).json();
    expect(collateral).toMatchObject({ held: '0.17500000', equipment: { cap: '600000.00', counted: '600000.00', pledges: [{ machinesId: pledged, count: 15, releasedAt: null, valuation: { breach: null } }], enforcements: [] } });
    const view = (await t.as('borrower1').get('/api/v1/borrowers/B-1/risk')).json().loans.find((l: { loan: string }) => l.loan === ref);
    // 1,000,000.00 over 1,400,000.00 of BTC and 600,000.00 of machines: 50%.
    expect(view).toMatchObject({ equipment: '600000.00', equipmentKopecks: '60000000', ltvPercent: '50' });
    const list = (await t.as('officer').get('/api/v1/loans?borrower=B-1')).json();
    expect(JSON.stringify(list)).toContain('"equipment":"600000.00"');
  });

  it('are counted by the stress as the product says: half of them, here', async () => {
    // At -25% (6,000,000.00): 0.175 BTC is 1,050,000.00; the product keeps 50% of the machines,
    // 300,000.00: 1,000,000 / 1,350,000 = 74.1%, a margin call. (All of them: 60.6%, a warning;
    // none: 95.2%, liquidation.)
    const stress = (await t.as('risk').get('/api/v1/risk/stress?shock=-25%25')).json();
    expect(stress).toMatchObject({ shockedPrice: '6000000.00', loans: 1, moves: [{ from: 'healthy', to: 'margin_call', loans: 1 }] });
  });

  it('keep a pledged group as pledged: no second loan, no correction of its serials, no retirement', async () => {
    const again = await apply({ collateral: '1', equipmentMachines: [pledged] });
    expect([again.statusCode, again.json().error.message]).toEqual([409, `machine group ${pledged} already secures ${ref}`]);
    const corrected = await t.as('officer').inject({ method: 'PATCH', url: `/api/v1/borrowers/B-1/sites/${siteId}/machines/${pledged}`, payload: { serials: ['XP-0'], reason: 'typo' } });
    expect([corrected.statusCode, corrected.json().error.code]).toEqual([409, 'machines_pledged']);
    const retired = await t.as('officer').post(`/api/v1/borrowers/B-1/sites/${siteId}/machines/${pledged}/retire`, { retiredOn: today, reason: 'sold' });
    expect([retired.statusCode, retired.json().error.code]).toEqual([409, 'machines_pledged']);
  });
});

describe('a breach that zeroes the machines', () => {
  it('raises the call in the transaction that records the compliance event', async () => {
    await t.as('officer').post('/api/v1/borrowers/B-1/registry-records', { number: 'M-1', includedOn: '2025-01-10', status: 'excluded', excludedOn: today, exclusionReason: 'false data', checkedOn: today });
    const revalued = await t.as('risk').post('/api/v1/borrowers/B-1/equipment/revalue', {});
    expect(revalued.json()).toMatchObject({ breaches: 1, defaultEvents: 1, loansChanged: 1, loansMoved: 1 });
    // 1,000,000.00 over 1,400,000.00 of BTC alone: 71.43%, past the 70% call.
    const [moved] = await t.test.db.query<{ to_state: string; cause: string; equipment_kopecks: bigint; ltv_millionths: bigint; call_deadline: Date | null; xmin: string }>(
      `SELECT t.to_state, t.cause, t.equipment_kopecks, t.ltv_millionths, t.call_deadline, t.xmin::text FROM risk_transitions t JOIN loans l ON l.id = t.loan_id WHERE l.ref = $1`, [ref]);
    expect(moved).toMatchObject({ to_state: 'margin_call', cause: 'exposure', equipment_kopecks: 0n, ltv_millionths: 714_286n });
    expect(moved!.call_deadline).not.toBeNull();
    const [event] = await t.test.db.query<{ xmin: string }>(`SELECT xmin::text FROM compliance_events WHERE rule = 'equipment_collateral' ORDER BY id DESC LIMIT 1`);
    expect(event!.xmin).toBe(moved!.xmin); // one transaction wrote both
    const outbox = await t.test.db.query<{ topic: string }>(`SELECT o.topic FROM risk_outbox o JOIN loans l ON l.id = o.loan_id WHERE l.ref = $1`, [ref]);
    expect(outbox.map((o) => o.topic)).toContain('risk.margin_call');
    const [risk] = await t.test.db.query<{ equipment_kopecks: bigint; state: string; worsen_at: bigint }>('SELECT r.* FROM loan_risk r JOIN loans l ON l.id = r.loan_id WHERE l.ref = $1', [ref]);
    expect(risk).toMatchObject({ equipment_kopecks: 0n, state: 'margin_call' });
    // The view now asks the BTC the machines no longer cover.
    const view = (await t.as('borrower1').get('/api/v1/borrowers/B-1/risk')).json().loans.find((l: { loan: string }) => l.loan === ref);
    expect(view).toMatchObject({ equipment: '0.00', state: 'margin_call' });
    expect(kop(view.cure.toTarget.addBtc.replace('.', '') + '')).toBeGreaterThan(0n);
    // A second revaluation changes nothing: no new transition.
    expect((await t.as('risk').post('/api/v1/borrowers/B-1/equipment/revalue', {})).json()).toMatchObject({ loansChanged: 0, loansMoved: 0, defaultEvents: 0 });
  });
});

describe('enforcement after a default', () => {
  it('is refused while the loan is not in default, and then decided by four eyes', async () => {
    const early = await t.as('officer').post(`/api/v1/loans/${ref}/equipment-enforcements`, { reason: 'registry exclusion' });
    expect([early.statusCode, early.json().error.code]).toEqual([409, 'loan_not_in_default']);
    const schedule = (await t.as('officer').get(`/api/v1/loans/${ref}/schedule`)).json();
    await runEod(t.test.db, schedule.lines[0].dueDate, { now: new Date() });
    expect((await t.as('officer').get(`/api/v1/loans/${ref}`)).json().status).toBe('overdue');
    const proposal = await t.as('officer').post(`/api/v1/loans/${ref}/equipment-enforcements`, { reason: 'first instalment unpaid; borrower out of the miners\' registry' });
    expect(proposal.statusCode, proposal.body).toBe(202);
    expect((await t.as('officer2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {})).statusCode).toBe(403); // a risk officer approves
    const approved = await t.as('risk').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    const enforcementId = approved.json().result.enforcementId as string;
    const collateral = (await t.as('auditor').get(`/api/v1/loans/${ref}/collateral`)).json();
    expect(collateral.equipment).toMatchObject({ counted: '0.00', pledges: [{ machinesId: pledged, releasedWhy: 'enforced' }], enforcements: [{ id: enforcementId, proceeds: null }] });
    // The group is free of the pledge (the bank sells it), so it can be retired.
    expect((await t.as('officer').post(`/api/v1/borrowers/B-1/sites/${siteId}/machines/${pledged}/retire`, { retiredOn: today, reason: 'taken by the bank' })).statusCode).toBe(200);

    const before = (await t.as('officer').get(`/api/v1/loans/${ref}`)).json().balances.total;
    const proceeds = await t.as('treasury').post(`/api/v1/equipment-enforcements/${enforcementId}/proceeds`, { amount: '300000.00' });
    expect(proceeds.statusCode, proceeds.body).toBe(200);
    expect(proceeds.json()).toMatchObject({ reference: `ENF-${enforcementId}`, proceeds: '300000.00', replayed: false });
    const after = (await t.as('officer').get(`/api/v1/loans/${ref}`)).json().balances.total;
    // All of it went to the debt: what was due through the waterfall, the rest as early repayment
    // of principal (none left on the settlement account). The debt fell by that less the day's
    // interest, accrued first.
    const { repayment, prepayment } = proceeds.json();
    const settled = Object.values(repayment.allocated as Record<string, string>).reduce((sum, v) => sum + kop(v), 0n);
    expect(settled).toBeGreaterThan(0n);
    expect(settled + kop(prepayment.paid)).toBe(30_000_000n);
    expect(prepayment.allocated.principal).not.toBe('0.00');
    expect(kop(before) - kop(after)).toBeLessThanOrEqual(30_000_000n);
    expect(kop(before) - kop(after)).toBeGreaterThan(29_900_000n);
    // Recorded once: the same amount again is the first record; another amount is refused.
    const again = await t.as('treasury').post(`/api/v1/equipment-enforcements/${enforcementId}/proceeds`, { amount: '300000.00' });
    expect(again.json()).toMatchObject({ replayed: true });
    expect((await t.as('officer').get(`/api/v1/loans/${ref}`)).json().balances.total).toBe(after);
    const other = await t.as('treasury').post(`/api/v1/equipment-enforcements/${enforcementId}/proceeds`, { amount: '300000.01' });
    expect([other.statusCode, other.json().error.code]).toEqual([409, 'proceeds_already_recorded']);
    expect((await t.as('officer').post(`/api/v1/equipment-enforcements/${enforcementId}/proceeds`, { amount: '1.00' })).statusCode).toBe(403);
    expect(await reconcileLoans(t.test.db)).toEqual([]);
    const audit = await t.test.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE action LIKE 'equipment.%' ORDER BY id`);
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['equipment.enforce.propose', 'equipment.enforce', 'equipment.proceeds']));
  });
});

describe('a site\'s tariff that kills the margin', () => {
  it('zeroes the machines at the next revaluation and raises the call, with no default event', async () => {
    const site = (await t.as('officer').get('/api/v1/borrowers/B-2/sites')).json().sites[0].id;
    const added = await t.as('officer').post(`/api/v1/borrowers/B-2/sites/${site}/machines`, { model: 'Antminer S21 XP', count: 15, serials: Array.from({ length: 15 }, (_, i) => `B2-${i}`), installedOn: '2025-05-01' });
    expect((await t.as('risk').post('/api/v1/borrowers/B-2/equipment/revalue', {})).json()).toMatchObject({ groups: 1, breaches: 0 });
    const { ref: b2 } = await originate(t, { borrower: 'B-2', product: 'EQ', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.17500000', equipmentMachines: [added.json().machinesId] });
    // 30 RUB a kWh: an S21 XP earns less than its power costs from the first month.
    const tariff = await t.as('officer').post(`/api/v1/borrowers/B-2/sites/${site}/tariffs`, { rubPerKwh: '30.00', from: today, reason: 'the grid company\'s new tariff' });
    expect(tariff.statusCode, tariff.body).toBe(201);
    expect((await t.as('officer').post(`/api/v1/borrowers/B-2/sites/${site}/tariffs`, { rubPerKwh: '31.00', from: today, reason: 'again' })).json().error.code).toBe('tariff_exists');
    const revalued = await t.as('risk').post('/api/v1/borrowers/B-2/equipment/revalue', {});
    expect(revalued.json()).toMatchObject({ total: '0.00', breaches: 0, defaultEvents: 0, loansChanged: 1, loansMoved: 1 });
    const [risk] = await t.test.db.query<{ equipment_kopecks: bigint; state: string }>('SELECT r.* FROM loan_risk r JOIN loans l ON l.id = r.loan_id WHERE l.ref = $1', [b2]);
    expect(risk).toMatchObject({ equipment_kopecks: 0n, state: 'margin_call' });
    const valuation = (await t.as('auditor').get('/api/v1/borrowers/B-2/equipment')).json().valuations.find((v: { machinesId: string }) => v.machinesId === added.json().machinesId);
    expect(valuation).toMatchObject({ method: 'cash_flow', cashFlowValue: '0.00', value: '0.00', breach: null });
  });
});
