import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankCalendar } from '../calendar/load.js';
import { trialBalance } from '../ledger/ledger-repository.js';
import { rateFromPercent } from '../loans/interest.js';
import { moscowDay } from '../loans/loan-store.js';
import { reconcileLoans } from '../loans/views.js';
import { latestCycle } from '../prices/price-repository.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { originate, seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';
import { runLiquidations, type LiquidationOptions } from './liquidations.js';
import { RiskEngine } from './risk-engine.js';
import { PgRiskStore } from './risk-store.js';
import { otcVenue, simulatedVenue } from './venues.js';

/**
 * Liquidation on the database through the API's loans: a partial sale at the simulated venue that
 * restores the target LTV, the pause while the price is degraded, the book-wide cap, the OTC desk's
 * fills under four eyes (none below the floor), a full sale that leaves a shortfall, provisioned and
 * written off under four eyes; after each, the ledger balances and agrees with the loans.
 */

let stub: HttpStub;
let t: TestApp;
let engine: RiskEngine;
const calendar = await bankCalendar();
const BTC = 100_000_000n;

/** The legal channel sales go through here: the experimental legal regime, seeded as allowed from 2024-09-01. */
const DESK = { channel: 'experimental_regime', venue: 'OTC desk', counterparty: 'Gulf Digital OTC', jurisdiction: 'AE' } as const;
const options = (over: Partial<LiquidationOptions> = {}): LiquidationOptions => ({ venue: simulatedVenue(), capSats: 10n * BTC, staleAfterSeconds: 3_600, calendar, now: () => new Date(), ...over });

