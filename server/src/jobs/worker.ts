/**
 * The background worker: a graphile-worker pool on the application's database, run
 * inside the server (WORKER_ENABLED) or alone (`npm run worker`). Any number of them
 * share the jobs (SKIP LOCKED); one webhook's deliveries stay in order through its line
 * (webhooks/line.ts), served by one job at a time (its queue).
 *
 * Crashes: graphile-worker releases the jobs of a pool that stops cleanly, but the jobs
 * (and queues) locked by a killed process stay locked for 4 hours, its `locked_at`
 * timeout. To do better, each pool beats in worker_heartbeats; a pool silent for
 * `deadAfterMs` is presumed dead and the survivors release its locks at once
 * (graphile_worker.force_unlock_workers), so its jobs run again within seconds. A pool
 * that was only paused and comes back may then run a job twice: jobs here are
 * at-least-once and record their effects once.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { run, type Runner, type WorkerEvents, type WorkerPool } from 'graphile-worker';
import pg from 'pg';
import type { Sql } from '../db/connect.ts';
import type { Channels } from '../channels/registry.ts';
import type { DeliveryOptions } from '../webhooks/delivery.ts';
import { graphileLogger, type LogSink } from './logging.ts';
import { taskList } from './tasks.ts';

export interface WorkerOptions {
  databaseUrl: string;
  sql: Sql;
  concurrency: number;
  delivery: DeliveryOptions;
  /** The notification channels jobs post to (none when absent). */
  channels?: Channels;
  heartbeatMs: number;
  deadAfterMs: number;
  /** How often idle workers look for jobs that became due (graphile-worker polls for future run_at). */
  pollIntervalMs?: number;
  /** How long the worker's own connections may take to open (DB_CONNECT_TIMEOUT_MS); unset = no limit. */
  connectTimeoutMs?: number;
  log?: LogSink;
}

export interface RunningWorker {
  poolId: string;
  /** True while the pool runs and its last heartbeat reached the database recently. */
  healthy(): boolean;
  stop(): Promise<void>;
}

/** Releases the jobs of pools that stopped beating; returns their ids. */
export async function reapDeadWorkers(sql: Sql, deadAfterMs: number, exceptPoolId?: string): Promise<string[]> {
  return sql.begin(async (tx) => {
    const dead = await tx<{ pool_id: string }[]>`
      delete from worker_heartbeats
      where beat_at < now() - make_interval(secs => ${deadAfterMs / 1000})
        and pool_id is distinct from ${exceptPoolId ?? null}
      returning pool_id`;
    const ids = dead.map((d) => d.pool_id);
    if (ids.length) await tx`select graphile_worker.force_unlock_workers(${ids}::text[])`;
    return ids;
  });
}

/** Whether any worker pool (in any process) beat recently: the jobs have someone to run them. */
export async function anyWorkerAlive(sql: Sql, deadAfterMs: number): Promise<boolean> {
  const [row] = await sql<{ alive: boolean }[]>`
    select exists (select 1 from worker_heartbeats where beat_at >= now() - make_interval(secs => ${deadAfterMs / 1000})) as alive`;
  return row?.alive ?? false;
}

