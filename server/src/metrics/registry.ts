/**
 * The process's Prometheus metrics (prom-client). Counters count what this process did —
 * the HTTP requests it answered, the events it committed — so summing over every server and
 * worker process gives the totals without double counting. Gauges that describe shared
 * state (pending requests, the job queue, database connections) are read at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'agentgate_' });

/** Seconds; from a fast API call to a long-poll held for minutes. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Created → decided: from a policy's instant answer to a person deciding a day later. */
const DECISION_BUCKETS = [0.1, 1, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 7 * 24 * 3600];

export const httpRequests = new Counter({
  name: 'agentgate_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status code',
  labelNames: ['method', 'route', 'status_code'] as const,
  registers: [registry],
});

export const httpDuration = new Histogram({
  name: 'agentgate_http_request_duration_seconds',
  help: 'HTTP request latency (long-polls included: see the wait route)',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const requestsCreated = new Counter({
  name: 'agentgate_requests_created_total',
  help: 'Approval requests created, by the channel they came from',
  labelNames: ['channel'] as const,
  registers: [registry],
});

export const requestsDecided = new Counter({
  name: 'agentgate_requests_decided_total',
  help: 'Approval requests that reached an outcome (approved, denied, expired, cancelled), by channel and decider type (policy, apikey, user, system, …)',
  labelNames: ['outcome', 'channel', 'decider'] as const,
  registers: [registry],
});

export const decisionLatency = new Histogram({
  name: 'agentgate_request_decision_seconds',
  help: 'Time from a request\'s creation to its outcome',
  labelNames: ['outcome', 'decider'] as const,
  buckets: DECISION_BUCKETS,
  registers: [registry],
});

export const pendingRequests = new Gauge({
  name: 'agentgate_requests_pending',
  help: 'Requests waiting for a decision (database-wide)',
  registers: [registry],
});

export const liveConnections = new Gauge({
  name: 'agentgate_live_connections',
  help: 'Open live connections of this process: long-polls, WebSockets and NDJSON followers',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const listenReconnects = new Gauge({
  name: 'agentgate_live_listen_reconnects',
  help: 'Times this process\'s LISTEN connection was re-established since start',
  registers: [registry],
});

export const listenUp = new Gauge({
  name: 'agentgate_live_listen_up',
  help: '1 while this process\'s LISTEN connection is in place',
  registers: [registry],
});

export const hubLag = new Histogram({
  name: 'agentgate_live_hub_lag_seconds',
  help: 'Delay from an event\'s commit time to the live hub handing it to subscribers',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const webhookDeliveries = new Counter({
  name: 'agentgate_webhook_deliveries_total',
  help: 'Webhook delivery attempts, by outcome (success, failure)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const webhookDuration = new Histogram({
  name: 'agentgate_webhook_delivery_duration_seconds',
  help: 'Duration of one webhook delivery attempt (the receiver\'s answer time)',
  labelNames: ['outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
  registers: [registry],
});

export const jobQueueDepth = new Gauge({
  name: 'agentgate_job_queue_depth',
  help: 'Background jobs due and not yet taken (database-wide)',
  registers: [registry],
});

export const jobQueueAge = new Gauge({
  name: 'agentgate_job_queue_oldest_age_seconds',
  help: 'How long the oldest due job has been waiting (0 when none)',
  registers: [registry],
});

export const jobsFailing = new Gauge({
  name: 'agentgate_jobs_failing',
  help: 'Jobs whose last attempt failed and that will be retried (database-wide)',
  registers: [registry],
});

export const dbPoolMax = new Gauge({
  name: 'agentgate_db_pool_max_connections',
  help: 'Size of this process\'s connection pool (DB_POOL_SIZE)',
  registers: [registry],
});

export const dbConnections = new Gauge({
  name: 'agentgate_db_connections',
  help: 'AgentGate\'s connections to PostgreSQL by state (active, idle, idle in transaction), across its processes',
  labelNames: ['state'] as const,
  registers: [registry],
});

export const dbUp = new Gauge({
  name: 'agentgate_db_up',
  help: '1 when the database answered the scrape\'s queries',
  registers: [registry],
});
