import type { Queryable } from '../db/database.js';
import { formatMinorUnits, type Currency } from '../money/money.js';
import { appendAudit } from '../audit/audit-repository.js';
import type { User } from '../identity/identity-repository.js';
import type { Role } from '../identity/roles.js';

/**
 * Four eyes (maker-checker), generic: an action is proposed by one user and takes effect only when
 * a different user with a role the approval limits allow approves it, before the proposal
 * expires. The action runs inside the approving transaction, with the proposal row locked, so two
 * approvers racing apply it exactly once. Later issues register their actions (loan approval,
 * price override, liquidation override, write-off); manual ledger adjustments are the first.
 */

export type ApprovalErrorCode =
  | 'approval_not_found'
  | 'approval_not_pending'
  | 'approval_expired'
  | 'approver_is_proposer'
  | 'approver_role_insufficient'
  | 'not_proposer'
  | 'invalid_proposal';

export interface ApprovalError {
  readonly code: ApprovalErrorCode | string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export type ApprovalOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApprovalError };

export interface PreparedProposal<P> {
  readonly payload: P;
  readonly summary: string;
  /** Minor units per currency that approval limits apply to. */
  readonly amounts: Partial<Record<Currency, bigint>>;
  /** What the proposal will affect, for the audit trail ("ledger_entry:12"). */
  readonly target?: string;
}

export interface ApprovalContext {
  readonly approvalId: bigint;
  readonly approver: User;
  readonly proposerId: bigint;
  readonly now: Date;
  /** The approving request, for the audit records the action writes. */
  readonly requestId: string | null;
  readonly ip: string | null;
  /** What the proposal moves, as prepared again at approval (minor units per currency). */
  readonly amounts: Partial<Record<Currency, bigint>>;
}

/**
 * The audit record an approved action writes for what it did: the approver is the actor, the
 * approval and its proposer go into the details, in the approval's transaction and at its time.
 */
export async function auditApproved(tx: Queryable, context: ApprovalContext, action: string, target: string, details: Readonly<Record<string, unknown>>): Promise<void> {
  // The amounts are the approval's (decimal, as people read them) unless the action names its own.
  const amounts = details.amounts ?? Object.fromEntries(Object.entries(context.amounts).filter(([, v]) => v !== undefined).map(([currency, v]) => [currency, formatMinorUnits(v!, currency as Currency)]));
  await appendAudit(tx, { actorUserId: context.approver.id, actor: context.approver.username, requestId: context.requestId, ip: context.ip, action, target, details: { ...details, amounts, approvalId: context.approvalId, proposedBy: context.proposerId } }, context.now);
}

export interface ApprovalAction<P> {
  readonly type: string;
  readonly proposerRoles: readonly Role[];
  /** Approver roles when the limits table has no tier for the amounts (e.g. actions without money). */
  readonly defaultApproverRoles: readonly Role[];
  /** Checks a payload when proposed (and again at approval: the world may have moved). */
  prepare(db: Queryable, payload: unknown): Promise<ApprovalOutcome<PreparedProposal<P>>>;
  /** Carries the action out inside the approval's transaction; the result is stored with it. */
  execute(tx: Queryable, payload: P, context: ApprovalContext): Promise<ApprovalOutcome<Record<string, unknown>>>;
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'cancelled' | 'expired';

export interface Approval {
  readonly id: bigint;
  readonly actionType: string;
  readonly payload: unknown;
  readonly summary: string;
  readonly amounts: Readonly<Record<string, string>>;
  readonly proposedBy: bigint;
  readonly proposedAt: Date;
  readonly expiresAt: Date;
  /** 'expired' is derived: pending past its expiry. */
  readonly status: ApprovalStatus;
  readonly decidedBy: bigint | null;
  readonly decidedAt: Date | null;
  readonly decisionReason: string | null;
  readonly result: unknown;
}

export const APPROVAL_TTL_SECONDS_DEFAULT = 72 * 3_600;

function fail<T>(code: ApprovalErrorCode, message: string, details?: Record<string, unknown>): ApprovalOutcome<T> {
  return { ok: false, error: details === undefined ? { code, message } : { code, message, details } };
}

interface ApprovalRow {
  id: bigint;
  action_type: string;
  payload: unknown;
  summary: string;
  amounts: Record<string, string>;
  proposed_by: bigint;
  proposed_at: Date;
  expires_at: Date;
  status: Exclude<ApprovalStatus, 'expired'>;
  decided_by: bigint | null;
  decided_at: Date | null;
  decision_reason: string | null;
  result: unknown;
  [key: string]: unknown;
}

function toApproval(row: ApprovalRow, now: Date): Approval {
  return {
    id: row.id,
    actionType: row.action_type,
    payload: row.payload,
    summary: row.summary,
    amounts: row.amounts,
    proposedBy: row.proposed_by,
    proposedAt: row.proposed_at,
    expiresAt: row.expires_at,
    status: row.status === 'pending' && row.expires_at <= now ? 'expired' : row.status,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    decisionReason: row.decision_reason,
    result: row.result,
  };
}

export class ApprovalRegistry {
  readonly #actions = new Map<string, ApprovalAction<unknown>>();

