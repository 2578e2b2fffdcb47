/**
 * A webhook subscription as a pure decider: its configuration and the record of every
 * delivery attempt live on the stream `webhook-<id>`. No I/O here: the caller resolves
 * DNS (SSRF check), sends HTTP, supplies the clock and appends what comes back.
 */
import { AppError } from '../errors.ts';
import type { NewEvent } from '../events/types.ts';

/**
 * The names a webhook may subscribe to (the internal → public mapping is in projections/50_jobs.sql).
 * `request.approved` and `request.denied`, the names the original project delivered, are
 * filters on `request.decided`: that outcome only, delivered under that name.
 */
export const WEBHOOK_EVENTS = [
  'request.created', 'request.decided', 'request.approved', 'request.denied', 'request.expired', 'request.cancelled', 'policy.changed', '*',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** The event name of a test ping (POST /api/webhooks/:id/test), sent whatever the subscription. */
export const TEST_EVENT = 'test';

export const MIN_SECRET_LENGTH = 32;
export const MAX_ATTEMPTS_LIMIT = 20;
export const DEFAULT_MAX_ATTEMPTS = 8;

export interface WebhookFields {
  url: string;
  events: string[];
  secret: string;
  description: string | null;
  enabled: boolean;
  maxAttempts: number;
}

export interface WebhookState {
  id: string | null;
  deleted: boolean;
  enabled: boolean;
  maxAttempts: number;
  version: number;
}

export const initialWebhookState = (): WebhookState => ({
  id: null, deleted: false, enabled: false, maxAttempts: DEFAULT_MAX_ATTEMPTS, version: 0,
});

/** What one HTTP attempt produced, as measured by the sender. */
export interface AttemptOutcome {
  deliveryId: string;
  /** Public event name (`request.decided`, …, or `test`). */
  event: string;
  /** Position of the event that caused the delivery; null for a test ping. */
  eventPosition: number | null;
  attempt: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** False when trying again cannot help (the URL is refused, the webhook is disabled, a test ping). */
  retryable: boolean;
  /** The exact body sent, recorded with the first attempt of a delivery so that retries and redeliveries resend it. */
  body?: string;
  redeliveryOf?: string | null;
}

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
}

export type WebhookCommand =
  | { type: 'create'; id: string; fields: WebhookFields }
  | { type: 'update'; changes: Partial<WebhookFields> }
  | { type: 'delete' }
  | { type: 'record_attempt'; outcome: AttemptOutcome; retry: RetryPolicy; now: Date }
  | { type: 'request_redelivery'; deliveryId: string; of: string; event: string; eventPosition: number | null };

export interface DeliveryAttemptedData {
  deliveryId: string;
  event: string;
  eventPosition: number | null;
  attempt: number;
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  attemptedAt: string;
  /** When the next attempt is due; null when the delivery succeeded or is dead. */
  nextAttemptAt: string | null;
  body?: string;
  redeliveryOf?: string | null;
}

export type WebhookEvent =
  | NewEvent<'webhook.created', { id: string } & WebhookFields>
  | NewEvent<'webhook.updated', { id: string } & Partial<WebhookFields>>
  | NewEvent<'webhook.deleted', { id: string }>
  | NewEvent<'webhook.delivery_attempted', DeliveryAttemptedData>
  | NewEvent<'webhook.redelivery_requested', { deliveryId: string; of: string; event: string; eventPosition: number | null }>;

/** 2^attempt × base, capped: the wait after the `attempt`-th failed attempt. */
export const retryDelayMs = (attempt: number, retry: RetryPolicy): number =>
  Math.min(2 ** attempt * retry.baseMs, retry.maxMs);

export const isOk = (statusCode: number | null) => statusCode !== null && statusCode >= 200 && statusCode < 300;

function problem(field: string, message: string): never {
  throw new AppError('VALIDATION_ERROR', `${field} ${message}`, [{ field: `body.${field}`, message }]);
}

