import type { Queryable } from '../db/database.js';
import { ltvMillionths } from '../loans/collateral.js';
import { formatRate } from '../loans/origination.js';
import { formatKopecks, formatPrice, formatSats, satsToKopecks, type PriceKopecksPerBtc, type Sats } from '../money/money.js';
import { latestCycle } from '../prices/price-repository.js';
import { ANY_PRICE } from './ladder.js';

/**
 * The book at a glance, for the console's portfolio page: what is lent and owed (RUB), the
 * collateral (BTC, and RUB at the latest published price), loans per state of the LTV ladder, an
 * LTV histogram (5-point buckets) against each product's ladder, the loans nearest their next
 * trigger, and the book's trigger prices as bands: for each rung, the price at which the first
 * tenth, half and nine tenths of the live loans would have reached it.
 *
 * Everything is summed and divided in SQL over loan_risk (the engine's own exposure rows, one per
 * live loan), in integers and exact numerics; the LTV buckets are the only rounding (floor).
 */

const STATES = ['healthy', 'warning', 'margin_call', 'accelerated_call', 'liquidation'] as const;
const BUCKET_POINTS = 5;
const BUCKETS = 30; // 0-5 ... 145-150, and one more for 150 and above

const priceText = (price: bigint | null) => (price === null || price <= 0n || price >= ANY_PRICE ? null : formatPrice(price as PriceKopecksPerBtc));

