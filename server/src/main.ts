/**
 * `npm start`: configuration, database (embedded when DATABASE_URL is unset), migrations as
 * the owner, first admin key, HTTP server as the application's role; graceful shutdown on
 * SIGTERM/SIGINT.
 */
import { channelSettings, channelsFromConfig, closeChannels, discordInteractionSettings, slackInteractionSettings } from './channels/registry.ts';
import { startSlackSocketMode } from './channels/slack-interactions.ts';
import { corsOrigins } from './config.ts';
import { connectPools, openDatabase } from './db/database.ts';
import { EmbeddedPostgresError } from './db/embedded.ts';
import { prepareDatabase } from './db/prepare.ts';
import { buildApp } from './http/app.ts';
import { listenBaseUrl } from './http/public-url.ts';
import { bootstrapAdminKey } from './keys/commands.ts';
import { Live } from './live/live.ts';
import { workerSettings } from './jobs/options.ts';
import { anyWorkerAlive, startWorker } from './jobs/worker.ts';
import { loadConfigAndLogger, stopOnSignals } from './startup.ts';

async function main() {
  const { config, log } = loadConfigAndLogger();

  const db = await openDatabase(config, (m) => log.info(m), { callerHandlesSignals: true });
  // Migrations, projections and graphile-worker's schema (installed even without a worker
  // here: every append may add jobs), as the owner, without a query deadline (they may take
  // long); then everything runs as the app role through `sql`, where each call has
  // DB_QUERY_TIMEOUT_MS.
  const prepared = await prepareDatabase(db, log);
  for (const w of prepared.warnings) log.warn(w);
  if (prepared.migrated?.applied.length) log.info({ migrations: prepared.migrated.applied }, 'migrations applied');
  if (prepared.migrated?.projectionsRebuilt) log.info('projections (re)built from the event log');
  const { sql } = connectPools(db.url, config, { max: config.DB_POOL_SIZE });
  // One LISTEN connection and one log reader for every live client of this process.
  const live = new Live(sql, {
    waitMaxTimeoutSeconds: config.WAIT_MAX_TIMEOUT_SECONDS,
    heartbeatMs: config.WS_HEARTBEAT_MS,
    maxBufferedEvents: config.WS_MAX_BUFFERED_EVENTS,
    authTimeoutMs: config.WS_AUTH_TIMEOUT_MS,
    log,
  });
  await live.start();
  const channels = channelsFromConfig(config, log);
  const slack = slackInteractionSettings(config);
  const discord = discordInteractionSettings(config);
  const stopSocketMode = slack?.appToken ? await startSlackSocketMode(sql, { ...slack, appToken: slack.appToken }) : null;
  const worker = config.WORKER_ENABLED ? await startWorker({ databaseUrl: db.url, sql, log, channels, ...workerSettings(config), connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS }) : null;

  const bootstrap = await bootstrapAdminKey(sql, config.ADMIN_API_KEY);

  const app = await buildApp({
    sql,
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.BODY_LIMIT,
    rateLimitWindowMs: config.RATE_LIMIT_WINDOW_MS,
    trustProxy: config.TRUST_PROXY,
    corsOrigins: corsOrigins(config),
    live,
    webhookAllowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    webhookTimeoutMs: config.WEBHOOK_TIMEOUT_MS,
    requestDefaultTtlSeconds: config.REQUEST_DEFAULT_TTL_SECONDS,
    createGroupCommitMs: config.CREATE_GROUP_COMMIT_MS,
    liveCaps: {
      perKey: {
        longpoll: config.LIVE_MAX_PER_KEY_LONGPOLLS,
        websocket: config.LIVE_MAX_PER_KEY_WEBSOCKETS,
        follower: config.LIVE_MAX_PER_KEY_FOLLOWERS,
      },
      total: config.LIVE_MAX_CONNECTIONS,
    },
    publicUrl: config.PUBLIC_URL,
    http: {
      requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      idleTimeoutMs: config.HTTP_IDLE_TIMEOUT_MS || (config.WAIT_MAX_TIMEOUT_SECONDS + 30) * 1000,
      maxConnections: config.HTTP_MAX_CONNECTIONS,
    },
    jwtSecret: config.JWT_SECRET,
    metricsToken: config.METRICS_TOKEN,
    dbPoolSize: config.DB_POOL_SIZE,
    healthTimeoutMs: config.HEALTH_TIMEOUT_MS,
    ...(slack ? { slack } : {}),
    ...(discord ? { discord } : {}),
    channels: channelSettings(channels),
    healthChecks: {
      // Without a worker in this process, healthy means some `npm run worker` is beating.
      worker: async () => (worker ? worker.healthy() : anyWorkerAlive(sql, config.WORKER_DEAD_AFTER_MS)),
      // Open long-polls, so an operator (or a test about to stop the process) can see them held.
      live: async () => ({ ok: true, details: { openWaits: live.watchCount } }),
    },
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  const url = config.PUBLIC_URL ?? listenBaseUrl(app.server.address());
  if (!config.PUBLIC_URL && config.NODE_ENV !== 'development') {
    log.warn(`PUBLIC_URL is not set: decision links will point at ${url}, which reviewers elsewhere may not reach. Set PUBLIC_URL to the address they use.`);
  }

  console.log(`\nAgentGate is listening on ${url}  (API docs: ${url}/docs)`);
  if (bootstrap.key) {
    console.log('\nFirst start: an admin API key was created. It is shown only now; keep it safe:\n');
    console.log(`    ${bootstrap.key}\n`);
  } else if (bootstrap.created) {
    console.log('Seeded the admin key from ADMIN_API_KEY.');
  }

  // No new connections; requests in flight get half the budget, then connections that
  // never sent a request (which Node does not count as idle) are closed too, or close()
  // would wait for the client's own timeout.
  stopOnSignals(log, config.SHUTDOWN_TIMEOUT_MS, 'server', async () => {
    const closing = app.close();
    const grace = setTimeout(() => app.server.closeAllConnections(), config.SHUTDOWN_TIMEOUT_MS / 2);
    grace.unref();
    await closing;
    clearTimeout(grace);
    await live.stop();
    await worker?.stop();
    await stopSocketMode?.();
    await closeChannels(channels);
    await sql.end({ timeout: 5 });
    await db.stop();
  });
}

main().catch((err) => {
  // What the operator must fix is said in one sentence; anything else keeps its stack.
  console.error(err instanceof EmbeddedPostgresError ? err.message : err);
  process.exit(1);
});
