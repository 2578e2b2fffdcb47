import { AgentGateError, abortReason } from './errors.ts';

export type Query = Record<string, string | number | boolean | readonly string[] | null | undefined>;

export interface TransportOptions {
  /** Where the server listens, e.g. http://localhost:3000 */
  baseUrl: string;
  /** An API key, agk_… */
  apiKey?: string;
  /** A fetch to use instead of the global one (tests, proxies, instrumentation). */
  fetch?: typeof fetch;
  /** Headers sent with every call (the CLI and MCP server add X-AgentGate-Channel). */
  headers?: Record<string, string>;
  /**
   * Browsers only: send the page's cookies (a dashboard session) instead of an API key.
   * Writes then carry the session's anti-CSRF token, which `signIn`/`session` fetch.
   */
  credentials?: RequestCredentials;
  /** How many times a failed call is sent again (default 3). */
  retries?: number;
  /** First backoff delay; doubles on each retry, with jitter (default 250 ms). */
  retryDelayMs?: number;
  /** Longest backoff between two attempts unless the server asks for more with Retry-After (default 10 s). */
  maxRetryDelayMs?: number;
  /** Longest wait for one attempt's answer (default 30 s). */
  timeoutMs?: number;
}

export interface CallOptions {
  method?: string;
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /**
   * The call may be sent again after a network failure or a 5xx without doing twice what
   * it does: reads, PUT/DELETE, and creations carrying an Idempotency-Key.
   */
  idempotent?: boolean;
  timeoutMs?: number;
  /** Overrides the client's retry count for this call. */
  retries?: number;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** Sleeps, but wakes at once (rejecting) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A signal that aborts when any of the given ones does; `dispose` detaches the listeners. */
export function anySignal(signals: (AbortSignal | undefined)[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  const detach: (() => void)[] = [];
  for (const s of live) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    const onAbort = () => controller.abort(s.reason);
    s.addEventListener('abort', onAbort, { once: true });
    detach.push(() => s.removeEventListener('abort', onAbort));
  }
  return { signal: controller.signal, dispose: () => detach.forEach((d) => d()) };
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Exponential backoff with "equal jitter": half fixed, half random, so clients do not retry in step. */
export function jitteredBackoff(attempt: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

export function toQueryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    // Lists repeat the key (?type=a&type=b), as the server's query parser expects.
    if (Array.isArray(v)) for (const item of v) params.append(k, item);
    else params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Builds the error for a non-2xx answer from the server's `{ error: { code, message, details } }`. */
export function errorFromResponse(status: number, headers: Headers, body: unknown): AgentGateError {
  const err = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  const code = typeof err?.code === 'string' ? err.code : `HTTP_${status}`;
  const message = typeof err?.message === 'string' ? err.message : typeof body === 'string' && body ? body.slice(0, 500) : `HTTP ${status}`;
  return new AgentGateError({
    message, code, status, details: err?.details, requestId: headers.get('x-request-id'), retryAfterMs: retryAfterMs(headers.get('retry-after')),
  });
}

export class Transport {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  readonly credentials: RequestCredentials | undefined;
  /** The session's anti-CSRF token, sent on every call once known (see AgentGateClient.signIn). */
  csrfToken: string | null = null;
  private readonly fetchImpl: typeof fetch;
  private readonly headers: Record<string, string>;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly timeoutMs: number;

  constructor(opts: TransportOptions) {
    if (!opts.baseUrl) throw new TypeError('baseUrl is required, e.g. http://localhost:3000');
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
    this.credentials = opts.credentials;
    if (!opts.fetch && typeof globalThis.fetch !== 'function') throw new TypeError('No fetch available: pass one in the options');
    // Unbound global fetch throws "Illegal invocation" in browsers.
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.headers = { ...opts.headers };
    this.retries = opts.retries ?? 3;
    this.retryDelayMs = opts.retryDelayMs ?? 250;
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 10_000;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  url(path: string, query?: Query): string {
    return `${this.baseUrl}${path}${toQueryString(query)}`;
  }

  private requestHeaders(opts: CallOptions): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...this.headers, ...opts.headers };
    if (this.apiKey) h.authorization = `Bearer ${this.apiKey}`;
    if (this.csrfToken) h['x-csrf-token'] = this.csrfToken;
    if (opts.body !== undefined) h['content-type'] = 'application/json';
    return h;
  }

  backoff(attempt: number): number {
    return jitteredBackoff(attempt, this.retryDelayMs, this.maxRetryDelayMs);
  }

  /** Sends the call with retries and returns the parsed answer; throws AgentGateError on 4xx/5xx. */
  async call<T>(path: string, opts: CallOptions = {}): Promise<T> {
    const body = await this.send(path, opts, (response) => parseBody(response), false);
    return body as T;
  }

  /**
   * Sends the call with retries and returns the successful Response unread (for streams).
   * The attempt timeout covers only the wait for headers; the caller's signal still cuts the body.
   */
  async stream(path: string, opts: CallOptions = {}): Promise<Response> {
    return this.send(path, opts, async (r) => r, true);
  }

  private async send<R>(path: string, opts: CallOptions, read: (r: Response) => Promise<R>, streaming: boolean): Promise<R> {
    const method = (opts.method ?? 'GET').toUpperCase();
    const init = {
      method,
      headers: this.requestHeaders(opts),
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      ...(this.credentials ? { credentials: this.credentials } : {}),
    };
    const idempotent = opts.idempotent ?? IDEMPOTENT_METHODS.has(method);
    const url = this.url(path, opts.query);
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(url, init, opts, read, streaming, idempotent);
      if ('value' in outcome) return outcome.value;
      if (!outcome.retryable || attempt >= (opts.retries ?? this.retries)) throw outcome.error;
      await sleep(outcome.delay ?? this.backoff(attempt), opts.signal);
    }
  }

  private async attempt<R>(
    url: string, init: RequestInit, opts: CallOptions, read: (r: Response) => Promise<R>, streaming: boolean, idempotent: boolean,
  ): Promise<{ value: R } | { error: AgentGateError; retryable: boolean; delay: number | null }> {
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const linked = anySignal([opts.signal, timeout.signal]);
    let handedOver = false;
    const failed = (err: unknown) => {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      const timedOut = timeout.signal.aborted;
      const error = new AgentGateError({
        message: timedOut ? `No answer from ${this.baseUrl} within ${timeoutMs} ms` : `Cannot reach ${this.baseUrl}: ${(err as Error)?.message ?? String(err)}`,
        code: timedOut ? 'TIMEOUT' : 'NETWORK_ERROR',
        status: 0,
        cause: err,
      });
      // Unknown whether the server acted: only a call that is safe to repeat goes again.
      return { error, retryable: idempotent, delay: null };
    };
    try {
      let response: Response;
      try {
        response = await this.fetchImpl(url, { ...init, signal: linked.signal });
      } catch (err) {
        return failed(err);
      }
      if (response.ok) {
        if (streaming) {
          clearTimeout(timer);
          handedOver = true;
        }
        try {
          return { value: await read(response) };
        } catch (err) {
          return failed(err);
        }
      }
      const body = await parseBody(response).catch(() => undefined);
      const error = errorFromResponse(response.status, response.headers, body);
      // 429 and 503 mean the server did nothing, so any call may go again.
      const retryable = response.status === 429 || response.status === 503 || (idempotent && response.status >= 500);
      return { error, retryable, delay: error.retryAfterMs };
    } finally {
      clearTimeout(timer);
      // A handed-over stream keeps following the caller's signal until it ends.
      if (!handedOver) linked.dispose();
    }
  }
}

async function parseBody(response: Response): Promise<unknown> {
  if (response.status === 204) return undefined;
  const text = await response.text();
  if (text === '') return undefined;
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}
