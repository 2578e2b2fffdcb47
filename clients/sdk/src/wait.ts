import { AgentGateError, TimeoutError, abortReason } from './errors.ts';
import { anySignal, jitteredBackoff, sleep, type Transport } from './http.ts';
import type { ApprovalRequest } from './types.ts';

export interface WaitOptions {
  /** Overall deadline in milliseconds (default 5 minutes; Infinity waits for ever). */
  timeout?: number;
  signal?: AbortSignal;
  /** Longest single long-poll, in seconds (default 30); a poll that ends undecided is simply sent again. */
  pollSeconds?: number;
}

export const DEFAULT_WAIT_MS = 5 * 60_000;

const isTransient = (err: unknown): err is AgentGateError =>
  err instanceof AgentGateError && (err.status === 0 || err.status === 429 || err.status >= 500);

/** The long-poll may answer with the request itself or wrap it; both are accepted. */
function requestOf(body: unknown): ApprovalRequest | null {
  if (!body || typeof body !== 'object') return null;
  const wrapped = (body as { request?: unknown }).request;
  const candidate = (wrapped && typeof wrapped === 'object' ? wrapped : body) as Partial<ApprovalRequest>;
  return typeof candidate.status === 'string' && typeof candidate.id === 'string' ? (candidate as ApprovalRequest) : null;
}

/**
 * Waits for a request to leave `pending` with the server's long-poll: each poll is held
 * open by the server and answers the moment the request is decided, so there is no
 * polling interval to wait out. Polls are bounded and repeated until the overall
 * deadline; a dropped connection or a 5xx/429 is retried with backoff instead of failing
 * the wait.
 */
export async function waitForDecision(transport: Transport, id: string, opts: WaitOptions = {}): Promise<ApprovalRequest> {
  const timeout = opts.timeout ?? DEFAULT_WAIT_MS;
  const pollSeconds = Math.max(1, Math.floor(opts.pollSeconds ?? 30));
  const deadline = Date.now() + timeout;
  const overall = new AbortController();
  const timer = Number.isFinite(timeout)
    ? setTimeout(() => overall.abort(new TimeoutError(`Request ${id} was not decided within ${timeout} ms`, { id, timeout })), Math.max(0, timeout))
    : null;
  const linked = anySignal([opts.signal, overall.signal]);
  const signal = linked.signal;
  let failures = 0;
  try {
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const remaining = deadline - Date.now();
      const seconds = Number.isFinite(remaining) ? Math.max(1, Math.min(pollSeconds, Math.ceil(remaining / 1000))) : pollSeconds;
      try {
        const body = await transport.call<unknown>(`/api/requests/${encodeURIComponent(id)}/wait`, {
          query: { timeout: seconds },
          signal,
          // A poll the server should have answered long ago is a dead connection.
          timeoutMs: seconds * 1000 + 15_000,
          retries: 0,
        });
        failures = 0;
        const request = requestOf(body);
        if (request && request.status !== 'pending') return request;
      } catch (err) {
        if (signal.aborted) throw abortReason(signal);
        if (!isTransient(err)) throw err;
        await sleep(err.retryAfterMs ?? jitteredBackoff(failures++, 100, 5_000), signal);
      }
    }
  } finally {
    if (timer) clearTimeout(timer);
    linked.dispose();
  }
}
