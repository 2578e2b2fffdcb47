/**
 * `GET /api/events`: the event log as NDJSON (`application/x-ndjson`), one event per line
 * in log order, the same objects as the WebSocket's event messages. The response is
 * streamed page by page at the pace the client reads; the log is never held in memory.
 *
 * Without `follow` the last line is `{"type":"cursor","position":N,"hasMore":bool}`:
 * pass N as `from` to continue (N may be past the last event shown when filters skipped
 * rows). With `follow=true` the response stays open like `tail -f`: after the replay a
 * cursor line marks the switch to live, new events follow as they commit, and an empty
 * line is written every heartbeat interval to keep proxies from closing it. A client
 * that cannot keep up gets an `{"type":"error",…}` line, a final cursor line and the end.
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { cursorAt, type LogCursor } from '../events/store.ts';
import { principalOf } from '../http/auth.ts';
import { errorResponses } from '../http/schemas.ts';
import { hasScope } from '../keys/scopes.ts';
import type { Live, LiveListener } from './live.ts';
import { wireMessage, readFiltered, type LogFilter } from './log.ts';
import { isRefusal, LIVE_RETRY_AFTER_SECONDS, refusalError, type LiveLimits } from './limits.ts';
import { Subscription } from './subscription.ts';

const List = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 });

const EventsQuery = Type.Object({
  from: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Start after this position (0: the beginning)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Most events in this response (default 1000; unlimited with follow)' })),
  stream: Type.Optional(Type.Union([List, Type.String()], { description: 'Stream ids, e.g. request-req_…; repeat for several' })),
  type: Type.Optional(Type.Union([List, Type.String()], { description: 'Event types, e.g. request.approved; repeat for several' })),
  streamType: Type.Optional(Type.Union([List, Type.String()], { description: 'request, policy, apikey, webhook; repeat for several' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Only events recorded at or after this time' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Only events recorded before this time' })),
  follow: Type.Optional(Type.Boolean({ default: false, description: 'Keep the response open and stream new events as they commit' })),
}, { additionalProperties: false });
type EventsQuery = Static<typeof EventsQuery>;

const DEFAULT_LIMIT = 1000;
const PAGE = 1000;

const list = (v: string[] | string | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

export interface EventsRouteOptions {
  sql: Sql;
  live: Live;
  track: (release: () => void) => () => void;
  limits: LiveLimits;
}

export async function eventsRoute(app: FastifyInstance, opts: EventsRouteOptions) {
  const { sql, live, track, limits } = opts;

  app.get('/api/events', {
    config: { scope: 'audit:read' },
    schema: {
      tags: ['audit'],
      summary: 'The event log as NDJSON, optionally followed live',
      description:
        'One JSON event per line in log order: `{"type":"event","position","streamId","streamType","version","eventType","data","metadata","recordedAt"}`. ' +
        'Ends with `{"type":"cursor","position":N,"hasMore":bool}`; pass N as `from` to continue. ' +
        'Log order is commit order, so positions are not always increasing. Secrets are removed from `data`.',
      querystring: EventsQuery,
      produces: ['application/x-ndjson'],
      response: {
        200: { description: 'NDJSON stream', content: { 'application/x-ndjson': { schema: Type.String() } } },
        ...errorResponses(400, 401, 403, 429),
      },
    },
  }, async (request, reply) => {
    const q = request.query as EventsQuery;
    const from = q.from ?? 0;
    const start = await cursorAt(sql, from);
    if (!start) throw new AppError('INVALID_CURSOR', `Position ${from} is not in the event log`, { field: 'querystring.from' });
    const filter: LogFilter = {
      ...(q.stream !== undefined ? { streamIds: list(q.stream) } : {}),
      ...(q.type !== undefined ? { types: list(q.type) } : {}),
      ...(q.streamType !== undefined ? { streamTypes: list(q.streamType) } : {}),
      ...(q.since ? { since: q.since } : {}),
      ...(q.until ? { until: q.until } : {}),
    };
    // A followed response stays open indefinitely: a key may hold only so many at once.
    const slot = q.follow ? limits.acquire('follower', principalOf(request).id) : null;
    if (slot && isRefusal(slot)) {
      reply.header('Retry-After', LIVE_RETRY_AFTER_SECONDS);
      throw refusalError(slot);
    }

    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    let gone = false;
    const drained = () =>
      gone ? Promise.resolve() : new Promise<void>((resolve) => {
        const done = () => {
          out.off('drain', done);
          out.off('close', done);
          resolve();
        };
        out.once('drain', done);
        out.once('close', done);
      });
    const line = (text: string) => (gone ? false : out.write(`${text}\n`));
    const cursorLine = (cursor: LogCursor, extra: object = {}) =>
      line(JSON.stringify({ type: 'cursor', position: cursor.position, ...extra }));

    reply.header('Cache-Control', 'no-store').header('X-Content-Type-Options', 'nosniff').type('application/x-ndjson');

    if (!q.follow) {
      const limit = q.limit ?? DEFAULT_LIMIT;
      reply.raw.once('close', () => { gone = true; });
      void (async () => {
        let cursor = start;
        let sent = 0;
        let hasMore = false;
        while (!gone) {
          const want = Math.min(PAGE, limit - sent);
          const page = await readFiltered(sql, cursor, want, filter);
          for (const e of page.events) if (!line(wireMessage(e))) await drained();
          sent += page.events.length;
          cursor = page.cursor;
          if (page.events.length < want) break;
          if (sent >= limit) {
            hasMore = true;
            break;
          }
        }
        cursorLine(cursor, { hasMore });
        out.end();
      })().catch((err) => {
        request.log.error({ err }, 'event export failed');
        out.destroy(err as Error);
      });
      return reply.send(out);
    }

    // A followed response ends only when the client leaves or the server stops; at shutdown
    // the server waits for every connection, so this one must not be kept alive afterwards.
    reply.header('Connection', 'close');
    let keepalive: NodeJS.Timeout | null = null;
    const sub = new Subscription(sql, live, {
      write: (text) => line(text),
      drained,
      live: (cursor) => { cursorLine(cursor, { live: true }); },
      end: (reason, detail) => {
        if (reason === 'slow_consumer') line(JSON.stringify({ type: 'error', error: { code: 'SLOW_CONSUMER', message: detail } }));
        finish();
      },
    }, {
      from: start,
      filter,
      maxBuffered: live.options.maxBufferedEvents,
      ...(q.limit !== undefined ? { maxEvents: q.limit } : {}),
    });
    const untrack = track(() => sub.close('shutdown', 'the server is shutting down'));
    // The key was checked when the response began; a followed response outlives that check,
    // so a revocation or the loss of audit:read ends it at once, as on the WebSocket.
    const keyStream = `apikey-${principalOf(request).id}`;
    const keyWatch: LiveListener = {
      onEvents(events) {
        for (const e of events) {
          if (e.streamId !== keyStream || sub.closed) continue;
          const scopes = e.type === 'apikey.updated' ? (JSON.parse(wireMessage(e)) as { data: { scopes?: string[] } }).data.scopes : undefined;
          const revoked = e.type === 'apikey.revoked';
          if (!revoked && !(scopes && !hasScope(scopes, 'audit:read'))) continue;
          line(JSON.stringify({ type: 'error', error: revoked
            ? { code: 'UNAUTHORIZED', message: 'The API key has been revoked' }
            : { code: 'FORBIDDEN', message: 'The API key lost the "audit:read" scope' } }));
          sub.close('error', 'key no longer allowed');
        }
      },
    };
    live.attach(keyWatch);
    const finish = () => {
      slot?.release();
      if (keepalive) clearInterval(keepalive);
      live.detach(keyWatch);
      untrack();
      if (!gone) {
        cursorLine(sub.cursor);
        out.end();
      }
      gone = true;
    };
    reply.raw.once('close', () => {
      gone = true;
      slot?.release();
      if (keepalive) clearInterval(keepalive);
      live.detach(keyWatch);
      untrack();
      sub.dispose();
    });
    keepalive = setInterval(() => { line(''); }, live.options.heartbeatMs);
    keepalive.unref();
    sub.start().catch((err) => {
      request.log.error({ err }, 'event follow failed');
      if (!sub.closed) sub.dispose();
      finish();
    });
    return reply.send(out);
  });
}
