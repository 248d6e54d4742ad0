import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';

/**
 * The one way adapters (price sources, the registry service, the network data API) talk HTTP: Node's fetch (undici) with a timeout, a size limit, and
 * every failure turned into a `SourceError` with a kind and a short reason, so nothing a source
 * does can throw past its adapter.
 */

export type SourceErrorKind = 'timeout' | 'network' | 'http' | 'malformed' | 'rejected';

export class SourceError extends Error {
  override readonly name = 'SourceError';
  constructor(readonly kind: SourceErrorKind, message: string, readonly httpStatus?: number) {
    super(message);
  }
}

export interface HttpOptions {
  readonly timeoutMs: number;
  /** Largest response accepted; a ticker is a few hundred bytes. */
  readonly maxBytes?: number;
  /** Extra request headers (e.g. a service's authorisation). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A request with a body (a broadcast, a JSON-RPC call): POST with this text. */
  readonly post?: { readonly body: string; readonly contentType: string };
}

const MAX_BYTES_DEFAULT = 1_048_576;

export async function getBytes(url: string, options: HttpOptions): Promise<Uint8Array> {
  let response: Response;
  try {
    const headers = { accept: 'application/json, application/xml;q=0.9, */*;q=0.1', 'user-agent': 'zalog/0.1', ...(options.post === undefined ? {} : { 'content-type': options.post.contentType }), ...options.headers };
    response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs), headers, ...(options.post === undefined ? {} : { method: 'POST', body: options.post.body }) });
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new SourceError('timeout', `no answer within ${options.timeoutMs} ms`);
    throw new SourceError('network', `cannot reach the source: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`);
  }
  const limit = options.maxBytes ?? MAX_BYTES_DEFAULT;
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > limit) throw new SourceError('malformed', `response of ${declared} bytes is larger than ${limit}`);
  // Read at most `limit` bytes: a source that sends more is cut off, not buffered.
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    if (response.body !== null) {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        received += chunk.byteLength;
        if (received > limit) {
          await response.body.cancel().catch(() => undefined);
          throw new SourceError('malformed', `response larger than ${limit} bytes`);
        }
        chunks.push(chunk);
      }
    }
  } catch (error) {
    if (error instanceof SourceError) throw error;
    const name = (error as { name?: string }).name;
    throw new SourceError(name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network', `the response was cut off: ${(error as Error).message}`);
  }
  const body = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  if (!response.ok) {
    throw new SourceError('http', `HTTP ${response.status}: ${new TextDecoder().decode(body.subarray(0, 200)).replace(/\s+/g, ' ').trim()}`, response.status);
  }
  return body;
}

export async function getJson(url: string, options: HttpOptions): Promise<unknown> {
  const body = await getBytes(url, options);
  const text = new TextDecoder().decode(body);
  if (text.trim() === '') throw new SourceError('malformed', 'empty response');
  try {
    return JSON.parse(text);
  } catch {
    throw new SourceError('malformed', `not JSON: ${text.slice(0, 80).replace(/\s+/g, ' ')}`);
  }
}

/** The body, if it matches the documented shape; otherwise a 'malformed' error naming the first mismatch. */
export function expectShape<T>(schema: TSchema, value: unknown, what: string): T {
  if (!Value.Check(schema, value)) {
    const first = [...Value.Errors(schema, value)][0];
    throw new SourceError('malformed', `${what} does not match the documented format${first ? `: ${first.instancePath || '/'} ${first.message}` : ''}`);
  }
  return value as T;
}
