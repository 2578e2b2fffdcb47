import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';

/** A deep-health check: healthy or not, optionally with figures shown beside the status. */
export type HealthCheck = () => Promise<boolean | { ok: boolean; details: Record<string, number> }>;

export interface HealthOptions {
  sql: Sql;
  checks: Record<string, HealthCheck>;
  /** Whether the request carries a valid API key: only then are the checks' details shown. */
  hasValidKey: (request: FastifyRequest) => Promise<boolean>;
}

export async function healthRoutes(app: FastifyInstance, opts: HealthOptions) {
  app.get('/health', {
    config: { scope: null },
    schema: {
      tags: ['health'],
      summary: 'Liveness; with ?deep=true also checks the database and background worker',
      description: 'Public. With ?deep=true the answer is 200 or 503 with the overall status; the individual checks (and figures such as open long-polls) are shown only to a caller with a valid API key.',
      security: [],
      querystring: Type.Object({ deep: Type.Optional(Type.Boolean()) }),
    },
  }, async (request, reply) => {
    const timestamp = new Date().toISOString();
    if (!(request.query as { deep?: boolean }).deep) return { status: 'ok', timestamp };
    const checks: Record<string, { status: 'ok' | 'error'; latencyMs?: number; message?: string; details?: Record<string, number> }> = {};
    const started = performance.now();
    try {
      await opts.sql`select 1`;
      checks.database = { status: 'ok', latencyMs: Math.round((performance.now() - started) * 10) / 10 };
    } catch (err) {
      // The endpoint is public: the driver's text (addresses, user names) goes to the log only.
      request.log.error({ err }, 'health check: database unreachable');
      checks.database = { status: 'error', message: 'database unreachable' };
    }
    for (const [name, check] of Object.entries(opts.checks)) {
      try {
        const result = await check();
        const ok = typeof result === 'boolean' ? result : result.ok;
        checks[name] = { status: ok ? 'ok' : 'error', ...(typeof result === 'object' && { details: result.details }) };
      } catch (err) {
        request.log.error({ err }, `health check ${name} failed`);
        checks[name] = { status: 'error', message: 'check failed' };
      }
    }
    const degraded = Object.values(checks).some((c) => c.status !== 'ok');
    const status = degraded ? 'degraded' : 'ok';
    // Which parts run, and how busy they are, is for operators: anonymous callers get the verdict.
    const shown = await opts.hasValidKey(request).catch(() => false);
    return reply.code(degraded ? 503 : 200).send(shown ? { status, timestamp, checks } : { status, timestamp });
  });
}