/** A live price cycle as the price service would store it, handed to the engine. */
async function publish(price: bigint, status: 'normal' | 'degraded' = 'normal') {
  await t.test.db.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, reasons, inputs) VALUES ('live', now(), $1, $1, $2, $3, '[]')`,
    [price, status, status === 'degraded' ? ['jump'] : []]);
  const cycle = await latestCycle(t.test.db, 'live');
  return engine.onCycle(cycle!);
}
const state = async (ref: string) => (await t.test.db.query<{ state: string; debt_kopecks: bigint; sats: bigint }>('SELECT r.state, r.debt_kopecks, r.sats FROM loan_risk r JOIN loans l ON l.id = r.loan_id WHERE l.ref = $1', [ref]))[0]!;
const liquidationsOf = async (ref: string) => t.test.db.query<{ id: bigint; status: string; kind: string; reason: string; planned_sats: bigint; floor_kopecks: bigint; reference_kopecks: bigint; report: Record<string, unknown> | null }>(
  'SELECT q.* FROM liquidations q JOIN loans l ON l.id = q.loan_id WHERE l.ref = $1 ORDER BY q.id', [ref]);
async function booksBalance() {
  expect(await reconcileLoans(t.test.db)).toEqual([]);
  const trial = await trialBalance(t.test.db, undefined);
  for (const total of Object.values(trial.totals)) expect(total.debits).toBe(total.credits);
}

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp();
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
  engine = new RiskEngine(t.test.db, new PgRiskStore(t.test.db, calendar));
  await engine.rebuild();
}, 60_000);
afterAll(async () => {
  await t.close();
  await stub.close();
});

describe('a partial liquidation at the simulated venue', () => {
  let ref: string;
  it('sells just enough to restore the target LTV, never below the floor, books it and tells the borrower', async () => {
    ({ ref } = await originate(t, { amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25000000' }));
    // 1,000,000 against 0.25 BTC: 80% (liquidation) at 5,000,000; at 4,705,882.35 it is 85%.
    const tick = await publish(470_588_235n);
    expect(tick?.moves.map((m) => m.to)).toEqual(['liquidation']);
    const before = await state(ref);
    const run = await runLiquidations(t.test.db, options({ saleChannel: { ...DESK, venue: 'simulated market', counterparty: 'simulated market', jurisdiction: 'RU' } }));
    expect(run).toMatchObject({ queued: 1, admitted: 1, sold: 1, booked: 1 });
    const [liq] = await liquidationsOf(ref);
    expect(liq).toMatchObject({ status: 'booked', kind: 'partial', reason: 'target_ltv', reference_kopecks: 470_588_235n, floor_kopecks: 447_058_824n });
    const report = liq!.report!;
    const fills = report.fills as Array<{ price: string; btc: string }>;
    expect(fills.length).toBeGreaterThan(0);
    for (const f of fills) expect(BigInt(f.price.replace('.', '')) >= 447_058_824n).toBe(true);
    expect(report).toMatchObject({ loan: ref, venue: 'simulated', referencePrice: '4705882.35', floorPrice: '4470588.24', ltvBeforePercent: '85.0001', loanStatus: 'active', shortfallRub: '0.00' });
    // At the target or a little under it: the plan allowed for the slippage (1%, the default).
    const after = rateFromPercent(report.ltvAfterPercent as string)!;
    expect(after, report.ltvAfterPercent as string).toBeLessThanOrEqual(500_000n);
    expect(after).toBeGreaterThan(470_000n);
    const now = await state(ref);
    expect(now.state).toBe('healthy');
    expect(now.sats).toBe(before.sats - liq!.planned_sats);
    expect(now.debt_kopecks < before.debt_kopecks).toBe(true);
    const [transition] = await t.test.db.query<{ id: bigint; from_state: string; to_state: string; cause: string; report: unknown }>(
      `SELECT t.* FROM risk_transitions t JOIN loans l ON l.id = t.loan_id WHERE l.ref = $1 ORDER BY t.id DESC LIMIT 1`, [ref]);
    expect(transition).toMatchObject({ from_state: 'liquidation', to_state: 'healthy', cause: 'liquidation' });
    expect(transition!.report).toEqual(report);
    const outbox = await t.test.db.query<{ topic: string }>('SELECT topic FROM risk_outbox WHERE transition_id = $1', [transition!.id]);
    expect(outbox.map((o) => o.topic)).toEqual(['risk.liquidated', 'risk.liquidated']);
    // A sold position was split: the unsold part is a new pledged position born of the liquidation.
    const positions = await t.test.db.query<{ state: string; sats: bigint; liquidation_id: bigint | null }>(
      'SELECT p.state, p.sats, p.liquidation_id FROM collateral_positions p JOIN loans l ON l.id = p.loan_id WHERE l.ref = $1 ORDER BY p.id', [ref]);
    expect(positions).toEqual([{ state: 'liquidated', sats: 25_000_000n, liquidation_id: liq!.id }, { state: 'pledged', sats: now.sats, liquidation_id: liq!.id }]);
    await booksBalance();
  });

  it('runs again to nothing; the engine re-decides the loan at the last price and finds it healthy', async () => {
    expect(await runLiquidations(t.test.db, options())).toEqual({ queued: 0, admitted: 0, cancelled: 0, sold: 0, booked: 0 });
    expect((await engine.catchUp(new Date())).moves).toBe(0);
    expect((await state(ref)).state).toBe('healthy');
  });

  it('the borrower reads its execution report; another borrower cannot', async () => {
    const mine = await t.as('borrower1').get('/api/v1/borrowers/B-1/liquidations');
    expect(mine.statusCode).toBe(200);
    expect(mine.json().liquidations[0]).toMatchObject({ loan: ref, status: 'booked', kind: 'partial', report: { loan: ref } });
    expect((await t.as('borrower2').get('/api/v1/borrowers/B-1/liquidations')).statusCode).toBe(404);
    const book = await t.as('risk').get('/api/v1/liquidations?status=booked');
    expect(book.json()).toMatchObject({ inFlightBtc: '0.00000000' });
  });
});

describe('pause, cap and the OTC desk', () => {
  const refs: string[] = [];
  it('nothing is admitted while the price is degraded; the queue waits', async () => {
    await publish(800_000_000n); // back to 8,000,000
    for (const amount of ['990000.00', '1000000.00']) refs.push((await originate(t, { amount, months: 12, type: 'annuity', collateral: '0.25000000' })).ref);
    await publish(460_000_000n);
    expect((await state(refs[0]!)).state).toBe('liquidation');
    expect((await state(refs[1]!)).state).toBe('liquidation');
    await publish(460_000_000n, 'degraded');
    const paused = await runLiquidations(t.test.db, options({ venue: otcVenue, capSats: 15_000_000n }));
    expect(paused).toMatchObject({ queued: 2, admitted: 0, sold: 0 });
    expect(paused.paused).toMatch(/degraded/);
  });

  it('the cap admits the worst LTV first and holds the next while the first is being sold', async () => {
    await publish(460_000_000n);
    const run = await runLiquidations(t.test.db, options({ venue: otcVenue, capSats: 15_000_000n }));
    expect(run).toMatchObject({ admitted: 1, sold: 0, booked: 0 });
    const [worse] = await liquidationsOf(refs[1]!); // more debt for the same collateral: the worse LTV
    expect(worse).toMatchObject({ status: 'selling' });
    expect((await liquidationsOf(refs[0]!))[0]).toMatchObject({ status: 'queued' });
    expect((await runLiquidations(t.test.db, options({ venue: otcVenue, capSats: 15_000_000n }))).admitted).toBe(0);
  });

  it('treasury records the desk\'s fills under four eyes: none below the floor, booked when done', async () => {
    const [liq] = await liquidationsOf(refs[1]!);
    const floor = liq!.floor_kopecks;
    const low = await t.as('treasury').post(`/api/v1/liquidations/${liq!.id}/fills`, { fills: [{ venueFillId: 'OTC-1', btc: '0.01000000', price: ((floor - 1n) / 100n).toString() + '.' + ((floor - 1n) % 100n).toString().padStart(2, '0'), feeRub: '0.00' }], done: false, channel: DESK });
    expect(low.statusCode, low.body).toBe(422);
    expect(low.json().error.code).toBe('below_floor');
    expect((await t.as('officer').post(`/api/v1/liquidations/${liq!.id}/fills`, { fills: [], done: true })).statusCode).toBe(403);
    const btc = (liq!.planned_sats / BTC).toString() + '.' + (liq!.planned_sats % BTC).toString().padStart(8, '0');
    const proposal = await t.as('treasury').post(`/api/v1/liquidations/${liq!.id}/fills`, { fills: [{ venueFillId: 'OTC-1', btc, price: '4500000.00', feeRub: '150.00' }], done: true, channel: DESK });
    expect(proposal.statusCode, proposal.body).toBe(202);
    expect((await t.as('treasury').post(`/api/v1/approvals/${proposal.json().id}/approve`, {})).statusCode).toBe(403); // not the proposer
    const approved = await t.as('treasury2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json().result).toMatchObject({ booked: true, recorded: 1 });
    const [booked] = await liquidationsOf(refs[1]!);
    expect(booked!.report).toMatchObject({ venue: 'otc', fills: [{ venueFillId: 'OTC-1', price: '4500000.00', feeRub: '150.00' }], venueFeesRub: '150.00' });
    // The desk sold 2.2% under the reference, past the plan's 1% allowance: the loan is left above its
    // target, so the next sale is planned at once and the loan stays in liquidation (item 13).
    expect(rateFromPercent(booked!.report!.ltvAfterPercent as string)! > 500_000n).toBe(true);
    expect(booked!.report!.nextSale).toMatch(/^queued: the sale left the loan above its target LTV of 50%/);
    expect((await liquidationsOf(refs[1]!))[1]).toMatchObject({ status: 'queued' });
    expect((await state(refs[1]!)).state).toBe('liquidation');
    await booksBalance();
    // The cap is free again: the other loan is admitted (worst LTV first); the follow-up waits for
    // room under the cap, and takes it when the cap allows.
    expect((await runLiquidations(t.test.db, options({ venue: otcVenue, capSats: 15_000_000n }))).admitted).toBe(1);
    expect((await liquidationsOf(refs[0]!))[0]).toMatchObject({ status: 'selling' });
    expect((await runLiquidations(t.test.db, options({ venue: otcVenue, capSats: 100n * BTC }))).admitted).toBe(1);
    expect((await liquidationsOf(refs[1]!))[1]).toMatchObject({ status: 'selling', kind: 'partial' });
  });
});

describe('a sale end of day holds', () => {
  it('stays sold and is reported while a day is half closed; the next run books it', async () => {
    await publish(800_000_000n);
    const { ref } = await originate(t, { amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25000000' });
    await publish(460_000_000n);
    // End of day starts on the open day right after the sale commits, before it is booked.
    const run = await runLiquidations(t.test.db, options({ capSats: 100n * BTC, onSold: async () => { await t.test.db.query(`INSERT INTO eod_days (business_date, started_at) VALUES ('2025-03-17', now())`); } }));
    expect(run).toMatchObject({ sold: 1, booked: 0, held: [{ code: 'eod_in_progress' }] });
    const [liq] = await liquidationsOf(ref);
    expect(liq!.status).toBe('sold');
    await t.test.db.query(`DELETE FROM eod_days WHERE business_date = '2025-03-17'`);
    expect(await runLiquidations(t.test.db, options({ capSats: 100n * BTC }))).toMatchObject({ booked: 1 });
    expect((await liquidationsOf(ref))[0]!.status).toBe('booked');
    await booksBalance();
  });
});

describe('a full sale with a shortfall, provisioned and written off under four eyes', () => {
  let ref: string;
  it('sells everything when the collateral does not cover the debt, provisions the rest, keeps the loan in liquidation', async () => {
    await publish(800_000_000n);
    ({ ref } = await originate(t, { borrower: 'B-2', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25000000' }));
    await publish(300_000_000n); // 0.25 BTC at 3,000,000 = 750,000 against 1,000,000 owed
    const run = await runLiquidations(t.test.db, options({ capSats: 100n * BTC }));
    expect(run.booked).toBeGreaterThanOrEqual(1);
    const [liq] = await liquidationsOf(ref);
    expect(liq).toMatchObject({ status: 'booked', kind: 'full', reason: 'not_enough_collateral', planned_sats: 25_000_000n });
    expect(liq!.report).toMatchObject({ collateralLeftBtc: '0.00000000', loanStatus: 'active' });
    const shortfall = liq!.report!.shortfallRub as string;
    expect(BigInt(shortfall.replace('.', '')) > 25_000_000n).toBe(true);
    // The proceeds fell short of the debt: the bank's fee comes after the debt, so it takes nothing
    // and every rouble the sale raised went to the debt.
    expect(liq!.report).toMatchObject({ liquidationFeeRub: '0.00' });
    const allocated = Object.values(liq!.report!.allocated as Record<string, string>).reduce((sum, v) => sum + BigInt(v.replace('.', '')), 0n);
    expect(allocated).toBe(BigInt((liq!.report!.grossRub as string).replace('.', '')) - BigInt((liq!.report!.venueFeesRub as string).replace('.', '')));
    expect((await state(ref)).state).toBe('liquidation');
    // Nothing left to sell: no new liquidation is queued for it.
    expect((await runLiquidations(t.test.db, options({ capSats: 100n * BTC }))).queued).toBe(0);
    const [provision] = await t.test.db.query<{ balance: bigint }>(
      `SELECT -sum(p.amount)::int8 AS balance FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE a.chart_code = 'loss_provisions' AND a.subledger_key = $1`, [ref]);
    expect(provision!.balance).toBe(BigInt(shortfall.replace('.', '')));
    await booksBalance();
  });

  it('a risk officer proposes the write-off, a second approves: the debt leaves the loan for the memo accounts, the loan closes', async () => {
    expect((await t.as('officer').post(`/api/v1/loans/${ref}/write-off`, { reason: 'shortfall after liquidation' })).statusCode).toBe(403);
    const proposal = await t.as('risk').post(`/api/v1/loans/${ref}/write-off`, { reason: 'shortfall after liquidation' });
    expect(proposal.statusCode, proposal.body).toBe(202);
    const approved = await t.as('risk2').post(`/api/v1/approvals/${proposal.json().id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json().result).toMatchObject({ loan: ref, status: 'closed' });
    const [memo] = await t.test.db.query<{ balance: bigint }>(
      `SELECT sum(p.amount)::int8 AS balance FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE a.chart_code = 'written_off_loans' AND a.subledger_key = $1`, [ref]);
    expect(memo!.balance).toBe(BigInt((approved.json().result.writtenOff as string).replace('.', '')));
    const again = await t.as('risk').post(`/api/v1/loans/${ref}/write-off`, { reason: 'again' });
    expect(again.statusCode).toBe(409);
    await booksBalance();
  });

  it('a loan with collateral left cannot be written off', async () => {
    await publish(800_000_000n);
    const { ref: other } = await originate(t, { borrower: 'B-2', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.50000000' });
    const refused = await t.as('risk').post(`/api/v1/loans/${other}/write-off`, { reason: 'no' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('collateral_remaining');
  });
});

describe('the sale\'s legal channel', () => {
  let id: bigint;
  const fill = (venueFillId: string) => ({ venueFillId, btc: '0.01000000', price: '4600000.00', feeRub: '10.00' });

  it('an automatic venue does not sell through a channel the bank\'s rules do not allow that day: the liquidation waits, refused with the reason', async () => {
    const { ref } = await originate(t, { amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25000000' });
    await publish(470_588_235n);
    expect((await state(ref)).state).toBe('liquidation');
    const stop = await t.as('risk').post('/api/v1/sale-channels', { effectiveFrom: '2025-01-01', channel: 'experimental_regime', allowed: false, legalBasis: 'Bank of Russia order (test)', reason: 'the regime is suspended' });
    expect(stop.statusCode, stop.body).toBe(202);
    expect((await t.as('risk2').post(`/api/v1/approvals/${stop.json().id}/approve`, {})).statusCode).toBe(200);
    expect((await t.as('auditor').get('/api/v1/sale-channels')).json().channels.find((c: { channel: string }) => c.channel === 'experimental_regime')).toMatchObject({ allowed: false });
    const run = await runLiquidations(t.test.db, options({ capSats: 100n * BTC, saleChannel: DESK }));
    expect(run.admitted).toBe(0);
    const [queued] = await liquidationsOf(ref);
    expect(queued).toMatchObject({ status: 'queued' });
    id = queued!.id;
    expect(run.refused?.find((r) => r.liquidation === id.toString())).toMatchObject({ code: 'sale_channel_not_allowed', message: expect.stringContaining('not allowed from 2025-01-01 (Bank of Russia order (test))') });
    // Allowed again from today; the desk sells this one.
    const back = await t.as('risk').post('/api/v1/sale-channels', { effectiveFrom: new Date().toISOString().slice(0, 10), channel: 'experimental_regime', allowed: true, legalBasis: 'Bank of Russia order (test)', reason: 'resumed' });
    expect((await t.as('risk2').post(`/api/v1/approvals/${back.json().id}/approve`, {})).statusCode).toBe(200);
    await runLiquidations(t.test.db, options({ venue: otcVenue, capSats: 100n * BTC }));
    expect((await liquidationsOf(ref))[0]).toMatchObject({ status: 'selling' });
  });

  it('the desk\'s fills name their channel: required, refused on a day the channel is not allowed, the same for every fill', async () => {
    const bare = await t.as('treasury').post(`/api/v1/liquidations/${id}/fills`, { fills: [fill('CH-1')], done: false });
    expect(bare.statusCode, bare.body).toBe(422);
    expect(bare.json().error.code).toBe('sale_channel_required');
    // No rule allows an OTC desk abroad: proposed, refused at approval with the reason; nothing recorded.
    const abroad = await t.as('treasury').post(`/api/v1/liquidations/${id}/fills`, { fills: [fill('CH-1')], done: false, channel: { ...DESK, channel: 'otc_abroad' } });
    expect(abroad.statusCode, abroad.body).toBe(202);
    const refused = await t.as('treasury2').post(`/api/v1/approvals/${abroad.json().id}/approve`, {});
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().error.code).toBe('sale_channel_not_allowed');
    expect(refused.json().error.message).toContain('no rule allows selling through otc_abroad');
    const allowed = await t.as('treasury').post(`/api/v1/liquidations/${id}/fills`, { fills: [fill('CH-2')], done: false, channel: DESK });
    expect((await t.as('treasury2').post(`/api/v1/approvals/${allowed.json().id}/approve`, {})).statusCode).toBe(200);
    const [row] = await t.test.db.query<{ sale_channel: string; sale_counterparty: string; sale_jurisdiction: string }>('SELECT sale_channel, sale_counterparty, sale_jurisdiction FROM liquidations WHERE id = $1', [id]);
    expect(row).toEqual({ sale_channel: 'experimental_regime', sale_counterparty: 'Gulf Digital OTC', sale_jurisdiction: 'AE' });
    // Later fills go through the same channel (it may be left out); another is refused.
    const other = await t.as('treasury').post(`/api/v1/liquidations/${id}/fills`, { fills: [fill('CH-3')], done: false, channel: { ...DESK, counterparty: 'Another desk' } });
    expect(other.statusCode, other.body).toBe(409);
    expect(other.json().error.code).toBe('sale_channel_changed');
    const rest = await t.as('treasury').post(`/api/v1/liquidations/${id}/fills`, { fills: [], done: true });
    expect((await t.as('treasury2').post(`/api/v1/approvals/${rest.json().id}/approve`, {})).statusCode).toBe(200);
    await booksBalance();
  });

  it('reports the sales of a period by channel, as JSON and as CSV', async () => {
    // The period is in Moscow days: after 21:00 UTC a sale made now is on tomorrow's UTC date's Moscow day.
    const today = moscowDay(new Date());
    const report = (await t.as('auditor').get(`/api/v1/liquidations/sales?from=2025-01-01&to=${today}`)).json();
    const [sold] = await t.test.db.query<{ sats: bigint; n: bigint }>(`SELECT coalesce(sum(f.sats), 0)::int8 AS sats, count(DISTINCT q.id) AS n FROM liquidation_fills f JOIN liquidations q ON q.id = f.liquidation_id WHERE q.status IN ('sold', 'booked')`);
    expect(report.sales).toHaveLength(Number(sold!.n));
    expect(report.byChannel.reduce((s: bigint, c: { btc: string }) => s + BigInt(c.btc.replace('.', '')), 0n)).toBe(sold!.sats);
    // Through the regime: the simulated sale of the first test, the desk's sale above and the one here;
    // the sales of tests that ran without a channel (a backtest's way) are under "none".
    expect(report.byChannel.find((c: { channel: string }) => c.channel === 'experimental_regime').sales).toBe(3);
    expect(report.byChannel.find((c: { channel: string }) => c.channel === 'none').sales).toBe(Number(sold!.n) - 3);
    expect(report.sales.find((r: { liquidation: string }) => r.liquidation === id.toString())).toMatchObject({ channel: 'experimental_regime', venue: 'OTC desk', counterparty: 'Gulf Digital OTC', jurisdiction: 'AE', btc: '0.01000000', grossRub: '46000.00', feesRub: '10.00' });
    const csv = await t.as('auditor').get(`/api/v1/liquidations/sales?from=2025-01-01&to=${today}&format=csv`);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = csv.body.replace(/^\ufeff/, '').trim().split('\r\n');
    expect(lines[0]).toBe('Ликвидация,Кредит,Заёмщик,Канал,Площадка,Контрагент,Юрисдикция,Продано (UTC),BTC,"Выручка, RUB","Комиссии площадки, RUB",Статус');
    expect(lines).toHaveLength(report.sales.length + 1);
    expect((await t.as('auditor').get('/api/v1/liquidations/sales?from=2026-02-01&to=2026-01-01')).statusCode).toBe(400);
    expect((await t.as('borrower1').get(`/api/v1/liquidations/sales?from=2025-01-01&to=${today}`)).statusCode).toBe(403);
  });
});