  register<P>(action: ApprovalAction<P>): void {
    if (this.#actions.has(action.type)) throw new Error(`approval action ${action.type} registered twice`);
    this.#actions.set(action.type, action as ApprovalAction<unknown>);
  }

  get(type: string): ApprovalAction<unknown> | undefined {
    return this.#actions.get(type);
  }
}

export interface Actor {
  readonly user: User;
  readonly requestId?: string;
  readonly clientRequestId?: string;
  readonly ip?: string;
}

function auditOf(actor: Actor) {
  return { actorUserId: actor.user.id, actor: actor.user.username, requestId: actor.requestId ?? null, clientRequestId: actor.clientRequestId ?? null, ip: actor.ip ?? null };
}

function amountsJson(amounts: Partial<Record<Currency, bigint>>): Record<string, string> {
  return Object.fromEntries(Object.entries(amounts).filter(([, v]) => v !== undefined && v > 0n).map(([k, v]) => [k, v!.toString()]));
}

/** A proposal's amounts (minor units, as stored) as people read them: `{ RUB: "12000000.00" }`. */
export function amountsInUnits(amounts: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(amounts).map(([currency, minor]) => [currency, formatMinorUnits(BigInt(minor), currency as Currency)]));
}

/**
 * Records a proposal (inside the caller's transaction) and its audit record: the action (the
 * route's, when proposed through the API, else `approval.propose.<type>`), the target the proposal
 * affects, and its amounts in roubles and BTC.
 */
export async function propose<P>(tx: Queryable, action: ApprovalAction<P>, payload: unknown, proposer: Actor, options: { now: Date; ttlSeconds?: number; auditAction?: string }): Promise<ApprovalOutcome<Approval>> {
  if (!proposer.user.roles.some((role) => action.proposerRoles.includes(role))) {
    return fail('approver_role_insufficient', `proposing ${action.type} needs one of the roles ${action.proposerRoles.join(', ')}`);
  }
  const prepared = await action.prepare(tx, payload);
  if (!prepared.ok) return prepared;
  const expiresAt = new Date(options.now.getTime() + (options.ttlSeconds ?? APPROVAL_TTL_SECONDS_DEFAULT) * 1000);
  const [row] = await tx.query<ApprovalRow>(
    `INSERT INTO approvals (action_type, payload, summary, amounts, proposed_by, proposed_at, expires_at)
     VALUES ($1, $2::jsonb, $3, $4::jsonb, $5, $6, $7) RETURNING *`,
    [action.type, JSON.stringify(prepared.value.payload), prepared.value.summary, JSON.stringify(amountsJson(prepared.value.amounts)), proposer.user.id, options.now, expiresAt],
  );
  const approval = toApproval(row!, options.now);
  await appendAudit(tx, { ...auditOf(proposer), action: options.auditAction ?? `approval.propose.${action.type}`, target: prepared.value.target ?? `approval:${approval.id}`, details: { approvalId: approval.id, actionType: action.type, summary: approval.summary, payload: approval.payload, amounts: amountsInUnits(approval.amounts), expiresAt: approval.expiresAt } }, options.now);
  return { ok: true, value: approval };
}

/** The roles that may approve these amounts under the limits in force. */
export async function eligibleApproverRoles(db: Queryable, action: ApprovalAction<unknown>, amounts: Readonly<Record<string, string>>): Promise<Role[]> {
  const currencies = Object.keys(amounts);
  if (currencies.length === 0) return [...action.defaultApproverRoles];
  const tiers = await db.query<{ currency: string; approver_role: Role; up_to_minor: bigint | null }>(
    'SELECT currency, approver_role, up_to_minor FROM approval_limits WHERE action_type = $1', [action.type],
  );
  let eligible: Role[] | undefined;
  for (const currency of currencies) {
    const amount = BigInt(amounts[currency]!);
    const forCurrency = tiers.filter((tier) => tier.currency === currency && (tier.up_to_minor === null || tier.up_to_minor >= amount)).map((tier) => tier.approver_role);
    eligible = eligible === undefined ? forCurrency : eligible.filter((role) => forCurrency.includes(role));
  }
  return eligible ?? [];
}

export async function findApproval(db: Queryable, id: bigint, now: Date): Promise<Approval | undefined> {
  const [row] = await db.query<ApprovalRow>('SELECT * FROM approvals WHERE id = $1', [id]);
  return row === undefined ? undefined : toApproval(row, now);
}

export async function listApprovals(db: Queryable, filter: { status?: ApprovalStatus; limit: number; afterId?: bigint }, now: Date): Promise<Approval[]> {
  const stored = filter.status === 'expired' ? 'pending' : filter.status;
  const rows = await db.query<ApprovalRow>(
    `SELECT * FROM approvals WHERE id > $1 AND ($2::text IS NULL OR status = $2)
        AND ($3::text IS NULL OR ($3 = 'expired') = (status = 'pending' AND expires_at <= $4))
      ORDER BY id LIMIT $5`,
    [filter.afterId ?? 0n, stored ?? null, filter.status === 'expired' || filter.status === 'pending' ? filter.status : null, now, filter.limit],
  );
  return rows.map((row) => toApproval(row, now));
}

async function lockPending(tx: Queryable, id: bigint, now: Date): Promise<ApprovalOutcome<ApprovalRow>> {
  const [row] = await tx.query<ApprovalRow>('SELECT * FROM approvals WHERE id = $1 FOR UPDATE', [id]);
  if (row === undefined) return fail('approval_not_found', `no approval ${id}`);
  if (row.status !== 'pending') return fail('approval_not_pending', `approval ${id} is already ${row.status}`, { status: row.status });
  if (row.expires_at <= now) return fail('approval_expired', `approval ${id} expired at ${row.expires_at.toISOString()}; propose it again`);
  return { ok: true, value: row };
}

/**
 * Approves and carries out a proposal, in the caller's transaction (roll back on a rejection).
 * The checker must differ from the maker and hold a role the limits allow for the amounts.
 */
export async function approve(tx: Queryable, registry: ApprovalRegistry, id: bigint, approver: Actor, now: Date): Promise<ApprovalOutcome<Approval>> {
  const locked = await lockPending(tx, id, now);
  if (!locked.ok) return locked;
  const row = locked.value;
  const action = registry.get(row.action_type);
  if (action === undefined) throw new Error(`approval ${id} has an action type this build does not know: ${row.action_type}`);
  if (row.proposed_by === approver.user.id) return fail('approver_is_proposer', 'the proposer of an action cannot approve it: a second person must');
  const eligible = await eligibleApproverRoles(tx, action, row.amounts);
  if (!approver.user.roles.some((role) => eligible.includes(role))) {
    const amounts = Object.entries(amountsInUnits(row.amounts)).map(([currency, value]) => `${value} ${currency}`).join(' and ');
    return fail('approver_role_insufficient', `approving this needs one of the roles ${eligible.join(', ') || '(none configured)'}${amounts === '' ? '' : ` for ${amounts}`}`, { eligibleRoles: eligible, amounts: amountsInUnits(row.amounts) });
  }
  const prepared = await action.prepare(tx, row.payload);
  if (!prepared.ok) return prepared;
  const executed = await action.execute(tx, prepared.value.payload, { approvalId: row.id, approver: approver.user, proposerId: row.proposed_by, now, requestId: approver.requestId ?? null, ip: approver.ip ?? null, amounts: prepared.value.amounts });
  if (!executed.ok) return executed;
  const [updated] = await tx.query<ApprovalRow>(
    `UPDATE approvals SET status = 'approved', decided_by = $2, decided_at = $3, result = $4::jsonb WHERE id = $1 RETURNING *`,
    [id, approver.user.id, now, JSON.stringify(executed.value)],
  );
  // The execution record names what was executed: the action's target, its summary, amounts and result.
  await appendAudit(tx, { ...auditOf(approver), action: `approval.approve.${row.action_type}`, target: prepared.value.target ?? `approval:${id}`, details: { approvalId: id, actionType: row.action_type, executed: row.summary, payload: row.payload, amounts: amountsInUnits(row.amounts), proposedBy: row.proposed_by, eligibleRoles: eligible, result: executed.value } }, now);
  return { ok: true, value: toApproval(updated!, now) };
}

/** A checker turns a proposal down (with a reason); the proposer may withdraw its own. */
export async function decline(tx: Queryable, id: bigint, actor: Actor, decision: 'rejected' | 'cancelled', reason: string, now: Date): Promise<ApprovalOutcome<Approval>> {
  const locked = await lockPending(tx, id, now);
  if (!locked.ok && locked.error.code !== 'approval_expired') return locked;
  const [row] = await tx.query<ApprovalRow>('SELECT * FROM approvals WHERE id = $1', [id]);
  if (decision === 'cancelled' && row!.proposed_by !== actor.user.id) return fail('not_proposer', 'only the proposer can cancel a proposal; a checker rejects it');
  if (decision === 'rejected' && row!.proposed_by === actor.user.id) return fail('approver_is_proposer', 'the proposer cancels its own proposal rather than rejecting it');
  const [updated] = await tx.query<ApprovalRow>(
    'UPDATE approvals SET status = $2, decided_by = $3, decided_at = $4, decision_reason = $5 WHERE id = $1 RETURNING *',
    [id, decision, actor.user.id, now, reason],
  );
  await appendAudit(tx, { ...auditOf(actor), action: `approval.${decision === 'rejected' ? 'reject' : 'cancel'}.${row!.action_type}`, target: `approval:${id}`, details: { reason, summary: row!.summary, amounts: amountsInUnits(row!.amounts) } }, now);
  return { ok: true, value: toApproval(updated!, now) };
}
