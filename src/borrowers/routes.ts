import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditRequest, ownsBorrowerRef } from '../api/access.js';
import type { ApprovalAction } from '../approvals/approvals.js';
import { ApprovalView, proposeFrom } from '../approvals/routes.js';
import { bankDetailsAction } from './bank-details-action.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { Id, IdempotencyHeaders, Instant } from '../api/schemas.js';
import { ASSIGNABLE_ROLES, BOOK_READERS } from '../identity/roles.js';
import { borrowerProblems, type BorrowerInput } from './borrower.js';
import { addAsicModel, addMachines, addTariff, correctMachines, createBorrower, createSite, findBorrower, listAsicModels, listBorrowers, machineHistory, retireMachines, sitesOf, type Borrower } from './borrower-repository.js';
import { isCalendarDate } from '../ledger/entry.js';
import { formatFraction, fraction } from '../money/money.js';
import { evaluateBorrower } from '../compliance/evaluation.js';
import { screen } from '../compliance/screening.js';
import { recordCheck, recordCheckFailure, type RegistryFinding } from '../compliance/registry.js';
import { SourceError } from '../adapters/http.js';
import { normaliseBtcAddress } from '../compliance/screening-lists.js';

/** Borrower records: staff create and read them; a borrower's representative reads its own. */

const Ref = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'the borrower\'s reference, e.g. "B-1"' });
const BorrowerBody = Type.Object({
  ref: Ref,
  kind: Type.Union([Type.Literal('company'), Type.Literal('entrepreneur'), Type.Literal('individual')]),
  name: Type.String({ minLength: 1, maxLength: 300 }),
  inn: Type.String({ maxLength: 12 }),
  ogrn: Type.Optional(Type.String({ maxLength: 15, description: 'OGRN (company) or OGRNIP (entrepreneur)' })),
  kpp: Type.Optional(Type.String({ maxLength: 9 })),
  regionCode: Type.String({ maxLength: 2 }),
  address: Type.String({ minLength: 1, maxLength: 500 }),
  bik: Type.Optional(Type.String({ maxLength: 9 })),
  account: Type.Optional(Type.String({ maxLength: 20 })),
  registeredOn: Type.Optional(Type.String({ maxLength: 10, description: 'state registration date (OGRN/OGRNIP record), YYYY-MM-DD; a product may ask a borrower\'s age' })),
}, { additionalProperties: false });
const BorrowerView = Type.Intersect([BorrowerBody, Type.Object({ id: Id, createdAt: Instant, groupRef: Type.Optional(Type.String({ description: 'its group of connected borrowers' })) })]);
const ATTESTATION_KINDS = ['no_economic_crime_record', 'owns_pledged_btc', 'no_tax_debt'] as const;
const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error') };

function borrowerView(borrower: Borrower) {
  const { id, createdAt, ...rest } = borrower;
  return { ...rest, id: id.toString(), createdAt: createdAt.toISOString() };
}

