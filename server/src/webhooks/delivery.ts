/**
 * Webhook deliveries: building the body, sending one attempt and recording it as a
 * `webhook.delivery_attempted` event. Nothing is queued here: the events' trigger
 * (projections/50_jobs.sql) puts a delivery in its webhook's line with the event that
 * causes it, and moves the line with each recorded attempt (line.ts serves it).
 */
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { isUniqueViolation } from '../events/store.ts';
import type { EventMetadata } from '../events/types.ts';
import { newId } from '../ids.ts';
import { toApprovalRequest, type RequestRow } from '../requests/queries.ts';
import { runWebhookCommand } from './commands.ts';
import { TEST_EVENT, type AttemptOutcome, type RetryPolicy } from './decider.ts';
import { findDeliveryRow, findWebhookRow, type WebhookRow } from './queries.ts';
import { postJson, type PostOptions } from './sender.ts';
import { signatureHeaders } from './signing.ts';

/** One attempt of a delivery: a webhook_outbox row's payload (written by schedule_jobs() in SQL) at its current attempt. */
export interface DeliverJobPayload {
  webhookId: string;
  deliveryId: string;
  attempt: number;
  /** Public event name. */
  event: string;
  /** Position of the causing event in the log. */
  position: number | null;
  /** When the causing event was recorded (first attempt of an event delivery). */
  timestamp?: string;
  /** The read model row of the event's subject right after the event (first attempt). */
  subject?: { type: 'request' | 'policy'; eventType: string; id: string; row: Record<string, unknown> | null };
  redeliveryOf?: string;
}

export interface SendOptions extends PostOptions {}

export interface DeliveryOptions extends SendOptions {
  retry: RetryPolicy;
}

/** Worker actions are recorded as the system acting through the worker. */
export const WORKER_METADATA: EventMetadata = { actor: { type: 'system', id: 'worker', name: 'worker' }, channel: 'worker' };

const DATE_COLUMNS = ['created_at', 'updated_at', 'decided_at', 'expires_at'] as const;

/** A `requests` row as captured by to_jsonb() in SQL, back to the shape of the API. */
function requestFromSnapshot(row: Record<string, unknown>) {
  const r = { ...row } as Record<string, unknown>;
  for (const c of DATE_COLUMNS) r[c] = typeof r[c] === 'string' ? new Date(r[c] as string) : null;
  return toApprovalRequest(r as unknown as RequestRow);
}

function policyFromSnapshot(row: Record<string, unknown>) {
  const iso = (v: unknown) => (typeof v === 'string' ? new Date(v).toISOString() : null);
  return {
    id: row.id, name: row.name, description: row.description ?? null, priority: row.priority, enabled: row.enabled,
    rules: row.rules, version: row.version, createdAt: iso(row.created_at), updatedAt: iso(row.updated_at),
  };
}

/** The `data` of a delivery: what receivers of the original project read, plus the full object. */
export function deliveryData(subject: NonNullable<DeliverJobPayload['subject']>): Record<string, unknown> {
  if (subject.type === 'request') {
    if (!subject.row) return { id: subject.id };
    const request = requestFromSnapshot(subject.row);
    return {
      id: request.id, action: request.action, status: request.status, params: request.params,
      decidedBy: request.decidedBy, decisionReason: request.decisionReason,
      createdAt: request.createdAt, decidedAt: request.decidedAt, request,
    };
  }
  return {
    id: subject.id,
    change: subject.eventType.replace(/^policy\./, ''),
    policy: subject.row ? policyFromSnapshot(subject.row) : null,
  };
}

export function deliveryBody(event: string, timestamp: string, deliveryId: string, data: unknown): string {
  return JSON.stringify({ event, timestamp, deliveryId, data });
}

/** Signs and sends one attempt. */
export async function sendDelivery(webhook: Pick<WebhookRow, 'url' | 'secret'>, deliveryId: string, event: string, body: string, opts: SendOptions) {
  const headers = {
    ...signatureHeaders(webhook.secret, body, Math.floor(Date.now() / 1000)),
    'x-agentgate-delivery': deliveryId,
    'x-agentgate-event': event,
  };
  return postJson(webhook.url, body, headers, opts);
}

/** The webhook, and whether this attempt was recorded already (a job that runs again after a crash), in one query. */
type AttemptWebhook = Pick<WebhookRow, 'url' | 'secret' | 'enabled'>;

async function webhookForAttempt(sql: Sql, job: DeliverJobPayload): Promise<{ webhook: AttemptWebhook | null; recorded: boolean }> {
  const [row] = await sql<{ webhook: AttemptWebhook | null; recorded: boolean }[]>`
    select (select jsonb_build_object('url', url, 'secret', secret, 'enabled', enabled) from webhooks where id = ${job.webhookId}) as webhook,
           exists (select 1 from webhook_delivery_attempts where delivery_id = ${job.deliveryId} and attempt = ${job.attempt}) as recorded`;
  return { webhook: row?.webhook ?? null, recorded: row?.recorded ?? false };
}

