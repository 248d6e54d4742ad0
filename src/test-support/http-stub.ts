import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server standing in for an outside service (an exchange, the Bank of Russia): each
 * path answers what the test set, in the documented format or not, slowly or not. Requests are
 * counted per path.
 */

export interface StubResponse {
  readonly status?: number;
  readonly body: string | Uint8Array;
  readonly contentType?: string;
  readonly delayMs?: number;
}

export type StubHandler = StubResponse | ((count: number, url: URL, headers: IncomingHttpHeaders) => StubResponse);

export interface HttpStub {
  readonly url: (path: string) => string;
  set(path: string, handler: StubHandler): void;
  count(path: string): number;
  close(): Promise<void>;
}

export async function startHttpStub(): Promise<HttpStub> {
  const handlers = new Map<string, StubHandler>();
  const counts = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const count = (counts.get(url.pathname) ?? 0) + 1;
    counts.set(url.pathname, count);
    const handler = handlers.get(url.pathname);
    if (handler === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('no such path');
      return;
    }
    const answer = typeof handler === 'function' ? handler(count, url, request.headers) : handler;
    const send = () => {
      if (response.destroyed) return;
      response.writeHead(answer.status ?? 200, { 'content-type': answer.contentType ?? 'application/json' });
      response.end(answer.body);
    };
    if (answer.delayMs) setTimeout(send, answer.delayMs).unref();
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    set: (path, handler) => { handlers.set(path.split('?')[0]!, handler); },
    count: (path) => counts.get(path) ?? 0,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** windows-1251 bytes for ASCII and Cyrillic text, as the Bank of Russia serves its XML. */
export function windows1251(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0x80) bytes.push(code);
    else if (code >= 0x410 && code <= 0x44f) bytes.push(0xc0 + code - 0x410);
    else if (code === 0x401) bytes.push(0xa8);
    else if (code === 0x451) bytes.push(0xb8);
    else throw new Error(`no windows-1251 byte for ${char}`);
  }
  return Uint8Array.from(bytes);
}
