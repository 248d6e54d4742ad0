import { Type } from 'typebox';

/**
 * One error shape for the whole API: `{ error: { code, message, details? } }`. `code` is a
 * machine-readable snake_case word a client can switch on; `message` is for a person; `details`
 * says where (field, posting, entry). A 5xx never carries a stack trace or internal text.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'machine-readable, e.g. "entry_unbalanced"' }),
      message: Type.String({ description: 'for a person' }),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      requestId: Type.Optional(Type.String()),
    }),
  },
  { $id: 'Error', description: 'Every 4xx and 5xx response' },
);

/** HTTP status for each business rejection code of the domains. */
const STATUS_BY_CODE: Record<string, number> = {
  account_not_found: 404,
  entry_not_found: 404,
  idempotency_key_reused: 422,
  entry_already_reversed: 409,
  approval_not_found: 404,
  approval_not_pending: 409,
  approval_expired: 409,
  approver_is_proposer: 403,
  approver_role_insufficient: 403,
  not_proposer: 403,
  not_found: 404,
  hit_not_open: 409,
  invalid_bank_details: 400,
  // Loans (src/loans/loan-errors.ts).
  product_not_found: 404,
  loan_not_found: 404,
  application_not_found: 404,
  position_not_found: 404,
  application_not_open: 409,
  offer_expired: 409,
  offer_blocked: 409,
  // Exposure (src/exposure).
  no_capital_recorded: 409,
  exposure_limit_exceeded: 409,
  exposure_needs_risk_officer: 403,
  borrower_too_young: 422,
  sale_channel_required: 422,
  sale_channel_changed: 409,
  sale_channel_not_allowed: 409,
  borrower_age_unknown: 422,
  // Machines as the second layer (src/loans/equipment-pledges.ts, src/risk/equipment-layer.ts).
  equipment_not_accepted: 422,
  invalid_equipment: 422,
  equipment_not_valued: 409,
  equipment_breach: 409,
  equipment_already_pledged: 409,
  equipment_changed: 409,
  loan_not_in_default: 409,
  no_equipment_pledged: 409,
  enforcement_not_found: 404,
  proceeds_already_recorded: 409,
  no_key_rate: 409,
  price_unavailable: 409,
  loan_not_in_state: 409,
  collateral_insufficient: 409,
  no_bank_details: 409,
  not_business_day: 409,
  eod_in_progress: 409,
  reference_reused: 409,
  insufficient_funds: 409,
  position_not_pending: 409,
  release_not_open: 409,
  custodian_ref_taken: 409,
  eod_out_of_order: 409,
  liquidation_not_found: 404,
  liquidation_not_selling: 409,
  below_floor: 422,
  invalid_fill: 422,
  collateral_remaining: 409,
  nothing_owed: 409,
  suspense_not_open: 409,
  // Vaults (src/vaults/).
  vault_exists: 409,
  vault_not_found: 404,
  vault_frozen: 409,
  chain_unavailable: 503,
  spend_not_found: 404,
  spend_open: 409,
  spend_not_in_state: 409,
  spend_insufficient: 409,
  spend_invalid: 422,
  release_address_missing: 409,
  release_address_invalid: 400,
  excess_ltv: 409,
  desk_address_missing: 503,
  psbt_malformed: 400,
  psbt_altered: 422,
  psbt_unsigned: 422,
  psbt_fee: 422,
  broadcast_failed: 502,
  liquidation_awaiting_chain: 409,
  release_by_vault_spend: 409,
  borrower_key_unproven: 409,
  no_borrower_key: 409,
  custody_mode_not_allowed: 409,
};

/** Turns a domain rejection (a value, not an exception) into the API error for it. */
export function rejection(error: { code: string; message: string; details?: Readonly<Record<string, unknown>> }): ApiError {
  return new ApiError(STATUS_BY_CODE[error.code] ?? 400, error.code, error.message, error.details);
}