/** The body of this attempt: built for a first attempt, otherwise the one already sent. */
async function bodyFor(sql: Sql, job: DeliverJobPayload): Promise<string | null> {
  if (job.attempt === 1 && job.subject && job.timestamp) {
    return deliveryBody(job.event, job.timestamp, job.deliveryId, deliveryData(job.subject));
  }
  if (job.attempt === 1 && job.redeliveryOf) {
    const original = await findDeliveryRow(sql, job.webhookId, job.redeliveryOf);
    if (!original?.body) return null;
    return JSON.stringify({ ...(JSON.parse(original.body) as object), deliveryId: job.deliveryId });
  }
  const current = await findDeliveryRow(sql, job.webhookId, job.deliveryId);
  return current?.body ?? null;
}

/** Records an attempt; false when this very attempt was recorded already (the job ran twice). */
async function recordAttempt(sql: Sql, webhookId: string, outcome: AttemptOutcome, retry: RetryPolicy, now: Date): Promise<boolean> {
  try {
    await runWebhookCommand(sql, webhookId, { type: 'record_attempt', outcome, retry, now }, WORKER_METADATA);
    return true;
  } catch (err) {
    if (isUniqueViolation(err, 'webhook_delivery_attempts_pkey')) return false;
    if (err instanceof AppError && err.code === 'NOT_FOUND') return false; // deleted meanwhile
    throw err;
  }
}

export type AttemptResult = 'sent' | 'duplicate' | 'webhook_gone' | 'no_body';

/**
 * One HTTP attempt of a delivery, recorded once. The recording transaction's trigger
 * moves the webhook's line (the retry keeps the head until it is due).
 */
export async function runDeliveryAttempt(sql: Sql, job: DeliverJobPayload, opts: DeliveryOptions): Promise<AttemptResult> {
  const { webhook, recorded } = await webhookForAttempt(sql, job);
  if (recorded) return 'duplicate';
  if (!webhook) return 'webhook_gone';
  const body = await bodyFor(sql, job);
  if (body === null) return 'no_body';
  const base = {
    deliveryId: job.deliveryId, event: job.event, eventPosition: job.position, attempt: job.attempt,
    ...(job.attempt === 1 ? { body } : {}),
    ...(job.redeliveryOf ? { redeliveryOf: job.redeliveryOf } : {}),
  };
  let outcome: AttemptOutcome;
  if (!webhook.enabled) {
    outcome = { ...base, statusCode: null, durationMs: 0, error: 'webhook is disabled; not sent', retryable: false };
  } else {
    const r = await sendDelivery(webhook, job.deliveryId, job.event, body, opts);
    outcome = { ...base, statusCode: r.statusCode, durationMs: r.durationMs, error: r.error, retryable: !r.refused };
  }
  return (await recordAttempt(sql, job.webhookId, outcome, opts.retry, new Date())) ? 'sent' : 'duplicate';
}

/** Queues a new delivery of what an earlier one sent (the job comes with the event). */
export async function redeliver(sql: Sql, webhookId: string, of: string, metadata: EventMetadata): Promise<string> {
  if (!(await findWebhookRow(sql, webhookId))) throw new AppError('NOT_FOUND', `webhook ${webhookId} not found`);
  const original = await findDeliveryRow(sql, webhookId, of);
  if (!original) throw new AppError('NOT_FOUND', `delivery ${of} not found for webhook ${webhookId}`);
  if (!original.body) throw new AppError('DELIVERY_NOT_ATTEMPTED', `delivery ${of} has not been attempted yet; nothing to send again`);
  const deliveryId = newId('delivery');
  await runWebhookCommand(sql, webhookId, {
    type: 'request_redelivery', deliveryId, of, event: original.event, eventPosition: original.event_position,
  }, metadata);
  return deliveryId;
}

/** Sends a signed `test` event now (whatever the subscription) and records the attempt. */
export async function sendTestPing(sql: Sql, webhookId: string, opts: SendOptions, metadata: EventMetadata) {
  const webhook = await findWebhookRow(sql, webhookId);
  if (!webhook) throw new AppError('NOT_FOUND', `webhook ${webhookId} not found`);
  const deliveryId = newId('delivery');
  const body = deliveryBody(TEST_EVENT, new Date().toISOString(), deliveryId, {
    webhookId, message: 'This is a test webhook from AgentGate',
  });
  const r = await sendDelivery(webhook, deliveryId, TEST_EVENT, body, opts);
  await runWebhookCommand(sql, webhookId, {
    type: 'record_attempt',
    outcome: { deliveryId, event: TEST_EVENT, eventPosition: null, attempt: 1, statusCode: r.statusCode, durationMs: r.durationMs, error: r.error, retryable: false, body },
    retry: { baseMs: 0, maxMs: 0 },
    now: new Date(),
  }, metadata);
  const success = r.error === null;
  return {
    success, deliveryId, status: r.statusCode, durationMs: r.durationMs, error: r.error,
    message: success ? 'Test delivered successfully' : `Delivery failed: ${r.error}`,
  };
}
