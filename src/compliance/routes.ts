import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { Id, IdempotencyHeaders, Instant } from '../api/schemas.js';
import { BOOK_READERS } from '../identity/roles.js';
import { isCalendarDate } from '../ledger/entry.js';
import { actorOf, auditRequest } from '../api/access.js';
import type { ApprovalAction } from '../approvals/approvals.js';
import { ApprovalView, proposeFrom } from '../approvals/routes.js';
import { loadBanTable } from './evaluation.js';
import { rescreenBannedAreas } from './rescreen.js';
import { clearScreeningHitAction, importList, ListImportError, listHits } from './screening.js';
import { LIST_FORMATS } from './screening-lists.js';
import { ExtractImportError, importRegistryExtract } from './registry.js';

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
const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error'), 422: Type.Ref('Error') };
/** Who sees screening: staff only. A borrower is never told of a hit (115-FZ art. 7 p. 6 forbids tipping off). */
const SCREENING_READERS = ['credit_officer', 'risk_officer', 'auditor'] as const;
const HitView = Type.Object({ id: Id, borrowerRef: Type.String(), field: Type.String(), matched: Type.String(), listName: Type.String(), entry: Type.String(), program: Type.String(), foundAt: Instant, status: Type.String(), clearedBy: Type.Union([Type.String(), Type.Null()]), clearReason: Type.Union([Type.String(), Type.Null()]) });

