/** Start-up shared by the entry points: `npm start`, `npm run worker`, `npm run projections:rebuild`. */
import pino, { type Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.ts';

/** A bad setting ends the process with its message alone: a stack trace would hide what to fix. */
export function loadConfigOrExit(): { config: Config; warnings: string[] } {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

/** The configuration and a logger at its LOG_LEVEL that has already reported the configuration's warnings. */
export function loadConfigAndLogger(): { config: Config; log: Logger } {
  const { config, warnings } = loadConfigOrExit();
  const log = pino({ level: config.LOG_LEVEL });
  for (const w of warnings) log.warn(w);
  return { config, log };
}

/**
 * Runs `stop` once on the first SIGTERM or SIGINT, then exits 0 (1 if it throws or outlasts
 * `timeoutMs`). A second signal while stopping is ignored rather than cutting the stop short.
 */
export function stopOnSignals(log: Logger, timeoutMs: number, what: string, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, `${what} shutting down`);
    const timer = setTimeout(() => {
      log.error(`${what} shutdown timed out; exiting`);
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    try {
      await stop();
      log.info(`${what} stopped`);
      process.exit(0);
    } catch (err) {
      log.error({ err }, `error during ${what} shutdown`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
