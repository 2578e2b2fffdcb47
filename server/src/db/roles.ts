/**
 * The two database roles: the owner, which runs migrations, installs graphile-worker's
 * schema and rebuilds projections, and the application's role, which the running server
 * and workers connect as. The application role may read everything and append to
 * `events`, never change or remove an event (sql/0020_app_role.sql).
 */
import type { Sql } from './connect.ts';

export interface RoleFacts {
  name: string;
  superuser: boolean;
  /** Owns `events` (or is a member of its owner): it could drop its triggers or grant itself anything. */
  ownsEvents: boolean;
  /** Whether `events` exists yet (a fresh database has no tables). */
  eventsExists: boolean;
}

export async function roleFacts(sql: Sql): Promise<RoleFacts> {
  const [row] = await sql<RoleFacts[]>`
    select current_user as name,
      (select rolsuper from pg_roles where rolname = current_user) as superuser,
      coalesce((select pg_has_role(current_user, c.relowner, 'USAGE') from pg_class c where c.oid = to_regclass('events')), false) as "ownsEvents",
      to_regclass('events') is not null as "eventsExists"`;
  return row!;
}

/** True when this role may apply migrations: a superuser, the owner, or a database without tables yet. */
export const mayMigrate = (r: RoleFacts) => r.superuser || r.ownsEvents || !r.eventsExists;

/** What an operator should hear at start when the application's connection holds more than it needs. */
export function privilegeWarnings(r: RoleFacts): string[] {
  const fix = 'connect DATABASE_URL as a role holding only the application\'s privileges and give the owner\'s connection as MIGRATION_DATABASE_URL (docs/operations.md, "Database roles")';
  if (r.superuser) {
    return [`The server connects to PostgreSQL as "${r.name}", a superuser: it could disable the triggers that keep the event log append-only. For production, ${fix}.`];
  }
  if (r.ownsEvents) {
    return [`The server connects to PostgreSQL as "${r.name}", which owns the event log: it could drop the triggers or grant itself UPDATE and DELETE. For production, ${fix}.`];
  }
  return [];
}
