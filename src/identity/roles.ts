/**
 * Roles, pure. A user holds one or more; a borrower's representative holds only `borrower`.
 * `system` is the user automatic decisions are recorded under; no person holds it.
 */
export const ROLES = ['borrower', 'credit_officer', 'risk_officer', 'treasury', 'auditor', 'admin', 'system'] as const;
export type Role = (typeof ROLES)[number];

/** Roles a person can be given (by an admin, or the first admin by the CLI). */
export const ASSIGNABLE_ROLES = ['borrower', 'credit_officer', 'risk_officer', 'treasury', 'auditor', 'admin'] as const satisfies readonly Role[];
export type AssignableRole = (typeof ASSIGNABLE_ROLES)[number];

/** The bank's staff who may read the books. `admin` manages users and configuration, not money. */
export const BOOK_READERS: readonly Role[] = ['credit_officer', 'risk_officer', 'treasury', 'auditor'];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export interface RolesProblem {
  readonly message: string;
}

/** Checks a role set for a person; undefined when acceptable. */
export function rolesProblem(roles: readonly string[], borrowerId: string | null): string | undefined {
  if (roles.length === 0) return 'a user needs at least one role';
  const unknown = roles.filter((role) => !(ASSIGNABLE_ROLES as readonly string[]).includes(role));
  if (unknown.length > 0) return `unknown or unassignable roles: ${unknown.join(', ')}`;
  if (new Set(roles).size !== roles.length) return 'a role is listed twice';
  const borrower = roles.includes('borrower');
  if (borrower && roles.length > 1) return 'a borrower\'s representative holds no other role';
  if (borrower && borrowerId === null) return 'a borrower\'s representative must be bound to a borrower (borrowerId)';
  if (!borrower && borrowerId !== null) return 'only a borrower\'s representative is bound to a borrower';
  return undefined;
}

/**
 * Lock-out with back-off after failed logins: from the 5th consecutive failure the account is
 * locked for 1 minute, doubling with each further failure, at most 1 hour. A successful login
 * resets the count.
 */
export const LOCKOUT = { failuresFree: 4, firstLockSeconds: 60, maxLockSeconds: 3_600 } as const;

export function lockSeconds(consecutiveFailures: number): number {
  if (consecutiveFailures <= LOCKOUT.failuresFree) return 0;
  const doublings = consecutiveFailures - LOCKOUT.failuresFree - 1;
  return Math.min(LOCKOUT.maxLockSeconds, LOCKOUT.firstLockSeconds * 2 ** Math.min(doublings, 20));
}

/**
 * Roles whose holders move money or administer users. Given through the API, they take effect only
 * once a second admin approves (the user stays inactive until then).
 */
export const SENSITIVE_ROLES: readonly Role[] = ['credit_officer', 'risk_officer', 'treasury', 'admin'];

export function holdsSensitiveRole(roles: readonly string[]): boolean {
  return roles.some((role) => (SENSITIVE_ROLES as readonly string[]).includes(role));
}
