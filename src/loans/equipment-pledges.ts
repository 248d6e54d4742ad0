import type { Queryable } from '../db/database.js';
import { applyBps, divide, formatKopecks, type Bps } from '../money/money.js';
import { RATE_SCALE } from './interest.js';
import { refuse } from './loan-errors.js';
import { equipmentTermsOf, type ProductTerms } from './product.js';

/**
 * Machines pledged to a loan as the second layer of its cover (issue 20, item 3): what an offer
 * counts and the pledges an approval makes. What the layer does to a live loan (its triggers, a
 * breach's call, enforcement after a default) is src/risk/equipment-layer.ts.
 *
 * A product that takes machines (terms collateral.equipment) counts the pledged machine groups at
 * their latest weighted valuation (src/underwriting/equipment-service.ts), at most its share of the
 * cover the origination LTV asks: cover = amount / LTV0, cap = cover x share, counted =
 * min(weighted, cap). The BTC asked is what the machines leave (collateral.ts requiredSats). The
 * cap is fixed in kopecks at approval (loans.equipment_cap_kopecks) for the life of the loan.
 */

export interface PledgedGroup {
  readonly machinesId: string;
  readonly model: string;
  readonly count: number;
  readonly valuationId: string;
  readonly valuedOn: string;
  readonly value: string;
  readonly weighted: string;
}

export interface EquipmentLayer {
  readonly groups: readonly PledgedGroup[];
  readonly sharePercent: string;
  /** The cover the origination LTV asks (amount / LTV0), the product's share of it, the machines' weighted value, and what counts. */
  readonly coverKopecks: bigint;
  readonly capKopecks: bigint;
  readonly weightedKopecks: bigint;
  readonly countedKopecks: bigint;
}

/** What a product lets machines count for: min(weighted, cover x share), cover = amount / LTV0 (both rounded down). */
export function countedEquipment(amount: bigint, originationLtvMillionths: bigint, shareMillionths: bigint, weighted: bigint): { cover: bigint; cap: bigint; counted: bigint } {
  const cover = divide(amount * RATE_SCALE, originationLtvMillionths, 'floor');
  const cap = divide(cover * shareMillionths, RATE_SCALE, 'floor');
  return { cover, cap, counted: weighted < cap ? weighted : cap };
}

/**
 * Machine groups may be pledged to a new loan when they are the borrower's, carry pledged serials,
 * are not retired, secure no other live loan and have a valuation without a breach.
 */
export async function equipmentLayerFor(db: Queryable, input: { borrowerId: bigint; machines: readonly bigint[]; terms: ProductTerms; amount: bigint; originationLtv: bigint }): Promise<EquipmentLayer | undefined> {
  if (input.machines.length === 0) return undefined;
  const terms = equipmentTermsOf(input.terms);
  if (terms === undefined) refuse('equipment_not_accepted', 'this product does not count machines toward the cover; apply without equipmentMachines or under a product that does');
  if (new Set(input.machines.map(String)).size !== input.machines.length) refuse('invalid_equipment', 'each machine group once');
  const rows = await db.query<{ id: bigint; borrower_id: bigint; model: string; serials: string[]; retired_on: string | null; pledged_to: string | null; valuation_id: bigint | null; valued_on: string | null; value_kopecks: bigint | null; weight_bps: number | null; breach: string | null }>(
    `SELECT m.id, s.borrower_id, m.model, m.serials, m.retired_on::text AS retired_on, p.ref AS pledged_to, v.id AS valuation_id, v.valued_on::text AS valued_on, v.value_kopecks, v.weight_bps, v.breach
       FROM site_machines m JOIN mining_sites s ON s.id = m.site_id
       LEFT JOIN LATERAL (SELECT l.ref FROM loan_equipment_pledges p JOIN loans l ON l.id = p.loan_id
                           WHERE p.machines_id = m.id AND p.released_at IS NULL AND l.status IN ('approved', 'active', 'overdue') LIMIT 1) p ON true
       LEFT JOIN LATERAL (SELECT * FROM equipment_valuations v WHERE v.machines_id = m.id ORDER BY v.id DESC LIMIT 1) v ON true
      WHERE m.id = ANY($1::int8[]) ORDER BY m.id`, [input.machines]);
  const groups: PledgedGroup[] = [];
  let weighted = 0n;
  for (const id of input.machines) {
    const row = rows.find((r) => r.id === id);
    if (row === undefined || row.borrower_id !== input.borrowerId) refuse('invalid_equipment', `machine group ${id} is not one of the borrower's`);
    if (row.retired_on !== null) refuse('invalid_equipment', `machine group ${id} was retired on ${row.retired_on}`);
    if (row.serials.length === 0) refuse('invalid_equipment', `machine group ${id} has no pledged serial numbers: record them first`);
    if (row.pledged_to !== null) refuse('equipment_already_pledged', `machine group ${id} already secures ${row.pledged_to}`);
    if (row.valuation_id === null) refuse('equipment_not_valued', `machine group ${id} has no valuation yet: revalue the borrower's machines first`);
    if (row.breach !== null) refuse('equipment_breach', `machine group ${id} is worth nothing as collateral: ${row.breach}`);
    const value = applyBps(row.value_kopecks!, BigInt(row.weight_bps!) as Bps, 'floor');
    weighted += value;
    groups.push({ machinesId: id.toString(), model: row.model, count: row.serials.length, valuationId: row.valuation_id.toString(), valuedOn: row.valued_on!, value: formatKopecks(row.value_kopecks!), weighted: formatKopecks(value) });
  }
  const { cover, cap, counted } = countedEquipment(input.amount, input.originationLtv, terms.shareMillionths, weighted);
  return { groups, sharePercent: input.terms.collateral.equipment!.maxSharePercent, coverKopecks: cover, capKopecks: cap, weightedKopecks: weighted, countedKopecks: counted };
}

