/** Gauges read when Prometheus scrapes: shared state from the database, this process's hub. */
import type { Sql } from '../db/connect.ts';
import type { Live } from '../live/live.ts';
import {
  dbConnections, dbPoolMax, dbUp, jobQueueAge, jobQueueDepth, jobsFailing, listenReconnects, listenUp, pendingRequests,
} from './registry.ts';

export interface ScrapeSources {
  sql: Sql;
  live?: Live;
  poolMax?: number;
}

export async function refreshGauges({ sql, live, poolMax }: ScrapeSources): Promise<void> {
  if (poolMax !== undefined) dbPoolMax.set(poolMax);
  if (live) {
    listenUp.set(live.running && live.listenerPid !== null ? 1 : 0);
    listenReconnects.set(Math.max(0, live.stats.listens - 1));
  }
  try {
    const [[pending], connections, [queue]] = await Promise.all([
      sql<{ n: number }[]>`select count(*)::int as n from requests where status = 'pending'`,
      sql<{ state: string; n: number }[]>`
        select coalesce(state, 'unknown') as state, count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name like 'agentgate%' group by 1`,
      sql<{ installed: boolean }[]>`select to_regclass('graphile_worker.jobs') is not null as installed`,
    ]);
    pendingRequests.set(pending?.n ?? 0);
    dbConnections.reset();
    for (const c of connections) dbConnections.set({ state: c.state }, c.n);
    // graphile-worker's schema exists once any server or worker has started.
    if (queue?.installed) {
      const [jobs] = await sql<{ due: number; age: number; failing: number }[]>`
        select count(*) filter (where due)::int as due,
               coalesce(extract(epoch from now() - min(run_at) filter (where due)), 0)::float8 as age,
               count(*) filter (where last_error is not null and attempts < max_attempts)::int as failing
        from (select run_at, last_error, attempts, max_attempts,
                     locked_at is null and run_at <= now() and attempts < max_attempts as due
              from graphile_worker.jobs) j`;
      jobQueueDepth.set(jobs?.due ?? 0);
      jobQueueAge.set(jobs?.age ?? 0);
      jobsFailing.set(jobs?.failing ?? 0);
    }
    dbUp.set(1);
  } catch {
    // The scrape still answers (process metrics, counters); the database's own gauge says the rest is stale.
    dbUp.set(0);
  }
}
