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
  heartbeatMs: config.WORKER_HEARTBEAT_MS,
  deadAfterMs: config.WORKER_DEAD_AFTER_MS,
  pollIntervalMs: config.WORKER_POLL_INTERVAL_MS,
  delivery: deliveryOptions(config),
});
