import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankCalendar } from '../calendar/load.js';
import { formatSats } from '../money/money.js';
import { latestCycle } from '../prices/price-repository.js';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { originate, seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';
import { runLiquidations } from './liquidations.js';
import { RiskEngine } from './risk-engine.js';
import { PgRiskStore } from './risk-store.js';
import { simulatedVenue } from './venues.js';

/**
 * The stress view on the live book (GET /risk/stress), checked against what really happens: the
 * stress predicts each state and the liquidations' BTC and proceeds at -40%; the price then falls
 * 40%, and the engine and the liquidation job do exactly that. The stress itself changes nothing.
 */

let stub: HttpStub;
let t: TestApp;
let engine: RiskEngine;
const calendar = await bankCalendar();

async function publish(price: bigint) {
  await t.test.db.query(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, inputs) VALUES ('live', now(), $1, $1, 'normal', '[]')`, [price]);
  return engine.onCycle((await latestCycle(t.test.db, 'live'))!);
}
const count = async (table: string) => (await t.test.db.query<{ n: bigint }>(`SELECT count(*)::int8 AS n FROM ${table}`))[0]!.n;

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp();
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17' });
  engine = new RiskEngine(t.test.db, new PgRiskStore(t.test.db, calendar));
  await engine.rebuild();
  // 1,000,000 each against 0.25, 0.30 and 0.50 BTC: 50%, 41.7% and 25% at 8,000,000.
  for (const collateral of ['0.25000000', '0.30000000', '0.50000000']) await originate(t, { amount: '1000000.00', months: 12, type: 'annuity', collateral });
  await publish(800_000_000n);
}, 60_000);
afterAll(async () => {
  await t.close();
  await stub.close();
});

describe('GET /risk/stress', () => {
  let stress: Record<string, any>;

  it('predicts the book at -40%: one loan to liquidation (83%), one to warning (69%), one healthy; changes nothing', async () => {
    const before = { transitions: await count('risk_transitions'), liquidations: await count('liquidations') };
    const response = await t.as('risk').get('/api/v1/risk/stress?shock=-40%25&depthBtcPerHour=0.1');
    expect(response.statusCode, response.body).toBe(200);
    stress = response.json();
    expect(stress).toMatchObject({ price: '8000000.00', shockedPrice: '4800000.00', loans: 3 });
    expect(stress.states).toMatchObject({ healthy: { before: 3, after: 1 }, warning: { before: 0, after: 1 }, liquidation: { before: 0, after: 1 } });
    expect(stress.moves).toEqual([{ from: 'healthy', to: 'warning', loans: 1 }, { from: 'healthy', to: 'liquidation', loans: 1 }]);
    expect(stress.liquidation).toMatchObject({ loans: 1, partial: 1, full: 0, expectedShortfall: '0.00', loansWithShortfall: 0, btcUnsoldAtFloor: '0.00000000' });
    // At 0.1 BTC an hour the sale takes two hours.
    expect(stress.queue.hoursToClear).toBe(2);
    expect(stress.queue.timeline.map((h: { loansWaiting: number }) => h.loansWaiting)).toEqual([1, 0]);
    expect({ transitions: await count('risk_transitions'), liquidations: await count('liquidations') }).toEqual(before);
  });

  it('and that is what the engine and the liquidation job do when the price falls 40%', async () => {
    await publish(480_000_000n);
    const states = await t.test.db.query<{ state: string }>('SELECT state FROM loan_risk ORDER BY loan_id');
    expect(states.map((s) => s.state)).toEqual(['liquidation', 'warning', 'healthy']);
    const run = await runLiquidations(t.test.db, { venue: simulatedVenue(), capSats: 10n ** 10n, staleAfterSeconds: 3_600, calendar, now: () => new Date() });
    expect(run).toMatchObject({ admitted: 1, booked: 1 });
    const [sale] = await t.test.db.query<{ planned_sats: bigint; report: { soldBtc: string; netRub: string; grossRub: string } }>('SELECT planned_sats, report FROM liquidations');
    expect(stress.liquidation.btcPlanned).toBe(formatSats(sale!.planned_sats));
    expect(stress.liquidation.btcSold).toBe(sale!.report.soldBtc);
    expect(stress.liquidation.net).toBe(sale!.report.netRub);
    expect(stress.liquidation.gross).toBe(sale!.report.grossRub);
  });

  it('refuses a shock it cannot read and a depth that is not an amount; borrowers may not look', async () => {
    for (const [query, code] of [['shock=-100%25', 'invalid_shock'], ['shock=abc', 'invalid_shock'], ['shock=-30&depthBtcPerHour=0', 'invalid_amount'], ['shock=-30&depthBtcPerHour=1.123456789', 'invalid_amount'], ['shock=-30&price=-5', 'invalid_amount']]) {
      const response = await t.as('risk').get(`/api/v1/risk/stress?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code, query).toBe(code);
    }
    expect((await t.as('borrower1').get('/api/v1/risk/stress?shock=-30')).statusCode).toBe(403);
    const given = await t.as('auditor').get('/api/v1/risk/stress?shock=-50&price=10000000.00');
    expect(given.json()).toMatchObject({ price: '10000000.00', shockedPrice: '5000000.00', cycle: null });
  });
});
