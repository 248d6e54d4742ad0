import { stat } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';

/**
 * The web app (console and portal), built by Vite into `root`, served by the service itself on
 * the same origin as the API, so the browser's session cookie and CSRF header work as they do for
 * any client and no CORS is opened.
 *
 * One public GET route, `/*`: a file of the build when one matches (hashed assets cached for a
 * year, pre-compressed .br/.gz when the browser takes them), otherwise index.html, whose router
 * draws the page (the app's own paths such as /loans/L-1 are not files). Paths under /api/ that
 * no route matched stay JSON 404s. Registered through our own route (not the plugin's) so the
 * access rules see it declared public like /healthz.
 */
export async function registerWebApp(app: FastifyInstance, root: string): Promise<void> {
  await app.register(fastifyStatic, { root, serve: false, preCompressed: true });
  const rootWithSep = root.endsWith(sep) ? root : `${root}${sep}`;
  app.get('/*', { config: { access: { public: true } }, schema: { hide: true } }, async (request, reply) => {
    const path = decodeURIComponent(request.url.split('?')[0]!);
    if (path.startsWith('/api/') || path === '/api') throw new ApiError(404, 'route_not_found', `no route GET ${path}`);
    const file = normalize(join(root, path));
    if (file.startsWith(rootWithSep) && path !== '/' && !path.endsWith('/')) {
      const found = await stat(file).catch(() => undefined);
      if (found?.isFile()) {
        const immutable = path.startsWith('/assets/');
        return reply.sendFile(path.slice(1), { maxAge: immutable ? 31_536_000_000 : 0, immutable, cacheControl: true });
      }
    }
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', { cacheControl: false });
  });
}
