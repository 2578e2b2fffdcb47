import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Server configuration, read once from the environment and validated at start.
 * Every secret may also come from `NAME_FILE` (a path whose contents are trimmed);
 * an explicit `NAME` wins over `NAME_FILE`.
 */
export const SECRET_VARIABLES = [
  'DATABASE_URL', 'MIGRATION_DATABASE_URL', 'ADMIN_API_KEY', 'JWT_SECRET', 'METRICS_TOKEN',
  'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'DISCORD_BOT_TOKEN', 'SMTP_URL', 'SMTP_PASS',
] as const;

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const ConfigSchema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.url().optional(),
  // "development" silences the warning about an unset PUBLIC_URL; nothing else depends on it.
  NODE_ENV: z.string().min(1).default('production'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  // The owner's connection, for migrations, graphile-worker's schema and projection
  // rebuilds; DATABASE_URL is then the application's own, restricted role. Unset: DATABASE_URL does both.
  MIGRATION_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  EMBEDDED_PG_PORT: int(1, 65535).default(5439),
  DB_POOL_SIZE: int(1, 200).default(10),
  // A database outage gives fast answers: no call waits on the database longer than
  // DB_QUERY_TIMEOUT_MS (then 503), a connection attempt gives up after
  // DB_CONNECT_TIMEOUT_MS, reconnection attempts are at most DB_RECONNECT_MAX_DELAY_MS
  // apart, and GET /health?deep=true answers within HEALTH_TIMEOUT_MS.
  DB_QUERY_TIMEOUT_MS: int(100, 600_000).default(5_000),
  DB_CONNECT_TIMEOUT_MS: int(100, 600_000).default(3_000),
  DB_RECONNECT_MAX_DELAY_MS: int(50, 60_000).default(1_000),
  HEALTH_TIMEOUT_MS: int(100, 60_000).default(2_000),
  ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  CORS_ORIGINS: z.string().default(''),
  BODY_LIMIT: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: bool.default(false),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  // Slow and idle clients: the whole request (headers and body) must arrive within
  // HTTP_REQUEST_TIMEOUT_MS, its headers within HTTP_HEADERS_TIMEOUT_MS; an idle kept-alive
  // connection closes after HTTP_KEEP_ALIVE_TIMEOUT_MS; a socket silent for
  // HTTP_IDLE_TIMEOUT_MS closes (0 = WAIT_MAX_TIMEOUT_SECONDS + 30 s, so long-polls live);
  // at most HTTP_MAX_CONNECTIONS sockets are open at once.
  HTTP_REQUEST_TIMEOUT_MS: int(1_000, 3_600_000).default(30_000),
  HTTP_HEADERS_TIMEOUT_MS: int(1_000, 3_600_000).default(10_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(1_000, 3_600_000).default(72_000),
  HTTP_IDLE_TIMEOUT_MS: int(0, 7_200_000).default(0),
  HTTP_MAX_CONNECTIONS: int(1, 1_000_000).default(10_000),
  RATE_LIMIT_WINDOW_MS: int(1000, 3_600_000).default(60_000),
  // Live updates: long-poll bound, WebSocket heartbeat and slow-consumer bound, auth grace.
  // At least 30: clients (ours and AgentGate's) hold 30-second polls.
  WAIT_MAX_TIMEOUT_SECONDS: int(30, 3600).default(300),
  WS_HEARTBEAT_MS: int(1000, 600_000).default(25_000),
  WS_MAX_BUFFERED_EVENTS: int(10, 1_000_000).default(10_000),
  WS_AUTH_TIMEOUT_MS: int(100, 60_000).default(5_000),
  // Open live connections a key may hold at once in one server process, by kind, and the
  // process's total (see server/src/live/limits.ts); more answer 429 / close 4029.
  LIVE_MAX_PER_KEY_LONGPOLLS: int(1, 1_000_000).default(100),
  LIVE_MAX_PER_KEY_WEBSOCKETS: int(1, 1_000_000).default(20),
  LIVE_MAX_PER_KEY_FOLLOWERS: int(1, 1_000_000).default(5),
  LIVE_MAX_CONNECTIONS: int(1, 10_000_000).default(5_000),
  // Background jobs (graphile-worker): in this process, or only in `npm run worker` processes.
  WORKER_ENABLED: bool.default(true),
  WORKER_CONCURRENCY: int(1, 100).default(5),
  // Notifications, channel tests and sign-in links run on a runner of their own: they mostly
  // wait on Slack, Discord and SMTP, so many run at once (see server/src/jobs/worker.ts).
  WORKER_CHANNEL_CONCURRENCY: int(1, 200).default(20),
  WORKER_POLL_INTERVAL_MS: int(50, 60_000).default(1_000),
  WORKER_HEARTBEAT_MS: int(100, 60_000).default(5_000),
  WORKER_DEAD_AFTER_MS: int(1_000, 3_600_000).default(30_000),
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  WEBHOOK_RETRY_BASE_MS: int(1, 3_600_000).default(1_000),
  WEBHOOK_RETRY_MAX_MS: int(1, 86_400_000).default(3_600_000),
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  REQUEST_DEFAULT_TTL_SECONDS: int(1, 365 * 24 * 3600).optional(),
  // Channels: each is on when its credentials are set (see README, "Channels").
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  SLACK_APP_TOKEN: z.string().min(1).optional(),
  SLACK_DEFAULT_CHANNEL: z.string().regex(/^(#[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{2,20})$/, 'must be #channel-name or a channel id').optional(),
  SLACK_API_URL: z.url().optional(),
  DISCORD_BOT_TOKEN: z.string().min(1).optional(),
  DISCORD_PUBLIC_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the application public key (64 hex digits)').optional(),
  DISCORD_DEFAULT_CHANNEL: z.string().regex(/^[0-9]{15,21}$/, 'must be a channel id').optional(),
  DISCORD_API_URL: z.url().optional(),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
  SMTP_HOST: z.string().min(1).optional(),
  SMTP_PORT: int(1, 65535).optional(),
  SMTP_USER: z.string().min(1).optional(),
  SMTP_PASS: z.string().min(1).optional(),
  SMTP_FROM: z.string().min(3).default('AgentGate <agentgate@localhost>'),
  // SMTP connections a process keeps open and reuses (a pool; each carries up to 100 messages).
  SMTP_POOL_SIZE: int(1, 50).default(5),
  EMAIL_DEFAULT_TO: z.string().optional(),
  CHANNEL_TIMEOUT_MS: int(100, 120_000).default(10_000),
  // GET /metrics accepts this bearer token (besides admin keys); a worker serves its metrics on METRICS_PORT.
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  METRICS_PORT: int(1, 65535).optional(),
  // Group commit: creates arriving while an append is in flight share the next statement, waiting
  // at most this many ms for it (0: each alone). A create with nothing in flight never waits.
  CREATE_GROUP_COMMIT_MS: int(0, 2).default(1),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Every variable the server reads (each also documented in .env.example). */
export const CONFIG_VARIABLES = Object.keys(ConfigSchema.shape);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Resolves `NAME_FILE` indirections for secrets; returns the env to validate and any warnings. */
export function resolveSecretFiles(env: Env): { env: Env; warnings: string[] } {
  const out: Env = { ...env };
  const warnings: string[] = [];
  for (const name of SECRET_VARIABLES) {
    const file = env[`${name}_FILE`];
    if (!file) continue;
    if (env[name] !== undefined && env[name] !== '') continue; // explicit value wins
    try {
      out[name] = readFileSync(file, 'utf8').trim();
    } catch (err) {
      warnings.push(`${name}_FILE=${file} could not be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); ${name} stays unset`);
    }
  }
  // Empty strings mean "unset", as in most .env tooling.
  for (const [k, v] of Object.entries(out)) if (v === '') delete out[k];
  return { env: out, warnings };
}

export function loadConfig(env: Env = process.env): { config: Config; warnings: string[] } {
  const { env: resolved, warnings } = resolveSecretFiles(env);
  const keys = Object.keys(ConfigSchema.shape);
  const picked = Object.fromEntries(keys.map((k) => [k, resolved[k]]));
  const parsed = ConfigSchema.safeParse(picked);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`),
    );
  }
  if (parsed.data.MIGRATION_DATABASE_URL && !parsed.data.DATABASE_URL) {
    // The embedded database sets up its own roles; an owner without the application's role is a mistake.
    throw new ConfigError(['MIGRATION_DATABASE_URL: needs DATABASE_URL (the application role\'s connection) beside it']);
  }
  return { config: parsed.data, warnings };
}

export function corsOrigins(config: Config): string[] {
  return config.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean);
}
