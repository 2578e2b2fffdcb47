/**
 * Caps on open live connections: per key and kind (long-polls, WebSockets, NDJSON
 * followers), and one total for the process.
 *
 * A live connection costs the server a socket and memory for as long as it stays open,
 * whatever the key's request rate; without a cap one key could hold hundreds of them.
 * The counts live in this process's memory: with several server processes behind a
 * balancer a key may hold up to (cap × processes) connections in all. That keeps opening
 * a long-poll free of database writes, and a crashed process leaves no stale count behind.
 *
 * `acquire` either takes a slot (released exactly once, however often `release` is
 * called) or says which cap refused it.
 */
import { AppError } from '../errors.ts';

export type LiveKind = 'longpoll' | 'websocket' | 'follower';

export interface LiveCaps {
  perKey: Record<LiveKind, number>;
  /** Every open live connection of this process, whatever its kind and key. */
  total: number;
}

export const LIVE_CAP_DEFAULTS: LiveCaps = {
  perKey: { longpoll: 100, websocket: 20, follower: 5 },
  total: 5_000,
};

export type LiveCapSettings = { perKey?: Partial<LiveCaps['perKey']>; total?: number };

export interface LiveSlot {
  release(): void;
}

export interface LiveRefusal {
  /** Which cap was reached: the key's for this kind, or the process's total. */
  scope: 'key' | 'server';
  kind: LiveKind;
  limit: number;
  message: string;
}

const NOUN: Record<LiveKind, string> = {
  longpoll: 'long-polls',
  websocket: 'WebSocket streams',
  follower: 'followed event exports',
};

export class LiveLimits {
  readonly caps: LiveCaps;
  private readonly byKey = new Map<string, Record<LiveKind, number>>();
  private open = 0;

  constructor(caps: LiveCapSettings = {}) {
    this.caps = {
      perKey: { ...LIVE_CAP_DEFAULTS.perKey, ...caps.perKey },
      total: caps.total ?? LIVE_CAP_DEFAULTS.total,
    };
  }

  acquire(kind: LiveKind, keyId: string): LiveSlot | LiveRefusal {
    if (this.open >= this.caps.total) {
      return {
        scope: 'server', kind, limit: this.caps.total,
        message: `The server holds its maximum of ${this.caps.total} live connections; retry shortly`,
      };
    }
    const counts = this.byKey.get(keyId) ?? { longpoll: 0, websocket: 0, follower: 0 };
    const limit = this.caps.perKey[kind];
    if (counts[kind] >= limit) {
      return {
        scope: 'key', kind, limit,
        message: `This key already holds its maximum of ${limit} open ${NOUN[kind]}; close one first`,
      };
    }
    counts[kind]++;
    this.byKey.set(keyId, counts);
    this.open++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.open--;
        counts[kind]--;
        if (counts.longpoll + counts.websocket + counts.follower === 0) this.byKey.delete(keyId);
      },
    };
  }

  /** Open connections of one key (all kinds when `kind` is omitted); for tests and metrics. */
  held(keyId: string, kind?: LiveKind): number {
    const c = this.byKey.get(keyId);
    if (!c) return 0;
    return kind ? c[kind] : c.longpoll + c.websocket + c.follower;
  }

  get total(): number {
    return this.open;
  }
}

export const isRefusal = (r: LiveSlot | LiveRefusal): r is LiveRefusal => 'scope' in r;

/** Seconds a refused client is told to wait: slots free as polls end and clients leave. */
export const LIVE_RETRY_AFTER_SECONDS = 5;

/** The API error for a refusal (429 `TOO_MANY_CONNECTIONS`, with `Retry-After` set by the caller). */
export function refusalError(r: LiveRefusal): AppError {
  return new AppError('TOO_MANY_CONNECTIONS', r.message, {
    kind: r.kind, scope: r.scope, limit: r.limit, retryAfterSeconds: LIVE_RETRY_AFTER_SECONDS,
  });
}
