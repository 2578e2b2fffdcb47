import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { connect, type Sql } from './connect.ts';
import { withQueryDeadline } from './deadline.ts';
import { embeddedUrl, startEmbeddedPostgres } from './embedded.ts';
import type { DatabaseUrls } from './prepare.ts';

export interface Database extends DatabaseUrls {
  embedded: boolean;
  stop(): Promise<void>;
}

/** The embedded database's two roles: the owner migrates, the application runs as `app`. */
export const EMBEDDED_OWNER_ROLE = 'agentgate_owner';
export const EMBEDDED_APP_ROLE = 'agentgate_app';

interface EmbeddedRoles {
  owner: { user: string; password: string };
  app: { user: string; password: string };
}

/** Where the embedded roles' generated passwords are kept (readable by this user only). */
export const embeddedRolesFile = (dataDir: string) => path.resolve(dataDir, 'database-roles.json');

function readRoles(dataDir: string): EmbeddedRoles | null {
  const file = embeddedRolesFile(dataDir);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as EmbeddedRoles;
}

function roleUrl(port: number, role: { user: string; password: string }): string {
  const url = new URL(embeddedUrl(port, 'agentgate'));
  url.username = encodeURIComponent(role.user);
  url.password = encodeURIComponent(role.password);
  return url.toString();
}

/**
 * The embedded database's connections, as set up by the server that started it from this
 * DATA_DIR (for `npm run worker` and `npm run projections:rebuild` beside it). Before any
 * such server ran, its superuser for both, as before the roles existed.
 */
export function embeddedUrls(dataDir: string, port: number): DatabaseUrls {
  const roles = readRoles(dataDir);
  if (!roles) {
    const url = embeddedUrl(port, 'agentgate');
    return { url, migrationUrl: url };
  }
  return { url: roleUrl(port, roles.app), migrationUrl: roleUrl(port, roles.owner) };
}

/** Sets a role's password from a bound parameter (utility statements take none directly). */
async function setPassword(admin: Sql, role: string, password: string): Promise<void> {
  await admin.begin(async (tx) => {
    await tx`select set_config('agentgate.role_name', ${role}, true), set_config('agentgate.role_password', ${password}, true)`;
    await tx`
      do $$ begin
        execute format('alter role %I with login password %L', current_setting('agentgate.role_name'), current_setting('agentgate.role_password'));
      end $$`;
  });
}

/**
 * Creates (or re-keys) the owner and application roles of the embedded cluster, with
 * passwords generated once and kept in DATA_DIR/database-roles.json. A database created
 * before the roles existed stays owned by the cluster's superuser, which then migrates it.
 */
async function setUpEmbeddedRoles(admin: Sql, dataDir: string): Promise<EmbeddedRoles> {
  const file = embeddedRolesFile(dataDir);
  const generated = (user: string) => ({ user, password: randomBytes(24).toString('base64url') });
  const roles = readRoles(dataDir) ?? { owner: generated(EMBEDDED_OWNER_ROLE), app: generated(EMBEDDED_APP_ROLE) };
  for (const name of [EMBEDDED_OWNER_ROLE, EMBEDDED_APP_ROLE]) {
    const [exists] = await admin`select 1 from pg_roles where rolname = ${name}`;
    if (!exists) await admin`create role ${admin(name)}`;
  }
  await setPassword(admin, roles.owner.user, roles.owner.password);
  await setPassword(admin, roles.app.user, roles.app.password);
  const [db] = await admin<{ owner: string }[]>`select pg_get_userbyid(datdba) as owner from pg_database where datname = 'agentgate'`;
  if (!db) await admin`create database agentgate owner ${admin(EMBEDDED_OWNER_ROLE)}`;
  else if (db.owner !== EMBEDDED_OWNER_ROLE) roles.owner = { user: 'postgres', password: 'postgres' };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(roles, null, 2)}\n`, { mode: 0o600 });
  return roles;
}

/**
 * DATABASE_URL (with MIGRATION_DATABASE_URL for the owner, when given) or an embedded
 * PostgreSQL under DATA_DIR with an `agentgate` database, owned by its own role, which the
 * server reaches as the restricted application role.
 */
export async function openDatabase(config: Config, log: (msg: string) => void, opts: { callerHandlesSignals?: boolean } = {}): Promise<Database> {
  if (config.DATABASE_URL) {
    return { url: config.DATABASE_URL, migrationUrl: config.MIGRATION_DATABASE_URL ?? config.DATABASE_URL, embedded: false, stop: async () => {} };
  }
  log(`DATABASE_URL is not set: starting embedded PostgreSQL (data in ${config.DATA_DIR}/postgres, port ${config.EMBEDDED_PG_PORT})`);
  const pg = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log, ...opts });
  const admin: Sql = connect(pg.url, { max: 1 });
  let roles: EmbeddedRoles;
  try {
    roles = await setUpEmbeddedRoles(admin, config.DATA_DIR);
  } catch (err) {
    await admin.end();
    await pg.stop();
    throw err;
  }
  await admin.end();
  return {
    url: roleUrl(config.EMBEDDED_PG_PORT, roles.app),
    migrationUrl: roleUrl(config.EMBEDDED_PG_PORT, roles.owner),
    embedded: true,
    stop: pg.stop,
  };
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
