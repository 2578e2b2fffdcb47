/**
 * Group commit, adaptive: a write that finds no statement of its writer in flight is sent
 * at once, so a lone client never waits. Writes that arrive while a statement is in flight
 * gather and go together, as one multi-row statement (one round trip, one commit, one WAL
 * flush), as soon as no statement is in flight any more — or when the first of them has
 * waited `windowMs`, or when `maxBatch` have gathered. Batches thus grow with the load
 * (arrivals during a statement), and an idle path pays no timer.
 *
 * Writes gather by key: one statement holds writes of one key only (creates gather by the
 * policy version they were evaluated with, since one statement checks one version).
 *
 * Each write keeps its own result: when a shared statement fails (say, one of them races
 * another write with the same unique key), every write of the batch is sent again on its
 * own, so the failure reaches only the one it belongs to. When the database is away the
 * outcome is unknown, so every write of the batch gets that same error.
 */
import { isDatabaseUnavailable } from './unavailable.ts';

export interface GroupCommitOptions {
  /**
   * The longest a write waits for the statement in flight before it is sent anyway;
   * 0 sends each write at once, on its own.
   */
  windowMs: number;
  /** A gathered batch this large is sent without waiting any longer. */
  maxBatch?: number;
}

/** Writes the items of one key by one statement, in order; one result per item, in the same order. */
export type BatchWrite<I, R, K> = (items: readonly I[], key: K) => Promise<R[]>;

interface Waiting<I, R> {
  item: I;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

/** Writes gathered while a statement is in flight. */
interface Gathering<I, R> {
  items: Waiting<I, R>[];
  timer: NodeJS.Timeout;
}

const DEFAULT_MAX_BATCH = 64;

export class GroupCommit<I, R, K = null> {
  readonly stats = { statements: 0, batches: 0, largestBatch: 0, split: 0 };
  private readonly gathering = new Map<K, Gathering<I, R>>();
  /** Batches sent and not yet answered. Writes gather only while this is above zero. */
  private inFlight = 0;
  private readonly maxBatch: number;

  constructor(private readonly write: BatchWrite<I, R, K>, private readonly options: GroupCommitOptions) {
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  }

  /** Writes one item, alone or with others of the same key; resolves with its own result. */
  add(item: I, key: K): Promise<R> {
    if (this.options.windowMs <= 0) return this.writeAlone(item, key);
    return new Promise((resolve, reject) => {
      const waiting = { item, resolve, reject };
      // Nothing to share a statement with: go now. (Nothing gathers while nothing is in flight.)
      if (this.inFlight === 0) {
        void this.run([waiting], key);
        return;
      }
      let batch = this.gathering.get(key);
      if (!batch) {
        batch = { items: [], timer: setTimeout(() => this.send(key), this.options.windowMs) };
        this.gathering.set(key, batch);
      }
      batch.items.push(waiting);
      if (batch.items.length >= this.maxBatch) this.send(key);
    });
  }

  private async writeAlone(item: I, key: K): Promise<R> {
    this.stats.statements++;
    const [result] = await this.write([item], key);
    return result as R;
  }

  private send(key: K): void {
    const batch = this.gathering.get(key);
    if (!batch) return;
    this.gathering.delete(key);
    clearTimeout(batch.timer);
    void this.run(batch.items, key);
  }

  private async run(waiting: Waiting<I, R>[], key: K): Promise<void> {
    // Counted before the first await, so writes arriving from now on gather.
    this.inFlight++;
    this.stats.batches++;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, waiting.length);
    try {
      await this.writeBatch(waiting, key);
    } finally {
      this.inFlight--;
      // What gathered while statements ran goes once none is left in flight, one statement per
      // key. (Returning sooner, while others still run, would only cut batches short.)
      if (this.inFlight === 0) for (const k of [...this.gathering.keys()]) this.send(k);
    }
  }

  private async writeBatch(waiting: Waiting<I, R>[], key: K): Promise<void> {
    if (waiting.length === 1) {
      const [w] = waiting;
      return this.writeAlone(w!.item, key).then(w!.resolve, w!.reject);
    }
    try {
      this.stats.statements++;
      const results = await this.write(waiting.map((w) => w.item), key);
      waiting.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      // The database is away (or the statement outlived its deadline, and may yet commit):
      // the outcome is unknown, so every write of the batch gets the same honest 503, and a
      // retry (with its idempotency key, where it has one) learns what was written.
      if (isDatabaseUnavailable(err)) {
        waiting.forEach((w) => w.reject(err));
        return;
      }
      // Nothing of the batch was written: each again on its own, with its own outcome.
      this.stats.split++;
      await Promise.all(waiting.map((w) => this.writeAlone(w.item, key).then(w.resolve, w.reject)));
    }
  }
}