export function borrowerRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  return async (app) => {
    const requireBorrower = async (ref: string): Promise<Borrower> => {
      const borrower = await findBorrower(db, ref);
      if (borrower === undefined) throw new ApiError(404, 'not_found', 'no such record');
      return borrower;
    };

    app.post('/borrowers', {
      config: { access: { roles: ['credit_officer'] }, audit: 'borrowers.create' },
      schema: { tags: ['borrowers'], summary: 'Record a borrower; its identifiers are checked (INN, OGRN/OGRNIP, KPP, BIK and account key)', body: BorrowerBody, response: { 201: BorrowerView, ...errors } },
    }, async (request, reply) => {
      const input = request.body as BorrowerInput;
      const problems = borrowerProblems(input);
      if (problems.length > 0) throw new ApiError(400, 'invalid_borrower', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });
      const created = await db.transaction(async (tx) => {
        const result = await createBorrower(tx, input, request.principal!.user.id);
        if (typeof result === 'string') return result;
        // Screened on entry: a hit blocks its applications from the start (staff see it, the borrower does not).
        const screening = await screen(tx, now(), result.id);
        await auditRequest(tx, request, { action: 'borrowers.create', target: `borrower:${result.ref}`, details: { after: borrowerView(result), screening } }, now());
        return result;
      });
      if (created === 'ref_taken') throw new ApiError(409, 'borrower_ref_taken', `a borrower ${input.ref} exists`);
      if (created === 'inn_taken') throw new ApiError(409, 'borrower_inn_taken', `a borrower with INN ${input.inn} exists`);
      reply.status(201);
      return borrowerView(created);
    });

    app.get('/borrowers', {
      config: { access: { roles: BOOK_READERS } },
      schema: { tags: ['borrowers'], summary: 'Borrowers, paged', querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }), afterId: Type.Optional(Id) }, { additionalProperties: false }), response: { 200: Type.Object({ borrowers: Type.Array(BorrowerView) }), ...errors } },
    }, async (request) => ({ borrowers: (await listBorrowers(db, { limit: request.query.limit, ...(request.query.afterId ? { afterId: BigInt(request.query.afterId) } : {}) })).map(borrowerView) }));

    app.get('/borrowers/:ref', {
      config: { access: { roles: [...BOOK_READERS, 'borrower'], borrowerOwns: ownsBorrowerRef } },
      schema: { tags: ['borrowers'], summary: 'One borrower (a representative sees only its own)', params: Type.Object({ ref: Ref }), response: { 200: BorrowerView, ...errors } },
    }, async (request) => {
      return borrowerView(await requireBorrower(request.params.ref));
    });

    app.post('/borrowers/:ref/sites', {
      config: { access: { roles: ['credit_officer'] }, audit: 'borrowers.site.create' },
      schema: {
        tags: ['borrowers'],
        summary: 'Record a mining site with its tariff (effective-dated)',
        params: Type.Object({ ref: Ref }),
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 200 }),
          regionCode: Type.String({ pattern: '^[0-9]{2}$' }),
          municipality: Type.String({ minLength: 1, maxLength: 200 }),
          powerSource: Type.Union([Type.Literal('own'), Type.Literal('hosting')]),
          hostingOperator: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          capacityKw: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
          tariffRubPerKwh: Type.String({ pattern: '^(0|[1-9][0-9]{0,4})(\\.[0-9]{1,4})?$', description: 'RUB per kWh, e.g. "5.30"' }),
          tariffFrom: Type.String({ maxLength: 10 }),
        }, { additionalProperties: false }),
        response: { 201: Type.Object({ siteId: Id }), ...errors },
      },
    }, async (request, reply) => {
      const borrower = await requireBorrower(request.params.ref);
      const body = request.body;
      if (!isCalendarDate(body.tariffFrom)) throw new ApiError(400, 'invalid_date', 'tariffFrom is a calendar date YYYY-MM-DD');
      if (Number(body.tariffRubPerKwh) <= 0) throw new ApiError(400, 'invalid_tariff', 'the tariff must be greater than zero');
      if ((body.powerSource === 'hosting') !== (body.hostingOperator !== undefined)) throw new ApiError(400, 'invalid_site', 'name the hosting operator exactly when power comes from hosting');
      const siteId = await db.transaction(async (tx) => {
        const id = await createSite(tx, borrower, body);
        await auditRequest(tx, request, { action: 'borrowers.site.create', target: `site:${id}`, details: { borrower: borrower.ref, after: body } }, now());
        return id;
      });
      reply.status(201);
      return { siteId: siteId.toString() };
    });

    app.post('/borrowers/:ref/sites/:siteId/machines', {
      config: { access: { roles: ['credit_officer'] }, audit: 'borrowers.machines.add' },
      schema: {
        tags: ['borrowers'],
        summary: 'Add machines of a catalogue model to a site (serials where pledged)',
        params: Type.Object({ ref: Ref, siteId: Id }),
        body: Type.Object({ model: Type.String({ minLength: 2, maxLength: 100 }), count: Type.Integer({ minimum: 1, maximum: 100_000 }), serials: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100_000, uniqueItems: true, description: 'serials of the machines pledged as collateral' })), installedOn: Type.Optional(Type.String({ maxLength: 10, description: 'when the machines went into service (their age depreciates them as collateral)' })) }, { additionalProperties: false }),
        response: { 201: Type.Object({ machinesId: Id }), ...errors },
      },
    }, async (request, reply) => {
      const borrower = await requireBorrower(request.params.ref);
      const serials = request.body.serials ?? [];
      if (serials.length > request.body.count) throw new ApiError(400, 'invalid_machines', 'more serial numbers than machines');
      const installedOn = request.body.installedOn === undefined ? undefined : day(request.body.installedOn, 'installedOn', '');
      if (installedOn !== undefined && installedOn > now().toISOString().slice(0, 10)) throw new ApiError(400, 'invalid_date', 'installedOn is not in the future');
      const result = await db.transaction(async (tx) => {
        const added = await addMachines(tx, borrower, BigInt(request.params.siteId), { model: request.body.model, count: request.body.count, serials, ...(installedOn !== undefined ? { installedOn } : {}) });
        if (typeof added !== 'string') await auditRequest(tx, request, { action: 'borrowers.machines.add', target: `site:${request.params.siteId}`, details: { borrower: borrower.ref, model: request.body.model, count: request.body.count, serials } }, now());
        return added;
      });
      if (result === 'no_site') throw new ApiError(404, 'not_found', 'no such site for this borrower');
      if (result === 'unknown_model') throw new ApiError(400, 'unknown_model', `the catalogue has no model "${request.body.model}"; an admin adds it first`);
      reply.status(201);
      return { machinesId: result.toString() };
    });

    app.post('/borrowers/:ref/sites/:siteId/tariffs', {
      config: { access: { roles: ['credit_officer'] }, audit: 'borrowers.site.tariff' },
      schema: {
        tags: ['borrowers'],
        summary: 'Record a site\'s new electricity tariff from a date (the earlier ones stay in force before it). Pledged machines are valued on the tariff of their day: one that kills the margin zeroes them as collateral at the next revaluation',
        params: Type.Object({ ref: Ref, siteId: Id }),
        body: Type.Object({
          rubPerKwh: Type.String({ pattern: '^(0|[1-9][0-9]{0,4})(\\.[0-9]{1,4})?$', description: 'RUB per kWh, e.g. "5.30"' }),
          from: Type.String({ maxLength: 10 }),
          reason: Type.String({ minLength: 3, maxLength: 500 }),
        }, { additionalProperties: false }),
        response: { 201: Type.Object({ siteId: Id, from: Type.String(), rubPerKwh: Type.String() }), ...errors },
      },
    }, async (request, reply) => {
      const borrower = await requireBorrower(request.params.ref);
      const body = request.body;
      if (!isCalendarDate(body.from)) throw new ApiError(400, 'invalid_date', 'from is a calendar date YYYY-MM-DD');
      if (Number(body.rubPerKwh) <= 0) throw new ApiError(400, 'invalid_tariff', 'the tariff must be greater than zero');
      const result = await db.transaction(async (tx) => {
        const added = await addTariff(tx, borrower, BigInt(request.params.siteId), body);
        if (added === 'ok') await auditRequest(tx, request, { action: 'borrowers.site.tariff', target: `site:${request.params.siteId}`, details: { borrower: borrower.ref, after: body } }, now());
        return added;
      });
      if (result === 'no_site') throw new ApiError(404, 'not_found', 'no such site of this borrower');
      if (result === 'exists') throw new ApiError(409, 'tariff_exists', `the site has a tariff from ${body.from} already: record the change from another date`);
      reply.status(201);
      return { siteId: request.params.siteId, from: body.from, rubPerKwh: body.rubPerKwh };
    });

    app.get('/borrowers/:ref/sites', {
      config: { access: { roles: [...BOOK_READERS, 'borrower'], borrowerOwns: ownsBorrowerRef } },
      schema: {
        tags: ['borrowers'],
        summary: 'A borrower\'s sites, tariffs (newest first) and machines',
        params: Type.Object({ ref: Ref }),
        response: { 200: Type.Object({ sites: Type.Array(Type.Object({ id: Id, name: Type.String(), regionCode: Type.String(), municipality: Type.String(), powerSource: Type.String(), hostingOperator: Type.Optional(Type.String()), capacityKw: Type.Integer(), tariffs: Type.Array(Type.Object({ from: Type.String(), rubPerKwh: Type.String() })), machines: Type.Array(Type.Object({ id: Id, model: Type.String(), count: Type.Integer(), serials: Type.Array(Type.String()), installedOn: Type.Union([Type.String(), Type.Null()]), retiredOn: Type.Union([Type.String(), Type.Null()]), retiredReason: Type.Union([Type.String(), Type.Null()]) })) })) }), ...errors },
      },
    }, async (request) => {
      const borrower = await requireBorrower(request.params.ref);
      const sites = await sitesOf(db, borrower);
      return { sites: sites.map((site) => ({ ...site, id: site.id.toString(), machines: site.machines.map((m) => ({ ...m, id: m.id.toString(), serials: [...m.serials] })), tariffs: [...site.tariffs] })) };
    });

    const day = (text: string | undefined, field: string, fallback: string): string => {
      const value = text ?? fallback;
      if (!isCalendarDate(value)) throw new ApiError(400, 'invalid_date', `${field} is a calendar date YYYY-MM-DD`);
      return value;
    };

    const MachinesParams = Type.Object({ ref: Ref, siteId: Id, machinesId: Id });
    app.patch('/borrowers/:ref/sites/:siteId/machines/:machinesId', {
      config: { access: { roles: ['credit_officer'] }, audit: 'borrowers.machines.correct' },
      schema: {
        tags: ['borrowers'],
        operationId: 'correctMachines',
        summary: 'Correct a machine group recorded by mistake (count, model, serials, installation date), with the reason; what was before is kept',
        params: MachinesParams,
        body: Type.Object({ count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })), model: Type.Optional(Type.String({ minLength: 2, maxLength: 100 })), serials: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100_000, uniqueItems: true })), installedOn: Type.Optional(Type.Union([Type.String({ maxLength: 10 }), Type.Null()])), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false, minProperties: 2 }),
        response: { 200: Type.Object({ before: Type.Unknown(), after: Type.Unknown() }), ...errors },
      },
    }, async (request) => {
      const borrower = await requireBorrower(request.params.ref);
      const { reason, ...change } = request.body;
      if (change.installedOn !== undefined && change.installedOn !== null) day(change.installedOn, 'installedOn', '');
      const at = now();
      const result = await db.transaction(async (tx) => {
        const done = await correctMachines(tx, borrower, BigInt(request.params.siteId), BigInt(request.params.machinesId), change, reason, request.principal!.user.id, at);
        if (typeof done !== 'string') await auditRequest(tx, request, { target: `machines:${request.params.machinesId}`, details: { borrower: borrower.ref, siteId: request.params.siteId, ...done, reason } }, at);
        return done;
      });
      if (result === 'not_found') throw new ApiError(404, 'not_found', 'no such machine group at this borrower\'s site');
      if (result === 'retired') throw new ApiError(409, 'machines_retired', 'the machine group is retired; record the machines anew');
      if (result === 'pledged') throw new ApiError(409, 'machines_pledged', 'the machine group secures a live loan: its model, count and serial numbers stay as pledged until the loan ends or the bank enforces on it');
      if (result === 'unknown_model') throw new ApiError(400, 'unknown_model', `the catalogue has no model "${change.model}"; an admin adds it first (POST /api/v1/asic-models)`);
      if (result === 'too_many_serials') throw new ApiError(400, 'invalid_machines', 'more serial numbers than machines');
      return result;
    });

    app.post('/borrowers/:ref/sites/:siteId/machines/:machinesId/retire', {
      config: { access: { roles: ['credit_officer'] }, audit: 'borrowers.machines.retire' },
      schema: {
        tags: ['borrowers'],
        operationId: 'retireMachines',
        summary: 'Retire a machine group (out of service, sold, or recorded by mistake): from then it counts for nothing (energy limit, cover, collateral value); the record and its history stay',
        params: MachinesParams,
        body: Type.Object({ retiredOn: Type.String({ maxLength: 10 }), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ before: Type.Unknown(), after: Type.Unknown() }), ...errors },
      },
    }, async (request) => {
      const borrower = await requireBorrower(request.params.ref);
      const retiredOn = day(request.body.retiredOn, 'retiredOn', '');
      const at = now();
      const result = await db.transaction(async (tx) => {
        const done = await retireMachines(tx, borrower, BigInt(request.params.siteId), BigInt(request.params.machinesId), retiredOn, request.body.reason, request.principal!.user.id, at);
        if (typeof done !== 'string') await auditRequest(tx, request, { target: `machines:${request.params.machinesId}`, details: { borrower: borrower.ref, siteId: request.params.siteId, ...done, reason: request.body.reason } }, at);
        return done;
      });
      if (result === 'not_found') throw new ApiError(404, 'not_found', 'no such machine group at this borrower\'s site');
      if (result === 'retired') throw new ApiError(409, 'machines_retired', 'the machine group is retired already');
      if (result === 'pledged') throw new ApiError(409, 'machines_pledged', 'the machine group secures a live loan: it is retired only after the loan ends or the bank enforces on it');
      return result;
    });

    app.get('/borrowers/:ref/sites/:siteId/machines/:machinesId/history', {
      config: { access: { roles: BOOK_READERS } },
      schema: { tags: ['borrowers'], operationId: 'getMachineHistory', summary: 'Every correction and retirement of a machine group, with what was before and why', params: MachinesParams, response: { 200: Type.Object({ changes: Type.Array(Type.Object({ id: Id, kind: Type.String(), before: Type.Unknown(), after: Type.Unknown(), reason: Type.String(), at: Instant, by: Type.String() })) }), ...errors } },
    }, async (request) => {
      await requireBorrower(request.params.ref);
      const changes = await machineHistory(db, BigInt(request.params.machinesId));
      return { changes: changes.map((c) => ({ id: c.id.toString(), kind: c.kind, before: c.before, after: c.after, reason: c.reason, at: c.at.toISOString(), by: c.username })) };
    });

    app.post('/borrowers/:ref/registry-records', {
      config: { access: { roles: ['credit_officer', 'risk_officer'] }, audit: 'compliance.registry.record' },
      schema: {
        tags: ['compliance'],
        summary: 'Record the result of a check of the FNS miners\' registry made by hand (the service check and extract import record theirs)',
        params: Type.Object({ ref: Ref }),
        body: Type.Object({ number: Type.String({ minLength: 1, maxLength: 64 }), includedOn: Type.String({ maxLength: 10 }), status: Type.Union([Type.Literal('included'), Type.Literal('excluded')]), checkedOn: Type.String({ maxLength: 10 }), excludedOn: Type.Optional(Type.String({ maxLength: 10 })), exclusionReason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) }, { additionalProperties: false }),
        response: { 201: Type.Object({ ok: Type.Boolean() }), ...errors },
      },
    }, async (request, reply) => {
      const borrower = await requireBorrower(request.params.ref);
      const body = request.body;
      const today = now().toISOString().slice(0, 10);
      const includedOn = day(body.includedOn, 'includedOn', today);
      const checkedOn = day(body.checkedOn, 'checkedOn', today);
      if (checkedOn > today || includedOn > checkedOn) throw new ApiError(400, 'invalid_date', 'a check is not in the future, and the inclusion precedes it');
      if (body.status === 'excluded' && body.excludedOn === undefined) throw new ApiError(400, 'invalid_date', 'an excluded record names the date of its exclusion (excludedOn)');
      const excludedOn = body.excludedOn === undefined ? null : day(body.excludedOn, 'excludedOn', today);
      await db.transaction(async (tx) => {
        await recordCheck(tx, borrower, { status: body.status, number: body.number, includedOn, excludedOn, exclusionReason: body.exclusionReason ?? null }, { checkedOn, source: 'manual', recordedBy: request.principal!.user.id, now: now() });
        await auditRequest(tx, request, { action: 'compliance.registry.record', target: `borrower:${borrower.ref}`, details: { ...body } }, now());
      });
      reply.status(201);
      return { ok: true };
    });

    app.post('/borrowers/:ref/registry-check', {
      config: { access: { roles: ['credit_officer', 'risk_officer'] }, audit: 'compliance.registry.check' },
      schema: {
        tags: ['compliance'],
        summary: 'Check the borrower in the FNS miners\' registry now, through the configured registry service, and record the result',
        params: Type.Object({ ref: Ref }),
        response: { 200: Type.Object({ status: Type.String(), number: Type.Union([Type.String(), Type.Null()]), includedOn: Type.Union([Type.String(), Type.Null()]), excludedOn: Type.Union([Type.String(), Type.Null()]), checkedOn: Type.String(), changed: Type.Boolean() }), ...errors, 502: Type.Ref('Error'), 503: Type.Ref('Error') },
      },
    }, async (request) => {
      const borrower = await requireBorrower(request.params.ref);
      if (context.registry === undefined) throw new ApiError(503, 'registry_not_configured', 'no registry service is configured (ZALOG_REGISTRY_URL); record a check by hand or import an extract');
      let finding: RegistryFinding;
      try {
        finding = await context.registry.lookup(borrower.inn);
      } catch (error) {
        if (!(error instanceof SourceError)) throw error;
        await recordCheckFailure(db, borrower.id, error, now());
        throw new ApiError(502, 'registry_unavailable', `the registry service did not answer usefully: ${error.message}`);
      }
      const checkedOn = now().toISOString().slice(0, 10);
      const changed = await db.transaction(async (tx) => {
        const moved = await recordCheck(tx, borrower, finding, { checkedOn, source: 'registry_service', recordedBy: request.principal!.user.id, now: now() });
        await auditRequest(tx, request, { action: 'compliance.registry.check', target: `borrower:${borrower.ref}`, details: { ...finding, checkedOn, changed: moved } }, now());
        return moved;
      });
      return { status: finding.status, number: finding.number, includedOn: finding.includedOn, excludedOn: finding.excludedOn, checkedOn, changed };
    });

    app.get('/borrowers/:ref/registry-records', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['compliance'],
        summary: 'The borrower\'s registry checks, newest first, and failed attempts to reach the service',
        params: Type.Object({ ref: Ref }),
        response: { 200: Type.Object({ checks: Type.Array(Type.Object({ status: Type.String(), number: Type.Union([Type.String(), Type.Null()]), includedOn: Type.Union([Type.String(), Type.Null()]), excludedOn: Type.Union([Type.String(), Type.Null()]), exclusionReason: Type.Union([Type.String(), Type.Null()]), checkedOn: Type.String(), source: Type.String() })), failures: Type.Array(Type.Object({ attemptedAt: Instant, error: Type.String() })) }), ...errors },
      },
    }, async (request) => {
      const borrower = await requireBorrower(request.params.ref);
      const checks = await db.query<{ status: string; number: string | null; included_on: string | null; excluded_on: string | null; exclusion_reason: string | null; checked_on: string; source: string }>(
        'SELECT status, number, included_on, excluded_on, exclusion_reason, checked_on, source FROM registry_records WHERE borrower_id = $1 ORDER BY checked_on DESC, id DESC LIMIT 100', [borrower.id]);
      const failures = await db.query<{ attempted_at: Date; error: string }>('SELECT attempted_at, error FROM registry_check_failures WHERE borrower_id = $1 ORDER BY attempted_at DESC LIMIT 20', [borrower.id]);
      return {
        checks: checks.map((c) => ({ status: c.status, number: c.number, includedOn: c.included_on, excludedOn: c.excluded_on, exclusionReason: c.exclusion_reason, checkedOn: c.checked_on, source: c.source })),
        failures: failures.map((f) => ({ attemptedAt: f.attempted_at.toISOString(), error: f.error })),
      };
    });

    app.post('/borrowers/:ref/fns-reports', {
      config: { access: { roles: ['credit_officer', 'borrower'], borrowerOwns: ownsBorrowerRef }, audit: 'compliance.fns_report.record' },
      schema: {
        tags: ['compliance'],
        summary: 'Record a monthly FNS report (mined currency and addresses) with its receipt',
        params: Type.Object({ ref: Ref }),
        body: Type.Object({ period: Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$' }), filedOn: Type.String({ maxLength: 10 }), receipt: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ ok: Type.Boolean() }), ...errors },
      },
    }, async (request, reply) => {
      const borrower = await requireBorrower(request.params.ref);
      const filedOn = day(request.body.filedOn, 'filedOn', '');
      if (filedOn < `${request.body.period}-01`) throw new ApiError(400, 'invalid_date', 'a report is filed after the month it reports');
      const inserted = await db.transaction(async (tx) => {
        const rows = await tx.query('INSERT INTO fns_reports (borrower_id, period, filed_on, receipt, recorded_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING period', [borrower.id, request.body.period, filedOn, request.body.receipt, request.principal!.user.id]);
        if (rows.length > 0) await auditRequest(tx, request, { action: 'compliance.fns_report.record', target: `borrower:${borrower.ref}`, details: { ...request.body } }, now());
        return rows.length > 0;
      });
      if (!inserted) throw new ApiError(409, 'report_exists', `the report for ${request.body.period} is already recorded`);
      reply.status(201);
      return { ok: true };
    });

    app.get('/borrowers/:ref/compliance', {
      config: { access: { roles: BOOK_READERS } },
      schema: {
        tags: ['compliance'], operationId: 'getLatestComplianceEvaluation',
        summary: 'The borrower\'s latest stored compliance evaluation (every rule with its outcome, reason and legal basis), or null when none was run',
        params: Type.Object({ ref: Ref }),
        response: { 200: Type.Object({ evaluation: Type.Union([Type.Null(), Type.Object({ evaluationId: Id, asOf: Type.String(), evaluatedAt: Type.String(), blocking: Type.Boolean(), results: Type.Array(Type.Object({ rule: Type.String(), outcome: Type.String(), reason: Type.String(), legalBasis: Type.String() })) })]) }), ...errors },
      },
    }, async (request) => {
      const borrower = await requireBorrower(request.params.ref);
      const [row] = await db.query<{ id: bigint; as_of: string; evaluated_at: Date; blocking: boolean; results: Array<{ rule: string; outcome: string; reason: string; legalBasis: string }> }>(
        'SELECT id, as_of::text AS as_of, evaluated_at, blocking, results FROM compliance_evaluations WHERE borrower_id = $1 ORDER BY id DESC LIMIT 1', [borrower.id]);
      return { evaluation: row === undefined ? null : { evaluationId: row.id.toString(), asOf: row.as_of, evaluatedAt: row.evaluated_at.toISOString(), blocking: row.blocking, results: row.results } };
    });

    app.post('/borrowers/:ref/compliance/evaluate', {
      config: { access: { roles: ['credit_officer', 'risk_officer'] }, audit: 'compliance.evaluate' },
      schema: {
        tags: ['compliance'],
        summary: 'Run every compliance rule on the borrower\'s data as of a day; stored with its inputs',
        params: Type.Object({ ref: Ref }),
        body: Type.Object({ asOf: Type.Optional(Type.String({ maxLength: 10 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ evaluationId: Id, asOf: Type.String(), blocking: Type.Boolean(), results: Type.Array(Type.Object({ rule: Type.String(), outcome: Type.String(), reason: Type.String(), legalBasis: Type.String() })) }), ...errors },
      },
    }, async (request) => {
      const borrower = await requireBorrower(request.params.ref);
      const asOf = day(request.body.asOf, 'asOf', now().toISOString().slice(0, 10));
      const evaluation = await db.transaction(async (tx) => {
        const result = await evaluateBorrower(tx, borrower, asOf, request.principal!.user.id, now());
        await auditRequest(tx, request, { action: 'compliance.evaluate', target: `borrower:${borrower.ref}`, details: { evaluationId: result.id, asOf, blocking: result.blocking, failed: result.results.filter((r) => r.outcome === 'fail').map((r) => r.rule) } }, now());
        return result;
      });
      return { evaluationId: evaluation.id.toString(), asOf: evaluation.asOf, blocking: evaluation.blocking, results: [...evaluation.results] };
    });

    app.post('/borrowers/:ref/attestations', {
      config: { access: { roles: ['credit_officer', 'borrower'], borrowerOwns: ownsBorrowerRef }, audit: 'borrowers.attestation.record' },
      schema: {
        tags: ['borrowers'],
        summary: 'Record an attestation (no record for economic crimes, owns the pledged BTC, no tax debt) with who recorded it; the latest of each kind counts',
        params: Type.Object({ ref: Ref }),
        body: Type.Object({ kind: Type.Union(ATTESTATION_KINDS.map((k) => Type.Literal(k))), value: Type.Boolean(), document: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'the signed statement\'s reference' })) }, { additionalProperties: false }),
        response: { 201: Type.Object({ id: Id, recordedAt: Instant }), ...errors },
      },
    }, async (request, reply) => {
      const borrower = await requireBorrower(request.params.ref);
      const at = now();
      const id = await db.transaction(async (tx) => {
        const [row] = await tx.query<{ id: bigint }>('INSERT INTO borrower_attestations (borrower_id, kind, value, document, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
          [borrower.id, request.body.kind, request.body.value, request.body.document ?? null, request.principal!.user.id, at]);
        await auditRequest(tx, request, { action: 'borrowers.attestation.record', target: `borrower:${borrower.ref}`, details: { ...request.body } }, at);
        return row!.id;
      });
      reply.status(201);
      return { id: id.toString(), recordedAt: at.toISOString() };
    });

    app.get('/borrowers/:ref/attestations', {
      config: { access: { roles: [...BOOK_READERS, 'borrower'], borrowerOwns: ownsBorrowerRef } },
      schema: { tags: ['borrowers'], summary: 'The borrower\'s attestations, oldest first', params: Type.Object({ ref: Ref }), response: { 200: Type.Object({ attestations: Type.Array(Type.Object({ id: Id, kind: Type.String(), value: Type.Boolean(), document: Type.Union([Type.String(), Type.Null()]), recordedBy: Type.String(), recordedAt: Instant })) }), ...errors } },
    }, async (request) => {
      const borrower = await requireBorrower(request.params.ref);
      const rows = await db.query<{ id: bigint; kind: string; value: boolean; document: string | null; username: string; recorded_at: Date }>(
        'SELECT a.id, a.kind, a.value, a.document, u.username, a.recorded_at FROM borrower_attestations a JOIN users u ON u.id = a.recorded_by WHERE a.borrower_id = $1 ORDER BY a.recorded_at, a.id', [borrower.id]);
      return { attestations: rows.map((r) => ({ id: r.id.toString(), kind: r.kind, value: r.value, document: r.document, recordedBy: r.username, recordedAt: r.recorded_at.toISOString() })) };
    });

    app.put('/borrowers/:ref/bank-details', {
      config: { access: { roles: ['credit_officer'] }, audit: 'borrowers.bank_details.propose', idempotent: true },
      schema: {
        tags: ['borrowers'],
        summary: 'Propose new bank details (BIK and settlement account, checked with the control key); a second credit officer approves',
        headers: IdempotencyHeaders,
        params: Type.Object({ ref: Ref }),
        body: Type.Object({ bik: Type.String({ maxLength: 9 }), account: Type.String({ maxLength: 20 }), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors, 422: Type.Ref('Error') },
      },
    }, async (request, reply) => {
      await requireBorrower(request.params.ref);
      return proposeFrom(context, request, reply, bankDetailsAction as ApprovalAction<unknown>, { ref: request.params.ref, ...request.body });
    });

    app.post('/borrowers/:ref/btc-addresses', {
      config: { access: { roles: ['credit_officer', 'borrower'], borrowerOwns: ownsBorrowerRef }, audit: 'borrowers.btc_address.add' },
      schema: {
        tags: ['borrowers'],
        summary: 'Record a bitcoin address the borrower reported to the FNS, pledges from or is paid to; it is screened at once',
        params: Type.Object({ ref: Ref }),
        body: Type.Object({ address: Type.String({ minLength: 14, maxLength: 90 }), purpose: Type.Union([Type.Literal('reported'), Type.Literal('pledge'), Type.Literal('payout')]) }, { additionalProperties: false }),
        response: { 201: Type.Object({ address: Type.String(), purpose: Type.String() }), ...errors },
      },
    }, async (request, reply) => {
      const borrower = await requireBorrower(request.params.ref);
      const address = normaliseBtcAddress(request.body.address);
      if (address === undefined) throw new ApiError(400, 'invalid_btc_address', 'not a mainnet bitcoin address (its checksum or form is wrong)');
      const at = now();
      const added = await db.transaction(async (tx) => {
        const rows = await tx.query('INSERT INTO borrower_btc_addresses (borrower_id, address, purpose, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING address',
          [borrower.id, address, request.body.purpose, request.principal!.user.id, at]);
        if (rows.length === 0) return false;
        const screening = await screen(tx, at, borrower.id);
        await auditRequest(tx, request, { action: 'borrowers.btc_address.add', target: `borrower:${borrower.ref}`, details: { address, purpose: request.body.purpose, screening } }, at);
        return true;
      });
      if (!added) throw new ApiError(409, 'address_exists', 'this address is already recorded for the borrower');
      reply.status(201);
      return { address, purpose: request.body.purpose };
    });

    app.get('/borrowers/:ref/btc-addresses', {
      config: { access: { roles: [...BOOK_READERS, 'borrower'], borrowerOwns: ownsBorrowerRef } },
      schema: { tags: ['borrowers'], summary: 'The borrower\'s recorded bitcoin addresses', params: Type.Object({ ref: Ref }), response: { 200: Type.Object({ addresses: Type.Array(Type.Object({ address: Type.String(), purpose: Type.String(), recordedAt: Instant })) }), ...errors } },
    }, async (request) => {
      const borrower = await requireBorrower(request.params.ref);
      const rows = await db.query<{ address: string; purpose: string; recorded_at: Date }>('SELECT address, purpose, recorded_at FROM borrower_btc_addresses WHERE borrower_id = $1 ORDER BY recorded_at, address', [borrower.id]);
      return { addresses: rows.map((row) => ({ address: row.address, purpose: row.purpose, recordedAt: row.recorded_at.toISOString() })) };
    });

    app.post('/asic-models', {
      config: { access: { roles: ['admin'] }, audit: 'borrowers.asic_model.add' },
      schema: {
        tags: ['borrowers'],
        operationId: 'addAsicModel',
        summary: 'Add a model to the ASIC catalogue (admin): nameplate hashrate and power, with their source; a model once added is not edited',
        body: Type.Object({ model: Type.String({ minLength: 2, maxLength: 100 }), maker: Type.String({ minLength: 1, maxLength: 100 }), hashrateThs: Type.String({ pattern: '^[0-9]{1,6}(\\.[0-9]{1,3})?$', description: 'terahashes a second, up to 3 decimals' }), powerWatts: Type.Integer({ minimum: 1, maximum: 100_000 }), released: Type.Optional(Type.String({ pattern: '^[0-9]{4}(-[0-9]{2})?$' })), source: Type.String({ minLength: 3, maxLength: 300 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ model: Type.String() }), ...errors },
      },
    }, async (request, reply) => {
      const body = request.body;
      const [whole, decimals = ''] = body.hashrateThs.split('.') as [string, string?];
      const hashrateGhs = BigInt(whole) * 1_000n + BigInt(decimals.padEnd(3, '0'));
      if (hashrateGhs === 0n) throw new ApiError(400, 'invalid_model', 'hashrateThs is above zero');
      const at = now();
      const added = await db.transaction(async (tx) => {
        const fresh = await addAsicModel(tx, { model: body.model, maker: body.maker, hashrateGhs, powerWatts: body.powerWatts, released: body.released ?? null, source: body.source }, request.principal!.user.id, at);
        if (fresh) await auditRequest(tx, request, { target: `asic_model:${body.model}`, details: { ...body } }, at);
        return fresh;
      });
      if (!added) throw new ApiError(409, 'model_exists', `the catalogue has "${body.model}" already; a correction is a new model`);
      reply.status(201);
      return { model: body.model };
    });

    app.get('/asic-models', {
      config: { access: { roles: ASSIGNABLE_ROLES } },
      schema: {
        tags: ['borrowers'],
        summary: 'The ASIC catalogue: nameplate hashrate and power per model',
        response: { 200: Type.Object({ models: Type.Array(Type.Object({ model: Type.String(), maker: Type.String(), hashrateThs: Type.String(), powerWatts: Type.Integer(), efficiencyJPerTh: Type.String(), released: Type.Union([Type.String(), Type.Null()]), source: Type.String() })) }) },
      },
    }, async () => ({
      models: (await listAsicModels(db)).map((m) => ({
        model: m.model, maker: m.maker, hashrateThs: formatFraction(fraction(m.hashrateGhs, 1_000n), 3), powerWatts: m.powerWatts,
        efficiencyJPerTh: formatFraction(fraction(BigInt(m.powerWatts) * 1_000n, m.hashrateGhs), 2), released: m.released, source: m.source,
      })),
    }));
  };
}
