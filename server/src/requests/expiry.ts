/**
 * The expiry sweep (the `expire_requests` job, one for every request; projections/50_jobs.sql
 * keeps it due at the earliest pending expiry): expires each pending request whose time has
 * come, then schedules the next sweep at the next pending expiry. Each expiry is the
 * request's own command, so a request decided a moment earlier stays decided, and a request
 * expired twice (two sweeps, or a per-request job left from before the sweep) is recorded
 * expired once.
 */
import type { Sql } from '../db/connect.ts';
import type { EventMetadata } from '../events/types.ts';
import type { LogSink } from '../jobs/logging.ts';
import { expireRequest } from './commands.ts';

/** Due requests read per query; a sweep reads pages until none is left. */
const PAGE = 100;
/** Expiries of one page run this many at a time (each is a short transaction of its own). */
const CONCURRENCY = 4;
/** A request whose expiry failed is tried again after 2^failures seconds, at most this. */
const RETRY_MAX_MS = 600_000;

export interface SweepResult {
  expired: number;
  /** Requests whose expiry failed this time (tried again by a later sweep). */
  failed: string[];
  /** When the next sweep is due; null when no pending request has an expiry. */
  next: Date | null;
}

export interface SweepOptions {
  /** Sweeps in a row that left a failed expiry behind (the job's payload carries it). */
  failures?: number;
  log?: LogSink;
}

export async function sweepExpiredRequests(sql: Sql, metadata: EventMetadata, opts: SweepOptions = {}): Promise<SweepResult> {
  // Requests left as they were this time: failed, or (a concurrent expiry) no longer ours to expire.
  const skip: string[] = [];
  const failed: string[] = [];
  let expired = 0;
  for (;;) {
    // The database's clock makes a request due, as it made this job due.
    const due = await sql<{ id: string; now: Date }[]>`
      select id, now() as now from requests
      where status = 'pending' and expires_at <= now() and id <> all(${skip}::text[])
      order by expires_at limit ${PAGE}`;
    const expireOne = async ({ id, now }: { id: string; now: Date }) => {
      let error: unknown;
      try {
        const result = await expireRequest(sql, id, now, metadata);
        if (result.expired) { expired++; return; }
        // Expired or decided by someone else meanwhile: nothing left to do.
        if (result.status !== 'pending') { skip.push(id); return; }
        error = new Error(`request ${id} is not due yet (expires at ${result.expiresAt})`);
      } catch (err) {
        error = err;
      }
      skip.push(id);
      failed.push(id);
      opts.log?.warn({ err: error, requestId: id }, 'a request could not be expired; the sweep tries again');
    };
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, due.length) }, async () => {
      while (next < due.length) await expireOne(due[next++]!);
    }));
    if (due.length < PAGE) break;
  }
  const failures = failed.length > 0 ? (opts.failures ?? 0) + 1 : 0;
  const retryAt = failed.length > 0 ? new Date(Date.now() + Math.min(2 ** failures * 1000, RETRY_MAX_MS)) : null;
  const [row] = await sql<{ next: Date | null }[]>`
    select reschedule_expiry_sweep(${skip}::text[], ${retryAt}::timestamptz,
      ${sql.json(failures > 0 ? { failures } : {})}::jsonb) as next`;
  return { expired, failed, next: row?.next ?? null };
}
