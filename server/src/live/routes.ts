import type { FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { Sql } from '../db/connect.ts';
import type { Sessions } from '../sessions/sessions.ts';
import { eventsRoute } from './events-route.ts';
import type { Live } from './live.ts';
import type { LiveLimits } from './limits.ts';
import { streamRoute, WS_PROTOCOL } from './stream-route.ts';
import { countedTrack } from '../metrics/track.ts';
import { waitRoute } from './wait-route.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The process's live hub (see live/live.ts). */
    live: Live;
    /** Open live connections per key and in all, with their caps. */
    liveLimits: LiveLimits;
  }
}

export interface LiveRoutesOptions {
  sql: Sql;
  live: Live;
  rateLimitWindowMs: number;
  /** Dashboard sessions: a browser's stream authenticates with the session cookie. */
  sessions: Sessions;
  /** Caps on open long-polls, streams and followers (see limits.ts). */
  limits: LiveLimits;
}

/** Long-poll, WebSocket stream and NDJSON export, all fed by one Live hub. */
export async function liveRoutes(app: FastifyInstance, opts: LiveRoutesOptions) {
  // Long-polls and followed streams would hold app.close() until they end on their own:
  // release them before the server stops accepting (WebSockets close with 1001).
  const open = new Set<() => void>();
  const track = (release: () => void) => {
    open.add(release);
    return () => { open.delete(release); };
  };
  app.addHook('preClose', async () => {
    for (const release of [...open]) release();
  });

  await app.register(websocket, {
    options: {
      maxPayload: 64 * 1024,
      // Only our protocol is echoed; the `bearer.<key>` entry is read and never sent back.
      handleProtocols: (protocols: Set<string>) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    },
  });

  await waitRoute(app, { sql: opts.sql, live: opts.live, limits: opts.limits, track: countedTrack('longpoll', track) });
  await streamRoute(app, { ...opts, track: countedTrack('websocket', track) });
  await eventsRoute(app, { sql: opts.sql, live: opts.live, limits: opts.limits, track: countedTrack('ndjson', track) });
}
