/**
 * The worker as the benches run it: `server/src/worker-main.ts` (what `npm run worker`
 * runs) as a child process, so it does not share an event loop with the receivers and the
 * load generator, with the settings it was given reported back as it reads them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Sql } from '../server/src/db/connect.ts';
import { ROOT_DIR } from '../server/src/db/paths.ts';
import { loadConfig, type Config } from '../server/src/config.ts';

export interface WorkerProcess {
  child: ChildProcess;
  /** The configuration the worker runs with (its environment, read as it reads it). */
  config: Config;
  /** Resolves once the worker's pools beat in worker_heartbeats. */
  ready(sql: Sql): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a worker process with `env` over this process's environment; `cpuProfDir` writes its V8 CPU profile there. */
export function startWorkerProcess(env: Record<string, string>, opts: { cpuProfDir?: string } = {}): WorkerProcess {
  const fullEnv = { ...process.env, LOG_LEVEL: 'warn', ...env };
  const config = loadConfig(fullEnv).config;
  const child = spawn(process.execPath, [
    ...(opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : []),
    '--import', 'tsx', path.join(ROOT_DIR, 'server/src/worker-main.ts'),
  ], { cwd: ROOT_DIR, env: fullEnv, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    config,
    ready: (sql) => waitUntil(async () => {
      if (child.exitCode !== null) throw new Error('the worker process exited');
      return (await sql`select 1 from worker_heartbeats`).length > 0;
    }, 'the worker to start', 60_000),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls `check` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
