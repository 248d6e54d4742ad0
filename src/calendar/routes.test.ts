import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { bankCalendar } from './load.js';

/** The bank loads a year's decree through the API (issue 16, item 20): audited, history kept, in force at once. */
let t: TestApp;
beforeAll(async () => { t = await openTestApp(); });
afterAll(() => t.close());

describe('loading a year of the calendar', () => {
  const year = 2031;
  const body = { source: 'Government decree of 2030 on moving days off in 2031 (test data)', holidays: ['2031-01-01', '2031-01-02', '2031-01-03', '2031-01-06', '2031-01-07', '2031-01-08', '2031-01-09'], workingWeekends: ['2031-11-01'], reason: 'the decree is published' };

  it('is an admin\'s, checked, audited; it replaces the statutory rule at once and keeps the earlier loads', async () => {
    expect((await t.as('officer').inject({ method: 'PUT', url: `/api/v1/calendar/years/${year}`, payload: body })).statusCode).toBe(403);
    const wrong = await t.as('admin').inject({ method: 'PUT', url: `/api/v1/calendar/years/${year}`, payload: { ...body, holidays: ['2030-12-31'] } });
    expect([wrong.statusCode, wrong.json().error.code]).toEqual([400, 'invalid_calendar']);
    expect((await t.as('auditor').get(`/api/v1/calendar/years/${year}`)).json().inForce).toMatchObject({ statutory: true });
    expect((await bankCalendar()).isBusinessDay('2031-01-09')).toBe(true); // a Thursday, working under the statutory rule

    const loaded = await t.as('admin').inject({ method: 'PUT', url: `/api/v1/calendar/years/${year}`, payload: body });
    expect(loaded.statusCode, loaded.body).toBe(200);
    const calendar = await bankCalendar();
    expect(calendar.isBusinessDay('2031-01-09')).toBe(false);
    expect(calendar.isBusinessDay('2031-11-01')).toBe(true); // a working Saturday
    const view = (await t.as('auditor').get(`/api/v1/calendar/years/${year}`)).json();
    expect(view.inForce).toMatchObject({ statutory: false, source: body.source, workingWeekends: ['2031-11-01'] });
    const [record] = (await t.as('auditor').get(`/api/v1/audit?action=calendar.year.load`)).json().records.filter((r: { outcome: string }) => r.outcome === 'ok');
    expect(record).toMatchObject({ actor: 'admin', target: `calendar_year:${year}`, outcome: 'ok', details: { reason: 'the decree is published', amounts: {} } });

    await t.as('admin').inject({ method: 'PUT', url: `/api/v1/calendar/years/${year}`, payload: { ...body, holidays: body.holidays.slice(0, 6), reason: 'corrected' } });
    const again = (await t.as('auditor').get(`/api/v1/calendar/years/${year}`)).json();
    expect(again.loads.map((l: { reason: string }) => l.reason)).toEqual(['the decree is published', 'corrected']);
    expect((await bankCalendar()).isBusinessDay('2031-01-09')).toBe(true);
  });
});
