/**
 * The live hub of one server process: one LISTEN connection, one reader, many subscribers.
 *
 * NOTIFY agentgate_events (sql/0003_notify.sql) is only a wake-up: it carries nothing,
 * it can be lost while the LISTEN connection is down, and many commits may fold into one
 * wake-up. On every wake-up the single reader loop re-reads the log after its cursor
 * (log order, up to the xmin horizon: see log.ts) and hands each page to the in-memory
 * subscribers. Wake-ups that arrive while a read is running only mark it dirty, so
 * bursts coalesce and reads never overlap. Subscribers and long-poll waiters cost no
 * database work while they wait.
 *
 * postgres.js gives `sql.listen` a dedicated connection (outside the pool, so it also
 * survives PgBouncer-style pooling of the rest), re-establishes it with backoff when it
 * drops, and calls `onlisten` each time LISTEN is in place again; the reader then
 * catches up from its cursor, so notifications lost in between lose nothing.
 *
 * The horizon can hold back a committed event while an older transaction is still open.
 * When that transaction ends it NOTIFYs if it appended events; if it did not (a
 * transaction of another kind, or an append that rolled back) nothing would wake us, so
 * while — and only while — the last read saw rows held back, a timer re-reads with a
 * growing delay (10 ms doubling to 1 s).
 */
import type { Sql } from '../db/connect.ts';
import { LOG_START, type LogCursor } from '../events/store.ts';
import { logEnd, readTail, type LiveEvent } from './log.ts';

export const NOTIFY_CHANNEL = 'agentgate_events';

export interface LiveLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface LiveOptions {
  /** Longest long-poll a client may ask for, in seconds. */
  waitMaxTimeoutSeconds?: number;
  /** WebSocket ping frames and NDJSON keepalive newlines, every this many ms. */
  heartbeatMs?: number;
  /** A subscriber with more undelivered events than this is dropped (WebSocket close 4008). */
  maxBufferedEvents?: number;
  /** How long a WebSocket may stay open without authenticating. */
  authTimeoutMs?: number;
  /** Events per read. */
  pageSize?: number;
  log?: LiveLogger;
}

export type ResolvedLiveOptions = Required<Omit<LiveOptions, 'log'>> & { log: LiveLogger };

export const LIVE_DEFAULTS = {
  waitMaxTimeoutSeconds: 300,
  heartbeatMs: 25_000,
  maxBufferedEvents: 10_000,
  authTimeoutMs: 5_000,
  pageSize: 1_000,
} as const;

const silent: LiveLogger = { warn: () => {}, info: () => {} };

/** Receives every page the hub reads, synchronously and in log order. */
export interface LiveListener {
  /**
   * Whether this listener reads the wire message (`msg`) of request events. Most events are
   * request events and most listeners look only at their routing fields, so while no attached
   * listener says so the hub reads request events without their messages.
   */
  readonly needsRequestMessages?: boolean;
  onEvents(events: readonly LiveEvent[]): void;
  /** The hub is stopping (server shutdown). */
  onStop?(): void;
  /**
   * LISTEN was re-established after the connection dropped: notifications may have been
   * lost meanwhile (the hub itself catches up from its cursor; state cached elsewhere
   * should be reloaded).
   */
  onResync?(): void;
}

export type WatchOutcome = 'event' | 'timeout' | 'closed';

/** A long-poll's interest in one request. Signals that stick until the next `next()`. */
export class RequestWatch {
  private signalled = false;
  private closed = false;
  private wakeUp: ((o: WatchOutcome) => void) | null = null;

  constructor(private readonly release: (w: RequestWatch) => void) {}

  notify(): void {
    this.signalled = true;
    this.wakeUp?.('event');
  }

  /** Resolves at once if an event came since the last call, else on the next one, the deadline or close. */
  next(timeoutMs: number): Promise<WatchOutcome> {
    if (this.closed) return Promise.resolve('closed');
    if (this.signalled) {
      this.signalled = false;
      return Promise.resolve('event');
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish('timeout'), Math.max(0, timeoutMs));
      const finish = (o: WatchOutcome) => {
        clearTimeout(timer);
        this.wakeUp = null;
        if (o === 'event') this.signalled = false;
        resolve(o);
      };
      this.wakeUp = finish;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release(this);
    this.wakeUp?.('closed');
  }
}

const RECHECK_MIN_MS = 10;
const RECHECK_MAX_MS = 1_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1_000;

export class Live {
  readonly options: ResolvedLiveOptions;
  /** Everything up to here has been handed to the listeners. */
  cursor: LogCursor = LOG_START;
  readonly stats = { reads: 0, rereads: 0, notifications: 0, listens: 0, heldBackRechecks: 0, readErrors: 0 };

  private readonly listeners = new Set<LiveListener>();
  /** Attached listeners with `needsRequestMessages`. */
  private requestMessageListeners = 0;
  private readonly watches = new Map<string, Set<RequestWatch>>();
  private listening: { unlisten(): Promise<void>; state: { pid: number | null } } | null = null;
  private reading: Promise<void> | null = null;
  private dirty = false;
  private heldBack = false;
  private started = false;
  private stopped = false;
  private recheckTimer: NodeJS.Timeout | null = null;
  private recheckDelay = RECHECK_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelay = RETRY_MIN_MS;

