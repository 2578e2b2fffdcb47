/**
 * Group commit for creates: creates that arrive within `windowMs` of the first one are
 * appended by one multi-row statement (one round trip, one commit, one WAL flush) and
 * answered together. Each keeps its own result: when the shared statement fails (say, one
 * of them races another create with the same Idempotency-Key), every create of the batch
 * is appended again on its own, so the failure reaches only the one it belongs to.
 */
import type { Sql } from '../db/connect.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { appendCreates, type AppendedCreate, type NewRequest } from './append-creates.ts';

export interface GroupCommitOptions {
  /** How long the first create of a batch waits for others; 0 appends each create at once. */
  windowMs: number;
  /** A batch this large is appended without waiting for the window to end. */
  maxBatch?: number;
}

interface Waiting {
  item: NewRequest;
  resolve: (r: AppendedCreate | null) => void;
  reject: (err: unknown) => void;
}

interface Batch {
  items: Waiting[];
  timer: NodeJS.Timeout;
}

const DEFAULT_MAX_BATCH = 64;

export class CreateAppender {
  readonly stats = { statements: 0, appended: 0, batches: 0, largestBatch: 0, split: 0 };
  /** Open batches by policy version: one statement checks one version. */
  private readonly open = new Map<number, Batch>();
  private readonly maxBatch: number;

  constructor(private readonly sql: Sql, private readonly options: GroupCommitOptions) {
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  }

  /** Appends one create; null when the policies changed since `policyVersion` (nothing appended). */
  append(item: NewRequest, policyVersion: number): Promise<AppendedCreate | null> {
    if (this.options.windowMs <= 0) return this.appendAlone(item, policyVersion);
    return new Promise((resolve, reject) => {
      let batch = this.open.get(policyVersion);
      if (!batch) {
        const timer = setTimeout(() => this.flush(policyVersion), this.options.windowMs);
        batch = { items: [], timer };
        this.open.set(policyVersion, batch);
      }
      batch.items.push({ item, resolve, reject });
      if (batch.items.length >= this.maxBatch) this.flush(policyVersion);
    });
  }

  private async appendAlone(item: NewRequest, policyVersion: number): Promise<AppendedCreate | null> {
    this.stats.statements++;
    const [result] = (await appendCreates(this.sql, [item], policyVersion)) ?? [null];
    if (result) this.stats.appended++;
    return result ?? null;
  }

  private flush(policyVersion: number): void {
    const batch = this.open.get(policyVersion);
    if (!batch) return;
    this.open.delete(policyVersion);
    clearTimeout(batch.timer);
    void this.run(batch.items, policyVersion);
  }

  private async run(waiting: Waiting[], policyVersion: number): Promise<void> {
    this.stats.batches++;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, waiting.length);
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
