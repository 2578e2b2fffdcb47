/**
 * Operations endpoints and the HTTP side of the metrics:
 * - GET /metrics: Prometheus text. Not public: `Authorization: Bearer <METRICS_TOKEN>` when
 *   the token is set, or an API key with the admin scope.
 * - GET /live: the process answers (an orchestrator restarts it when this fails).
 * - GET /ready: migrations applied, database reachable, LISTEN in place (an orchestrator
 *   sends traffic only while this is 200).
 * Every answered request is counted by method, route pattern and status.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';
import { pendingMigrations } from '../db/migrate.ts';
import { AppError } from '../errors.ts';
import { authenticateKey, bearerToken } from '../http/auth.ts';
import type { Live, LiveListener } from '../live/live.ts';
import { countCommittedEvents } from './events.ts';
import { hubLag, httpDuration, httpRequests, registry } from './registry.ts';
import { refreshGauges } from './scrape.ts';

export interface MetricsOptions {
  sql: Sql;
  live: Live;
  /** METRICS_TOKEN: a bearer token for scrapers that need no API key. */
  token?: string;
  /** DB_POOL_SIZE, reported beside the connection counts. */
  poolMax?: number;
  rateLimitWindowMs: number;
}

const sameSecret = (a: string, b: string) =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

async function metricsPlugin(app: FastifyInstance, opts: MetricsOptions) {
  countCommittedEvents();

  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    // The route's pattern, never the raw URL: ids would make a label per request.
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
    httpRequests.inc(labels);
    httpDuration.observe(labels, reply.elapsedTime / 1000);
    done();
  });

  const lag: LiveListener = { onEvents(events) {
    const now = Date.now();
    for (const e of events) hubLag.observe(Math.max(0, (now - e.recordedMs) / 1000));
  } };
  opts.live.attach(lag);
  app.addHook('onClose', async () => opts.live.detach(lag));

  const allowed = async (request: FastifyRequest): Promise<void> => {
    const token = bearerToken(request);
    if (!token) throw new AppError('UNAUTHORIZED', 'Send "Authorization: Bearer <METRICS_TOKEN>" or an admin API key');
    if (opts.token && sameSecret(token, opts.token)) return;
    const key = await authenticateKey(opts.sql, token, opts.rateLimitWindowMs);
    if (!key || key.revoked_at) throw new AppError('UNAUTHORIZED', 'Neither METRICS_TOKEN nor a valid API key');
    if (!key.scopes.includes('admin')) throw new AppError('FORBIDDEN', 'Metrics need METRICS_TOKEN or an admin key', { requiredScope: 'admin' });
  };

  app.get('/metrics', {
    config: { scope: null },
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics (METRICS_TOKEN or an admin key)',
      security: [{ bearer: [] }],
      response: { 200: Type.String({ description: 'Prometheus text exposition format' }) },
    },
    onRequest: allowed,
  }, async (_request, reply) => {
    await refreshGauges({ sql: opts.sql, live: opts.live, poolMax: opts.poolMax });
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  app.get('/live', {
    config: { scope: null },
    schema: { tags: ['operations'], summary: 'Liveness probe: the process answers', security: [] },
  }, async () => ({ status: 'ok' }));

  app.get('/ready', {
    config: { scope: null },
    schema: { tags: ['operations'], summary: 'Readiness probe: migrations applied, database reachable, LISTEN up', security: [] },
  }, async (request, reply) => {
    const checks: Record<string, 'ok' | string> = {};
    try {
      const pending = await withTimeout(pendingMigrations(opts.sql), 2_000);
      checks.database = 'ok';
      checks.migrations = pending.length === 0 ? 'ok' : `${pending.length} not applied`;
    } catch (err) {
      // Public endpoint: the driver's text goes to the log only.
      request.log.warn({ err }, 'readiness: database unreachable');
      checks.database = 'unreachable';
      checks.migrations = 'unknown';
    }
    checks.listen = opts.live.running && opts.live.listenerPid !== null ? 'ok' : 'down';
    const ready = Object.values(checks).every((c) => c === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); }),
  ]);
}

export const metricsRoutes = fp(metricsPlugin, { name: 'agentgate-metrics' });
