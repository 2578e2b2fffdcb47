/**
 * One subscriber's stream: replay from the table, then live from the hub — every
 * matching event exactly once, in log order.
 *
 * 1. Replay pages from the table after the client's cursor, paced by the transport,
 *    until a page comes back short (caught up with the horizon of that read). Nothing is
 *    buffered meanwhile, so a long replay costs one page of memory.
 * 2. Attach to the hub; it returns its cursor T at that instant and from then on hands
 *    over every page after T. Pages arriving now queue up.
 * 3. Fill the gap between our cursor and T from the table (those rows are final: the
 *    hub already read past them), then drain the queue, skipping what the gap read
 *    already sent. If our cursor is past T (a client ahead of this process), the queue
 *    simply skips up to it.
 * Live events wait in a bounded queue while the transport is saturated; a subscriber
 * that falls more than `maxBuffered` events behind is dropped ("slow consumer").
 */
import type { Sql } from '../db/connect.ts';
import type { LogCursor } from '../events/store.ts';
import { matcher } from './access.ts';
import type { Live, LiveListener } from './live.ts';
import { compareCursors, cursorOf, readFiltered, type LiveEvent, type LogFilter } from './log.ts';

/** Where a subscription writes: a WebSocket or an HTTP response. */
export interface Sink {
  /** Sends one message; false when the transport is saturated (wait for drained()). */
  write(msg: string): boolean;
  drained(): Promise<void>;
  /** The replay is over; events from here on are live. */
  live?(cursor: LogCursor): void;
  /** The subscription ended on the server side. */
  end(reason: 'slow_consumer' | 'shutdown' | 'limit' | 'error', detail: string): void;
}

export interface SubscriptionOptions {
  /** Replay after this cursor; null starts with events committed from now on. */
  from: LogCursor | null;
  filter: LogFilter;
  maxBuffered: number;
  pageSize?: number;
  /** Stop after this many events (NDJSON `limit` with follow). */
  maxEvents?: number;
}

export class Subscription implements LiveListener {
  /** Every matching event is written out as its message. */
  readonly needsRequestMessages = true;
  /** Log position up to which this subscriber has been served (including filtered-out rows). */
  cursor: LogCursor;
  sent = 0;
  private phase: 'replay' | 'gap' | 'live' | 'closed' = 'replay';
  private queue: LiveEvent[] = [];
  private pumping = false;
  private readonly matches: (e: LiveEvent) => boolean;
  private readonly pageSize: number;

  constructor(private readonly sql: Sql, private readonly hub: Live, private readonly sink: Sink, private readonly opts: SubscriptionOptions) {
    this.cursor = opts.from ?? hub.cursor;
    this.matches = matcher(opts.filter);
    this.pageSize = opts.pageSize ?? hub.options.pageSize;
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  /** Runs the replay and switches to live; resolves once live (or closed). */
  async start(): Promise<void> {
    if (this.opts.from !== null) {
      for (;;) {
        const page = await readFiltered(this.sql, this.cursor, this.pageSize, this.opts.filter);
        if (this.closed) return;
        if (!(await this.send(page.events))) return;
        this.cursor = page.cursor;
        if (page.events.length < this.pageSize) break;
      }
    }
    if (!this.hub.running) {
      this.close('shutdown', 'the server is shutting down');
      return;
    }
    const target = this.hub.attach(this);
    this.phase = 'gap';
    while (compareCursors(this.cursor, target) < 0) {
      const page = await readFiltered(this.sql, this.cursor, this.pageSize, this.opts.filter, target);
      if (this.closed) return;
      if (!(await this.send(page.events))) return;
      this.cursor = page.events.length < this.pageSize ? target : page.cursor;
    }
    this.phase = 'live';
    this.sink.live?.(this.cursor);
    this.pump();
  }

  onEvents(events: readonly LiveEvent[]): void {
    if (this.closed) return;
    for (const e of events) if (this.matches(e)) this.queue.push(e);
    if (this.queue.length > this.opts.maxBuffered) {
      this.close('slow_consumer', `more than ${this.opts.maxBuffered} events waiting to be sent`);
      return;
    }
    if (this.phase === 'live') {
      // Unfiltered progress: a client resuming from here need not rescan skipped rows.
      const last = events[events.length - 1];
      if (last && this.queue.length === 0 && !this.pumping && compareCursors(cursorOf(last), this.cursor) > 0) this.cursor = cursorOf(last);
      this.pump();
    }
  }

  onStop(): void {
    this.close('shutdown', 'the server is shutting down');
  }

  close(reason: Parameters<Sink['end']>[0], detail: string): void {
    if (this.closed) return;
    this.phase = 'closed';
    this.queue = [];
    this.hub.detach(this);
    this.sink.end(reason, detail);
  }

  /** The transport went away: stop without telling it. */
  dispose(): void {
    if (this.closed) return;
    this.phase = 'closed';
    this.queue = [];
    this.hub.detach(this);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && this.phase === 'live') {
        const e = this.queue.shift()!;
        if (compareCursors(cursorOf(e), this.cursor) <= 0) continue;
        this.cursor = cursorOf(e);
        if (!(await this.send([e]))) return;
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Writes events in order, waiting for the transport when it is full; false once closed. */
  private async send(events: readonly LiveEvent[]): Promise<boolean> {
    for (const e of events) {
      if (this.closed) return false;
      if (e.msg === null) {
        // The hub reads request events with their messages while a subscription is attached.
        this.close('error', `event ${e.position} arrived without its message`);
        return false;
      }
      const ok = this.sink.write(e.msg);
      this.sent++;
      if (this.opts.maxEvents !== undefined && this.sent >= this.opts.maxEvents) {
        this.cursor = cursorOf(e);
        this.close('limit', `${this.sent} events sent`);
        return false;
      }
      if (!ok) await this.sink.drained();
    }
    return !this.closed;
  }
}
