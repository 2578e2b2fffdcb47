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
