import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import { isCalendarDate } from '../ledger/entry.js';
import { formatKopecks, parseKopecks } from '../money/money.js';
import { bpsPercent, type LimitKind } from './exposure.js';
import { SALE_CHANNELS, type SaleChannelKind } from '../risk/sale-channels.js';

/**
 * A change of the bank's capital, a risk weight or an exposure limit: a risk officer proposes, a
 * second risk officer approves; the change is a new row from its effective date (the old rows stay,
 * so the history is kept), and the audit record names what was in force before and after.
 */

export type RulesPayload =
  | { readonly table: 'capital'; readonly effectiveFrom: string; readonly tier1: string; readonly legalBasis: string; readonly reason: string }
  | { readonly table: 'limit'; readonly effectiveFrom: string; readonly kind: LimitKind; readonly regionCode: string | null; readonly softPercent: string; readonly hardPercent: string; readonly active: boolean; readonly legalBasis: string; readonly reason: string }
  | { readonly table: 'weight'; readonly effectiveFrom: string; readonly borrowerKind: 'company' | 'entrepreneur' | 'individual' | null; readonly collateral: 'btc' | 'equipment'; readonly weightPercent: string; readonly active: boolean; readonly legalBasis: string; readonly reason: string }
  | { readonly table: 'channel'; readonly effectiveFrom: string; readonly channel: SaleChannelKind; readonly allowed: boolean; readonly legalBasis: string; readonly reason: string };

/**
 * A percentage with at most two decimals (up to 9999.99) as basis points ("1.5" -> 150), or
 * undefined. Not money's parsePercent: it stops at 1000%, and a risk weight goes to 1,250%.
 */
