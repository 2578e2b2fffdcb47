import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { connect, type Sql } from '../../server/src/db/connect.ts';
import { migrate } from '../../server/src/db/migrate.ts';

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, migrated database of its own for one test file, dropped at teardown. */
export async function testDatabase(t: Test, opts: { migrate?: boolean; poolSize?: number } = {}): Promise<{ url: string; sql: Sql; name: string }> {
  const name = `agentgate_test_${randomBytes(6).toString('hex')}`;
  const admin = connect(SERVER_URL, { max: 1 });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const sql = connect(url.toString(), { max: opts.poolSize ?? 10 });
  if (opts.migrate !== false) await migrate(sql);
  t.teardown(async () => {
    await sql.end({ timeout: 1 });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  return { url: url.toString(), sql, name };
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
