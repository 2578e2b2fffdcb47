/**
 * The background worker: graphile-worker pools on the application's database, run inside
 * the server (WORKER_ENABLED) or alone (`npm run worker`). Any number of them share the
 * jobs (SKIP LOCKED); one webhook's deliveries stay in order through its line
 * (webhooks/line.ts), served by one job at a time (its queue).
 *
 * Two runners per process, each a pool of its own that takes only its own tasks:
 *  - general (WORKER_CONCURRENCY): webhook deliveries and expiries;
 *  - channels (WORKER_CHANNEL_CONCURRENCY): notifications, channel tests and sign-in links,
 *    jobs that spend their time waiting on Slack, Discord or an SMTP server. They run many
 *    at once, take their jobs in batches (graphile-worker's local queue: one query locks up
 *    to that many due jobs), and never hold up, nor wait behind, webhook deliveries.
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
import { run, type Runner, type TaskList, type WorkerEvents, type WorkerPool } from 'graphile-worker';
import pg from 'pg';
import type { Sql } from '../db/connect.ts';
import type { Channels } from '../channels/registry.ts';
import type { DeliveryOptions } from '../webhooks/delivery.ts';
import { graphileLogger, type LogSink } from './logging.ts';
import { channelTaskList, generalTaskList, type TaskContext } from './tasks.ts';

export interface WorkerOptions {
  databaseUrl: string;
  sql: Sql;
  /** Jobs at once on the general runner (webhook deliveries, expiries). */
  concurrency: number;
  /** Jobs at once on the channel runner (notifications, channel tests, sign-in links). */
  channelConcurrency: number;
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
  /** The ids of the running pools (one per runner), as they beat in worker_heartbeats. */
  poolIds(): string[];
  /** True while every runner runs and the last heartbeat reached the database recently. */
  healthy(): boolean;
  stop(): Promise<void>;
}

/**
 * Connections of graphile-worker's own pool: each general worker may wait on its own job
 * query; the channel runner fetches for all its workers at once and records completions in
 * batches, so a few serve it whatever its concurrency; plus one LISTEN per runner.
 */
export const CHANNEL_RUNNER_CONNECTIONS = 3;
export const graphilePoolSize = (concurrency: number) => concurrency + CHANNEL_RUNNER_CONNECTIONS + 2;

