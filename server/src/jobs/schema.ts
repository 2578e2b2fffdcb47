import { runMigrations } from 'graphile-worker';
import type { Sql } from '../db/connect.ts';
import { underMigrationLock } from '../db/migrate.ts';
import { graphileLogger, type LogSink } from './logging.ts';

/**
 * Installs (or upgrades) graphile-worker's own schema, then moves any jobs that events
 * parked in job_outbox before it existed and makes sure the expiry sweep is scheduled. Run
 * at every start, after migrate(), by the server and by `npm run worker`, whether or not
 * this process runs a worker: the events' trigger adds jobs in every appending transaction.
 * `sql` and `databaseUrl` connect as the owner (MIGRATION_DATABASE_URL), never as the
 * application's restricted role.
 */
export async function installJobSchema(sql: Sql, databaseUrl: string, log?: LogSink): Promise<{ drained: number }> {
  // Under the migration lock, which every other schema change and grant also holds: the
  // application role's grants on graphile-worker's tables (new after a first install or an
  // upgrade) must not run beside another process creating or altering those tables.
  return underMigrationLock(sql, async (tx) => {
    await runMigrations({ connectionString: databaseUrl, logger: graphileLogger(log), maxPoolSize: 1 });
    await tx`select grant_app_privileges()`;
    const [row] = await tx<{ n: number }[]>`select drain_job_outbox() as n`;
    // The expiry sweep, should it have been lost (see ensure_expiry_sweep in projections/50_jobs.sql).
    await tx`select ensure_expiry_sweep()`;
    return { drained: row?.n ?? 0 };
  });
}
