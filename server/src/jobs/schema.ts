import { runMigrations } from 'graphile-worker';
import type { Sql } from '../db/connect.ts';
import { grantAppPrivileges } from '../db/migrate.ts';
import { graphileLogger, type LogSink } from './logging.ts';

/**
 * Installs (or upgrades) graphile-worker's own schema, then moves any jobs that events
 * parked in job_outbox before it existed. Run at every start, after migrate(), by the
 * server and by `npm run worker`, whether or not this process runs a worker: the
 * events' trigger adds jobs in every appending transaction. `sql` and `databaseUrl` connect
 * as the owner (MIGRATION_DATABASE_URL), never as the application's restricted role.
 */
export async function installJobSchema(sql: Sql, databaseUrl: string, log?: LogSink): Promise<{ drained: number }> {
  await runMigrations({ connectionString: databaseUrl, logger: graphileLogger(log), maxPoolSize: 1 });
  // Its tables are new after a first install or an upgrade: the application role's grants follow.
  await grantAppPrivileges(sql);
  const [row] = await sql<{ n: number }[]>`select drain_job_outbox() as n`;
  return { drained: row?.n ?? 0 };
}
