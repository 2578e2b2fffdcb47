/**
 * WebSocket `/api/stream`: events as they commit, after an optional replay.
 *
 * Authentication never puts a key in the URL: either offer the subprotocols
 * `['agentgate.v1', 'bearer.<key>']` (the server echoes only `agentgate.v1`), send
 * `Authorization: Bearer <key>` (non-browser clients), or send `{type:'auth', apiKey}`
 * as the first message within the auth timeout. Then `{type:'subscribe', from?, filter?}`.
 * Close codes: 4001 unauthorized or key revoked, 4003 no read scope (or lost it),
 * 4008 slow consumer, 4029 rate limited or too many open streams for the key, 1001 server
 * shutting down, 1011 internal error.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { WebSocket } from 'ws';
import type { Sql } from '../db/connect.ts';
import { cursorAt } from '../events/store.ts';
import { authenticateKey } from '../http/auth.ts';
import { sendError } from '../http/errors.ts';
import type { Sessions } from '../sessions/sessions.ts';
import { effectiveFilter, FilterRefused, READ_SCOPES, readableStreamTypes } from './access.ts';
import type { Live, LiveListener } from './live.ts';
import { wireMessage, type LiveEvent } from './log.ts';
import { isRefusal, type LiveLimits, type LiveSlot } from './limits.ts';
import { Subscription, type Sink } from './subscription.ts';

export const WS_PROTOCOL = 'agentgate.v1';
const BEARER_PROTOCOL = 'bearer.';

export const CLOSE = {
  GOING_AWAY: 1001,
  INTERNAL: 1011,
  UNAUTHORIZED: 4001,
  FORBIDDEN: 4003,
  SLOW_CONSUMER: 4008,
  RATE_LIMITED: 4029,
} as const;

/** Bytes handed to the socket but not yet flushed before we stop writing and let events queue. */
const SOCKET_HIGH_WATER = 1024 * 1024;

const Ids = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 1000 });
const AuthMessage = Type.Object({ type: Type.Literal('auth'), apiKey: Type.String({ maxLength: 200 }) }, { additionalProperties: false });
const SubscribeMessage = Type.Object({
  type: Type.Literal('subscribe'),
  from: Type.Optional(Type.Integer({ minimum: 0, description: 'Replay events after this position; omit for new events only' })),
  filter: Type.Optional(Type.Object({
    requestIds: Type.Optional(Ids),
    streams: Type.Optional(Ids),
    types: Type.Optional(Ids),
    streamTypes: Type.Optional(Ids),
  }, { additionalProperties: false })),
}, { additionalProperties: false });
const SimpleMessage = Type.Object({ type: Type.Union([Type.Literal('ping'), Type.Literal('unsubscribe')]) }, { additionalProperties: false });

const checkers = {
  auth: TypeCompiler.Compile(AuthMessage),
  subscribe: TypeCompiler.Compile(SubscribeMessage),
  ping: TypeCompiler.Compile(SimpleMessage),
  unsubscribe: TypeCompiler.Compile(SimpleMessage),
};

function problems(checker: { Errors(value: unknown): Iterable<{ path: string; message: string }> }, value: unknown) {
  return [...checker.Errors(value)].map((e) => ({ field: `message${e.path.replace(/\//g, '.')}`, message: e.message }));
}

/**
 * A cookie rides along on any WebSocket handshake, even one opened by another site's page,
 * so a cookie-authenticated stream must come from a page of this server's own origin.
 */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** The key a client offered during the handshake, if any. */
function handshakeKey(request: FastifyRequest): string | null {
  const protocols = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const offered = protocols.find((p) => p.startsWith(BEARER_PROTOCOL));
  if (offered) return offered.slice(BEARER_PROTOCOL.length);
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1] ?? null;
}

export interface StreamRouteOptions {
  sql: Sql;
  live: Live;
  rateLimitWindowMs: number;
  sessions: Sessions;
  track: (release: () => void) => () => void;
  limits: LiveLimits;
}

