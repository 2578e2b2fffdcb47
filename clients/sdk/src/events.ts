import { AgentGateError, abortReason } from './errors.ts';
import { jitteredBackoff, sleep, type Transport } from './http.ts';

/** One fact from the event log, as the live stream and the NDJSON export carry it. */
export interface LiveEvent {
  /** Where the event sits in the log; pass it as `from` to resume after it. */
  position: number;
  type: string;
  streamId?: string;
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  recordedAt?: string;
  [field: string]: unknown;
}

export interface EventsOptions {
  /** Start after this position (0 = the whole log); by default only events from now on. */
  from?: number;
  /** Event types to receive; a trailing `*` matches a prefix (`request.*`). */
  filter?: string | string[];
  signal?: AbortSignal;
  /** Told when the connection opens, drops and reconnects (the CLI shows it). */
  onStatus?: (status: 'open' | 'reconnecting', detail?: { error?: unknown; attempt: number }) => void;
}

export interface ExportOptions {
  from?: number;
  filter?: string | string[];
  signal?: AbortSignal;
}

/** The part of the WebSocket API shared by browsers and the `ws` package. */
interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}
type SocketConstructor = new (url: string, protocols?: string | string[], options?: object) => SocketLike;

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

const filterList = (f: string | string[] | undefined): string[] => (f === undefined ? [] : Array.isArray(f) ? f : f.split(',')).map((s) => s.trim()).filter(Boolean);

/** The API key travels in the subprotocol list: browsers cannot set an Authorization header on a WebSocket. */
export function streamProtocols(apiKey: string | undefined): string[] {
  return apiKey ? ['agentgate', `bearer.${apiKey}`] : ['agentgate'];
}

export function streamUrl(transport: Transport, from: number | undefined, filter: string[]): string {
  const url = new URL(transport.url('/api/stream'));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (from !== undefined) url.searchParams.set('from', String(from));
  if (filter.length) url.searchParams.set('filter', filter.join(','));
  return url.toString();
}

/** Close codes after which reconnecting cannot help (bad key, missing scope, bad query). */
const FATAL_CLOSE = new Map<number, { code: string; status: number }>([
  [4400, { code: 'VALIDATION_ERROR', status: 400 }],
  [4401, { code: 'UNAUTHORIZED', status: 401 }],
  [4403, { code: 'FORBIDDEN', status: 403 }],
  [1008, { code: 'FORBIDDEN', status: 403 }],
]);

/** Most messages are events; the server may also send control frames, which carry no position. */
function asEvent(raw: unknown): LiveEvent | null {
  const text = typeof raw === 'string' ? raw : raw instanceof ArrayBuffer ? new TextDecoder().decode(raw) : String(raw);
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return null;
  }
  const m = msg as { event?: unknown; position?: unknown };
  const candidate = (m.event && typeof m.event === 'object' ? m.event : m) as LiveEvent;
  return typeof candidate.position === 'number' ? candidate : null;
}

const QUEUE_HIGH_WATER = 1_000;

/**
 * Follows the live stream. The consumer pulls; when it lags far behind, the socket is
 * closed and reopened later from the last received position, so memory stays bounded and
 * the server's own buffer never overflows on our account.
 */
export function eventStream(transport: Transport, opts: EventsOptions = {}): AsyncIterable<LiveEvent> {
  return {
    [Symbol.asyncIterator]() {
      const filter = filterList(opts.filter);
      const queue: LiveEvent[] = [];
      let last: number | undefined = opts.from;
      let failure: unknown = null;
      let finished = false;
      let wake: (() => void) | null = null;
      let socket: SocketLike | null = null;
      let running: Promise<void> | null = null;
      const stop = new AbortController();
      const onAbort = () => stop.abort(opts.signal!.reason);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const notify = () => {
        const w = wake;
        wake = null;
        w?.();
      };
      stop.signal.addEventListener('abort', () => {
        socket?.close(1000, 'done');
        notify();
      }, { once: true });

      /** One connection: resolves when it closes (with whether it was ever open), rejects on a fatal close. */
      const connectOnce = async (Ctor: SocketConstructor): Promise<boolean> => {
        let opened = false;
        await new Promise<void>((resolve, reject) => {
          const ws = new Ctor(streamUrl(transport, last, filter), streamProtocols(transport.apiKey));
          socket = ws;
          ws.onopen = () => {
            opened = true;
            opts.onStatus?.('open', { attempt: 0 });
          };
          ws.onmessage = (ev) => {
            const e = asEvent(ev.data);
            if (!e) return;
            last = e.position;
            queue.push(e);
            notify();
            if (queue.length >= QUEUE_HIGH_WATER) ws.close(1000, 'consumer is behind; resuming later');
          };
          ws.onerror = () => { /* the close that follows says what happened */ };
          ws.onclose = (ev) => {
            socket = null;
            const fatal = FATAL_CLOSE.get(ev.code);
            if (fatal) reject(new AgentGateError({ message: ev.reason || `The server closed the stream (${ev.code})`, code: fatal.code, status: fatal.status }));
            else resolve();
          };
        });
        return opened;
      };

      const run = async () => {
        const Ctor = await socketConstructor();
        let attempt = 0;
        while (!stop.signal.aborted) {
          const opened = await connectOnce(Ctor);
          if (stop.signal.aborted) break;
          if (opened) attempt = 0;
          // Let the consumer drain a full queue before reconnecting.
          while (queue.length >= QUEUE_HIGH_WATER / 2 && !stop.signal.aborted) {
            await new Promise<void>((r) => setTimeout(r, 50));
          }
          opts.onStatus?.('reconnecting', { attempt: attempt + 1 });
          await sleep(jitteredBackoff(attempt++, 200, 10_000), stop.signal).catch(() => {});
        }
      };

      const ensureRunning = () => {
        running ??= run().catch((err) => {
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
          ensureRunning();
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

/** Reads `GET /api/events` (NDJSON) to its end: the log from `from`, one event per line. */
export async function* exportEvents(transport: Transport, opts: ExportOptions = {}): AsyncGenerator<LiveEvent> {
  const filter = filterList(opts.filter);
  const response = await transport.stream('/api/events', {
    query: { from: opts.from, filter: filter.length ? filter.join(',') : undefined },
    headers: { accept: 'application/x-ndjson' },
    signal: opts.signal,
  });
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
        if (line) yield JSON.parse(line) as LiveEvent;
      }
    }
    if (buffered.trim()) yield JSON.parse(buffered) as LiveEvent;
  } finally {
    // A consumer that stops early must not leave the response open.
    if (!ended) await reader.cancel().catch(() => {});
  }
}
