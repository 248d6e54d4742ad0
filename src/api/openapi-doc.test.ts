import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { operationIdFor, publishableDocument } from './openapi-doc.js';

describe('the published OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => { t = await openTestApp(); });
  afterAll(async () => { await t.close(); });

  it('derives stable operation ids from method and path', () => {
    expect(operationIdFor('GET', '/api/v1/loans/{ref}/balances')).toBe('getLoansByRefBalances');
    expect(operationIdFor('post', '/api/v1/collateral-positions/{id}/confirmation')).toBe('postCollateralPositionsByIdConfirmation');
    expect(operationIdFor('get', '/healthz')).toBe('getHealthz');
  });

  it('turns JSON Schema examples into OpenAPI 3.0 example, and names 4xx answers', () => {
    const doc = publishableDocument({
      security: [{ token: [] }],
      paths: { '/api/v1/x': { get: { responses: { 200: { content: { 'application/json': { schema: { type: 'string', examples: ['1.00', '2.00'] } } } } } } } },
    });
    const op = (doc.paths as Record<string, Record<string, Record<string, unknown>>>)['/api/v1/x']!.get!;
    expect(op.operationId).toBe('getX');
    const responses = op.responses as Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
    expect(responses['200']!.content!['application/json']!.schema).toEqual({ type: 'string', example: '1.00' });
    expect(Object.keys(responses).sort()).toEqual(['200', '401', '403', '429']);
  });

  it('gives every operation a unique id that the access rules name too, and public routes no security', async () => {
    const doc = t.app.swagger() as unknown as { paths: Record<string, Record<string, { operationId: string; security?: unknown[] }>> };
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    const ruleIds = new Set(t.app.routeRules.map((rule) => rule.operationId));
    for (const id of ids) expect(ruleIds.has(id), id).toBe(true);
    expect(doc.paths['/healthz']!.get!.security).toEqual([]);
    expect(doc.paths['/api/v1/auth/login']!.post!.security).toEqual([]);
    expect(doc.paths['/api/v1/loans']!.get!.security).toBeUndefined();
  });

  it('tells a user which operations its roles may call', async () => {
    const officer = (await t.as('officer').get('/api/v1/auth/me')).json();
    expect(officer.operations).toContain('postBorrowersByRefLoanApplications');
    expect(officer.operations).not.toContain('createUser');
    const borrower = (await t.as('borrower1').get('/api/v1/auth/me')).json();
    expect(borrower.operations).not.toContain('listLoans');
    expect(borrower.operations).toContain('getBorrowersByRefRisk');
  });
});
