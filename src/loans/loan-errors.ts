/**
 * A business rejection from the loan services: a code the API maps to a status (src/api/errors.ts)
 * and a message for a person. Thrown inside a transaction, it rolls the whole change back.
 */
export class LoanError extends Error {
  override readonly name = 'LoanError';
  constructor(readonly code: string, message: string, readonly details?: Readonly<Record<string, unknown>>) {
    super(message);
  }
}

export function refuse(code: string, message: string, details?: Record<string, unknown>): never {
  throw new LoanError(code, message, details);
}
