import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import type { AuthenticatedKeyRow } from '../keys/queries.ts';
import { hasScope, type Scope } from '../keys/scopes.ts';
import { hashApiKey } from '../keys/secrets.ts';
import { keyUsageRecorder } from '../keys/usage.ts';
import type { Principal } from '../requests/decider.ts';
import type { Sessions } from '../sessions/sessions.ts';

export interface AuthenticatedPrincipal extends Principal {
  scopes: string[];
  rateLimit: number | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: AuthenticatedPrincipal | null;
    /** The dashboard session the call came with (cookie), when it was not a bearer key. */
    sessionId: string | null;
  }
  interface FastifyContextConfig {
    /**
     * The scope a route needs; `null` marks a public route; `'authenticated'` any valid key
     * or session, whatever its scopes. Unset under /api means admin only.
     */
    scope?: Scope | 'authenticated' | null;
  }
}


export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * Resolves the key and counts the hit against its rate limit in one round trip.
 * Keys are read from the projection on every request, so a revocation is effective
 * at once on every server process.
 *
 * The same answer as the SQL function authenticate_key (sql/0041), as one prepared
 * statement: that function called another and returned its rows through two plpgsql
 * layers, about half of the floor's time in Postgres. The hit is counted only for a live
 * key with a limit: `hit` calls rate_limit_hit for the rows of `k` that pass its filter,
 * so an unlimited key takes no lock and writes nothing (a lateral join with the same
 * condition is planned as a join filter, evaluated after the call). `k` holds at most one
 * row (key_hash is unique), so joining `hit` on true pairs it with its own count.
 */
export async function authenticateKey(sql: Sql, key: string, windowMs: number): Promise<AuthenticatedKeyRow | null> {
  const [row] = await sql<AuthenticatedKeyRow[]>`
    with k as (select a.id, a.name, a.scopes, a.rate_limit, a.revoked_at from api_keys a where a.key_hash = ${hashApiKey(key)}),
    hit as (select r.allowed, r.remaining, r.reset_ms from k, rate_limit_hit(k.id, k.rate_limit, ${windowMs}) r
            where k.rate_limit is not null and k.revoked_at is null)
    select k.id, k.name, k.scopes, k.rate_limit, k.revoked_at, hit.allowed, hit.remaining, hit.reset_ms
    from k left join hit on true`;
  return row ?? null;
}

/** For public routes that show more to a caller with a key: whether the request carries a live key. */
export async function carriesValidKey(sql: Sql, request: FastifyRequest, windowMs: number): Promise<boolean> {
  const token = bearerToken(request);
  if (!token) return false;
  const row = await authenticateKey(sql, token, windowMs);
  return row !== null && row.revoked_at === null && row.allowed !== false;
}

export interface AuthOptions {
  sql: Sql;
  rateLimitWindowMs: number;
  sessions: Sessions;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

async function authPlugin(app: FastifyInstance, opts: AuthOptions) {
  app.decorateRequest('principal', null);
  const usage = keyUsageRecorder(opts.sql, (err) => app.log.warn({ err }, 'could not record an API key\'s last use'));
  app.decorateRequest('sessionId', null);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // Judged by the matched route's pattern, not the raw URL: "/%61pi/x" also reaches "/api/x".
    // Unknown routes answer 404 to anyone (the route list is public in /openapi.json anyway).
    // (routeOptions is built afresh on each read: read once.)
    const { config, url: route } = request.routeOptions;
    const scope = config.scope !== undefined ? config.scope : route?.startsWith('/api/') ? 'admin' : null;
    if (scope === null) return;

    const token = bearerToken(request);
    let row: (AuthenticatedKeyRow & { subject_type?: 'key' | 'reviewer'; person?: Principal['person'] }) | null;
    if (token) {
      // Any token is looked up by its hash: generated keys start with agk_, but an
      // ADMIN_API_KEY chosen by the operator need not.
      row = await authenticateKey(opts.sql, token, opts.rateLimitWindowMs);
      if (!row) throw new AppError('UNAUTHORIZED', 'The API key is not valid');
    } else {
      row = await sessionKey(request, reply, opts.sessions);
    }
    if (row.revoked_at) throw new AppError('UNAUTHORIZED', 'The API key has been revoked');
    const reviewer = row.subject_type === 'reviewer';
    if (!reviewer) usage.mark(row.id);

    if (row.rate_limit !== null) {
      const resetSeconds = Math.ceil((row.reset_ms ?? 0) / 1000);
      reply.header('X-RateLimit-Limit', row.rate_limit);
      reply.header('X-RateLimit-Remaining', row.remaining ?? 0);
      reply.header('X-RateLimit-Reset', resetSeconds);
      if (!row.allowed) {
        reply.header('Retry-After', Math.max(resetSeconds, 1));
        throw new AppError('RATE_LIMITED', `Rate limit of ${row.rate_limit} requests per minute exceeded; retry in ${Math.max(resetSeconds, 1)} s`, {
          limit: row.rate_limit,
          retryAfterSeconds: Math.max(resetSeconds, 1),
        });
      }
    }

    request.principal = {
      // A reviewer signed in by an emailed link acts as that reviewer (see sessions/sessions.ts).
      type: reviewer ? 'reviewer' : 'key',
      id: row.id,
      name: row.name,
      admin: row.scopes.includes('admin'),
      scopes: row.scopes,
      rateLimit: row.rate_limit,
      ...(row.person ? { person: row.person } : {}),
    };
    if (scope !== 'authenticated' && !hasScope(row.scopes, scope)) {
      throw new AppError('FORBIDDEN', reviewer
        ? `A reviewer's session cannot do this: it needs the "${scope}" scope`
        : `This key lacks the "${scope}" scope`, { requiredScope: scope });
    }
  });
}

/**
 * The key behind the dashboard session cookie. A cookie is sent by the browser on its own,
 * so a write made with it must also carry the session's anti-CSRF header (SameSite=Strict
 * already keeps other sites' requests from carrying the cookie; the header is the second lock).
 */
async function sessionKey(request: FastifyRequest, reply: FastifyReply, sessions: Sessions) {
  const cookie = sessions.cookieOf(request);
  if (!cookie) throw new AppError('UNAUTHORIZED', 'Send an API key as "Authorization: Bearer agk_…"');
  const resolved = await sessions.resolve(cookie);
  if (!resolved) {
    sessions.clearCookie(request, reply);
    throw new AppError('UNAUTHORIZED', 'The session has ended; sign in again');
  }
  if (!SAFE_METHODS.has(request.method) && !sessions.csrfOk(resolved.claims.sessionId, request)) {
    throw new AppError('CSRF_REJECTED');
  }
  request.sessionId = resolved.claims.sessionId;
  await sessions.renewIfDue(request, reply, resolved);
  return resolved.key;
}

export const auth = fp(authPlugin, { name: 'agentgate-auth' });

/** The principal of an authenticated route (the onRequest hook guarantees it). */
export function principalOf(request: FastifyRequest): AuthenticatedPrincipal {
  if (!request.principal) throw new AppError('UNAUTHORIZED');
  return request.principal;
}