/** Pauses before launching a runner again after it stopped on its own (the database was away too long). */
const RELAUNCH_MIN_MS = 1_000;
const RELAUNCH_MAX_MS = 10_000;

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const { sql, log } = opts;
  const events: WorkerEvents = new EventEmitter() as WorkerEvents;
  let poolId: string | null = null;
  let pool: WorkerPool | null = null;
  events.on('pool:create', ({ workerPool }) => {
    poolId = workerPool.id;
    pool = workerPool;
  });
  // A worker that looked for a job while every queue was locked (graphile-worker locks the
  // available queues while one worker picks) sleeps until the next poll; a finished queued
  // job frees its queue, so wake an idle worker to take the next one at once.
  events.on('job:complete', ({ job }) => {
    if (job.job_queue_id !== null && pool && !pool._shuttingDown) pool.nudge(1);
  });
  events.on('job:error', ({ job, error }) => log?.warn({ jobId: job.id, task: job.task_identifier, err: error }, 'job failed; graphile-worker retries it'));

  // Our own pool, so its error handlers outlive the runner and stop() can wait for it to
  // close: graphile-worker ends a pool it made without waiting, after removing its handlers,
  // and a connection dropped in that window (a database being dropped) would crash us.
  // A connect timeout, so that during an outage the worker's polls fail (and are retried)
  // instead of waiting on a server that does not answer.
  const pgPool = new pg.Pool({
    connectionString: opts.databaseUrl, max: opts.concurrency + 2,
    ...(opts.connectTimeoutMs ? { connectionTimeoutMillis: opts.connectTimeoutMs } : {}),
  });
  const onPoolError = (err: Error) => log?.warn({ err }, 'worker database connection lost');
  pgPool.on('error', onPoolError);
  pgPool.on('connect', (client) => client.on('error', onPoolError));

  let runner: Runner | null = null;
  let stopped = false;
  let relaunchTimer: NodeJS.Timeout | null = null;
  let relaunchDelay = RELAUNCH_MIN_MS;

  const launch = async (): Promise<void> => {
    const started = await run({
      pgPool,
      concurrency: opts.concurrency,
      pollInterval: opts.pollIntervalMs ?? 1000,
      noHandleSignals: true,
      logger: graphileLogger(log),
      events,
      taskList: taskList({ sql, delivery: opts.delivery, ...(opts.channels ? { channels: opts.channels } : {}), ...(log ? { log } : {}) }),
      parsedCronItems: [], // no cron jobs (and no crontab file to look for)
      // Recording a job's completion or failure goes through graphile-worker's batcher (here
      // with no delay), which retries it while the database is away (about five minutes)
      // and stops the pool cleanly if it stays away. Unbatched, a completion that meets a
      // lost connection is a promise nobody handles, and Node ends the process.
      preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    });
    runner = started;
    relaunchDelay = RELAUNCH_MIN_MS;
    const ended = (err?: unknown) => {
      if (stopped || runner !== started) return;
      runner = null;
      log?.error({ err }, 'the worker pool stopped on its own; starting a new one');
      scheduleLaunch();
    };
    started.promise.then(() => ended(), ended);
  };
  const scheduleLaunch = () => {
    if (stopped || relaunchTimer) return;
    relaunchTimer = setTimeout(() => {
      relaunchTimer = null;
      launch().catch((err) => {
        log?.warn({ err, retryInMs: relaunchDelay }, 'the worker pool could not start; retrying');
        relaunchDelay = Math.min(relaunchDelay * 2, RELAUNCH_MAX_MS);
        scheduleLaunch();
      });
    }, relaunchDelay);
    relaunchTimer.unref();
  };

  await launch();
  if (!poolId) throw new Error('graphile-worker started without announcing its pool');

  let lastBeat = 0;
  const beat = async () => {
    // Beats name the running pool; a pool launched again beats under its new id, and the
    // old one's row ages out and is reaped like a dead process's.
    const id = runner ? poolId : null;
    if (id) {
      await sql`
        insert into worker_heartbeats (pool_id, hostname, pid) values (${id}, ${hostname()}, ${process.pid})
        on conflict (pool_id) do update set beat_at = now()`;
      lastBeat = Date.now();
    }
    const reaped = await reapDeadWorkers(sql, opts.deadAfterMs, id ?? undefined);
    if (reaped.length) log?.warn({ pools: reaped }, 'released the jobs of worker pools that stopped beating');
    await sql`select drain_job_outbox()`;
    await sql`select purge_rate_limit_hits()`;
  };
  await beat();
  const timer = setInterval(() => {
    beat().catch((err) => log?.error({ err }, 'worker heartbeat failed'));
  }, opts.heartbeatMs);
  timer.unref();

  return {
    get poolId() {
      return poolId!;
    },
    healthy: () => !stopped && runner !== null && Date.now() - lastBeat < Math.max(3 * opts.heartbeatMs, opts.heartbeatMs + 5_000),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (relaunchTimer) clearTimeout(relaunchTimer);
      const id = poolId;
      await runner?.stop();
      await sql`delete from worker_heartbeats where pool_id = ${id}`.catch(() => {});
      await pgPool.end();
    },
  };
}
