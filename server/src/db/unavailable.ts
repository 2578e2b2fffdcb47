/**
 * Which failures mean "the database cannot be reached (or cannot take us) right now",
 * as opposed to a fault in the query or the data. These answer 503 with Retry-After,
 * never 500: the client did nothing wrong and may try again shortly.
 */

/** A query (or a wait for a pooled connection) outlived DB_QUERY_TIMEOUT_MS. */
export class DatabaseTimeoutError extends Error {
  readonly code = 'DB_QUERY_TIMEOUT';
  constructor(readonly timeoutMs: number, what = 'the database did not answer') {
    super(`${what} within ${timeoutMs} ms`);
    this.name = 'DatabaseTimeoutError';
  }
}

/** Socket-level failures (Node's errno codes) on the way to the server. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH',
  'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL',
]);

/** postgres.js's own connection errors (its `code` on errors it raises itself). */
const DRIVER_CODES = new Set([
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', 'DB_QUERY_TIMEOUT',
]);

/** SQLSTATEs a server sends when it is going away, starting up, or full. */
const SQLSTATES = new Set([
  '57P01', // admin_shutdown: the server is stopping
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or in recovery
  '57P05', // idle_session_timeout
  '53300', // too_many_connections (also a role's CONNECTION LIMIT)
  '53400', // configuration_limit_exceeded
  '57014', // query_canceled: our deadline cancelled it (or statement_timeout)
  '25006', // read_only_sql_transaction: a standby answered during a failover
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseTimeoutError) return true;
  // Node tries each address of a host name in turn and reports every refusal together.
  if (err instanceof AggregateError && err.errors.some(isDatabaseUnavailable)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // Class 08: connection exceptions (connection_failure, protocol violation on connect...).
  return NETWORK_CODES.has(code) || DRIVER_CODES.has(code) || SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code);
}

/** Seconds a client should wait before retrying after an unavailable database. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;