export async function streamRoute(app: FastifyInstance, opts: StreamRouteOptions) {
  const { live } = opts;
  const byKey = new Map<string, Set<StreamConnection>>();

  // One listener for every connection's key: revocations and scope changes apply at once.
  const keyWatch: LiveListener = {
    onEvents(events) {
      if (byKey.size === 0) return;
      for (const e of events) {
        if (e.streamType !== 'apikey') continue;
        const conns = byKey.get(e.streamId.slice('apikey-'.length));
        if (conns) for (const c of [...conns]) c.onKeyEvent(e);
      }
    },
  };
  live.attach(keyWatch);
  app.addHook('onClose', async () => live.detach(keyWatch));

  // A sign-out ends the session on every tab: the streams opened with its cookie close,
  // on whichever server process holds them.
  const bySession = new Map<string, Set<StreamConnection>>();
  const closeSession = (sessionId: string) => {
    for (const c of [...(bySession.get(sessionId) ?? [])]) c.close(CLOSE.UNAUTHORIZED, 'the session has ended');
  };
  const sessionWatch = await opts.sessions.watchEnded(closeSession, () => {
    opts.sessions.stillOpen([...bySession.keys()]).then((open) => {
      for (const id of [...bySession.keys()]) if (!open.has(id)) closeSession(id);
    }, (err) => app.log.warn({ err }, 'could not recheck the dashboard sessions of open streams'));
  });
  app.addHook('onClose', async () => sessionWatch.unlisten());

  const index = <K>(map: Map<K, Set<StreamConnection>>) => ({
    add(k: K, c: StreamConnection) {
      let set = map.get(k);
      if (!set) map.set(k, (set = new Set()));
      set.add(c);
    },
    remove(k: K, c: StreamConnection) {
      const set = map.get(k);
      set?.delete(c);
      if (set?.size === 0) map.delete(k);
    },
  });
  const registry: Registry = { keys: index(byKey), sessions: index(bySession) };

  app.route({
    method: 'GET',
    url: '/api/stream',
    // Authenticated in-band (subprotocol or first message), not by the HTTP auth hook:
    // browsers cannot set headers on a WebSocket handshake. See the module comment.
    config: { scope: null },
    schema: { hide: true, tags: ['live'], summary: 'Live event stream (WebSocket)' },
    wsHandler: (socket, request) => {
      new StreamConnection(socket, request, opts, registry).open();
    },
    // A plain GET (no Upgrade) gets a 426 in the API's error shape rather than an empty 404.
    handler: async (_request, reply) => {
      reply.header('Upgrade', 'websocket');
      return sendError(reply, 'UPGRADE_REQUIRED', `GET /api/stream is a WebSocket endpoint: open it with "Upgrade: websocket" and the "${WS_PROTOCOL}" subprotocol`);
    },
  });
}

type Index = { add(id: string, c: StreamConnection): void; remove(id: string, c: StreamConnection): void };
/** Open connections by key (revocations, scope changes) and by dashboard session (sign-out). */
type Registry = { keys: Index; sessions: Index };

