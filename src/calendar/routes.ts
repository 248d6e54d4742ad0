import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditRequest } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { BOOK_READERS } from '../identity/roles.js';
import { CalendarDataError } from './business.js';
import { calendarLoads, checkLoadedYear, storeCalendarYear } from './calendar-store.js';
import { bankCalendar, refreshBankCalendar } from './load.js';

const Year = Type.Integer({ minimum: 2000, maximum: 2100 });
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const errors = { 400: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error') };
const YearView = Type.Object({ year: Type.Integer(), source: Type.String(), statutory: Type.Boolean({ description: 'no decree loaded: the statutory holidays of Labour Code art. 112' }), holidays: Type.Array(Type.String()), workingWeekends: Type.Array(Type.String()) });

/** The business calendar: what each year rests on, and the bank loading a year's decree (admin, audited). */
export function calendarRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  return async (app) => {
    app.get('/calendar/years/:year', {
      config: { access: { roles: [...BOOK_READERS, 'admin'] } },
      schema: { tags: ['calendar'], operationId: 'getCalendarYear', summary: 'A year of the business calendar in force, with its source (a decree, or the statutory rule when none is loaded) and its loads', params: Type.Object({ year: Year }), response: { 200: Type.Object({ inForce: YearView, loads: Type.Array(Type.Object({ id: Type.String(), source: Type.String(), reason: Type.String(), loadedAt: Type.String(), loadedBy: Type.String(), holidays: Type.Array(Type.String()), workingWeekends: Type.Array(Type.String()) })) }), ...errors } },
    }, async (request) => {
      const year = request.params.year;
      const calendar = await bankCalendar();
      const { source, statutory } = calendar.sourceOf(year);
      const loaded = calendar.loadedYears().find((y) => y.year === year);
      const days = [];
      for (let d = new Date(Date.UTC(year, 0, 1)); d.getUTCFullYear() === year; d = new Date(d.getTime() + 86_400_000)) days.push(d.toISOString().slice(0, 10));
      const holidays = loaded?.holidays ?? days.filter((day) => !calendar.isBusinessDay(day) && ![0, 6].includes(new Date(`${day}T00:00:00Z`).getUTCDay()));
      return {
        inForce: { year, source, statutory, holidays: [...holidays], workingWeekends: [...(loaded?.workingWeekends ?? [])] },
        loads: (await calendarLoads(db, year)).map((l) => ({ id: l.id.toString(), source: l.source, reason: l.reason, loadedAt: l.loadedAt.toISOString(), loadedBy: l.loadedBy, holidays: l.holidays, workingWeekends: l.workingWeekends })),
      };
    });

    app.put('/calendar/years/:year', {
      config: { access: { roles: ['admin'] }, audit: 'calendar.year.load' },
      schema: {
        tags: ['calendar'],
        operationId: 'loadCalendarYear',
        summary: 'Load a year\'s days off as the government\'s decree publishes them (admin): it replaces the shipped year or the statutory rule for new schedules and deadlines; earlier loads are kept',
        params: Type.Object({ year: Year }),
        body: Type.Object({ source: Type.String({ minLength: 1, maxLength: 1000 }), holidays: Type.Array(Day, { maxItems: 60 }), workingWeekends: Type.Array(Day, { maxItems: 20 }), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ id: Type.String(), year: Type.Integer() }), ...errors },
      },
    }, async (request) => {
      const { reason, ...data } = request.body;
      let year;
      try {
        year = checkLoadedYear({ year: request.params.year, ...data }, request.params.year);
      } catch (error) {
        if (error instanceof CalendarDataError) throw new ApiError(400, 'invalid_calendar', error.message);
        throw error;
      }
      const id = await db.transaction(async (tx) => {
        const stored = await storeCalendarYear(tx, year, reason, request.principal!.user.id, now());
        await auditRequest(tx, request, { target: `calendar_year:${year.year}`, details: { loadId: stored.toString(), source: year.source, holidays: year.holidays, workingWeekends: year.workingWeekends, reason } }, now());
        return stored;
      });
      await refreshBankCalendar(db);
      return { id: id.toString(), year: year.year };
    });
  };
}