export function percentToBps(text: string): number | undefined {
  const match = typeof text === 'string' ? /^(0|[1-9][0-9]{0,3})(?:\.([0-9]{1,2}))?$/.exec(text) : null;
  if (match === null) return undefined;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

function problem(code: string, message: string) {
  return { ok: false as const, error: { code, message } };
}

function check(payload: RulesPayload): string | undefined {
  if (!isCalendarDate(payload.effectiveFrom)) return 'effectiveFrom is a calendar date (YYYY-MM-DD)';
  if (typeof payload.legalBasis !== 'string' || payload.legalBasis.length < 3 || payload.legalBasis.length > 500) return 'legalBasis: 3 to 500 characters';
  if (typeof payload.reason !== 'string' || payload.reason.length < 1 || payload.reason.length > 500) return 'reason: 1 to 500 characters';
  if (payload.table === 'capital') {
    const tier1 = parseKopecks(payload.tier1);
    if (!tier1.ok || tier1.value <= 0n) return 'tier1: an amount of roubles above zero, such as "250000000000.00"';
  } else if (payload.table === 'limit') {
    const soft = percentToBps(payload.softPercent);
    const hard = percentToBps(payload.hardPercent);
    if (soft === undefined || hard === undefined || soft <= 0 || hard > 1_000_000) return 'softPercent and hardPercent: percentages of capital with at most two decimals, above 0';
    if (soft > hard) return 'the soft limit is not above the hard one';
    if (payload.regionCode !== null && payload.kind !== 'region') return 'only a region limit names a region';
    if (payload.regionCode !== null && !/^[0-9]{2}$/.test(payload.regionCode)) return 'regionCode: two digits';
  } else if (payload.table === 'channel') {
    if (!(SALE_CHANNELS as readonly string[]).includes(payload.channel) || typeof payload.allowed !== 'boolean') return `channel: one of ${SALE_CHANNELS.join(', ')}, and whether it is allowed`;
  } else {
    const weight = percentToBps(payload.weightPercent);
    if (weight === undefined || weight > 125_000) return 'weightPercent: a percentage from 0 to 1250 with at most two decimals';
  }
  return undefined;
}

function describe(payload: RulesPayload): string {
  if (payload.table === 'capital') return `Tier 1 capital ${payload.tier1} RUB from ${payload.effectiveFrom}`;
  if (payload.table === 'limit') {
    const scope = payload.kind === 'region' ? (payload.regionCode === null ? 'every region' : `region ${payload.regionCode}`) : payload.kind;
    return payload.active ? `limit for ${scope}: soft ${payload.softPercent}%, hard ${payload.hardPercent}% of Tier 1 from ${payload.effectiveFrom}` : `limit for ${scope} ended from ${payload.effectiveFrom}`;
  }
  if (payload.table === 'channel') return `selling collateral through ${payload.channel} ${payload.allowed ? 'allowed' : 'not allowed'} from ${payload.effectiveFrom}`;
  const kind = payload.borrowerKind ?? 'any borrower';
  return payload.active ? `risk weight for ${kind} against ${payload.collateral}: ${payload.weightPercent}% from ${payload.effectiveFrom}` : `risk weight for ${kind} against ${payload.collateral} ended from ${payload.effectiveFrom}`;
}

export const exposureRulesAction: ApprovalAction<RulesPayload> = {
  type: 'exposure.rules',
  proposerRoles: ['risk_officer'],
  defaultApproverRoles: ['risk_officer'],
  async prepare(_db, raw) {
    const payload = raw as RulesPayload;
    const wrong = check(payload);
    if (wrong !== undefined) return problem('invalid_rule', wrong);
    const normalised: RulesPayload = payload.table === 'capital'
      ? { table: 'capital', effectiveFrom: payload.effectiveFrom, tier1: formatKopecks((parseKopecks(payload.tier1) as { ok: true; value: bigint }).value), legalBasis: payload.legalBasis, reason: payload.reason }
      : payload.table === 'limit'
        ? { table: 'limit', effectiveFrom: payload.effectiveFrom, kind: payload.kind, regionCode: payload.regionCode, softPercent: bpsPercent(percentToBps(payload.softPercent)!), hardPercent: bpsPercent(percentToBps(payload.hardPercent)!), active: payload.active, legalBasis: payload.legalBasis, reason: payload.reason }
        : payload.table === 'channel'
          ? { table: 'channel', effectiveFrom: payload.effectiveFrom, channel: payload.channel, allowed: payload.allowed, legalBasis: payload.legalBasis, reason: payload.reason }
          : { table: 'weight', effectiveFrom: payload.effectiveFrom, borrowerKind: payload.borrowerKind, collateral: payload.collateral, weightPercent: bpsPercent(percentToBps(payload.weightPercent)!), active: payload.active, legalBasis: payload.legalBasis, reason: payload.reason };
    return { ok: true, value: { payload: normalised, summary: `${describe(normalised)} (${normalised.reason})`, amounts: {}, target: `exposure_rules:${normalised.table}` } };
  },
  async execute(tx, payload, context) {
    const common = [payload.effectiveFrom, payload.legalBasis, payload.reason, context.now, context.approver.id, context.approvalId];
    let before: unknown;
    let row: { id: bigint } | undefined;
    if (payload.table === 'capital') {
      [before] = await tx.query('SELECT id, effective_from, tier1_kopecks::text AS tier1_kopecks FROM bank_capital WHERE effective_from <= $1 ORDER BY effective_from DESC, id DESC LIMIT 1', [payload.effectiveFrom]);
      [row] = await tx.query<{ id: bigint }>('INSERT INTO bank_capital (effective_from, legal_basis, reason, recorded_at, recorded_by, approval_id, tier1_kopecks) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
        [...common, (parseKopecks(payload.tier1) as { ok: true; value: bigint }).value]);
    } else if (payload.table === 'limit') {
      [before] = await tx.query(`SELECT id, effective_from, soft_bps, hard_bps, active FROM exposure_limits WHERE kind = $2 AND region_code IS NOT DISTINCT FROM $3 AND effective_from <= $1 ORDER BY effective_from DESC, id DESC LIMIT 1`, [payload.effectiveFrom, payload.kind, payload.regionCode]);
      [row] = await tx.query<{ id: bigint }>('INSERT INTO exposure_limits (effective_from, legal_basis, reason, recorded_at, recorded_by, approval_id, kind, region_code, soft_bps, hard_bps, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id',
        [...common, payload.kind, payload.regionCode, percentToBps(payload.softPercent), percentToBps(payload.hardPercent), payload.active]);
    } else if (payload.table === 'channel') {
      [before] = await tx.query('SELECT id, effective_from, allowed FROM sale_channel_rules WHERE channel = $2 AND effective_from <= $1 ORDER BY effective_from DESC, id DESC LIMIT 1', [payload.effectiveFrom, payload.channel]);
      [row] = await tx.query<{ id: bigint }>('INSERT INTO sale_channel_rules (effective_from, legal_basis, reason, recorded_at, recorded_by, approval_id, channel, allowed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id',
        [...common, payload.channel, payload.allowed]);
    } else {
      [before] = await tx.query(`SELECT id, effective_from, weight_bps, active FROM risk_weight_rules WHERE borrower_kind IS NOT DISTINCT FROM $2 AND collateral = $3 AND effective_from <= $1 ORDER BY effective_from DESC, id DESC LIMIT 1`, [payload.effectiveFrom, payload.borrowerKind, payload.collateral]);
      [row] = await tx.query<{ id: bigint }>('INSERT INTO risk_weight_rules (effective_from, legal_basis, reason, recorded_at, recorded_by, approval_id, borrower_kind, collateral, weight_bps, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id',
        [...common, payload.borrowerKind, payload.collateral, percentToBps(payload.weightPercent), payload.active]);
    }
    await auditApproved(tx, context, `exposure.rules.${payload.table}`, `exposure_rules:${payload.table}:${row!.id}`, { before: before ?? null, after: payload, amounts: payload.table === 'capital' ? { RUB: payload.tier1 } : {} });
    return { ok: true, value: { table: payload.table, id: row!.id.toString(), effectiveFrom: payload.effectiveFrom } };
  },
};
