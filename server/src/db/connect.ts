import postgres from 'postgres';

export type Sql = postgres.Sql<{ bigint: number }>;
export type TxSql = postgres.TransactionSql<{ bigint: number }>;

export interface ConnectOptions {
  max?: number;
  applicationName?: string;
  /** Seconds to wait for a connection before failing (postgres.js default: 30). */
  connectTimeout?: number;
  /**
   * Longest pause between two attempts to reconnect, in ms (default 1000). postgres.js
   * otherwise backs off up to 20 s, so a server back after an outage would wait that
   * long for the pool to try again.
   */
  reconnectMaxDelayMs?: number;
}

export const RECONNECT_MAX_DELAY_MS = 1_000;

/**
 * The pause before reconnection attempt `retries` (postgres.js counts failed attempts in
 * a row; it wants seconds): 100 ms doubling up to the cap, each with jitter so a fleet of
 * connections does not retry in lockstep.
 */
export function reconnectDelaySeconds(retries: number, maxDelayMs = RECONNECT_MAX_DELAY_MS): number {
  const ms = Math.min(maxDelayMs, 50 * 2 ** Math.min(retries, 20));
  return (ms * (0.5 + Math.random() / 2)) / 1000;
}

/** One pool per process. jsonb arrives parsed; int8 (event positions) as JS numbers. */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  const maxDelay = options.reconnectMaxDelayMs ?? RECONNECT_MAX_DELAY_MS;
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    ...(options.connectTimeout !== undefined ? { connect_timeout: options.connectTimeout } : {}),
    // Also used by the LISTEN connection (sql.listen), which reconnects the same way.
    backoff: (retries: number) => reconnectDelaySeconds(retries, maxDelay),
    // JIT compiles a query whose estimated cost is high, and a log without fresh statistics
    // is estimated high: the audit's index probes then spent 100-500 ms compiling for a few
    // ms of work. Every query here is short; none gains from it.
    connection: { application_name: options.applicationName ?? 'agentgate', jit: 'off' },
    types: {
      // Positions stay far below 2^53 in any realistic log; numbers keep JSON simple.
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
  });
}
