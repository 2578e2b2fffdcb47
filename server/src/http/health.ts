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
  /** The deep check answers within this many ms (HEALTH_TIMEOUT_MS, default 2000). */
  timeoutMs?: number;
}

export const HEALTH_TIMEOUT_MS = 2_000;

class CheckTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** The check's result, or a CheckTimeout once `ms` pass (the check itself runs on, ignored). */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new CheckTimeout(ms)), ms); });
  work.catch(() => {}); // a check that fails after its timeout must not surface unhandled
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

type CheckResult = { status: 'ok' | 'error'; latencyMs?: number; message?: string; details?: Record<string, number> };

export async function healthRoutes(app: FastifyInstance, opts: HealthOptions) {
  const timeoutMs = opts.timeoutMs ?? HEALTH_TIMEOUT_MS;

  app.get('/health', {
    config: { scope: null },
    schema: {
      tags: ['health'],
      summary: 'Liveness; with ?deep=true also checks the database and background worker',
      description: 'Public. With ?deep=true the answer is 200 or 503 with the overall status, within a short timeout (HEALTH_TIMEOUT_MS) even when the database does not answer; the individual checks (and figures such as open long-polls) are shown only to a caller with a valid API key.',
      security: [],
      querystring: Type.Object({ deep: Type.Optional(Type.Boolean()) }),
    },
  }, async (request, reply) => {
    const timestamp = new Date().toISOString();
    if (!(request.query as { deep?: boolean }).deep) return { status: 'ok', timestamp };

    // Every check (and the key lookup deciding what is shown) runs at once, each bounded by
    // the timeout: an unreachable database makes the answer a quick 503, not a hang.
    const database = async (): Promise<CheckResult> => {
      const started = performance.now();
      try {
        await within(opts.sql`select 1`.then(() => {}), timeoutMs);
        return { status: 'ok', latencyMs: Math.round((performance.now() - started) * 10) / 10 };
      } catch (err) {
        // The endpoint is public: the driver's text (addresses, user names) goes to the log only.
        request.log.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, 'health check: database unreachable');
        return { status: 'error', message: err instanceof CheckTimeout ? `database did not answer within ${timeoutMs} ms` : 'database unreachable' };
      }
    };
    const other = async (name: string, check: HealthCheck): Promise<CheckResult> => {
      try {
        const result = await within(check(), timeoutMs);
        const ok = typeof result === 'boolean' ? result : result.ok;
        return { status: ok ? 'ok' : 'error', ...(typeof result === 'object' && { details: result.details }) };
      } catch (err) {
        request.log.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, `health check ${name} failed`);
        return { status: 'error', message: err instanceof CheckTimeout ? `no answer within ${timeoutMs} ms` : 'check failed' };
      }
    };
    const names = Object.keys(opts.checks);
    // Which parts run, and how busy they are, is for operators: anonymous callers get the verdict.
    const [db, shown, ...results] = await Promise.all([
      database(),
      within(opts.hasValidKey(request), timeoutMs).catch(() => false),
      ...names.map((name) => other(name, opts.checks[name]!)),
    ]);
    const checks: Record<string, CheckResult> = { database: db };
    names.forEach((name, i) => { checks[name] = results[i]!; });
    const degraded = Object.values(checks).some((c) => c.status !== 'ok');
    const status = degraded ? 'degraded' : 'ok';
    if (degraded) reply.header('Retry-After', 2);
    return reply.code(degraded ? 503 : 200).send(shown ? { status, timestamp, checks } : { status, timestamp });
  });
}