/** The layer as an offer stores and shows it: roubles as decimal strings, and the cap's kopecks for the approval. */
export function equipmentLayerJson(layer: EquipmentLayer) {
  return { groups: layer.groups, sharePercent: layer.sharePercent, cover: formatKopecks(layer.coverKopecks), cap: formatKopecks(layer.capKopecks), weighted: formatKopecks(layer.weightedKopecks), counted: formatKopecks(layer.countedKopecks), capKopecks: layer.capKopecks.toString() };
}
export type EquipmentLayerJson = ReturnType<typeof equipmentLayerJson>;

/**
 * Pledges the offer's machine groups to a new loan (at approval) and fixes its cap. The groups are
 * locked and must still be what the offer valued (model and number of pledged serials; anything
 * else asks for a new offer). A group whose earlier loan has ended is released from it first; one
 * still securing a live loan is refused (the partial unique index is the last word).
 */
export async function pledgeEquipment(tx: Queryable, loanId: bigint, groups: readonly PledgedGroup[], capKopecks: bigint, now: Date): Promise<void> {
  if (groups.length === 0) return;
  const machines = groups.map((g) => BigInt(g.machinesId));
  const rows = await tx.query<{ id: bigint; model: string; serials: string[]; retired_on: string | null }>(
    'SELECT id, model, serials, retired_on::text AS retired_on FROM site_machines WHERE id = ANY($1::int8[]) ORDER BY id FOR UPDATE', [machines]);
  for (const group of groups) {
    const row = rows.find((r) => r.id.toString() === group.machinesId);
    if (row === undefined || row.retired_on !== null || row.model !== group.model || row.serials.length !== group.count) {
      refuse('equipment_changed', `machine group ${group.machinesId} is no longer what the offer valued (${group.model} x${group.count}): ask for a new offer`);
    }
  }
  const [breached] = await tx.query<{ machines_id: bigint; breach: string }>(
    `SELECT v.machines_id, v.breach FROM unnest($1::int8[]) AS m (id)
       JOIN LATERAL (SELECT machines_id, breach FROM equipment_valuations WHERE machines_id = m.id ORDER BY id DESC LIMIT 1) v ON true
      WHERE v.breach IS NOT NULL LIMIT 1`, [machines]);
  if (breached !== undefined) refuse('equipment_breach', `machine group ${breached.machines_id} is worth nothing as collateral since the offer: ${breached.breach}`);
  await tx.query(`UPDATE loan_equipment_pledges p SET released_at = $2, released_why = 'loan_ended' FROM loans l
                   WHERE l.id = p.loan_id AND p.machines_id = ANY($1::int8[]) AND p.released_at IS NULL AND l.status IN ('closed', 'cancelled')`, [machines, now]);
  const [taken] = await tx.query<{ machines_id: bigint; ref: string }>(
    `SELECT p.machines_id, l.ref FROM loan_equipment_pledges p JOIN loans l ON l.id = p.loan_id WHERE p.machines_id = ANY($1::int8[]) AND p.released_at IS NULL LIMIT 1`, [machines]);
  if (taken !== undefined) refuse('equipment_already_pledged', `machine group ${taken.machines_id} already secures ${taken.ref}`);
  await tx.query('INSERT INTO loan_equipment_pledges (loan_id, machines_id, pledged_at) SELECT $1, m, $3 FROM unnest($2::int8[]) AS m', [loanId, machines, now]);
  await tx.query('UPDATE loan_terms SET equipment_cap_kopecks = $2 WHERE id = $1', [loanId, capKopecks]);
}
