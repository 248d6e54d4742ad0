import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankCalendar } from '../calendar/load.js';
import { ltvMillionths } from '../loans/collateral.js';
import type { PriceKopecksPerBtc } from '../money/money.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { originate, seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';
import { callDeadline } from './deadline.js';
import { levels, triggerPrice, triggersAt, type RiskState } from './ladder.js';
import { RiskEngine } from './risk-engine.js';
import { loadLadders, PgRiskStore } from './risk-store.js';

/**
 * The engine on the database, through the loan's real life: the triggers refreshed by the
 * transactions that change a loan, the ladder climbed by prices, a call's deadline, cures by a
 * prepayment and by a top-up, an expired call, and the race a move loses to a repayment.
 */

let stub: HttpStub;
let t: TestApp;
let engine: RiskEngine;
let store: PgRiskStore;
const calendar = await bankCalendar();
const M = 10_000n; // millionths per percent
const P0 = 800_000_000n as PriceKopecksPerBtc; // 8,000,000.00 RUB/BTC

interface RiskDbRow { state: RiskState; debt_kopecks: bigint; sats: bigint; worsen_at: bigint | null; improve_above: bigint | null; call_deadline: Date | null; live: boolean; [key: string]: unknown }
const riskRow = async (ref: string) => (await t.test.db.query<RiskDbRow>('SELECT r.* FROM loan_risk r JOIN loans l ON l.id = r.loan_id WHERE l.ref = $1', [ref]))[0]!;
const transitions = async (ref: string) => t.test.db.query<{ id: bigint; from_state: string; to_state: string; cause: string; price_kopecks: bigint; ltv_millionths: bigint | null; product_code: string; product_version: number; call_deadline: Date | null; at: Date; [key: string]: unknown }>(
  'SELECT r.* FROM risk_transitions r JOIN loans l ON l.id = r.loan_id WHERE l.ref = $1 ORDER BY r.id', [ref]);
const priceFor = (row: RiskDbRow, ltvPercent: bigint) => triggerPrice({ debt: row.debt_kopecks, sats: row.sats }, ltvPercent * M, 0n) as PriceKopecksPerBtc;
const tick = (price: bigint, at = new Date()) => engine.onPrice({ price: price as PriceKopecksPerBtc, cycleId: undefined, at });

let clock: Date | undefined; // the app's clock, when a test sets it

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp({ now: () => clock ?? new Date() });
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
  store = new PgRiskStore(t.test.db, calendar);
  engine = new RiskEngine(t.test.db, store);
}, 60_000);
afterAll(async () => {
  await t.close();
  await stub.close();
});