class StreamConnection {
  private keyId: string | null = null;
  /** The dashboard session whose cookie opened this stream, if it was opened that way. */
  private sessionId: string | null = null;
  private scopes: string[] = [];
  private sub: Subscription | null = null;
  private inbox: Promise<void> = Promise.resolve();
  private authTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private alive = true;
  private closed = false;
  private inflight = 0;
  private drainWaiters: (() => void)[] = [];
  private untrack: () => void = () => {};
  private slot: LiveSlot | null = null;
  /** A reviewer's dashboard session: no key behind it, so no key rate limit to count against. */
  private keyless = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly request: FastifyRequest,
    private readonly opts: StreamRouteOptions,
    private readonly registry: Registry,
  ) {}

  open(): void {
    const { live } = this.opts;
    this.untrack = this.opts.track(() => this.close(CLOSE.GOING_AWAY, 'server shutting down'));
    this.ws.on('close', () => this.dispose());
    this.ws.on('pong', () => { this.alive = true; });
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      this.inbox = this.inbox.then(() => this.onMessage(text)).catch((err) => {
        this.request.log.error({ err }, 'live stream message failed');
        this.close(CLOSE.INTERNAL, 'internal error');
      });
    });
    this.heartbeat = setInterval(() => {
      if (!this.alive) {
        this.ws.terminate();
        return;
      }
      this.alive = false;
      this.ws.ping();
    }, live.options.heartbeatMs);
    this.heartbeat.unref();

    const key = handshakeKey(this.request);
    const cookie = key === null ? this.opts.sessions.cookieOf(this.request) : null;
    if (key !== null || cookie !== null) {
      const lookup = key !== null
        ? () => authenticateKey(this.opts.sql, key, this.opts.rateLimitWindowMs)
        : () => this.sessionKey(cookie!);
      this.inbox = this.inbox.then(() => this.authenticate(lookup)).catch((err) => {
        this.request.log.error({ err }, 'live stream authentication failed');
        this.close(CLOSE.INTERNAL, 'internal error');
      });
    } else {
      this.authTimer = setTimeout(
        () => this.close(CLOSE.UNAUTHORIZED, `authenticate within ${live.options.authTimeoutMs} ms`),
        live.options.authTimeoutMs,
      );
      this.authTimer.unref();
    }
  }

  private sendJson(message: object): void {
    this.write(JSON.stringify(message));
  }

  private error(code: string, message: string, details?: unknown): void {
    this.sendJson({ type: 'error', error: { code, message, ...(details === undefined ? {} : { details }) } });
  }

  private write(text: string): boolean {
    if (this.closed) return false;
    this.inflight += text.length;
    this.ws.send(text, () => {
      this.inflight -= text.length;
      if (this.inflight < SOCKET_HIGH_WATER / 2 && this.drainWaiters.length) {
        for (const w of this.drainWaiters.splice(0)) w();
      }
    });
    return this.inflight < SOCKET_HIGH_WATER;
  }

  private drained(): Promise<void> {
    if (this.closed || this.inflight < SOCKET_HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private async onMessage(text: string | null): Promise<void> {
    if (this.closed) return;
    let msg: { type?: unknown } | null = null;
    try {
      msg = text === null ? null : JSON.parse(text);
    } catch {
      // falls through to the error below
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string' || !(msg.type in checkers)) {
      if (!this.keyId) return this.close(CLOSE.UNAUTHORIZED, 'the first message must be {"type":"auth","apiKey":"agk_…"}');
      return this.error('VALIDATION_ERROR', 'Messages are JSON objects with a type: subscribe, unsubscribe, ping');
    }
    const type = msg.type as keyof typeof checkers;
    const checker = checkers[type];
    if (!checker.Check(msg)) {
      if (!this.keyId && type === 'auth') return this.close(CLOSE.UNAUTHORIZED, 'malformed auth message');
      return this.error('VALIDATION_ERROR', `Invalid ${type} message`, problems(checker, msg));
    }
    if (type === 'ping') return this.sendJson({ type: 'pong' });
    if (!this.keyId) {
      if (type !== 'auth') return this.close(CLOSE.UNAUTHORIZED, 'authenticate first');
      const { apiKey } = msg as Static<typeof AuthMessage>;
      return this.authenticate(() => authenticateKey(this.opts.sql, apiKey, this.opts.rateLimitWindowMs));
    }
    if (type === 'auth') return this.error('VALIDATION_ERROR', 'Already authenticated');
    if (type === 'unsubscribe') {
      const position = this.sub?.cursor.position ?? null;
      this.sub?.dispose();
      this.sub = null;
      return this.sendJson({ type: 'unsubscribed', position });
    }
    return this.subscribe(msg as Static<typeof SubscribeMessage>);
  }

  /** The key behind a dashboard session cookie; null (refused) for an ended session or a cross-site page. */
  private async sessionKey(cookie: string) {
    if (!sameOrigin(this.request)) return null;
    const resolved = await this.opts.sessions.resolve(cookie);
    if (resolved) this.sessionId = resolved.claims.sessionId;
    return resolved?.key ?? null;
  }

  private async authenticate(lookup: () => Promise<Awaited<ReturnType<typeof authenticateKey>>>): Promise<void> {
    if (this.authTimer) clearTimeout(this.authTimer);
    this.authTimer = null;
    if (this.closed) return;
    const row = await lookup();
    if (this.closed) return;
    if (!row) return this.close(CLOSE.UNAUTHORIZED, 'the API key is not valid');
    if (row.revoked_at) return this.close(CLOSE.UNAUTHORIZED, 'the API key has been revoked');
    if (row.rate_limit !== null && !row.allowed) return this.close(CLOSE.RATE_LIMITED, 'rate limit exceeded');
    const streamTypes = readableStreamTypes(row.scopes);
    if (streamTypes !== null && streamTypes.length === 0) {
      return this.close(CLOSE.FORBIDDEN, `needs one of the scopes ${READ_SCOPES.join(', ')}`);
    }
    // A key may hold only so many streams open at once.
    const slot = this.opts.limits.acquire('websocket', row.id);
    if (isRefusal(slot)) {
      this.error('TOO_MANY_CONNECTIONS', slot.message, { kind: slot.kind, scope: slot.scope, limit: slot.limit });
      return this.close(CLOSE.RATE_LIMITED, slot.message.slice(0, 120));
    }
    this.slot = slot;
    this.keyId = row.id;
    this.scopes = row.scopes;
    this.registry.keys.add(row.id, this);
    if (this.sessionId) this.registry.sessions.add(this.sessionId, this);
    // A revocation or sign-out published while the lookup above was in flight reached no
    // registry entry: look once more now that this connection will hear of any later one.
    // A reviewer's session (signed in by an emailed link) has no key: its reviewer must still be enabled.
    const reviewer = 'subject_type' in row && row.subject_type === 'reviewer';
    this.keyless = reviewer;
    const sql = this.opts.sql;
    const [now] = await sql<{ gone: boolean; session_open: boolean | null }[]>`
      select ${reviewer
        ? sql`not exists (select 1 from reviewers where id = ${row.id} and deleted_at is null and not disabled)`
        : sql`not exists (select 1 from api_keys where id = ${row.id} and revoked_at is null)`} as gone,
             ${this.sessionId ? sql`exists (select 1 from dashboard_sessions where id = ${this.sessionId} and ended_at is null)` : sql`null`} as session_open`;
    if (this.closed) return;
    if (!now || now.gone) return this.close(CLOSE.UNAUTHORIZED, reviewer ? 'the reviewer is disabled' : 'the API key has been revoked');
    if (now.session_open === false) return this.close(CLOSE.UNAUTHORIZED, 'the session has ended');
    this.sendJson({ type: 'authenticated', keyId: row.id, streamTypes });
  }

  private async subscribe(msg: Static<typeof SubscribeMessage>): Promise<void> {
    if (this.sub) return this.error('VALIDATION_ERROR', 'Already subscribed; send {"type":"unsubscribe"} first');
    // A subscribe starts a replay or a feed as an HTTP call would: it counts against the
    // key's rate limit, and a key over it is told so and disconnected, not silently ignored.
    if (!(await this.countHit())) return;
    let filter;
    try {
      filter = effectiveFilter(this.scopes, msg.filter);
    } catch (err) {
      if (err instanceof FilterRefused) return this.error('FORBIDDEN', err.message, { streamTypes: err.streamTypes });
      throw err;
    }
    let from = null;
    if (msg.from !== undefined) {
      from = await cursorAt(this.opts.sql, msg.from);
      if (this.closed) return;
      if (!from) return this.error('INVALID_CURSOR', `Position ${msg.from} is not in the event log`, { field: 'message.from' });
    }
    const sink: Sink = {
      write: (text) => this.write(text),
      drained: () => this.drained(),
      live: (cursor) => this.sendJson({ type: 'live', position: cursor.position }),
      end: (reason, detail) => {
        if (reason === 'slow_consumer') this.close(CLOSE.SLOW_CONSUMER, `slow consumer: ${detail}`.slice(0, 120));
        else if (reason === 'shutdown') this.close(CLOSE.GOING_AWAY, 'server shutting down');
        else this.close(CLOSE.INTERNAL, detail.slice(0, 120));
      },
    };
    const sub = new Subscription(this.opts.sql, this.opts.live, sink, {
      from, filter, maxBuffered: this.opts.live.options.maxBufferedEvents,
    });
    this.sub = sub;
    this.sendJson({ type: 'subscribed', from: msg.from ?? null, position: sub.cursor.position });
    // Not awaited: the inbox must stay free for unsubscribe and ping during a long replay.
    sub.start().catch((err) => {
      if (sub.closed) return;
      this.request.log.error({ err }, 'live subscription failed');
      sub.close('error', 'internal error');
    });
  }

  /** One hit against the key's rate limit; false (and the socket closed) when refused. */
  private async countHit(): Promise<boolean> {
    // Reviewer sessions have no key and no rate limit (their HTTP calls are not limited either);
    // their open streams are still capped, per reviewer.
    if (this.keyless) return true;
    const [hit] = await this.opts.sql<{ rate_limit: number | null; revoked: boolean; allowed: boolean; reset_ms: number | null }[]>`
      select * from rate_limit_key_hit(${this.keyId!}, ${this.opts.rateLimitWindowMs})`;
    if (this.closed) return false;
    if (!hit || hit.revoked) {
      this.close(CLOSE.UNAUTHORIZED, 'the API key has been revoked');
      return false;
    }
    if (hit.allowed) return true;
    const retryAfterSeconds = Math.max(Math.ceil((hit.reset_ms ?? 0) / 1000), 1);
    const message = `Rate limit of ${hit.rate_limit} requests per minute exceeded; retry in ${retryAfterSeconds} s`;
    this.error('RATE_LIMITED', message, { limit: hit.rate_limit, retryAfterSeconds });
    this.close(CLOSE.RATE_LIMITED, message.slice(0, 120));
    return false;
  }

  onKeyEvent(e: LiveEvent): void {
    if (e.type === 'apikey.revoked') return this.close(CLOSE.UNAUTHORIZED, 'the API key has been revoked');
    if (e.type !== 'apikey.updated') return;
    const scopes = (JSON.parse(wireMessage(e)) as { data: { scopes?: string[] } }).data.scopes;
    if (!scopes) return;
    const before = readableStreamTypes(this.scopes);
    const after = readableStreamTypes(scopes);
    const lost = after !== null && (before === null || before.some((t) => !after.includes(t)));
    if (lost) return this.close(CLOSE.FORBIDDEN, 'the key lost read scopes; reconnect');
    this.scopes = scopes;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason);
    this.dispose();
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.sub?.dispose();
    this.sub = null;
    if (this.authTimer) clearTimeout(this.authTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.keyId) this.registry.keys.remove(this.keyId, this);
    if (this.sessionId) this.registry.sessions.remove(this.sessionId, this);
    this.slot?.release();
    for (const w of this.drainWaiters.splice(0)) w();
    this.untrack();
  }
}
