import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../generated/api';

/**
 * The typed client of the service's API, generated from its OpenAPI document at build time
 * (npm run web:api): a route or field that changes breaks this app's type check, not its users.
 *
 * The browser is a client like any other: the session cookie (HttpOnly, SameSite=Strict) goes
 * with every request, unsafe methods echo the CSRF token the login gave, and every POST carries
 * an Idempotency-Key made once per user action, so a double click or a retry is the same request.
 */

let csrfToken: string | undefined;
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const session: Middleware = {
  onRequest({ request }) {
    if (UNSAFE.has(request.method)) {
      if (csrfToken !== undefined) request.headers.set('x-csrf-token', csrfToken);
      if (!request.headers.has('idempotency-key')) request.headers.set('idempotency-key', crypto.randomUUID());
    }
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: '', credentials: 'include' });
api.use(session);

/** An error the API answered with: its machine-readable code and its human message. */
export class ApiProblem extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

interface Answer<T> { data?: T; error?: unknown; response: Response }

/** The data of an answer, or an ApiProblem carrying the API's error code and message. */
export function must<T>(answer: Answer<T>): T {
  if (answer.error !== undefined || answer.data === undefined) {
    const body = answer.error as { error?: { code?: string; message?: string } } | undefined;
    throw new ApiProblem(answer.response.status, body?.error?.code ?? 'http_error', body?.error?.message ?? `HTTP ${answer.response.status}`);
  }
  return answer.data;
}
