import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';

/** A deep-health check: healthy or not, optionally with figures shown beside the status. */
export type HealthCheck = () => Promise<boolean | { ok: boolean; details: Record<string, number> }>;

export async function healthRoutes(app: FastifyInstance, opts: { sql: Sql; checks: Record<string, HealthCheck> }) {
  app.get('/health', {
    config: { scope: null },
    schema: {
      tags: ['health'],
      summary: 'Liveness; with ?deep=true also checks the database and background worker',
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
    return reply.code(degraded ? 503 : 200).send({ status: degraded ? 'degraded' : 'ok', timestamp, checks });
  });
}
