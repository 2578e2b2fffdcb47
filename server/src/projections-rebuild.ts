/**
 * `npm run projections:rebuild`: drops every read table and replays the whole event log
 * through the projection functions, so the tables are exactly what the events say.
 * Safe next to running servers: appends wait for the rebuild (SHARE lock on events)
 * and carry on after it. Runs as the owner (MIGRATION_DATABASE_URL, else DATABASE_URL);
 * the application role's grants on the new tables are restored in the same transaction.
 */
import { performance } from 'node:perf_hooks';
import type { Config } from './config.ts';
import { connect } from './db/connect.ts';
import { embeddedUrls, openDatabase, type Database } from './db/database.ts';
import { migrate, rebuildProjections } from './db/migrate.ts';
import { mayMigrate, roleFacts } from './db/roles.ts';
import { loadConfigOrExit } from './startup.ts';

/** Long enough for a busy server, short enough that a wrong host fails while someone is watching. */
const CONNECT_TIMEOUT_S = 10;

/** The URL without its password, fit for an error message. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

async function probe(url: string, timeoutS: number): Promise<Error | null> {
  const sql = connect(url, { max: 1, connectTimeout: timeoutS, applicationName: 'agentgate-projections-rebuild' });
  try {
    await sql`select 1`;
    return null;
  } catch (err) {
    return err as Error;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

class Unreachable extends Error {}

/**
 * DATABASE_URL when set. Otherwise the embedded PostgreSQL: the one a running server
 * already started on EMBEDDED_PG_PORT (a second postmaster cannot open the same data
 * folder), or one started here for the rebuild and stopped after it.
 */
async function database(config: Config): Promise<Database> {
  if (config.DATABASE_URL) {
    // The rebuild drops and recreates the read tables: the owner's work.
    const migrationUrl = config.MIGRATION_DATABASE_URL ?? config.DATABASE_URL;
    const failure = await probe(migrationUrl, CONNECT_TIMEOUT_S);
    if (failure) {
      throw new Unreachable(`Cannot reach the database at ${shown(migrationUrl)}: ${failure.message}.`);
    }
    return { url: config.DATABASE_URL, migrationUrl, embedded: false, stop: async () => {} };
  }
  const running = embeddedUrls(config.DATA_DIR, config.EMBEDDED_PG_PORT);
  if ((await probe(running.migrationUrl, 2)) === null) return { ...running, embedded: true, stop: async () => {} };
  try {
    return await openDatabase(config, (m) => console.log(m));
  } catch (err) {
    throw new Unreachable(`Cannot start the embedded PostgreSQL under ${config.DATA_DIR}: ${(err as Error).message}.`);
  }
}

async function main(): Promise<number> {
  const { config, warnings } = loadConfigOrExit();
  for (const w of warnings) console.error(`warning: ${w}`);

  let db: Database;
  try {
    db = await database(config);
  } catch (err) {
    if (err instanceof Unreachable) {
      console.error(`${err.message}\nNothing was rebuilt. Check DATABASE_URL and that PostgreSQL is running.`);
      return 1;
    }
    throw err;
  }

  const sql = connect(db.migrationUrl, { max: 1, connectTimeout: CONNECT_TIMEOUT_S, applicationName: 'agentgate-projections-rebuild' });
  try {
    const role = await roleFacts(sql);
    if (!mayMigrate(role)) {
      console.error(`The role "${role.name}" may not rebuild the projections (it does not own them): set MIGRATION_DATABASE_URL to a connection as the owner.\nNothing was rebuilt.`);
      return 1;
    }
    const migrated = await migrate(sql);
    if (migrated.applied.length) console.log(`Applied migrations: ${migrated.applied.join(', ')}`);
    const started = performance.now();
    const { events } = await rebuildProjections(sql);
    const ms = Math.round(performance.now() - started);
    console.log(`Projections rebuilt: replayed ${events} event${events === 1 ? '' : 's'} in ${ms} ms.`);
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
    await db.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
