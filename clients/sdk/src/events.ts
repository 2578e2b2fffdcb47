/**
 * Live events (WebSocket `/api/stream`) and the log export (NDJSON `GET /api/events`),
 * following the server's protocol in server/src/live/stream-route.ts:
 * offer the subprotocols `agentgate.v1` + `bearer.<key>` (browsers cannot set headers on a
 * WebSocket), wait for `authenticated`, send `subscribe` with `from` and a filter, then
 * receive `event` messages in log order. Close codes 4001/4003 are final; anything else
 * is a dropped connection, resumed from the last position seen.
 */
import { AgentGateError, abortReason } from './errors.ts';
import { jitteredBackoff, sleep, type Transport } from './http.ts';

/** One fact from the event log, exactly as the server sends it on both transports. */
export interface LiveEvent {
  type: 'event';
  /** Where the event sits in the log; pass it as `from` to resume after it. Log order is commit order, so positions can arrive out of numeric order. */
  position: number;
  streamId: string;
  streamType: string;
  version: number;
  /** e.g. request.created, request.approved, policy.updated */
  eventType: string;
  data: Record<string, unknown>;
  metadata: { actor?: { type: string; id: string; name: string }; channel?: string; [k: string]: unknown };
  recordedAt: string;
}

/** Every list is "any of"; the lists are ANDed. Re-declared from the server's subscribe message. */
export interface EventFilter {
  /** Event types, e.g. ['request.approved', 'request.denied'] */
  types?: string[];
  /** request, policy, apikey, webhook */
  streamTypes?: string[];
  requestIds?: string[];
  /** Stream ids, e.g. policy-pol_… */
  streams?: string[];
}

export type StreamStatus = 'open' | 'live' | 'reconnecting';

export interface EventsOptions {
  /** Start after this position (0 = the whole log); by default only events from now on. */
  from?: number;
  filter?: EventFilter;
  signal?: AbortSignal;
  /** Told when the stream is open, has caught up (`live`), and when it drops and reconnects. */
  onStatus?: (status: StreamStatus, detail: { position: number | null; attempt: number; reason?: string }) => void;
  /** Client-side dead-connection check: ping this often, give up after two silent intervals (default 30 s). */
  heartbeatMs?: number;
}

export interface ExportOptions {
  from?: number;
  filter?: EventFilter;
  since?: string;
  until?: string;
  signal?: AbortSignal;
  /** Told the position to continue from after each page (may be past the last event when filters skipped rows). */
  onCursor?: (position: number) => void;
}

/** The part of the WebSocket API shared by browsers and the `ws` package. */
interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
type SocketConstructor = new (url: string, protocols?: string | string[]) => SocketLike;

