import { installJobSchema } from '../jobs/schema.ts';
import type { LogSink } from '../jobs/logging.ts';
import { connect } from './connect.ts';
import { migrate, pendingMigrations, projectionChecksum, type MigrateResult } from './migrate.ts';
import { mayMigrate, privilegeWarnings, roleFacts } from './roles.ts';

export interface DatabaseUrls {
  /** The application's connection (DATABASE_URL). */
  url: string;
  /** The owner's connection (MIGRATION_DATABASE_URL); the same as `url` in a single-role set-up. */
  migrationUrl: string;
}

export interface Prepared {
  /** Null when nothing could be (or had to be) migrated through the application's own role. */
  migrated: MigrateResult | null;
  /** Jobs moved from job_outbox into graphile-worker. */
  drained: number;
  /** The role the application connects as. */
  appRole: string;
  /** Said at start when the application's role holds more than it needs. */
  warnings: string[];
}

/**
 * Everything a process needs before it serves or runs jobs: migrations, projections and
 * graphile-worker's schema, applied as the owner, with the application's role recorded and
 * granted its privileges. With one URL for both, a role that owns the tables (or a
 * superuser) migrates as before and is warned about; a restricted role runs only when
 * nothing is left to apply, and otherwise says which variable to set.
 */
export async function prepareDatabase(urls: DatabaseUrls, log?: LogSink): Promise<Prepared> {
  const app = connect(urls.url, { max: 1, applicationName: 'agentgate-migrate' });
  try {
    const before = await roleFacts(app);
    let migrated: MigrateResult | null = null;
    let drained = 0;
    if (urls.migrationUrl !== urls.url) {
      const owner = connect(urls.migrationUrl, { max: 1, applicationName: 'agentgate-migrate' });
      try {
        migrated = await migrate(owner, { appRole: before.name });
        ({ drained } = await installJobSchema(owner, urls.migrationUrl, log));
      } finally {
        await owner.end({ timeout: 5 });
      }
    } else if (mayMigrate(before)) {
      migrated = await migrate(app);
      ({ drained } = await installJobSchema(app, urls.url, log));
    } else {
      await assertNothingToApply(app, before.name);
      const [row] = await app<{ n: number }[]>`select drain_job_outbox() as n`;
      drained = row?.n ?? 0;
    }
    return { migrated, drained, appRole: before.name, warnings: privilegeWarnings(await roleFacts(app)) };
  } finally {
    await app.end({ timeout: 5 });
  }
}

async function assertNothingToApply(sql: ReturnType<typeof connect>, role: string): Promise<void> {
  const pending = await pendingMigrations(sql);
  const [state] = await sql<{ checksum: string }[]>`select checksum from projection_state`;
  const [jobs] = await sql<{ installed: boolean }[]>`select to_regnamespace('graphile_worker') is not null as installed`;
  const left = [
    ...pending,
    ...(state?.checksum === projectionChecksum() ? [] : ['the projections']),
    ...(jobs?.installed ? [] : ["graphile-worker's schema"]),
  ];
  if (left.length) {
    throw new Error(
      `The database needs ${left.join(', ')} applied, which the role "${role}" of DATABASE_URL may not do: ` +
      'set MIGRATION_DATABASE_URL to a connection as the owner of the tables (docs/operations.md, "Database roles").',
    );
  }
}
