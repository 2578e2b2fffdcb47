/**
 * Group commit for creates, adaptive: a create that finds no append statement in flight
 * is appended at once, so a lone client never waits. Creates that arrive while a statement
 * is in flight gather and go together, as one multi-row statement (one round trip, one
 * commit, one WAL flush), as soon as no statement is in flight any more — or when the first
 * of them has waited `windowMs`, or when `maxBatch` have gathered. Batches thus grow with
 * the load (arrivals during a statement), and an idle path pays no timer.
 *
 * Each create keeps its own result: when a shared statement fails (say, one of them races
 * another create with the same Idempotency-Key), every create of the batch is appended
 * again on its own, so the failure reaches only the one it belongs to.
 */
import type { Sql } from '../db/connect.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { appendCreates, type AppendedCreate, type NewRequest } from './append-creates.ts';

export interface GroupCommitOptions {
  /**
   * The longest a create waits for the statement in flight before it is sent anyway
   * (CREATE_GROUP_COMMIT_MS); 0 appends each create at once, on its own.
   */
  windowMs: number;
  /** A gathered batch this large is sent without waiting any longer. */
  maxBatch?: number;
}

interface Waiting {
  item: NewRequest;
  resolve: (r: AppendedCreate | null) => void;
  reject: (err: unknown) => void;
}

/** Creates gathered while a statement is in flight. */
interface Gathering {
  items: Waiting[];
  timer: NodeJS.Timeout;
}

const DEFAULT_MAX_BATCH = 64;

export class CreateAppender {
  readonly stats = { statements: 0, appended: 0, batches: 0, largestBatch: 0, split: 0 };
  /** Gathering batches by policy version: one statement checks one version. */
  private readonly gathering = new Map<number, Gathering>();
  /** Batches sent and not yet answered. Creates gather only while this is above zero. */
  private inFlight = 0;
  private readonly maxBatch: number;

  constructor(private readonly sql: Sql, private readonly options: GroupCommitOptions) {
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  }

  /** Appends one create; null when the policies changed since `policyVersion` (nothing appended). */
  append(item: NewRequest, policyVersion: number): Promise<AppendedCreate | null> {
    if (this.options.windowMs <= 0) return this.appendAlone(item, policyVersion);
    return new Promise((resolve, reject) => {
      const waiting = { item, resolve, reject };
      // Nothing to share a statement with: go now. (Nothing gathers while nothing is in flight.)
      if (this.inFlight === 0) {
        void this.run([waiting], policyVersion);
        return;
      }
      let batch = this.gathering.get(policyVersion);
      if (!batch) {
        batch = { items: [], timer: setTimeout(() => this.send(policyVersion), this.options.windowMs) };
        this.gathering.set(policyVersion, batch);
      }
      batch.items.push(waiting);
      if (batch.items.length >= this.maxBatch) this.send(policyVersion);
    });
  }

  private async appendAlone(item: NewRequest, policyVersion: number): Promise<AppendedCreate | null> {
    this.stats.statements++;
    const [result] = (await appendCreates(this.sql, [item], policyVersion)) ?? [null];
    if (result) this.stats.appended++;
    return result ?? null;
  }

  private send(policyVersion: number): void {
    const batch = this.gathering.get(policyVersion);
    if (!batch) return;
    this.gathering.delete(policyVersion);
    clearTimeout(batch.timer);
    void this.run(batch.items, policyVersion);
  }

  private async run(waiting: Waiting[], policyVersion: number): Promise<void> {
    // Counted before the first await, so creates arriving from now on gather.
    this.inFlight++;
    this.stats.batches++;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, waiting.length);
    try {
      await this.appendBatch(waiting, policyVersion);
    } finally {
      this.inFlight--;
      // What gathered while statements ran goes once none is left in flight, one statement per
      // policy version. (Returning sooner, while others still run, would only cut batches short.)
      if (this.inFlight === 0) for (const version of [...this.gathering.keys()]) this.send(version);
    }
  }

  private async appendBatch(waiting: Waiting[], policyVersion: number): Promise<void> {
    if (waiting.length === 1) {
      const [w] = waiting;
      return this.appendAlone(w!.item, policyVersion).then(w!.resolve, w!.reject);
    }
    try {
      this.stats.statements++;
      const results = await appendCreates(this.sql, waiting.map((w) => w.item), policyVersion);
      if (results) this.stats.appended += results.length;
      waiting.forEach((w, i) => w.resolve(results ? results[i]! : null));
    } catch (err) {
      // The database is away (or the statement outlived its deadline, and may yet commit):
      // the outcome is unknown, so every create of the batch gets the same honest 503, and a
      // retry with its Idempotency-Key returns what was appended, if anything was.
      if (isDatabaseUnavailable(err)) {
        waiting.forEach((w) => w.reject(err));
        return;
      }
      // Nothing of the batch was appended: each create again on its own, with its own outcome.
      this.stats.split++;
      await Promise.all(waiting.map((w) => this.appendAlone(w.item, policyVersion).then(w.resolve, w.reject)));
    }
  }
}
