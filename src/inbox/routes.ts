import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../api/context.js';
import { eligibleApproverRoles, listApprovals } from '../approvals/approvals.js';
import { approvalView } from '../approvals/routes.js';
import { bankCalendar } from '../calendar/load.js';
import { BOOK_READERS } from '../identity/roles.js';
import { formatKopecks, formatSats } from '../money/money.js';
import { businessTimeLeft } from '../risk/deadline.js';
import { portfolio } from '../risk/portfolio.js';

/**
 * What waits for a member of staff, in one read: proposals for a second pair of eyes (never the
 * reader's own: four eyes), each saying whether the reader's roles may approve it; applications
 * with an offer to decide; margin calls with their deadlines and the bank's business time left;
 * liquidations under way; open screening hits; the latest compliance events; risk notices that never
 * reached the borrower (dead letters, and calls' notices still unsent at the deadline). And the portfolio
 * page's figures (src/risk/portfolio.ts).
 */

const Loose = Type.Record(Type.String(), Type.Unknown());
const errors = { 401: Type.Ref('Error'), 403: Type.Ref('Error') };
const STAFF = [...BOOK_READERS, 'admin'] as const;

export function inboxRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  let cached: { key: string; value: Awaited<ReturnType<typeof portfolio>> } | undefined;
  return async (app) => {
    app.get('/portfolio', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['risk'], operationId: 'getPortfolio',
        summary: 'The live book: lent and owed, collateral in BTC and RUB at the latest price, loans per ladder state, an LTV histogram against each product\'s ladder, the loans nearest a trigger, and the book\'s trigger prices as bands',
        querystring: Type.Object({ nearest: Type.Integer({ minimum: 1, maximum: 100, default: 10 }) }, { additionalProperties: false }),
        response: { 200: Loose, ...errors },
      },
    }, async (request) => {
      // The book changes only with a price cycle or a change of some loan's exposure (loan_risk's
      // seq, bumped on every change) or a loan's status: the figures are kept for that version and
      // recomputed when it moves, so reading the portfolio costs two index lookups, not a pass
      // over every live loan (exact: no time-based staleness).
      const [version] = await db.query<{ cycle: bigint | null; seq: bigint | null; loans: bigint | null }>(
        `SELECT (SELECT max(id) FROM price_cycles WHERE stream = 'live') AS cycle, (SELECT max(seq) FROM loan_risk) AS seq, (SELECT max(id) FROM loan_events) AS loans`);
      const key = `${version?.cycle ?? ''}/${version?.seq ?? ''}/${version?.loans ?? ''}/${request.query.nearest}`;
      if (cached?.key !== key) cached = { key, value: await portfolio(db, { nearest: request.query.nearest }) };
      return cached.value;
    });

    app.get('/inbox', {
      config: { access: { roles: STAFF } },
      schema: {
        tags: ['approvals'], operationId: 'getInbox',
        summary: 'What waits for me: proposals for a second pair of eyes (mine excluded), applications to decide, margin calls with their deadlines in business time, liquidations under way, open screening hits, recent compliance events, risk notices that did not reach the borrower (a dead letter, or a call\'s notice not sent before its deadline): someone must call the borrower',
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }) }, { additionalProperties: false }),
        response: { 200: Loose, ...errors },
      },
    }, async (request) => {
      const at = now();
      const me = request.principal!.user;
      const limit = request.query.limit;
      const calendar = await bankCalendar();
      const pending = (await listApprovals(db, { status: 'pending', limit: 500 }, at));
      const others = pending.filter((a) => a.proposedBy !== me.id);
      const proposals = [];
      for (const approval of others.slice(0, limit)) {
        const action = context.approvals.get(approval.actionType);
        const roles = action === undefined ? [] : await eligibleApproverRoles(db, action, approval.amounts);
        proposals.push({ ...approvalView(approval), approverRoles: roles, canApprove: roles.some((role) => me.roles.includes(role)) });
      }
      const names = new Map((await db.query<{ id: bigint; display_name: string }>('SELECT id, display_name FROM users WHERE id = ANY($1::int8[])', [[...new Set(others.map((a) => a.proposedBy))]])).map((u) => [u.id, u.display_name]));
      const applications = await db.query<{ id: bigint; borrower: string; name: string; product_code: string; amount_kopecks: bigint; months: number; collateral_sats: bigint; created_at: Date; offer_id: bigint | null; blocking: string[] | null }>(
        `SELECT a.id, b.ref AS borrower, b.name, a.product_code, a.amount_kopecks, a.months, a.collateral_sats, a.created_at, o.id AS offer_id, o.blocking_reasons AS blocking
           FROM loan_applications a JOIN borrowers b ON b.id = a.borrower_id
           LEFT JOIN LATERAL (SELECT id, blocking_reasons FROM loan_offers WHERE application_id = a.id ORDER BY id DESC LIMIT 1) o ON true
          WHERE a.status = 'offered' ORDER BY a.id LIMIT $1`, [limit]);
      const calls = await db.query<{ ref: string; borrower: string; state: string; debt_kopecks: bigint; sats: bigint; call_deadline: Date | null; state_since: Date }>(
        `SELECT l.ref, b.ref AS borrower, r.state, r.debt_kopecks, r.sats, r.call_deadline, r.state_since
           FROM loan_risk r JOIN loans l ON l.id = r.loan_id JOIN borrowers b ON b.id = l.borrower_id
          WHERE r.live AND r.state IN ('margin_call', 'accelerated_call', 'liquidation') ORDER BY r.call_deadline NULLS LAST, l.id LIMIT $1`, [limit]);
      const liquidations = await db.query<{ id: bigint; ref: string; status: string; reason: string | null; planned_sats: bigint | null; filled_sats: bigint; queued_at: Date }>(
        `SELECT q.id, l.ref, q.status, q.reason, q.planned_sats, q.queued_at,
                (SELECT coalesce(sum(f.sats), 0)::int8 FROM liquidation_fills f WHERE f.liquidation_id = q.id) AS filled_sats
           FROM liquidations q JOIN loans l ON l.id = q.loan_id WHERE q.status IN ('queued', 'selling', 'sold') ORDER BY q.id LIMIT $1`, [limit]);
      const hits = await db.query<{ id: bigint; borrower: string; field: string; matched: string; list_name: string; entry_display: string; found_at: Date }>(
        `SELECT h.id, b.ref AS borrower, h.field, h.matched, h.list_name, h.entry_display, h.found_at
           FROM screening_hits h JOIN borrowers b ON b.id = h.borrower_id WHERE h.status = 'open' ORDER BY h.id LIMIT $1`, [limit]);
      const events = await db.query<{ id: bigint; borrower: string; rule: string; kind: string; reason: string; raised_at: Date }>(
        `SELECT e.id, b.ref AS borrower, e.rule, e.kind, e.reason, e.raised_at
           FROM compliance_events e JOIN borrowers b ON b.id = e.borrower_id ORDER BY e.id DESC LIMIT $1`, [Math.min(limit, 20)]);
      // Notices that failed for good, or that were still unsent when their call's deadline passed:
      // the borrower may not know, so a person must reach it another way (outbox.ts deliverDue).
      const undelivered = await db.query<{ id: bigint; ref: string; borrower: string; channel: string; topic: string; status: string; last_error: string | null; attempts: number; created: Date; call_deadline: Date | null }>(
        `SELECT o.id, l.ref, b.ref AS borrower, o.channel, o.topic, o.status, o.last_error, o.attempts, coalesce(t.at, o.created_at) AS created, t.call_deadline
           FROM risk_outbox o LEFT JOIN risk_transitions t ON t.id = o.transition_id JOIN loans l ON l.id = o.loan_id JOIN borrowers b ON b.id = l.borrower_id
          WHERE o.status IN ('dead', 'expired') ORDER BY o.id DESC LIMIT $1`, [limit]);
      return {
        at: at.toISOString(),
        proposals: proposals.map((p) => ({ ...p, proposedByName: names.get(BigInt(p.proposedBy)) ?? null })),
        myPendingProposals: pending.length - others.length,
        applications: applications.map((a) => ({
          id: a.id.toString(), borrower: a.borrower, borrowerName: a.name, product: a.product_code, amount: formatKopecks(a.amount_kopecks), months: a.months,
          collateralBtc: formatSats(a.collateral_sats), createdAt: a.created_at.toISOString(), offerId: a.offer_id?.toString() ?? null, blockingReasons: a.blocking ?? [],
        })),
        calls: calls.map((c) => ({
          loan: c.ref, borrower: c.borrower, state: c.state, since: c.state_since.toISOString(), debt: formatKopecks(c.debt_kopecks), collateralBtc: formatSats(c.sats),
          callDeadline: c.call_deadline?.toISOString() ?? null,
          // Whole seconds of the bank's business time left: the countdown the console shows.
          businessSecondsLeft: c.call_deadline === null ? null : Math.floor(businessTimeLeft(at, c.call_deadline, calendar) / 1000),
        })),
        liquidations: liquidations.map((q) => ({ id: q.id.toString(), loan: q.ref, status: q.status, reason: q.reason, plannedBtc: q.planned_sats === null ? null : formatSats(q.planned_sats), filledBtc: formatSats(q.filled_sats), queuedAt: q.queued_at.toISOString() })),
        screeningHits: hits.map((h) => ({ id: h.id.toString(), borrower: h.borrower, field: h.field, matched: h.matched, list: h.list_name, entry: h.entry_display, foundAt: h.found_at.toISOString() })),
        undeliveredNotices: undelivered.map((n) => ({
          id: n.id.toString(), loan: n.ref, borrower: n.borrower, channel: n.channel, topic: n.topic, status: n.status, error: n.last_error, attempts: n.attempts,
          at: n.created.toISOString(), callDeadline: n.call_deadline?.toISOString() ?? null,
        })),
        complianceEvents: events.map((e) => ({ id: e.id.toString(), borrower: e.borrower, rule: e.rule, kind: e.kind, reason: e.reason, at: e.raised_at.toISOString() })),
      };
    });
  };
}