export function complianceRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  return async (app) => {
    app.get('/bans', {
      config: { access: { roles: [...BOOK_READERS, 'admin'] } },
      schema: {
        tags: ['compliance'], operationId: 'listBans', summary: 'The banned-area table: each entry whole, with its legal basis and dates',
        response: { 200: Type.Object({ bans: Type.Array(Type.Object({ id: Type.String(), regionCode: Type.String(), municipalities: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'null: the whole region' }), kind: Type.String(), seasonStart: Type.Optional(Type.String()), seasonEnd: Type.Optional(Type.String()), effectiveFrom: Type.String(), effectiveTo: Type.Union([Type.String(), Type.Null()]), legalBasis: Type.String() })) }) },
      },
    }, async () => ({ bans: (await loadBanTable(db)).map((ban) => ({ ...ban, municipalities: ban.municipalities === null ? null : [...ban.municipalities] })) }));

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
        await auditRequest(tx, request, { action: 'compliance.bans.set', target: `mining_ban:${request.params.id}`, details: { before: before ?? null, after: body, rescreen: result } }, at);
        return result;
      });
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

    app.post('/registry-extracts', {
      config: { access: { roles: ['credit_officer', 'risk_officer'] }, audit: 'compliance.registry_extract.import' },
      schema: {
        tags: ['compliance'],
        summary: 'Import an extract of the FNS miners\' registry as of a date; every borrower in it (and, if complete, every company and entrepreneur not in it) gets a check. Larger files: `zalog registry import`',
        body: Type.Object({
          asOf: Type.String({ maxLength: 10, description: 'the date the extract shows the registry as of' }),
          complete: Type.Boolean({ description: 'true when the extract is the whole registry: a miner missing from it is not registered' }),
          content: Type.String({ minLength: 1, description: 'CSV: inn,number,included_on,status,excluded_on,exclusion_reason' }),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ extractId: Id, imported: Type.Boolean(), rows: Type.Integer(), matched: Type.Integer(), notFound: Type.Integer(), changed: Type.Integer(), skipped: Type.Array(Type.String()) }), ...errors },
      },
    }, async (request) => {
      const at = now();
      const { asOf, complete, content } = request.body;
      if (!isCalendarDate(asOf) || asOf > at.toISOString().slice(0, 10)) throw new ApiError(400, 'invalid_date', 'asOf is a calendar date YYYY-MM-DD, not in the future');
      try {
        const result = await db.transaction(async (tx) => {
          const imported = await importRegistryExtract(tx, { text: content, asOf, complete, importedBy: actorOf(request).user.id, now: at });
          await auditRequest(tx, request, { action: 'compliance.registry_extract.import', target: `registry_extract:${imported.extractId}`, details: { asOf, complete, ...imported, extractId: imported.extractId.toString(), skipped: imported.skipped.length } }, at);
          return imported;
        });
        return { ...result, extractId: result.extractId.toString(), skipped: [...result.skipped] };
      } catch (error) {
        if (error instanceof ExtractImportError) throw new ApiError(400, 'invalid_extract', error.message);
        throw error;
      }
    });

    app.post('/screening-lists', {
      config: { access: { roles: ['risk_officer'] }, audit: 'compliance.screening_list.import' },
      schema: {
        tags: ['compliance'],
        summary: 'Import a sanctions or AML list (the bank\'s CSV or OFAC\'s sdn.csv); every borrower is screened against it at once. Larger files: `zalog screening import`',
        body: Type.Object({
          name: Type.String({ pattern: '^[a-z0-9._-]{1,64}$', description: 'the list\'s name; a new import of a name replaces the earlier in screening' }),
          format: Type.Union(LIST_FORMATS.map((format) => Type.Literal(format))),
          version: Type.String({ minLength: 1, maxLength: 100, description: 'the publisher\'s version or date' }),
          content: Type.String({ minLength: 1, description: 'the file\'s text (UTF-8)' }),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ listId: Id, imported: Type.Boolean(), entries: Type.Integer(), skipped: Type.Array(Type.String()), newHits: Type.Integer(), borrowersNewlyHit: Type.Integer() }), ...errors },
      },
    }, async (request) => {
      const at = now();
      const { name, format, version, content } = request.body;
      try {
        const result = await db.transaction(async (tx) => {
          const imported = await importList(tx, { name, format, version, text: content, importedBy: actorOf(request).user.id, now: at });
          await auditRequest(tx, request, { action: 'compliance.screening_list.import', target: `screening_list:${imported.listId}`, details: { name, format, version, imported: imported.imported, entries: imported.entries, skipped: imported.skipped.length, ...imported.screening } }, at);
          return imported;
        });
        return { listId: result.listId.toString(), imported: result.imported, entries: result.entries, skipped: [...result.skipped], ...result.screening };
      } catch (error) {
        if (error instanceof ListImportError) throw new ApiError(400, 'invalid_list', error.message);
        throw error;
      }
    });

    app.get('/screening-lists', {
      config: { access: { roles: SCREENING_READERS } },
      schema: { tags: ['compliance'], summary: 'Imported screening lists, newest first', response: { 200: Type.Object({ lists: Type.Array(Type.Object({ id: Id, name: Type.String(), format: Type.String(), version: Type.String(), sha256: Type.String(), entries: Type.Integer(), importedAt: Instant, importedBy: Type.String() })) }) } },
    }, async () => {
      const rows = await db.query<{ id: bigint; name: string; format: string; version: string; sha256: string; entry_count: number; imported_at: Date; username: string }>(
        'SELECT l.*, u.username FROM screening_lists l JOIN users u ON u.id = l.imported_by ORDER BY l.id DESC LIMIT 500');
      return { lists: rows.map((row) => ({ id: row.id.toString(), name: row.name, format: row.format, version: row.version, sha256: row.sha256, entries: row.entry_count, importedAt: row.imported_at.toISOString(), importedBy: row.username })) };
    });

    app.get('/screening-hits', {
      config: { access: { roles: SCREENING_READERS } },
      schema: {
        tags: ['compliance'],
        summary: 'Screening hits, oldest first, paged; open ones block the borrower',
        querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('cleared')])), afterId: Type.Optional(Id), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ hits: Type.Array(HitView) }) },
      },
    }, async (request) => {
      const hits = await listHits(db, { limit: request.query.limit, ...(request.query.status ? { status: request.query.status } : {}), ...(request.query.afterId ? { afterId: BigInt(request.query.afterId) } : {}) });
      return { hits: hits.map((hit) => ({ ...hit, id: hit.id.toString(), foundAt: hit.foundAt.toISOString() })) };
    });

    app.post('/screening-hits/:id/clear', {
      config: { access: { roles: ['risk_officer'] }, audit: 'compliance.screening_hit.clear.propose', idempotent: true },
      schema: {
        tags: ['compliance'],
        summary: 'Propose clearing a screening hit (a false positive, with the reason); a second risk officer approves',
        headers: IdempotencyHeaders,
        params: Type.Object({ id: Id }),
        body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors },
      },
    }, async (request, reply) => proposeFrom(context, request, reply, clearScreeningHitAction as ApprovalAction<unknown>, { hitId: request.params.id, reason: request.body.reason }));
  };
}