  constructor(private readonly sql: Sql, options: LiveOptions = {}) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = { ...LIVE_DEFAULTS, log: silent, ...defined };
  }

  get running(): boolean {
    return this.started && !this.stopped;
  }

  /** Backend pid of the LISTEN connection (it changes when the connection is re-established). */
  get listenerPid(): number | null {
    return this.listening?.state.pid ?? null;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.cursor = await logEnd(this.sql);
    // onlisten runs on the first LISTEN and after every reconnect: catch up from the cursor.
    this.listening = await this.sql.listen(
      NOTIFY_CHANNEL,
      () => {
        this.stats.notifications++;
        this.wake();
      },
      () => {
        if (this.stats.listens++ > 0) {
          this.options.log.info({ cursor: this.cursor }, 'LISTEN re-established; catching up');
          for (const l of this.listeners) {
            try {
              l.onResync?.();
            } catch (err) {
              this.options.log.warn({ err }, 'a live subscriber failed to resync');
            }
          }
        }
        this.wake();
      },
    ) as unknown as { unlisten(): Promise<void>; state: { pid: number | null } };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.recheckTimer, this.retryTimer]) if (t) clearTimeout(t);
    await this.listening?.unlisten().catch(() => {});
    await this.reading?.catch(() => {});
    for (const l of [...this.listeners]) {
      try {
        l.onStop?.();
      } catch {
        // a failing subscriber must not stop the others from closing
      }
    }
    this.listeners.clear();
    for (const set of [...this.watches.values()]) for (const w of [...set]) w.close();
  }

  /**
   * Adds a listener and returns the cursor it starts after: every later page reaches it.
   * Synchronous, so no page can slip between reading the cursor and the registration.
   */
  attach(listener: LiveListener): LogCursor {
    if (!this.listeners.has(listener)) {
      this.listeners.add(listener);
      if (listener.needsRequestMessages) this.requestMessageListeners++;
    }
    return this.cursor;
  }

  detach(listener: LiveListener): void {
    if (this.listeners.delete(listener) && listener.needsRequestMessages) this.requestMessageListeners--;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Watch one request's events. Create the watch before reading the request's state. */
  watchRequest(requestId: string): RequestWatch {
    const w = new RequestWatch((x) => {
      const set = this.watches.get(requestId);
      set?.delete(x);
      if (set?.size === 0) this.watches.delete(requestId);
    });
    if (this.stopped) {
      w.close();
      return w;
    }
    let set = this.watches.get(requestId);
    if (!set) this.watches.set(requestId, (set = new Set()));
    set.add(w);
    return w;
  }

  get watchCount(): number {
    let n = 0;
    for (const s of this.watches.values()) n += s.size;
    return n;
  }

  /** Ask the reader to look for new events (what a notification does). */
  wake(): void {
    if (this.stopped || !this.started) return;
    this.dirty = true;
    if (!this.reading) this.reading = this.readLoop();
  }

  private async readLoop(): Promise<void> {
    let progressed = false;
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      let page;
      const requestMessages = this.requestMessageListeners > 0;
      try {
        this.stats.reads++;
        page = await readTail(this.sql, this.cursor, this.options.pageSize, { requestMessages });
      } catch (err) {
        this.stats.readErrors++;
        if (!this.stopped) this.scheduleRetry(err);
        break;
      }
      this.retryDelay = RETRY_MIN_MS;
      if (!requestMessages && this.requestMessageListeners > 0) {
        // A listener that needs the messages attached during the read: this page is not for
        // it. The cursor has not moved, so reading again from it skips nothing.
        this.stats.rereads++;
        this.dirty = true;
        continue;
      }
      this.heldBack = page.heldBack;
      if (page.events.length > 0) {
        progressed = true;
        this.cursor = page.cursor;
        this.publish(page.events);
      }
      if (page.events.length === this.options.pageSize) this.dirty = true;
    }
    // No await between the loop's last check and here: a wake() from now on starts a new loop.
    this.reading = null;
    this.afterRead(progressed);
  }

  private afterRead(progressed: boolean): void {
    if (this.stopped) return;
    if (!this.heldBack) {
      if (this.recheckTimer) clearTimeout(this.recheckTimer);
      this.recheckTimer = null;
      this.recheckDelay = RECHECK_MIN_MS;
      return;
    }
    if (progressed) this.recheckDelay = RECHECK_MIN_MS;
    if (this.recheckTimer) return;
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = null;
      this.stats.heldBackRechecks++;
      this.wake();
    }, this.recheckDelay);
    this.recheckTimer.unref();
    this.recheckDelay = Math.min(this.recheckDelay * 2, RECHECK_MAX_MS);
  }

  private scheduleRetry(err: unknown): void {
    this.options.log.warn({ err, retryInMs: this.retryDelay }, 'reading the event log failed; retrying');
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.wake();
    }, this.retryDelay);
    this.retryTimer.unref();
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  private publish(events: LiveEvent[]): void {
    for (const l of this.listeners) {
      try {
        l.onEvents(events);
      } catch (err) {
        this.options.log.warn({ err }, 'a live subscriber failed');
      }
    }
    if (this.watches.size === 0) return;
    for (const e of events) {
      if (e.streamType !== 'request') continue;
      const set = this.watches.get(e.streamId.slice('request-'.length));
      if (set) for (const w of set) w.notify();
    }
  }
}
