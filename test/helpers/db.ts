import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { connect, type Sql } from '../../server/src/db/connect.ts';
import { migrate } from '../../server/src/db/migrate.ts';

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * The two roles of a production set-up, shared by every test database of the server (roles
 * are cluster-wide): the owner, which owns each test database and migrates it, and the
 * application's restricted role, which every server, worker and app under test connects as.
 */
export const TEST_OWNER_ROLE = 'agentgate_test_owner';
export const TEST_APP_ROLE = 'agentgate_test_app';
const TEST_ROLE_PASSWORD = 'agentgate-test';

/** `url` (any test database's) connecting as `role` instead. */
function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = TEST_ROLE_PASSWORD;
  return u.toString();
}

/** The same database as the application's restricted role (the server's DATABASE_URL). */
export const appRoleUrl = (url: string) => asRole(url, TEST_APP_ROLE);
/** The same database as its owner (the server's MIGRATION_DATABASE_URL). */
export const ownerRoleUrl = (url: string) => asRole(url, TEST_OWNER_ROLE);
/** A server process's database variables: the application's role, the owner for migrations. */
export const serverDatabaseEnv = (url: string) => ({ DATABASE_URL: appRoleUrl(url), MIGRATION_DATABASE_URL: ownerRoleUrl(url) });

async function ensureTestRoles(admin: Sql): Promise<void> {
  // Test files start together: a concurrent CREATE ROLE fails with either error.
  await admin.unsafe(`
    do $$ begin
      create role ${TEST_OWNER_ROLE} login password '${TEST_ROLE_PASSWORD}';
    exception when duplicate_object or unique_violation then null;
    end $$;
    do $$ begin
      create role ${TEST_APP_ROLE} login password '${TEST_ROLE_PASSWORD}';
    exception when duplicate_object or unique_violation then null;
    end $$;`);
}

export interface TestDatabase {
  /** The database as the server's superuser: for tests' own set-up and inspection. */
  url: string;
  sql: Sql;
  name: string;
  /** The application's restricted role on the same database. */
  appUrl: string;
  /** The owner of the database and its tables. */
  ownerUrl: string;
}

/**
 * A fresh database of its own for one test file, owned by the owner role and migrated by
 * it (the application role recorded and granted its privileges), dropped at teardown.
 */
export async function testDatabase(t: Test, opts: { migrate?: boolean; poolSize?: number } = {}): Promise<TestDatabase> {
  const name = `agentgate_test_${randomBytes(6).toString('hex')}`;
  const admin = connect(SERVER_URL, { max: 1 });
  await ensureTestRoles(admin);
  await admin.unsafe(`create database ${name} owner ${TEST_OWNER_ROLE}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const sql = connect(url.toString(), { max: opts.poolSize ?? 10 });
  const appUrl = appRoleUrl(url.toString());
  const ownerUrl = ownerRoleUrl(url.toString());
  t.teardown(async () => {
    await sql.end({ timeout: 1 });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  if (opts.migrate !== false) {
    const owner = connect(ownerUrl, { max: 1 });
    try {
      await migrate(owner, { appRole: TEST_APP_ROLE });
    } finally {
      await owner.end();
    }
  }
  return { url: url.toString(), sql, name, appUrl, ownerUrl };
}

/**
 * The oldest transaction holding an xid anywhere on the server, for the message of a wait
 * that gave up: log readers see nothing newer than it, and other test files share the server.
 */
export async function oldestOpenTransaction(sql: Sql): Promise<string> {
  const [row] = await sql<{ pid: number; datname: string | null; xid: string; xact_start: Date | null; query: string }[]>`
    select pid, datname, backend_xid::text as xid, xact_start, left(query, 300) as query
    from pg_stat_activity where backend_xid is not null order by age(backend_xid) desc limit 1`;
  if (!row) return 'oldest open transaction: none open now';
  return `oldest open transaction: pid ${row.pid} in ${row.datname}, xid ${row.xid}, `
    + `open since ${row.xact_start?.toISOString() ?? '?'}, last query: ${row.query}`;
}