export async function portfolio(db: Queryable, options: { nearest?: number } = {}) {
  const cycle = await latestCycle(db, 'live');
  const price = cycle?.publishedKopecks ?? null;
  const byState = await db.query<{ state: string; loans: bigint; debt: bigint; sats: bigint; equipment: bigint }>(
    'SELECT state, count(*)::int8 AS loans, coalesce(sum(debt_kopecks), 0)::int8 AS debt, coalesce(sum(sats), 0)::int8 AS sats, coalesce(sum(equipment_kopecks), 0)::int8 AS equipment FROM loan_risk WHERE live GROUP BY state');
  const [lent] = await db.query<{ loans: bigint; amount: bigint; principal: bigint }>(
    `SELECT count(*)::int8 AS loans, coalesce(sum(amount_kopecks), 0)::int8 AS amount, coalesce(sum(principal + principal_overdue), 0)::int8 AS principal
       FROM loans WHERE status IN ('active', 'overdue')`);
  const ladders = await db.query<{ product_code: string; product_version: number; warning: bigint; margin_call: bigint; accelerated_call: bigint | null; liquidation: bigint; loans: bigint }>(
    `SELECT lad.product_code, lad.product_version, lad.warning, lad.margin_call, lad.accelerated_call, lad.liquidation, count(r.loan_id)::int8 AS loans
       FROM risk_ladders lad JOIN loan_risk r ON r.product_code = lad.product_code AND r.product_version = lad.product_version AND r.live
      GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY loans DESC, 1, 2`);
  // LTV in percent at the price = debt / (sats x price / 1e8 x (1 - haircut) + machines) x 100; bucketed by floor.
  const histogram = price === null ? [] : await db.query<{ bucket: number; loans: bigint; debt: bigint }>(
    `SELECT least(floor(r.debt_kopecks::numeric * 1e16 / nullif(r.sats::numeric * $1::numeric * (1000000 - lad.haircut) + r.equipment_kopecks::numeric * 1e14, 0) / $2), $3)::int4 AS bucket,
            count(*)::int8 AS loans, sum(r.debt_kopecks)::int8 AS debt
       FROM loan_risk r JOIN risk_ladders lad ON lad.product_code = r.product_code AND lad.product_version = r.product_version
      WHERE r.live AND (r.sats > 0 OR r.equipment_kopecks > 0) GROUP BY 1 ORDER BY 1`, [price, BUCKET_POINTS, BUCKETS]);
  const nearest = await db.query<{ ref: string; borrower: string; state: string; debt_kopecks: bigint; sats: bigint; equipment_kopecks: bigint; worsen_at: bigint; haircut: bigint; call_deadline: Date | null }>(
    `SELECT l.ref, b.ref AS borrower, r.state, r.debt_kopecks, r.sats, r.equipment_kopecks, r.worsen_at, lad.haircut, r.call_deadline
       FROM loan_risk r JOIN loans l ON l.id = r.loan_id JOIN borrowers b ON b.id = l.borrower_id
       JOIN risk_ladders lad ON lad.product_code = r.product_code AND lad.product_version = r.product_version
      WHERE r.live AND r.worsen_at IS NOT NULL AND r.worsen_at < $1 ORDER BY r.worsen_at DESC LIMIT $2`, [ANY_PRICE, options.nearest ?? 10]);
  // Each loan's trigger price at each rung (risk_trigger: the same integer maths as ladder.ts).
  const bands = await db.query<{ rung: string; p10: bigint | null; p50: bigint | null; p90: bigint | null }>(
    `WITH t AS (
       SELECT r.debt_kopecks AS debt, rung.name, risk_trigger(r.debt_kopecks, r.sats, lad.haircut, rung.threshold, r.equipment_kopecks) AS at
         FROM loan_risk r JOIN risk_ladders lad ON lad.product_code = r.product_code AND lad.product_version = r.product_version
        CROSS JOIN LATERAL (VALUES ('warning', lad.warning), ('margin_call', lad.margin_call), ('liquidation', lad.liquidation)) AS rung (name, threshold)
        WHERE r.live AND r.sats > 0 AND r.debt_kopecks > 0)
     SELECT name AS rung,
            percentile_disc(0.9) WITHIN GROUP (ORDER BY at) AS p10,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY at) AS p50,
            percentile_disc(0.1) WITHIN GROUP (ORDER BY at) AS p90
       FROM t GROUP BY name`);
  let loans = 0n; let debt = 0n; let sats = 0n; let equipment = 0n;
  for (const row of byState) { loans += row.loans; debt += row.debt; sats += row.sats; equipment += row.equipment; }
  const state = new Map(byState.map((row) => [row.state, row]));
  // As the borrower's risk view shows it (collateral.ts): rounded up, never safer than it is.
  const ltvPercent = (d: bigint, s: bigint, haircut: bigint, machines = 0n) => {
    const ltv = price === null ? undefined : ltvMillionths(d, s, price as PriceKopecksPerBtc, haircut, machines);
    return ltv === undefined ? null : formatRate(ltv);
  };
  return {
    price: price === null ? null : { price: formatPrice(price as PriceKopecksPerBtc), status: cycle!.status, at: cycle!.at.toISOString() },
    totals: {
      liveLoans: loans.toString(),
      lent: formatKopecks(lent?.amount ?? 0n),
      principalOutstanding: formatKopecks(lent?.principal ?? 0n),
      debt: formatKopecks(debt),
      collateralBtc: formatSats(sats),
      collateralRub: price === null ? null : formatKopecks(satsToKopecks(sats as Sats, price as PriceKopecksPerBtc, 'floor')),
      // The second layer: machines counted beside the BTC (never sold by a tick).
      equipmentRub: formatKopecks(equipment),
      ltvPercent: price === null ? null : ltvPercent(debt, sats, 0n, equipment),
    },
    states: STATES.map((name) => ({ state: name, loans: (state.get(name)?.loans ?? 0n).toString(), debt: formatKopecks(state.get(name)?.debt ?? 0n), collateralBtc: formatSats(state.get(name)?.sats ?? 0n), equipmentRub: formatKopecks(state.get(name)?.equipment ?? 0n) })),
    ladders: ladders.map((l) => ({
      product: { code: l.product_code, version: l.product_version }, loans: l.loans.toString(),
      warningPercent: formatRate(l.warning), marginCallPercent: formatRate(l.margin_call),
      acceleratedCallPercent: l.accelerated_call === null ? null : formatRate(l.accelerated_call), liquidationPercent: formatRate(l.liquidation),
    })),
    histogram: {
      bucketPoints: BUCKET_POINTS,
      buckets: histogram.map((b) => ({ fromPercent: b.bucket * BUCKET_POINTS, toPercent: b.bucket >= BUCKETS ? null : (b.bucket + 1) * BUCKET_POINTS, loans: b.loans.toString(), debt: formatKopecks(b.debt) })),
    },
    nearestTrigger: nearest.map((n) => ({
      loan: n.ref, borrower: n.borrower, state: n.state, debt: formatKopecks(n.debt_kopecks), collateralBtc: formatSats(n.sats), equipmentRub: formatKopecks(n.equipment_kopecks),
      ltvPercent: ltvPercent(n.debt_kopecks, n.sats, n.haircut, n.equipment_kopecks), worsensAtOrBelow: priceText(n.worsen_at),
      // How far the price may fall before the loan moves, as a percentage of the price now.
      headroomPercent: price === null ? null : formatRate(((price - n.worsen_at) * 1_000_000n) / price),
      callDeadline: n.call_deadline?.toISOString() ?? null,
    })),
    triggerBands: bands.map((b) => ({ rung: b.rung, firstTenth: priceText(b.p10), half: priceText(b.p50), nineTenths: priceText(b.p90) })),
  };
}
