import type { Config } from '../config.ts';
import { connect, type Sql } from './connect.ts';
import { withQueryDeadline } from './deadline.ts';
import { startEmbeddedPostgres } from './embedded.ts';

export interface Database {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** DATABASE_URL when given; otherwise an embedded PostgreSQL under DATA_DIR with an `agentgate` database. */
export async function openDatabase(config: Config, log: (msg: string) => void, opts: { callerHandlesSignals?: boolean } = {}): Promise<Database> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: false, stop: async () => {} };
  log(`DATABASE_URL is not set: starting embedded PostgreSQL (data in ${config.DATA_DIR}/postgres, port ${config.EMBEDDED_PG_PORT})`);
  const pg = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log, ...opts });
  const admin: Sql = connect(pg.url, { max: 1 });
  try {
    const [exists] = await admin`select 1 from pg_database where datname = 'agentgate'`;
    if (!exists) await admin`create database agentgate`;
  } finally {
    await admin.end();
  }
  return { url: pg.url.replace(/\/postgres$/, '/agentgate'), embedded: true, stop: pg.stop };
}

export interface Pools {
  /** Unbounded: migrations, graphile-worker's schema, projection rebuilds (they may take long). */
  pool: Sql;
  /** The same pool where every call has DB_QUERY_TIMEOUT_MS (everything the server does at run time). */
  sql: Sql;
}

/** The process's pool with the configured connect timeout and reconnection pace, and its bounded view. */
export function connectPools(url: string, config: Config, opts: { max: number; applicationName?: string }): Pools {
  const pool = connect(url, {
    max: opts.max,
    ...(opts.applicationName ? { applicationName: opts.applicationName } : {}),
    connectTimeout: config.DB_CONNECT_TIMEOUT_MS / 1000,
    reconnectMaxDelayMs: config.DB_RECONNECT_MAX_DELAY_MS,
  });
  return { pool, sql: withQueryDeadline(pool, config.DB_QUERY_TIMEOUT_MS) };
}
