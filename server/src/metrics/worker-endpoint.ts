/**
 * A worker process has no HTTP API; its counters (webhook deliveries, expiries it decided)
 * are served here on METRICS_PORT, to METRICS_TOKEN only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { Sql } from '../db/connect.ts';
import { registry } from './registry.ts';
import { refreshGauges } from './scrape.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

export async function serveWorkerMetrics(opts: { port: number; host?: string; token: string; sql: Sql; poolMax: number }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://worker');
    if (req.method !== 'GET' || (url.pathname !== '/metrics' && url.pathname !== '/live')) {
      res.writeHead(404).end();
      return;
    }
    if (url.pathname === '/live') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!given || !timingSafeEqual(digest(given), digest(opts.token))) {
      res.writeHead(401, { 'content-type': 'application/json' })
        .end('{"error":{"code":"UNAUTHORIZED","message":"Send \\"Authorization: Bearer <METRICS_TOKEN>\\""}}');
      return;
    }
    refreshGauges({ sql: opts.sql, poolMax: opts.poolMax })
      .then(() => registry.metrics())
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(opts.port, opts.host ?? '0.0.0.0', resolve));
  return server;
}
