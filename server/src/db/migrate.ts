import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Sql, TxSql } from './connect.ts';
import { MIGRATIONS_DIR, PROJECTIONS_DIR } from './paths.ts';

/** Serialises schema changes between processes that start together. */
const MIGRATION_LOCK = 727_011_001;

interface SqlFile {
  version: number;
  name: string;
  text: string;
  checksum: string;
}

function readSqlFiles(dir: string): SqlFile[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const text = readFileSync(path.join(dir, f), 'utf8');
      return {
        version: Number(f.split('_')[0]),
        name: f,
        text,
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    });
}

export interface MigrateResult {
  applied: string[];
  projectionsRebuilt: boolean;
}

export interface MigrateOptions {
  /**
   * The role the application connects as (DATABASE_URL), when it is not the role running
   * the migrations: recorded in app_roles and granted exactly the privileges of
   * grant_app_privileges() (sql/0020_app_role.sql).
   */
  appRole?: string;
}

/**
 * Applies every numbered file of `sql/` not yet recorded, each in its own transaction,
 * then installs the projections of `projections/`, rebuilding them from the event log
 * when their SQL changed since the last start.
 */
export async function migrate(sql: Sql, options: MigrateOptions = {}): Promise<MigrateResult> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`
      create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`;
    const done = new Map(
      (await tx<{ version: number; name: string; checksum: string }[]>`select version, name, checksum from schema_migrations`)
        .map((r) => [r.version, r]),
    );
    const applied: string[] = [];
    for (const file of readSqlFiles(MIGRATIONS_DIR)) {
      const previous = done.get(file.version);
      if (previous) {
        if (previous.checksum !== file.checksum) {
          throw new Error(`migration ${file.name} changed after it was applied; add a new numbered file instead`);
        }
        continue;
      }
      await tx.unsafe(file.text);
      await tx`insert into schema_migrations (version, name, checksum) values (${file.version}, ${file.name}, ${file.checksum})`;
      applied.push(file.name);
    }
    if (options.appRole) {
      await tx`insert into app_roles (role_name) select ${options.appRole} where ${options.appRole} <> current_user on conflict do nothing`;
    }
    const projectionsRebuilt = await installProjections(tx, false);
    // Every start: a new migration's table, or a role recorded by another process.
    await tx`select grant_app_privileges()`;
    return { applied, projectionsRebuilt };
  });
}

export function projectionChecksum(): string {
  const h = createHash('sha256');
  for (const f of readSqlFiles(PROJECTIONS_DIR)) h.update(f.name).update('\0').update(f.text);
  return h.digest('hex');
}

/**
 * (Re)creates every projection table and apply function, then replays the whole log
 * through the same functions the live append path uses. Skipped when nothing changed
 * unless `force` is set. Appends wait for the rebuild (SHARE lock on events).
 */
export async function installProjections(tx: TxSql, force: boolean): Promise<boolean> {
  await tx`create table if not exists projection_state (id boolean primary key default true check (id), checksum text not null, rebuilt_at timestamptz not null)`;
  const checksum = projectionChecksum();
  const [current] = await tx<{ checksum: string }[]>`select checksum from projection_state`;
  if (!force && current?.checksum === checksum) return false;
  // SHARE mode needs UPDATE, DELETE or TRUNCATE on the table, which the owner revoked from
  // itself (sql/0001_events.sql). It takes TRUNCATE back for one statement, inside this
  // transaction: the lock holds until commit, the grant never commits.
  await tx.unsafe(`
    do $$ begin
      if has_table_privilege('events', 'UPDATE, DELETE, TRUNCATE') then
        lock table events in share mode;
      else
        execute format('grant truncate on events to %I', current_user);
        lock table events in share mode;
        execute format('revoke truncate on events from %I', current_user);
      end if;
    end $$`);
  for (const file of readSqlFiles(PROJECTIONS_DIR)) await tx.unsafe(file.text);
  // Same order as live appends within a stream; positions order each stream's versions.
  await tx.unsafe(`
    do $$
    declare e events;
    begin
      for e in select * from events order by position loop
        perform apply_event(e);
      end loop;
    end $$`);
  await tx`
    insert into projection_state (id, checksum, rebuilt_at) values (true, ${checksum}, now())
    on conflict (id) do update set checksum = excluded.checksum, rebuilt_at = excluded.rebuilt_at`;
  // The read tables were recreated without the application role's SELECT; granted again
  // in the same transaction, so no reader ever finds a table it may not read.
  await tx`select grant_app_privileges()`;
  return true;
}

/** Rebuilds every projection from the log now; returns how many events were replayed. */
export async function rebuildProjections(sql: Sql): Promise<{ events: number }> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await installProjections(tx, true);
    // The SHARE lock taken by the rebuild holds until commit, so this is the replayed count.
    const [row] = await tx<{ n: number }[]>`select count(*)::int as n from events`;
    return { events: row?.n ?? 0 };
  });
}

/**
 * Runs `work` in a transaction holding the migration lock. Everything that creates, alters
 * or grants on this database's tables takes it: a GRANT beside another process's CREATE or
 * ALTER of the same table (servers and workers starting together on a fresh database) fails
 * with "tuple concurrently updated".
 */
export async function underMigrationLock<T>(sql: Sql, work: (tx: TxSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    return work(tx);
  }) as Promise<T>;
}

/** Migration files of `sql/` not recorded as applied in this database (readiness: none may be left). */
export async function pendingMigrations(sql: Sql): Promise<string[]> {
  const [table] = await sql<{ exists: boolean }[]>`select to_regclass('schema_migrations') is not null as exists`;
  const done = new Set(table?.exists ? (await sql<{ version: number }[]>`select version from schema_migrations`).map((r) => r.version) : []);
  return readSqlFiles(MIGRATIONS_DIR).filter((f) => !done.has(f.version)).map((f) => f.name);
}
