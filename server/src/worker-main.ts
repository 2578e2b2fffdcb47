/**
 * `npm run worker`: a background worker process without the HTTP server (run as many as
 * you like, beside servers started with WORKER_ENABLED=false or not). It migrates like
 * the server (as the owner, MIGRATION_DATABASE_URL), installs graphile-worker's schema, then
 * runs jobs as the application's role (DATABASE_URL) until SIGTERM/SIGINT,
 * when it finishes the jobs in hand and releases the rest.
 */
import { channelsFromConfig, closeChannels } from './channels/registry.ts';
import { connectPools, embeddedUrls } from './db/database.ts';
import { prepareDatabase } from './db/prepare.ts';
import { workerSettings, workerSqlPoolSize } from './jobs/options.ts';
import { startWorker } from './jobs/worker.ts';
import { countCommittedEvents } from './metrics/events.ts';
import { serveWorkerMetrics } from './metrics/worker-endpoint.ts';
import { loadConfigAndLogger, stopOnSignals } from './startup.ts';

async function main() {
  const { config, log } = loadConfigAndLogger();

  // Without DATABASE_URL, the embedded database of a server started from the same folder.
  const urls = config.DATABASE_URL
    ? { url: config.DATABASE_URL, migrationUrl: config.MIGRATION_DATABASE_URL ?? config.DATABASE_URL }
    : embeddedUrls(config.DATA_DIR, config.EMBEDDED_PG_PORT);
  const { drained, warnings } = await prepareDatabase(urls, log);
  for (const w of warnings) log.warn(w);
  if (drained) log.info({ jobs: drained }, 'moved parked jobs into the queue');
  const databaseUrl = urls.url;
  // Each call of the worker's own queries has DB_QUERY_TIMEOUT_MS.
  const poolMax = workerSqlPoolSize(config);
  const { sql } = connectPools(databaseUrl, config, { max: poolMax, applicationName: 'agentgate-worker' });

  countCommittedEvents();
  const channels = channelsFromConfig(config, log);
  const worker = await startWorker({ databaseUrl, sql, log, channels, ...workerSettings(config), connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS });
  log.info({ poolIds: worker.poolIds(), concurrency: config.WORKER_CONCURRENCY, channelConcurrency: config.WORKER_CHANNEL_CONCURRENCY }, 'worker started');
  if (config.METRICS_PORT !== undefined && !config.METRICS_TOKEN) log.warn('METRICS_PORT is set without METRICS_TOKEN: the worker serves no metrics');
  const metrics = config.METRICS_PORT !== undefined && config.METRICS_TOKEN
    ? await serveWorkerMetrics({ port: config.METRICS_PORT, token: config.METRICS_TOKEN, sql, poolMax })
    : null;

  // Finish the jobs in hand, release the rest.
  stopOnSignals(log, config.SHUTDOWN_TIMEOUT_MS, 'worker', async () => {
    metrics?.close();
    await worker.stop();
    await closeChannels(channels);
    await sql.end({ timeout: 5 });
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
