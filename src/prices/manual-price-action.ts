import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import { formatPrice, parsePrice } from '../money/money.js';
import { validateReason } from '../ledger/entry.js';

/**
 * A manual BTC/RUB price, for when the feed cannot be trusted: proposed by a risk officer,
 * approved by a second one, valid for a bounded time (at most 24 hours), with a reason. While it
 * is valid the price service publishes it instead of the feed (status 'manual').
 */

export interface ManualPricePayload {
  readonly price: string;
  readonly validMinutes: number;
  readonly reason: string;
}

export const MANUAL_PRICE_MINUTES_MAX = 24 * 60;

export const manualPriceAction: ApprovalAction<ManualPricePayload> = {
  type: 'prices.manual_price',
  proposerRoles: ['risk_officer'],
  defaultApproverRoles: ['risk_officer'],
  async prepare(_db, payload) {
    const request = payload as ManualPricePayload;
    const price = parsePrice(request.price);
    if (!price.ok) return { ok: false, error: { code: 'invalid_amount', message: `price: ${price.error.message}` } };
    if (!Number.isInteger(request.validMinutes) || request.validMinutes < 1 || request.validMinutes > MANUAL_PRICE_MINUTES_MAX) {
      return { ok: false, error: { code: 'invalid_proposal', message: `validMinutes is a whole number from 1 to ${MANUAL_PRICE_MINUTES_MAX}` } };
    }
    const reason = validateReason(request.reason);
    if (!reason.ok) return reason;
    return { ok: true, value: { payload: request, summary: `manual BTC/RUB price ${formatPrice(price.value)} for ${request.validMinutes} min: ${request.reason}`, amounts: {} } };
  },
  async execute(tx, payload, context) {
    const price = parsePrice(payload.price);
    if (!price.ok) return { ok: false, error: { code: 'invalid_amount', message: price.error.message } };
    const until = new Date(context.now.getTime() + payload.validMinutes * 60_000);
    await tx.query('UPDATE price_manual SET ended_at = $1 WHERE ended_at IS NULL AND valid_until > $1', [context.now]);
    const [row] = await tx.query<{ id: bigint }>(
      'INSERT INTO price_manual (price_kopecks, valid_from, valid_until, reason, approval_id) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [price.value, context.now, until, payload.reason, context.approvalId],
    );
    await auditApproved(tx, context, 'prices.manual_price.set', `price_manual:${row!.id}`, { price: payload.price, validFrom: context.now, validUntil: until, reason: payload.reason });
    return { ok: true, value: { manualPriceId: row!.id.toString(), validUntil: until.toISOString() } };
  },
};
