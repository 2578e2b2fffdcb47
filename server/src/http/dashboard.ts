/**
 * Serves the built dashboard (web/dist, made by `npm run build`, which `npm install` runs):
 * content-hashed assets cached for a year and sent precompressed (Brotli or gzip, written
 * at build time), index.html never cached, and index.html for
 * every client route (an SPA fallback) so a shared URL such as /requests/req_… opens.
 * Nothing is fetched from elsewhere: the bundle carries its own fonts-free CSS and scripts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ROOT_DIR } from '../db/paths.ts';
import { sendError } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A catch-all route: not counted when telling which methods a path allows. */
    fallback?: boolean;
  }
}

export const DASHBOARD_DIST = path.join(ROOT_DIR, 'web', 'dist');
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Paths that are the server's own, never a client route of the dashboard. */
const SERVER_PREFIXES = ['/api/', '/integrations/', '/docs', '/health', '/openapi.json', '/metrics', '/ready', '/live', '/decide', '/assets/'];

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>AgentGate</title></head>
<body><h1>AgentGate</h1><p>The API is running, but the dashboard has not been built.
Run <code>npm run build</code> (done by <code>npm install</code>) and restart the server.</p>
<p>API reference: <a href="/docs">/docs</a></p></body></html>`;

export async function dashboardRoutes(app: FastifyInstance, opts: { dist?: string } = {}) {
  const dist = opts.dist ?? DASHBOARD_DIST;
  const indexPath = path.join(dist, 'index.html');
  const built = existsSync(indexPath);
  if (!built) app.log.warn({ dist }, 'the dashboard is not built: run `npm run build`');
  // Read once: index.html changes only with a new build, which means a restart.
  const index = built ? await readFile(indexPath, 'utf8') : NOT_BUILT;

  const sendIndex = (reply: FastifyReply) =>
    reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-cache').send(index);

  if (built) {
    await app.register(fastifyStatic, {
      root: path.join(dist, 'assets'),
      prefix: '/assets/',
      // The build writes .br and .gz copies of each asset: sent to browsers that accept
      // them (with Vary: Accept-Encoding), the plain file to anything else.
      preCompressed: true,
      // Names carry a content hash: a changed file is a new URL.
      cacheControl: false,
      etag: false,
      lastModified: false,
      setHeaders: (reply) => { reply.header('Cache-Control', IMMUTABLE); },
      // Files are listed at start, so a lookup is a route match, not a disk probe.
      wildcard: false,
      schemaHide: true,
    });
    for (const file of ['favicon.svg', 'robots.txt']) {
      const full = path.join(dist, file);
      if (!existsSync(full)) continue;
      const body = await readFile(full);
      app.get(`/${file}`, { config: { scope: null }, schema: { hide: true } }, async (_req, reply) =>
        reply.type(file.endsWith('.svg') ? 'image/svg+xml' : 'text/plain').header('Cache-Control', 'public, max-age=86400').send(body));
    }
  }

  app.get('/', { config: { scope: null }, schema: { hide: true } }, async (_request, reply) => sendIndex(reply));

  // Client routes: any other GET that asks for HTML and is not one of the server's own paths.
  app.get('/*', { config: { scope: null, fallback: true }, schema: { hide: true } }, async (request: FastifyRequest, reply) => {
    const url = request.url.split('?')[0]!;
    const wantsHtml = (request.headers.accept ?? '').includes('text/html');
    if (!wantsHtml || SERVER_PREFIXES.some((p) => url === p.replace(/\/$/, '') || url.startsWith(p))) {
      return sendError(reply, 'ROUTE_NOT_FOUND', `No route for GET ${url}`);
    }
    return sendIndex(reply);
  });
}
