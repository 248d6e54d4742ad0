import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import { findUserById, setActivationPending } from './identity-repository.js';

/**
 * Activating a user who was given a role that moves money or administers users (by creation, a
 * role change or a password reset through the API): proposed by the admin who made the change,
 * approved by a second admin. The proposal names the roles it activates; if they changed since,
 * it no longer applies. Passwords never enter a proposal.
 */
export interface ActivationPayload {
  readonly userId: string;
  readonly roles: readonly string[];
  readonly cause: 'created' | 'roles_changed' | 'password_reset';
}

export const activateUserAction: ApprovalAction<ActivationPayload> = {
  type: 'identity.activate_user',
  proposerRoles: ['admin'],
  defaultApproverRoles: ['admin'],
  async prepare(db, payload) {
    const request = payload as ActivationPayload;
    const user = await findUserById(db, BigInt(request.userId));
    if (user === undefined) return { ok: false, error: { code: 'user_not_found', message: `no user ${request.userId}` } };
    if (!user.activationPending) return { ok: false, error: { code: 'invalid_proposal', message: `user ${user.username} is not waiting for activation` } };
    if ([...user.roles].sort().join(',') !== [...request.roles].sort().join(',')) {
      return { ok: false, error: { code: 'invalid_proposal', message: `user ${user.username}'s roles changed since this activation was proposed; propose it again` } };
    }
    return { ok: true, value: { payload: request, summary: `activate ${user.username} with roles ${request.roles.join(', ')} (${request.cause.replace('_', ' ')})`, amounts: {}, target: `user:${user.id}` } };
  },
  async execute(tx, payload, context) {
    await setActivationPending(tx, BigInt(payload.userId), false);
    await auditApproved(tx, context, 'identity.user.activate', `user:${payload.userId}`, { roles: payload.roles, cause: payload.cause });
    return { ok: true, value: { userId: payload.userId, active: true } };
  },
};