describe('exposures and triggers in the database', () => {
  let ref: string;
  it('a disbursed loan gets its row, its triggers the ladder maths gives', async () => {
    ({ ref } = await originate(t, { amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25000000' }));
    const row = await riskRow(ref);
    expect(row).toMatchObject({ live: true, state: 'healthy', sats: 25_000_000n });
    const [ladder] = [...(await loadLadders(t.test.db)).entries()].filter(([key]) => key === 'FIX:1').map(([, l]) => l);
    expect(ladder).toMatchObject({ warning: 60n * M, marginCall: 70n * M, acceleratedCall: 75n * M, liquidation: 80n * M, band: 5n * M, cureHours: 48, acceleratedCureHours: 4 });
    const lv = levels({ debt: row.debt_kopecks, sats: row.sats }, ladder!);
    expect(row.worsen_at).toBe(triggersAt('healthy', lv).worsenAt);
    expect(row.improve_above).toBeNull();
    expect((await engine.rebuild()).loans).toBeGreaterThanOrEqual(1);
  });

  it('climbs the ladder with the price: a notice, then a call with its deadline in business hours, then the accelerated call', async () => {
    const row = await riskRow(ref);
    const at = new Date('2026-03-13T17:00:00Z'); // a Friday, 20:00 in Moscow
    const warned = await tick(priceFor(row, 60n), at);
    expect(warned.moves.map((m) => [m.from, m.to])).toEqual([['healthy', 'warning']]);
    await tick(priceFor(row, 70n), at);
    const called = await riskRow(ref);
    expect(called.state).toBe('margin_call');
    expect(called.call_deadline).toEqual(callDeadline(at, 48, calendar)); // Tuesday 20:00, the weekend not counted
    expect(called.worsen_at).toBe(priceFor(row, 75n));
    await tick(priceFor(row, 75n), at);
    const accelerated = await riskRow(ref);
    expect(accelerated.state).toBe('accelerated_call');
    expect(accelerated.call_deadline).toEqual(callDeadline(at, 4, calendar)); // the shorter deadline wins
    const made = await transitions(ref);
    expect(made.map((m) => `${m.from_state}>${m.to_state}:${m.cause}`)).toEqual(['healthy>warning:price', 'warning>margin_call:price', 'margin_call>accelerated_call:price']);
    expect(made[1]!.ltv_millionths).toBe(ltvMillionths(row.debt_kopecks, row.sats, priceFor(row, 70n), 0n));
    expect(made[1]!).toMatchObject({ product_code: 'FIX', product_version: 1 });
    const outbox = await t.test.db.query<{ channel: string; topic: string; status: string }>('SELECT channel, topic, status FROM risk_outbox WHERE transition_id = $1 ORDER BY channel', [made[1]!.id]);
    expect(outbox).toEqual([{ channel: 'email', topic: 'risk.margin_call', status: 'pending' }, { channel: 'webhook', topic: 'risk.margin_call', status: 'pending' }]);
  });

  it('a prepayment cures the call at the last price: the triggers move in the same transaction, the engine decides on its next step', async () => {
    const before = await riskRow(ref);
    expect((await t.as('treasury').post(`/api/v1/loans/${ref}/repayments`, { reference: 'PP-RISK-1', amount: '400000.00' })).statusCode).toBe(201);
    const paid = await t.as('officer').post(`/api/v1/loans/${ref}/prepayments`, { amount: '400000.00', mode: 'smaller_instalment' }, { 'idempotency-key': 'risk-prepay-1' });
    expect(paid.statusCode, paid.body).toBe(201);
    const after = await riskRow(ref);
    expect(after.debt_kopecks).toBe(before.debt_kopecks - 40_000_000n);
    expect(after.state).toBe('accelerated_call'); // the engine has not looked yet
    expect(after.improve_above).toBe(triggerPrice({ debt: after.debt_kopecks, sats: after.sats }, 65n * M, 0n));
    expect(await engine.catchUp(new Date())).toMatchObject({ moves: 1 });
    const cured = await riskRow(ref);
    expect(cured.state).not.toMatch(/call/);
    expect(cured.call_deadline).toBeNull();
    expect((await transitions(ref)).at(-1)).toMatchObject({ from_state: 'accelerated_call', cause: 'exposure' });
  });

  it('a confirmed top-up cures a call', async () => {
    const row = await riskRow(ref);
    await tick(priceFor(row, 71n));
    expect((await riskRow(ref)).state).toBe('margin_call');
    const declared = await t.as('treasury').post(`/api/v1/loans/${ref}/collateral`, { btc: '0.25000000' });
    expect(declared.statusCode, declared.body).toBe(201);
    const confirm = await t.as('treasury').post(`/api/v1/collateral-positions/${declared.json().positionId}/confirmation`, { custodianRef: `TOPUP-${ref}` });
    expect((await riskRow(ref)).sats).toBe(25_000_000n); // declared is not confirmed
    expect((await t.as('treasury2').post(`/api/v1/approvals/${confirm.json().id}/approve`, {})).statusCode).toBe(200);
    expect((await riskRow(ref)).sats).toBe(50_000_000n);
    await engine.catchUp(new Date());
    expect((await riskRow(ref)).state).toBe('healthy'); // 35.5% now
  });

  it('a call not cured by its deadline goes to liquidation', async () => {
    const row = await riskRow(ref);
    const at = new Date('2026-03-16T07:00:00Z'); // Monday 10:00 Moscow
    await tick(priceFor(row, 72n), at);
    const called = await riskRow(ref);
    expect(called.call_deadline).toEqual(new Date('2026-03-18T07:00:00Z'));
    const cycle = (status: 'normal' | 'degraded', at: string) => t.test.db.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, reasons, inputs) VALUES ('live', $1, $2, $2, $3, $4, '[]')`,
      [new Date(at), priceFor(row, 72n), status, status === 'degraded' ? ['no_quorum'] : []]);
    const options = { staleAfterSeconds: 120 };
    await cycle('normal', '2026-03-18T06:59:00Z');
    expect(await engine.expireCalls(new Date('2026-03-18T06:59:59Z'), options)).toEqual({ expired: 0, waiting: 0 });
    // The deadline passes while the price is degraded (its sources failed): the call waits, and says why.
    await cycle('degraded', '2026-03-18T07:00:00Z');
    expect(await engine.expireCalls(new Date('2026-03-18T07:00:00Z'), options)).toEqual({ expired: 0, waiting: 1, reason: expect.stringMatching(/degraded \(no_quorum\)/) });
    expect((await riskRow(ref)).state).toBe('margin_call');
    clock = new Date('2026-03-18T07:00:05Z');
    const view = (await t.as('officer').get('/api/v1/borrowers/B-1/risk')).json();
    clock = undefined;
    expect(view.loans.find((l: { loan: string }) => l.loan === ref)).toMatchObject({ state: 'margin_call', deadlinePassed: { waitsFor: expect.stringMatching(/degraded/) } });
    // A stale price is no better than a degraded one.
    await cycle('normal', '2026-03-18T07:00:10Z');
    expect((await engine.expireCalls(new Date('2026-03-18T07:10:00Z'), options)).waiting).toBe(1);
    // With a normal, fresh price the call goes to liquidation.
    await cycle('normal', '2026-03-18T07:10:00Z');
    expect(await engine.expireCalls(new Date('2026-03-18T07:10:05Z'), options)).toEqual({ expired: 1, waiting: 0 });
    expect(await riskRow(ref)).toMatchObject({ state: 'liquidation', worsen_at: null, improve_above: null, call_deadline: null });
    expect((await transitions(ref)).at(-1)).toMatchObject({ from_state: 'margin_call', to_state: 'liquidation', cause: 'deadline' });
    // A recovery does not take a loan out of liquidation.
    expect((await tick(P0 * 2n)).moves.filter((m) => m.to !== 'healthy' || m.from === 'liquidation')).toEqual([]);
  });

  it('a move that lost the race with a change of the loan is not written; the engine re-decides the loan from its new row', async () => {
    const { ref: second } = await originate(t, { borrower: 'B-2', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25000000' });
    await tick(P0);
    await engine.catchUp(new Date());
    const row = await riskRow(second);
    // The loan's debt changes behind the engine's back (as a repayment committing mid-tick would).
    await t.test.db.query('UPDATE loan_balances SET interest = interest + 100 WHERE loan_id = (SELECT id FROM loan_terms WHERE ref = $1)', [second]);
    const skippedBefore = store.skipped;
    const moved = await store.record({ price: priceFor(row, 60n), cycleId: undefined, at: new Date(), cause: 'price', moves: [{ id: (await t.test.db.query<{ id: bigint }>('SELECT id FROM loans WHERE ref = $1', [second]))[0]!.id, from: 'healthy', to: 'warning', exposure: { debt: row.debt_kopecks, sats: row.sats }, ladder: (await loadLadders(t.test.db)).get('FIX:1')! }] });
    expect(moved).toBeUndefined();
    expect(store.skipped).toBe(skippedBefore + 1);
    expect((await riskRow(second)).state).toBe('healthy');
    await t.test.db.query('UPDATE loan_balances SET interest = interest - 100 WHERE loan_id = (SELECT id FROM loan_terms WHERE ref = $1)', [second]);
  });

  it('a closed loan leaves the book', async () => {
    const { ref: third } = await originate(t, { borrower: 'B-2', amount: '200000.00', months: 3, type: 'bullet', collateral: '0.05000000' });
    await engine.catchUp(new Date());
    expect((await t.as('treasury').post(`/api/v1/loans/${third}/repayments`, { reference: 'PP-RISK-2', amount: '300000.00' })).statusCode).toBe(201);
    const paid = await t.as('officer').post(`/api/v1/loans/${third}/prepayments`, { mode: 'smaller_instalment' }, { 'idempotency-key': 'risk-prepay-all' });
    expect(paid.statusCode, paid.body).toBe(201);
    expect(await riskRow(third)).toMatchObject({ live: false, worsen_at: null, improve_above: null });
  });
});

describe('the borrower\'s risk through the API', () => {
  it('shows the loans on the ladder and the transitions, and takes the borrower\'s acknowledgement once', async () => {
    const view = await t.as('borrower1').get('/api/v1/borrowers/B-1/risk');
    expect(view.statusCode, view.body).toBe(200);
    const body = view.json();
    expect(body.price).toBe('8000000.00');
    const call = body.transitions.find((x: { from: string; to: string }) => x.from === 'warning' && x.to === 'margin_call');
    expect(call).toMatchObject({ from: 'warning', cause: 'price', acknowledgedAt: null });
    const ack = (id: string) => t.as('borrower1').post('/api/v1/borrowers/B-1/risk-acknowledgements', { transitionId: id });
    const first = await ack(call.id);
    expect(first.statusCode, first.body).toBe(201);
    const again = await ack(call.id);
    expect(again.statusCode).toBe(200);
    expect(again.json().acknowledgedAt).toBe(first.json().acknowledgedAt);
    const recovery = body.transitions.find((x: { to: string }) => x.to === 'healthy');
    expect((await ack(recovery.id)).json().error.code).toBe('nothing_to_acknowledge');
    expect((await ack('999999')).statusCode).toBe(404);
    const seen = (await t.as('officer').get('/api/v1/borrowers/B-1/risk')).json();
    expect(seen.transitions.find((x: { id: string }) => x.id === call.id).acknowledgedAt).toBe(first.json().acknowledgedAt);
  });

  it('lets a credit officer set where notices go; a new webhook URL gets a new signing key, shown once', async () => {
    const set = (body: object) => t.as('officer').inject({ method: 'PUT', url: '/api/v1/borrowers/B-1/risk-contacts', payload: body });
    // Webhook URLs are https to a public address only (SSRF): each of these is refused and stores nothing.
    for (const url of ['http://93.184.216.34/hook', 'https://127.0.0.1/hook', 'https://localhost/hook', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/hook', 'https://[::ffff:10.0.0.1]/hook', 'https://192.168.1.10/hook', 'https://100.64.0.1/hook', 'https://224.0.0.1/hook', 'https://0.0.0.0/hook', 'https://user:pw@93.184.216.34/hook']) {
      const refused = await set({ email: null, webhookUrl: url });
      expect([refused.statusCode, refused.json().error.code], url).toEqual([400, 'webhook_url_refused']);
    }
    expect(await t.test.db.query('SELECT 1 FROM risk_contacts')).toEqual([]);
    const first = await set({ email: 'cfo@farm.example', webhookUrl: 'https://93.184.216.34/hooks/zalog' });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().webhookSecret).toMatch(/^[0-9a-f]{64}$/);
    const same = await set({ email: 'ops@farm.example', webhookUrl: 'https://93.184.216.34/hooks/zalog' });
    expect(same.json().webhookSecret).toBeNull(); // the key is kept, and not shown again
    const [stored] = await t.test.db.query<{ webhook_secret: string }>('SELECT webhook_secret FROM risk_contacts');
    expect(stored!.webhook_secret).toBe(first.json().webhookSecret);
    expect((await set({ email: 'not-an-address', webhookUrl: null })).statusCode).toBe(400);
    expect((await t.as('borrower1').inject({ method: 'PUT', url: '/api/v1/borrowers/B-1/risk-contacts', payload: { email: null, webhookUrl: null } })).statusCode).toBe(404); // borrowers are told staff routes naming a record are not there
  });
});
