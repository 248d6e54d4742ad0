/**
 * The OpenAPI document as published: what @fastify/swagger builds from the routes' schemas, made
 * valid OpenAPI 3.0 for the tools that read it (Redocly's recommended rules, openapi-typescript):
 *
 * - JSON Schema's `examples` (an array, how TypeBox spells it) is not a 3.0 schema keyword: the
 *   first example becomes 3.0's `example`;
 * - every operation gets an `operationId` (one a route sets is kept), derived from its method and
 *   path so it is stable: `GET /api/v1/loans/{ref}/balances` is `getLoansByRefBalances`;
 * - every operation names its 4xx answers: 429 for all (the rate limit), 401 and 403 for the
 *   routes that need a login (the access rules' own answers), all in the one ErrorBody shape.
 *
 * Pure: takes the document, returns a new one.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export function operationIdFor(method: string, path: string): string {
  const parts = path.replace(/^\/api\/v1/, '').split('/').filter((part) => part !== '');
  const words = parts.map((part) => {
    const param = /^\{(.+)\}$/.exec(part);
    return param !== null ? `By${pascal(param[1]!)}` : pascal(part);
  });
  return `${method.toLowerCase()}${words.join('') || 'Root'}`;
}

function pascal(text: string): string {
  return text.split(/[^A-Za-z0-9]+/).filter((word) => word !== '').map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
}

function examplesToExample(value: Json): Json {
  if (Array.isArray(value)) return value.map(examplesToExample);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'examples' && Array.isArray(inner) && looksLikeSchema(value)) {
      if (inner.length > 0 && out.example === undefined) out.example = examplesToExample(inner[0]!);
      continue;
    }
    out[key] = examplesToExample(inner);
  }
  return out;
}

/** A schema object (where `examples` is JSON Schema's), not a media type (where 3.0 allows it as a map). */
function looksLikeSchema(node: JsonObject): boolean {
  return 'type' in node || 'pattern' in node || 'anyOf' in node || 'oneOf' in node || 'allOf' in node || 'enum' in node;
}

const errorResponse = (description: string): JsonObject => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

export function publishableDocument(document: Record<string, unknown>): Record<string, unknown> {
  const doc = examplesToExample(document as Json) as JsonObject;
  const paths = (doc.paths ?? {}) as Record<string, JsonObject>;
  const globalSecurity = doc.security as Json[] | undefined;
  const seen = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const operation = item[method] as JsonObject | undefined;
      if (operation === undefined) continue;
      if (typeof operation.operationId !== 'string') operation.operationId = operationIdFor(method, path);
      if (seen.has(operation.operationId)) throw new Error(`two operations share the operationId ${operation.operationId}`);
      seen.add(operation.operationId);
      const responses = (operation.responses ?? {}) as JsonObject;
      const security = (operation.security as Json[] | undefined) ?? globalSecurity ?? [];
      const needsLogin = security.length > 0;
      if (needsLogin && responses['401'] === undefined) responses['401'] = errorResponse('Not logged in (no session cookie, no valid API token)');
      if (needsLogin && responses['403'] === undefined) responses['403'] = errorResponse('Logged in, but this role may not do this (or the CSRF header is missing)');
      if (responses['429'] === undefined) responses['429'] = errorResponse('Too many requests from this address; try again later');
      operation.responses = responses;
    }
  }
  return doc;
}
