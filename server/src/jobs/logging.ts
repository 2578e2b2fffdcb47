import { Logger, type LogLevel } from 'graphile-worker';

/** The part of a pino logger we use (pino's own type satisfies it). */
export interface LogSink {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** graphile-worker's logs go to our logger (silently when there is none). */
export function graphileLogger(log?: LogSink): Logger {
  return new Logger((scope) => (level: LogLevel, message: string, meta?: object) => {
    if (!log) return;
    const fields = { component: 'graphile-worker', ...scope, ...meta };
    const l = String(level);
    const method = l === 'error' ? 'error' : l === 'warning' ? 'warn' : l === 'info' ? 'info' : 'debug';
    log[method](fields, message);
  });
}