/** The browser's (or Node 22's) WebSocket when there is one, else the `ws` package, loaded on demand. */
async function socketConstructor(): Promise<SocketConstructor> {
  const native = (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
  if (typeof native === 'function') return native;
  const name = 'ws'; // a variable keeps browser bundlers from pulling the Node package in
  const mod = (await import(/* @vite-ignore */ name)) as { WebSocket?: SocketConstructor; default?: SocketConstructor };
  const ctor = mod.WebSocket ?? mod.default;
  if (!ctor) throw new Error('No WebSocket implementation: install the "ws" package');
  return ctor;
}

export const STREAM_PROTOCOL = 'agentgate.v1';

export function streamProtocols(apiKey: string | undefined): string[] {
  return apiKey ? [STREAM_PROTOCOL, `bearer.${apiKey}`] : [STREAM_PROTOCOL];
}

export function streamUrl(transport: Transport): string {
  const url = new URL(transport.url('/api/stream'));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** Close codes after which reconnecting cannot help. */
const FATAL_CLOSE: Record<number, { code: string; status: number }> = {
  4001: { code: 'UNAUTHORIZED', status: 401 },
  4003: { code: 'FORBIDDEN', status: 403 },
};
const RATE_LIMITED_CLOSE = 4029;
const ERROR_STATUS: Record<string, number> = { FORBIDDEN: 403, INVALID_CURSOR: 400, VALIDATION_ERROR: 400, UNAUTHORIZED: 401 };

type ServerMessage =
  | LiveEvent
  | { type: 'authenticated'; keyId: string }
  | { type: 'subscribed'; position: number }
  | { type: 'live'; position: number }
  | { type: 'error'; error: { code: string; message: string; details?: unknown } }
  | { type: 'pong' | 'unsubscribed' };

function decode(raw: unknown): ServerMessage | null {
  const text = typeof raw === 'string' ? raw : raw instanceof ArrayBuffer ? new TextDecoder().decode(raw) : String(raw);
  try {
    const msg = JSON.parse(text) as ServerMessage;
    return msg && typeof msg === 'object' && typeof msg.type === 'string' ? msg : null;
  } catch {
    return null;
  }
}

const QUEUE_HIGH_WATER = 1_000;

/**
 * Follows the live stream as an async iterator. The consumer pulls; when it lags far
 * behind, the socket is closed and reopened from the last received position once the
 * queue has drained, so memory stays bounded and the server never drops us as slow.
 */
export function eventStream(transport: Transport, opts: EventsOptions = {}): AsyncIterable<LiveEvent> {
  return {
    [Symbol.asyncIterator]() {
      const queue: LiveEvent[] = [];
      /** The resume point: the last event received, or the server's cursor when we subscribed. */
      let position: number | null = opts.from ?? null;
      let failure: unknown = null;
      let finished = false;
      let wake: (() => void) | null = null;
      let socket: SocketLike | null = null;
      let running = false;
      const stop = new AbortController();
      const notify = () => {
        const w = wake;
        wake = null;
        w?.();
      };
      const onAbort = () => stop.abort(opts.signal!.reason);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      stop.signal.addEventListener('abort', () => {
        socket?.close(1000, 'done');
        notify();
      }, { once: true });
      const heartbeatMs = opts.heartbeatMs ?? 30_000;

      /** One connection, until it closes. Resolves with the close reason; rejects when retrying cannot help. */
      const connectOnce = (Ctor: SocketConstructor, attempt: number) => new Promise<{ opened: boolean; code: number; reason: string }>((resolve, reject) => {
        let opened = false;
        let heard = Date.now();
        const ws = new Ctor(streamUrl(transport), streamProtocols(transport.apiKey));
        socket = ws;
        const pinger = setInterval(() => {
          if (Date.now() - heard > 2 * heartbeatMs) ws.close(4000, 'no answer from the server');
          else if (opened) ws.send(JSON.stringify({ type: 'ping' }));
        }, heartbeatMs);
        const fail = (err: AgentGateError) => {
          reject(err);
          ws.close(1000, 'client error');
        };
        ws.onopen = () => {
          opened = true;
          heard = Date.now();
        };
        ws.onmessage = (ev) => {
          heard = Date.now();
          const msg = decode(ev.data);
          if (!msg) return;
          switch (msg.type) {
            case 'authenticated':
              ws.send(JSON.stringify({ type: 'subscribe', ...(position !== null && { from: position }), ...(opts.filter && { filter: opts.filter }) }));
              return;
            case 'subscribed':
              position ??= msg.position;
              opts.onStatus?.('open', { position, attempt });
              return;
            case 'live':
              // Past rows the filter skipped: resuming here need not rescan them.
              position = msg.position;
              opts.onStatus?.('live', { position, attempt });
              return;
            case 'event':
              position = msg.position;
              queue.push(msg);
              notify();
              if (queue.length >= QUEUE_HIGH_WATER) ws.close(1000, 'consumer is behind; resuming later');
              return;
            case 'error':
              // Over the key's rate limit or its cap of open streams: the server closes with
              // 4029 next, and the reconnect below waits longer. Only other errors are final.
              if (msg.error.code === 'RATE_LIMITED' || msg.error.code === 'TOO_MANY_CONNECTIONS') return;
              return fail(new AgentGateError({ message: msg.error.message, code: msg.error.code, status: ERROR_STATUS[msg.error.code] ?? 400, details: msg.error.details }));
            default:
              return;
          }
        };
        ws.onerror = () => { /* the close that follows says what happened */ };
        ws.onclose = (ev) => {
          clearInterval(pinger);
          socket = null;
          const fatal = FATAL_CLOSE[ev.code];
          if (fatal) reject(new AgentGateError({ message: ev.reason || `The server closed the stream (${ev.code})`, code: fatal.code, status: fatal.status }));
          else resolve({ opened, code: ev.code, reason: ev.reason });
        };
      });

      const run = async () => {
        const Ctor = await socketConstructor();
        let attempt = 0;
        while (!stop.signal.aborted) {
          const closed = await connectOnce(Ctor, attempt);
          if (stop.signal.aborted) break;
          if (closed.opened) attempt = 0;
          // A consumer far behind drains what it has before we ask for more.
          while (queue.length >= QUEUE_HIGH_WATER / 2 && !stop.signal.aborted) await sleep(50, stop.signal).catch(() => {});
          opts.onStatus?.('reconnecting', { position, attempt: attempt + 1, reason: closed.reason || `close code ${closed.code}` });
          const base = closed.code === RATE_LIMITED_CLOSE ? 5_000 : 200;
          await sleep(jitteredBackoff(attempt++, base, 15_000), stop.signal).catch(() => {});
        }
      };

      const start = () => {
        if (running) return;
        running = true;
        run().catch((err) => {
          failure = err;
        }).finally(() => {
          finished = true;
          notify();
        });
      };

      const cleanup = () => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (!stop.signal.aborted) stop.abort(new DOMException('The stream was closed', 'AbortError'));
      };

      return {
        async next(): Promise<IteratorResult<LiveEvent>> {
          start();
          for (;;) {
            if (opts.signal?.aborted) {
              cleanup();
              throw abortReason(opts.signal);
            }
            const e = queue.shift();
            if (e) return { value: e, done: false };
            if (failure) {
              cleanup();
              throw failure;
            }
            if (finished) return { value: undefined, done: true };
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
          }
        },
        async return(): Promise<IteratorResult<LiveEvent>> {
          cleanup();
          return { value: undefined, done: true };
        },
      };
    },
  };
}

type ExportLine = LiveEvent | { type: 'cursor'; position: number; hasMore?: boolean } | { type: 'error'; error: { code: string; message: string } };

/** Reads the event log from `from` to its current end through `GET /api/events`, page after page. */
export async function* exportEvents(transport: Transport, opts: ExportOptions = {}): AsyncGenerator<LiveEvent> {
  let from = opts.from ?? 0;
  const f = opts.filter ?? {};
  const streams = f.streams || f.requestIds ? [...(f.streams ?? []), ...(f.requestIds ?? []).map((id) => `request-${id}`)] : undefined;
  for (;;) {
    const response = await transport.stream('/api/events', {
      query: {
        from, limit: 100_000,
        type: f.types, streamType: f.streamTypes, stream: streams,
        since: opts.since, until: opts.until,
      },
      headers: { accept: 'application/x-ndjson' },
      signal: opts.signal,
    });
    let hasMore = false;
    let sawCursor = false;
    for await (const line of ndjsonLines(response)) {
      const msg = JSON.parse(line) as ExportLine;
      if (msg.type === 'event') yield msg;
      else if (msg.type === 'cursor') {
        sawCursor = true;
        from = msg.position;
        hasMore = msg.hasMore === true;
        opts.onCursor?.(from);
      } else if (msg.type === 'error') {
        throw new AgentGateError({ message: msg.error.message, code: msg.error.code, status: 0 });
      }
    }
    if (!sawCursor) throw new AgentGateError({ message: 'The export ended early (no cursor line); run it again from the last position', code: 'INCOMPLETE_EXPORT', status: 0 });
    if (!hasMore) return;
  }
}

async function* ndjsonLines(response: Response): AsyncGenerator<string> {
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  let ended = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      buffered += value;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) yield line;
      }
    }
    if (buffered.trim()) yield buffered.trim();
  } finally {
    // A consumer that stops early must not leave the response open.
    if (!ended) await reader.cancel().catch(() => {});
  }
}
