import type { Queryable } from '../db/database.js';

/**
 * Compliance events: a rule started or stopped failing for a borrower. Loans (issue 6) read them:
 * a rule that starts failing for a borrower with a live loan is a default review. Set-based
 * re-screening writes its events in its own statement; single events go through here.
 */
export async function raiseComplianceEvent(tx: Queryable, event: { borrowerId: bigint; rule: string; kind: 'started_failing' | 'stopped_failing'; reason: string; at: Date }): Promise<void> {
  await tx.query('INSERT INTO compliance_events (borrower_id, rule, kind, reason, raised_at) VALUES ($1, $2, $3, $4, $5)',
    [event.borrowerId, event.rule, event.kind, event.reason, event.at]);
}