/** Domain rules on the fields (the HTTP schema says the same; a decider does not trust its caller). */
function checkFields(f: Partial<WebhookFields>): void {
  if (f.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(f.url);
    } catch {
      problem('url', 'is not a valid URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') problem('url', 'must be an http or https URL');
    if (parsed.username || parsed.password) problem('url', 'must not carry credentials');
  }
  if (f.events !== undefined) {
    if (f.events.length === 0) problem('events', 'must name at least one event');
    const unknown = f.events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
    if (unknown.length) problem('events', `has unknown events: ${unknown.join(', ')} (allowed: ${WEBHOOK_EVENTS.join(', ')})`);
  }
  if (f.secret !== undefined && f.secret.length < MIN_SECRET_LENGTH) problem('secret', `must be at least ${MIN_SECRET_LENGTH} characters`);
  if (f.maxAttempts !== undefined && (!Number.isInteger(f.maxAttempts) || f.maxAttempts < 1 || f.maxAttempts > MAX_ATTEMPTS_LIMIT)) {
    problem('maxAttempts', `must be an integer from 1 to ${MAX_ATTEMPTS_LIMIT}`);
  }
}

function mustExist(state: WebhookState): void {
  if (state.id === null || state.deleted) throw new AppError('NOT_FOUND', 'webhook not found');
}

export function decideWebhook(command: WebhookCommand, state: WebhookState): WebhookEvent[] {
  switch (command.type) {
    case 'create': {
      if (state.id !== null) throw new AppError('CONCURRENCY_CONFLICT', `webhook ${command.id} already exists`);
      checkFields(command.fields);
      return [{ type: 'webhook.created', data: { id: command.id, ...command.fields, events: [...new Set(command.fields.events)] } }];
    }
    case 'update': {
      mustExist(state);
      checkFields(command.changes);
      const changes = Object.fromEntries(Object.entries(command.changes).filter(([, v]) => v !== undefined)) as Partial<WebhookFields>;
      if (changes.events) changes.events = [...new Set(changes.events)];
      if (Object.keys(changes).length === 0) return [];
      return [{ type: 'webhook.updated', data: { id: state.id!, ...changes } }];
    }
    case 'delete':
      mustExist(state);
      return [{ type: 'webhook.deleted', data: { id: state.id! } }];
    case 'record_attempt': {
      mustExist(state);
      const o = command.outcome;
      const ok = o.error === null && isOk(o.statusCode);
      const willRetry = !ok && o.retryable && o.attempt < state.maxAttempts;
      const nextAttemptAt = willRetry ? new Date(command.now.getTime() + retryDelayMs(o.attempt, command.retry)).toISOString() : null;
      return [{
        type: 'webhook.delivery_attempted',
        data: {
          deliveryId: o.deliveryId, event: o.event, eventPosition: o.eventPosition, attempt: o.attempt, ok,
          statusCode: o.statusCode, durationMs: o.durationMs, error: o.error,
          attemptedAt: command.now.toISOString(), nextAttemptAt,
          ...(o.body !== undefined ? { body: o.body } : {}),
          ...(o.redeliveryOf ? { redeliveryOf: o.redeliveryOf } : {}),
        },
      }];
    }
    case 'request_redelivery':
      mustExist(state);
      return [{ type: 'webhook.redelivery_requested', data: { deliveryId: command.deliveryId, of: command.of, event: command.event, eventPosition: command.eventPosition } }];
  }
}

export function evolveWebhook(state: WebhookState, event: { type: string; data: Record<string, unknown> }): WebhookState {
  const next = { ...state, version: state.version + 1 };
  const d = event.data;
  switch (event.type) {
    case 'webhook.created':
      return { ...next, id: String(d.id), enabled: d.enabled !== false, maxAttempts: Number(d.maxAttempts ?? DEFAULT_MAX_ATTEMPTS) };
    case 'webhook.updated':
      return {
        ...next,
        ...(typeof d.enabled === 'boolean' ? { enabled: d.enabled } : {}),
        ...(typeof d.maxAttempts === 'number' ? { maxAttempts: d.maxAttempts } : {}),
      };
    case 'webhook.deleted':
      return { ...next, deleted: true };
    default:
      return next;
  }
}
