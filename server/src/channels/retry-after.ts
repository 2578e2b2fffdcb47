/**
 * Honouring an API's "429 Too Many Requests, Retry-After: N". A call refused that way was
 * not carried out, so it is made again once the pause is over, and meanwhile no other call
 * of the same kind leaves this process: the first refusal pauses every job that is about
 * to make such a call, not only the one that met it. A pause that would keep a call
 * waiting longer than `maxWaitMs` (from the call's start) fails it instead of holding a
 * worker that long; the job records the failure and graphile-worker runs it again later.
 */
export class RateLimitedError extends Error {
  constructor(readonly kind: string, readonly retryAfterMs: number) {
    super(`${kind}: rate limited, retry after ${Math.ceil(retryAfterMs / 1000)} s`);
    this.name = 'RateLimitedError';
  }
}

export interface RetryAfterGateOptions {
  maxWaitMs: number;
  /** Milliseconds to wait when `err` is a "retry after" refusal; null for any other error. */
  retryAfterMs: (err: unknown) => number | null;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class RetryAfterGate {
  /** Per kind of call (an API method): when the latest refusal's pause ends. */
  private readonly pausedUntil = new Map<string, number>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: RetryAfterGateOptions) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async run<T>(kind: string, call: () => Promise<T>): Promise<T> {
    const started = this.now();
    for (;;) {
      const until = this.pausedUntil.get(kind) ?? 0;
      const wait = until - this.now();
      if (wait > 0) {
        if (until - started > this.opts.maxWaitMs) throw new RateLimitedError(kind, wait);
        await this.sleep(wait);
      }
      try {
        return await call();
      } catch (err) {
        const retryAfter = this.opts.retryAfterMs(err);
        if (retryAfter === null) throw err;
        this.pausedUntil.set(kind, Math.max(this.pausedUntil.get(kind) ?? 0, this.now() + retryAfter));
      }
    }
  }
}
