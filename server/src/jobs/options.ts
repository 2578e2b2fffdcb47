import type { Config } from '../config.ts';
import type { DeliveryOptions } from '../webhooks/delivery.ts';

/** How deliveries are sent and retried, from the configuration. */
export const deliveryOptions = (config: Config): DeliveryOptions => ({
  allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
  timeoutMs: config.WEBHOOK_TIMEOUT_MS,
  retry: { baseMs: config.WEBHOOK_RETRY_BASE_MS, maxMs: config.WEBHOOK_RETRY_MAX_MS },
});

/** The worker's settings from the configuration (all but the connections). */
export const workerSettings = (config: Config) => ({
  concurrency: config.WORKER_CONCURRENCY,
  channelConcurrency: config.WORKER_CHANNEL_CONCURRENCY,
  heartbeatMs: config.WORKER_HEARTBEAT_MS,
  deadAfterMs: config.WORKER_DEAD_AFTER_MS,
  pollIntervalMs: config.WORKER_POLL_INTERVAL_MS,
  delivery: deliveryOptions(config),
});

/**
 * Connections of a worker process's own pool (the jobs' queries): one per general job that
 * may run at once (webhook deliveries and expiries are mostly database work), a quarter of
 * the channel runner's concurrency (a channel job waits on Slack, Discord or SMTP and needs
 * a connection only for its two or three statements), and two for the heartbeat. A query
 * that finds them all busy waits its turn.
 */
export const workerSqlPoolSize = (config: Pick<Config, 'WORKER_CONCURRENCY' | 'WORKER_CHANNEL_CONCURRENCY'>) =>
  config.WORKER_CONCURRENCY + Math.ceil(config.WORKER_CHANNEL_CONCURRENCY / 4) + 2;