/** Releases the jobs of pools that stopped beating; returns their ids. */
export async function reapDeadWorkers(sql: Sql, deadAfterMs: number, exceptPoolIds: readonly string[] = []): Promise<string[]> {
  return sql.begin(async (tx) => {
    const dead = await tx<{ pool_id: string }[]>`
      delete from worker_heartbeats
      where beat_at < now() - make_interval(secs => ${deadAfterMs / 1000})
        and pool_id <> all(${exceptPoolIds as string[]}::text[])
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

interface RunnerSpec {
  name: 'general' | 'channels';
  concurrency: number;
  taskList: TaskList;
  /** Jobs locked per fetch (graphile-worker's local queue); unset: each worker fetches its own. */
  batchSize?: number;
}

interface SupervisedRunner {
  readonly name: string;
  /** The running pool's id; null while it is down (between a stop on its own and the relaunch). */
  poolId(): string | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** One graphile-worker runner, started again whenever it stops on its own. */
function superviseRunner(spec: RunnerSpec, shared: { pgPool: pg.Pool; pollIntervalMs: number; log?: LogSink }): SupervisedRunner {
  const { log } = shared;
  const events: WorkerEvents = new EventEmitter() as WorkerEvents;
  let pool: WorkerPool | null = null;
  events.on('pool:create', ({ workerPool }) => {
    pool = workerPool;
  });
  // A worker that looked for a job while every queue was locked (graphile-worker locks the
  // available queues while one worker picks) sleeps until the next poll; a finished queued
  // job frees its queue, so wake an idle worker to take the next one at once.
  events.on('job:complete', ({ job }) => {
    if (job.job_queue_id !== null && pool && !pool._shuttingDown) pool.nudge(1);
  });
  events.on('job:error', ({ job, error }) => log?.warn({ jobId: job.id, task: job.task_identifier, err: error }, 'job failed; graphile-worker retries it'));

  let runner: Runner | null = null;
  let stopped = false;
  let relaunchTimer: NodeJS.Timeout | null = null;
  let relaunchDelay = RELAUNCH_MIN_MS;

  const launch = async (): Promise<void> => {
    const started = await run({
      pgPool: shared.pgPool,
      concurrency: spec.concurrency,
      pollInterval: shared.pollIntervalMs,
      noHandleSignals: true,
      logger: graphileLogger(log),
      events,
      taskList: spec.taskList,
      parsedCronItems: [], // no cron jobs (and no crontab file to look for)
      // Recording a job's completion or failure goes through graphile-worker's batcher (here
      // with no delay), which retries it while the database is away (about five minutes)
      // and stops the pool cleanly if it stays away. Unbatched, a completion that meets a
      // lost connection is a promise nobody handles, and Node ends the process.
      preset: {
        worker: {
          completeJobBatchDelay: 0, failJobBatchDelay: 0,
          ...(spec.batchSize && spec.batchSize > 1 ? { localQueue: { size: spec.batchSize } } : {}),
        },
      },
    });
    if (stopped) {
      // stop() came while this launch was under way: it found no runner to stop.
      await started.stop();
      return;
    }
    runner = started;
    relaunchDelay = RELAUNCH_MIN_MS;
    const ended = (err?: unknown) => {
      if (stopped || runner !== started) return;
      runner = null;
      log?.error({ err, runner: spec.name }, 'a worker pool stopped on its own; starting a new one');
      scheduleLaunch();
    };
    started.promise.then(() => ended(), ended);
  };
  const scheduleLaunch = () => {
    if (stopped || relaunchTimer) return;
    relaunchTimer = setTimeout(() => {
      relaunchTimer = null;
      launch().catch((err) => {
        log?.warn({ err, runner: spec.name, retryInMs: relaunchDelay }, 'a worker pool could not start; retrying');
        relaunchDelay = Math.min(relaunchDelay * 2, RELAUNCH_MAX_MS);
        scheduleLaunch();
      });
    }, relaunchDelay);
    relaunchTimer.unref();
  };

  return {
    name: spec.name,
    poolId: () => (runner && pool ? pool.id : null),
    async start() {
      await launch();
      if (!pool) throw new Error(`graphile-worker started the ${spec.name} runner without announcing its pool`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (relaunchTimer) clearTimeout(relaunchTimer);
      await runner?.stop();
    },
  };
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const { sql, log } = opts;
  // Our own pool, so its error handlers outlive the runners and stop() can wait for it to
  // close: graphile-worker ends a pool it made without waiting, after removing its handlers,
  // and a connection dropped in that window (a database being dropped) would crash us.
  // A connect timeout, so that during an outage the worker's polls fail (and are retried)
  // instead of waiting on a server that does not answer.
  const pgPool = new pg.Pool({
    connectionString: opts.databaseUrl, max: graphilePoolSize(opts.concurrency),
    ...(opts.connectTimeoutMs ? { connectionTimeoutMillis: opts.connectTimeoutMs } : {}),
  });
  const onPoolError = (err: Error) => log?.warn({ err }, 'worker database connection lost');
  pgPool.on('error', onPoolError);
  pgPool.on('connect', (client) => client.on('error', onPoolError));

  const ctx: TaskContext = { sql, delivery: opts.delivery, ...(opts.channels ? { channels: opts.channels } : {}), ...(log ? { log } : {}) };
  const shared = { pgPool, pollIntervalMs: opts.pollIntervalMs ?? 1000, ...(log ? { log } : {}) };
  const runners = [
    superviseRunner({ name: 'general', concurrency: opts.concurrency, taskList: generalTaskList(ctx) }, shared),
    superviseRunner({ name: 'channels', concurrency: opts.channelConcurrency, taskList: channelTaskList(ctx), batchSize: opts.channelConcurrency }, shared),
  ];
  const stopRunners = async () => {
    await Promise.allSettled(runners.map((r) => r.stop()));
  };
  try {
    for (const r of runners) await r.start();
  } catch (err) {
    await stopRunners();
    await pgPool.end();
    throw err;
  }

  const runningIds = () => runners.map((r) => r.poolId()).filter((id): id is string => id !== null);
  let lastBeat = 0;
  const beat = async () => {
    // Beats name the running pools; a pool launched again beats under its new id, and the
    // old one's row ages out and is reaped like a dead process's.
    const ids = runningIds();
    if (ids.length) {
      await sql`
        insert into worker_heartbeats (pool_id, hostname, pid)
        select id, ${hostname()}, ${process.pid} from unnest(${ids}::text[]) as id
        on conflict (pool_id) do update set beat_at = now()`;
      lastBeat = Date.now();
    }
    const reaped = await reapDeadWorkers(sql, opts.deadAfterMs, ids);
    if (reaped.length) log?.warn({ pools: reaped }, 'released the jobs of worker pools that stopped beating');
    await sql`select drain_job_outbox()`;
    await sql`select purge_rate_limit_hits()`;
  };
  await beat();
  const timer = setInterval(() => {
    beat().catch((err) => log?.error({ err }, 'worker heartbeat failed'));
  }, opts.heartbeatMs);
  timer.unref();

  let stopped = false;
  return {
    poolIds: runningIds,
    healthy: () => !stopped && runners.every((r) => r.poolId() !== null)
      && Date.now() - lastBeat < Math.max(3 * opts.heartbeatMs, opts.heartbeatMs + 5_000),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      const ids = runningIds();
      await stopRunners();
      await sql`delete from worker_heartbeats where pool_id = any(${ids}::text[])`.catch(() => {});
      await pgPool.end();
    },
  };
}
