import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import { findUserById, setPassword } from './identity-repository.js';

/**
 * An admin's reset of another user's password, under four eyes: one admin proposes a temporary
 * password (its hash waits in `password_resets`, never in the proposal), a second approves, and
 * only then does it replace the user's password. The user must choose its own at the next login
 * before anything else works, and the temporary one stops working after TEMPORARY_PASSWORD_HOURS.
 * So no single admin can take over a borrower's or an auditor's account.
 */
export interface PasswordResetPayload {
  readonly userId: string;
  readonly resetId: string;
}

export const TEMPORARY_PASSWORD_HOURS = 72;

type Outcome<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };
const refused = (code: string, message: string): Outcome<never> => ({ ok: false, error: { code, message } });

async function check(db: Parameters<ApprovalAction<PasswordResetPayload>['prepare']>[0], payload: PasswordResetPayload) {
  if (!/^[1-9][0-9]{0,18}$/.test(String(payload.userId)) || !/^[1-9][0-9]{0,18}$/.test(String(payload.resetId))) return refused('invalid_proposal', 'userId and resetId are ids');
  const user = await findUserById(db, BigInt(payload.userId));
  if (user === undefined || user.roles.includes('system')) return refused('user_not_found', `no user ${payload.userId}`);
  const [reset] = await db.query<{ user_id: bigint; applied_at: Date | null; password_hash: string }>('SELECT user_id, applied_at, password_hash FROM password_resets WHERE id = $1', [BigInt(payload.resetId)]);
  if (reset === undefined || reset.user_id !== user.id) return refused('invalid_proposal', `no password reset ${payload.resetId} for user ${payload.userId}`);
  if (reset.applied_at !== null) return refused('invalid_proposal', `password reset ${payload.resetId} was already applied`);
  return { ok: true as const, value: { user, hash: reset.password_hash } };
}

export const resetPasswordAction: ApprovalAction<PasswordResetPayload> = {
  type: 'identity.reset_password',
  proposerRoles: ['admin'],
  defaultApproverRoles: ['admin'],
  async prepare(db, raw) {
    const payload = raw as PasswordResetPayload;
    const checked = await check(db, payload);
    if (!checked.ok) return checked;
    const { user } = checked.value;
    return { ok: true, value: { payload: { userId: payload.userId, resetId: payload.resetId }, summary: `reset the password of ${user.username} (${user.roles.join(', ')}) to a temporary one the user must change at its next login`, amounts: {}, target: `user:${user.id}` } };
  },
  async execute(tx, payload, context) {
    const checked = await check(tx, payload);
    if (!checked.ok) return checked;
    const { user, hash } = checked.value;
    const expiresAt = new Date(context.now.getTime() + TEMPORARY_PASSWORD_HOURS * 3_600_000);
    await setPassword(tx, user.id, hash, { temporaryUntil: expiresAt });
    await tx.query('UPDATE password_resets SET applied_at = $2 WHERE id = $1', [BigInt(payload.resetId), context.now]);
    await auditApproved(tx, context, 'identity.user.password_reset', `user:${user.id}`, { amounts: {}, resetId: payload.resetId, temporaryUntil: expiresAt.toISOString(), note: 'password replaced by a temporary one; every session and API token revoked' });
    return { ok: true, value: { userId: payload.userId, temporaryUntil: expiresAt.toISOString(), passwordChangeRequired: true } };
  },
};
