import postgres from 'postgres';

export type Sql = postgres.Sql<{ bigint: number }>;
export type TxSql = postgres.TransactionSql<{ bigint: number }>;

export interface ConnectOptions {
  max?: number;
  applicationName?: string;
  /** Seconds to wait for a connection before failing (postgres.js default: 30). */
  connectTimeout?: number;
}

/** One pool per process. jsonb arrives parsed; int8 (event positions) as JS numbers. */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    ...(options.connectTimeout !== undefined ? { connect_timeout: options.connectTimeout } : {}),
    connection: { application_name: options.applicationName ?? 'agentgate' },
    types: {
      // Positions stay far below 2^53 in any realistic log; numbers keep JSON simple.
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
  });
}
