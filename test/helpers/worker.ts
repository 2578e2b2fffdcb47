/**
 * Background jobs in tests: graphile-worker's schema on the test database, an in-process
 * worker with fast polling and small retry delays, or a real `npm run worker` child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Test } from 'tap';
import { connect, type Sql } from '../../server/src/db/connect.ts';
import { ROOT_DIR } from '../../server/src/db/paths.ts';
import { installJobSchema } from '../../server/src/jobs/schema.ts';
import { startWorker, type RunningWorker, type WorkerOptions } from '../../server/src/jobs/worker.ts';
import { appRoleUrl, ownerRoleUrl } from './db.ts';

export const FAST = {
  pollIntervalMs: 50,
  heartbeatMs: 200,
  deadAfterMs: 1500,
  retryBaseMs: 50,
};

/**
 * graphile-worker's schema on the test database, installed as its owner as servers do
 * (`dbUrl` names the database; `_sql` is kept for the callers' shape).
 */
export async function jobSchema(_sql: Sql, dbUrl: string) {
  const ownerUrl = ownerRoleUrl(dbUrl);
  const owner = connect(ownerUrl, { max: 1 });
  try {
    return await installJobSchema(owner, ownerUrl);
  } finally {
    await owner.end({ timeout: 1 });
  }
}

/**
 * A worker in this process on the database of `dbUrl`: graphile-worker's schema installed by
 * the owner, the worker itself run as the application's role, as in a server.
 */
export async function inProcessWorker(t: Test, sql: Sql, dbUrl: string, opts: Partial<WorkerOptions> = {}): Promise<RunningWorker> {
  await jobSchema(sql, dbUrl);
  const appUrl = appRoleUrl(dbUrl);
  const appSql = connect(appUrl, { max: 7 });
  const worker = await startWorker({
    databaseUrl: appUrl,
    sql: appSql,
    concurrency: 5,
    channelConcurrency: 5,
    heartbeatMs: FAST.heartbeatMs,
    deadAfterMs: FAST.deadAfterMs,
    pollIntervalMs: FAST.pollIntervalMs,
    delivery: { allowPrivate: true, timeoutMs: 5000, retry: { baseMs: FAST.retryBaseMs, maxMs: 60_000 } },
    ...opts,
  });
  t.teardown(async () => {
    await worker.stop();
    await appSql.end({ timeout: 1 });
  });
  return worker;
}

export interface ChildWorker {
  child: ChildProcess;
  output: () => string;
  /** SIGKILL: no graceful shutdown, its locks stay behind. */
  kill9(): Promise<void>;
}

/** `npm run worker` as a real child process on the test database, as the application's role (the owner migrates). */
export function childWorker(t: Test, dbUrl: string, env: Record<string, string> = {}): ChildWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT_DIR, 'server/src/worker-main.ts')], {
    cwd: ROOT_DIR,
    env: {
      ...process.env,
      DATABASE_URL: appRoleUrl(dbUrl),
      MIGRATION_DATABASE_URL: ownerRoleUrl(dbUrl),
      LOG_LEVEL: 'warn',
      WORKER_POLL_INTERVAL_MS: String(FAST.pollIntervalMs),
      WORKER_HEARTBEAT_MS: String(FAST.heartbeatMs),
      WORKER_DEAD_AFTER_MS: String(FAST.deadAfterMs),
      WEBHOOK_RETRY_BASE_MS: String(FAST.retryBaseMs),
      WEBHOOK_ALLOW_PRIVATE: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill9 = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  t.teardown(kill9);
  return { child, output: () => out, kill9 };
}

/** Polls until `check` returns a truthy value (or fails after `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function jobCount(sql: Sql, task?: string): Promise<number> {
  const [row] = task
    ? await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where task_identifier = ${task}`
    : await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs`;
  return row!.n;
}
