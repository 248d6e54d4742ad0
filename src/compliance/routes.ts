import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditFields } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { Id, Instant } from '../api/schemas.js';
import { appendAudit } from '../audit/audit-repository.js';
import { BOOK_READERS } from '../identity/roles.js';
import { isCalendarDate } from '../ledger/entry.js';
import { loadBanTable } from './evaluation.js';
import { rescreenBannedAreas } from './rescreen.js';

/** The banned-area table (data the government amends) and the re-screening a change sets off. */

const MonthDay = Type.String({ pattern: '^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' });
const BanBody = Type.Object({
  regionCode: Type.String({ pattern: '^[0-9]{2}$' }),
  municipalities: Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 500 }), Type.Null()]),
  kind: Type.Union([Type.Literal('year_round'), Type.Literal('seasonal')]),
  seasonStart: Type.Optional(MonthDay),
  seasonEnd: Type.Optional(MonthDay),
  effectiveFrom: Type.String({ maxLength: 10 }),
  effectiveTo: Type.Union([Type.String({ maxLength: 10 }), Type.Null()]),
  legalBasis: Type.String({ minLength: 3, maxLength: 500 }),
}, { additionalProperties: false });
const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error') };

export function complianceRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  return async (app) => {
    app.get('/bans', {
      config: { access: { roles: [...BOOK_READERS, 'admin'] } },
      schema: { tags: ['compliance'], summary: 'The banned-area table', response: { 200: Type.Object({ bans: Type.Array(Type.Intersect([Type.Object({ id: Type.String() }), Type.Unknown()])) }) } },
    }, async () => ({ bans: await loadBanTable(db) }));

    app.put('/bans/:id', {
      config: { access: { roles: ['risk_officer'] }, audit: 'compliance.bans.set' },
      schema: {
        tags: ['compliance'],
        summary: 'Set one entry of the banned-area table; every borrower is re-screened at once and borrowers whose outcome changes get an event',
        params: Type.Object({ id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{1,63}$' }) }),
        body: BanBody,
        response: { 200: Type.Object({ borrowers: Type.Integer(), banned: Type.Integer(), startedFailing: Type.Integer(), stoppedFailing: Type.Integer() }), ...errors },
      },
    }, async (request) => {
      const body = request.body;
      if (!isCalendarDate(body.effectiveFrom) || (body.effectiveTo !== null && (!isCalendarDate(body.effectiveTo) || body.effectiveTo < body.effectiveFrom))) {
        throw new ApiError(400, 'invalid_date', 'effectiveFrom is a calendar date, and effectiveTo (if any) one not before it');
      }
      if ((body.kind === 'seasonal') !== (body.seasonStart !== undefined && body.seasonEnd !== undefined)) throw new ApiError(400, 'invalid_ban', 'a seasonal ban has a season start and end (MM-DD); a year-round one has none');
      const at = now();
      const summary = await db.transaction(async (tx) => {
        const [before] = await tx.query('SELECT * FROM mining_bans WHERE id = $1', [request.params.id]);
        await tx.query(
          `INSERT INTO mining_bans (id, region_code, municipalities, kind, season_start, season_end, effective_from, effective_to, legal_basis)
           VALUES ($1, $2, $3::text[], $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET region_code = EXCLUDED.region_code, municipalities = EXCLUDED.municipalities, kind = EXCLUDED.kind, season_start = EXCLUDED.season_start,
             season_end = EXCLUDED.season_end, effective_from = EXCLUDED.effective_from, effective_to = EXCLUDED.effective_to, legal_basis = EXCLUDED.legal_basis`,
          [request.params.id, body.regionCode, body.municipalities, body.kind, body.seasonStart ?? null, body.seasonEnd ?? null, body.effectiveFrom, body.effectiveTo, body.legalBasis],
        );
        const result = await rescreenBannedAreas(tx, at.toISOString().slice(0, 10), at);
        await appendAudit(tx, { ...auditFields(request), action: 'compliance.bans.set', target: `mining_ban:${request.params.id}`, details: { before: before ?? null, after: body, rescreen: result } }, at);
        return result;
      });
      request.audited = true;
      return summary;
    });

    app.get('/events', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['compliance'],
        summary: 'Compliance events (a rule started or stopped failing for a borrower), oldest first, paged',
        querystring: Type.Object({ afterId: Type.Optional(Id), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ events: Type.Array(Type.Object({ id: Id, borrowerRef: Type.String(), rule: Type.String(), kind: Type.String(), reason: Type.String(), raisedAt: Instant })) }) },
      },
    }, async (request) => {
      const rows = await db.query<{ id: bigint; ref: string; rule: string; kind: string; reason: string; raised_at: Date }>(
        'SELECT e.id, b.ref, e.rule, e.kind, e.reason, e.raised_at FROM compliance_events e JOIN borrowers b ON b.id = e.borrower_id WHERE e.id > $1 ORDER BY e.id LIMIT $2',
        [request.query.afterId ? BigInt(request.query.afterId) : 0n, request.query.limit],
      );
      return { events: rows.map((row) => ({ id: row.id.toString(), borrowerRef: row.ref, rule: row.rule, kind: row.kind, reason: row.reason, raisedAt: row.raised_at.toISOString() })) };
    });
  };
}
