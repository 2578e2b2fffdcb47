import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { errorResponses, IdParams } from '../http/schemas.ts';
import { findRequest } from '../requests/queries.ts';
import { requestId } from '../requests/routes.ts';
import { ApprovalRequest } from '../requests/schemas.ts';
import type { Live, LiveListener } from './live.ts';
import { keyRevoked } from '../keys/queries.ts';
import { principalOf } from '../http/auth.ts';
import { isRefusal, LIVE_RETRY_AFTER_SECONDS, refusalError, type LiveLimits } from './limits.ts';
import { databaseWorkWithin } from '../db/deadline.ts';

/**
 * Long-poll answers always carry the request object unchanged; this header says why the
 * answer came: `complete` (no longer pending) or `timeout` (still pending; ask again).
 */
export const WAIT_HEADER = 'X-AgentGate-Wait';

const DEFAULT_TIMEOUT_SECONDS = 30;

/**
 * At its timeout a poll reads the request once more; if the database does not answer
 * within this grace (it is down, or past saturation), the poll answers 503 instead of
 * overrunning its timeout by a whole query deadline.
 */
export const WAIT_FINAL_READ_GRACE_MS = 1_500;

export interface WaitRouteOptions {
  sql: Sql;
  live: Live;
  /** Called with a release function while a wait is open; the release ends it early (shutdown). */
  track: (release: () => void) => () => void;
  limits: LiveLimits;
}

export async function waitRoute(app: FastifyInstance, opts: WaitRouteOptions) {
  const { sql, live, track, limits } = opts;
  const max = live.options.waitMaxTimeoutSeconds;

  app.get('/api/requests/:id/wait', {
    config: { scope: 'request:read' },
    schema: {
      tags: ['requests'],
      summary: 'Wait until a request is no longer pending (long-poll)',
      description:
        `Answers at once when the request is decided, expired or cancelled; otherwise holds the connection until it is, ` +
        `or until \`timeout\` seconds (default ${Math.min(DEFAULT_TIMEOUT_SECONDS, max)}, at most ${max}) pass. ` +
        `Either way the answer is 200 with the request; the \`${WAIT_HEADER}\` header is \`complete\` or \`timeout\` ` +
        `(the request is then still pending: ask again). While the database is unavailable the answer is ` +
        `503 SERVICE_UNAVAILABLE with Retry-After, by the timeout at the latest.`,
      params: IdParams,
      querystring: Type.Object({
        timeout: Type.Optional(Type.Number({ minimum: 0, maximum: max, default: Math.min(DEFAULT_TIMEOUT_SECONDS, max), description: 'Seconds to wait' })),
      }, { additionalProperties: false }),
      response: {
        200: ApprovalRequest,
        ...errorResponses(400, 401, 403, 404, 429, 503),
      },
    },
  }, async (request, reply) => {
    const id = requestId(request.params);
    const { timeout } = request.query as { timeout: number };
    const deadline = Date.now() + timeout * 1000;
    // A key may hold only so many polls open at once (the rate limit counted this one's start).
    const slot = limits.acquire('longpoll', principalOf(request).id);
    if (isRefusal(slot)) {
      reply.header('Retry-After', LIVE_RETRY_AFTER_SECONDS);
      throw refusalError(slot);
    }
    // Watch before reading: a decision committed between the read and the wait still wakes us.
    const watch = live.watchRequest(id);
    let released = false;
    const untrack = track(() => {
      released = true;
      watch.close();
    });
    const clientGone = () => watch.close();
    reply.raw.once('close', clientGone);
    // The key was checked when the poll began; a poll outlives that check, so a revocation
    // ends it at once with a 401 (as it ends WebSockets and followed exports), and a
    // decision is never handed to a key revoked meanwhile.
    const principal = request.principal;
    const keyId = principal?.type === 'key' ? principal.id : null;
    let revoked = false;
    const keyWatch: LiveListener = {
      onEvents(events) {
        for (const e of events) {
          if (e.streamId === `apikey-${keyId}` && e.type === 'apikey.revoked') {
            revoked = true;
            watch.notify();
          }
        }
      },
    };
    if (keyId) live.attach(keyWatch);
    const refuseIfRevoked = async () => {
      if (keyId && (revoked || (await keyRevoked(sql, keyId)))) throw new AppError('UNAUTHORIZED', 'The API key has been revoked');
    };
    try {
      for (;;) {
        const current = await findRequest(sql, id);
        if (!current) throw new AppError('NOT_FOUND', `request ${id} not found`);
        if (revoked) await refuseIfRevoked();
        if (current.status !== 'pending') {
          await refuseIfRevoked();
          return reply.header(WAIT_HEADER, 'complete').send(current);
        }
        const outcome = await watch.next(deadline - Date.now());
        if (outcome === 'event') continue;
        // Deadline, client gone or shutdown: answer with the state as it is now (or, with
        // the database away, a 503 by the timeout).
        const last = await databaseWorkWithin((async () => {
          await refuseIfRevoked();
          return (await findRequest(sql, id)) ?? current;
        })(), WAIT_FINAL_READ_GRACE_MS);
        // At shutdown the server waits for every connection to end: do not keep this one alive.
        if (released) reply.header('Connection', 'close');
        return reply.header(WAIT_HEADER, last.status === 'pending' ? 'timeout' : 'complete').send(last);
      }
    } finally {
      slot.release();
      if (keyId) live.detach(keyWatch);
      reply.raw.off('close', clientGone);
      untrack();
      watch.close();
    }
  });
}
