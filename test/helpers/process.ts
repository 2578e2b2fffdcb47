/** Real server processes for tests: `node --import tsx server/src/main.ts` on a free port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { ROOT_DIR } from '../../server/src/db/paths.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  base: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

/** Starts the server with `env` added to this process's environment and waits for /health. */
export async function startServerProcess(
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
  /** What node runs: the sources through tsx by default; the bundle is server/dist/bin/main.js. */
  args: string[] = ['--import', 'tsx', 'server/src/main.ts'],
): Promise<ServerProcess> {
  const port = await freePort();
  const childEnv: Record<string, string | undefined> = { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'silent', ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const child = spawn(process.execPath, args, {
    cwd: ROOT_DIR,
    env: childEnv as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => { output += String(d); });
  child.stderr!.on('data', (d) => { output += String(d); });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${output}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { base, child, exited, output: () => output };
}

/** Waits until the server reports at least `count` long-polls held open (GET /health?deep=true, shown to a key). */
export async function heldWaits(base: string, count: number, key: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: unknown;
  for (;;) {
    const body = await (await fetch(`${base}/health?deep=true`, { headers: { authorization: `Bearer ${key}` } })).json() as { checks?: { live?: { details?: { openWaits?: number } } } };
    seen = body.checks?.live?.details?.openWaits;
    if (typeof seen === 'number' && seen >= count) return;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${count} held long-poll(s); the server reports ${String(seen)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * `node` arguments that run a client's sources (`clients/<name>/src/main.ts`) the way the
 * workspace's tests use them: through tsx, with `@agentgate/sdk` resolved to its sources.
 * The built packages are tested from their tarballs in test/clients/packages.test.ts.
 */
export function clientSourceArgs(name: 'cli' | 'mcp'): string[] {
  return ['--import', 'tsx', '--conditions=@agentgate/source', `${ROOT_DIR}/clients/${name}/src/main.ts`];
}
