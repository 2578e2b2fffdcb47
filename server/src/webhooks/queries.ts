import type { Sql, TxSql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { clampLimit } from '../http/schemas.ts';
import { MAX_DELIVERY_PAGE, type Delivery, type ListDeliveriesQuery, type Webhook } from './schemas.ts';

type Db = Sql | TxSql;

export interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  secret: string;
  description: string | null;
  enabled: boolean;
  max_attempts: number;
  created_at: Date;
  updated_at: Date;
  version: number;
}

export const toWebhook = (r: WebhookRow): Webhook => ({
  id: r.id, url: r.url, events: r.events, description: r.description, enabled: r.enabled,
  maxAttempts: r.max_attempts, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
});

export async function findWebhookRow(db: Db, id: string): Promise<WebhookRow | null> {
  const [row] = await db<WebhookRow[]>`select * from webhooks where id = ${id}`;
  return row ?? null;
}

export async function getWebhook(sql: Sql, id: string): Promise<Webhook> {
  const row = await findWebhookRow(sql, id);
  if (!row) throw new AppError('NOT_FOUND', `webhook ${id} not found`);
  return toWebhook(row);
}

export async function listWebhooks(sql: Sql): Promise<Webhook[]> {
  return (await sql<WebhookRow[]>`select * from webhooks order by created_at, id`).map(toWebhook);
}

export interface DeliveryRow {
  id: string;
  webhook_id: string;
  event: string;
  event_position: number | null;
  status: Delivery['status'];
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  redelivery_of: string | null;
  body: string | null;
  created_at: Date;
  updated_at: Date;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  ok: boolean;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  attempted_at: Date;
  next_attempt_at: Date | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function parseBody(body: string | null): unknown {
  if (body === null) return null;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

export async function findDeliveryRow(db: Db, webhookId: string, deliveryId: string): Promise<DeliveryRow | null> {
  const [row] = await db<DeliveryRow[]>`select * from webhook_deliveries where id = ${deliveryId} and webhook_id = ${webhookId}`;
  return row ?? null;
}

export async function listDeliveries(sql: Sql, webhookId: string, q: ListDeliveriesQuery) {
  const limit = clampLimit(q.limit, MAX_DELIVERY_PAGE, 20);
  const offset = q.offset ?? 0;
  const where = sql`webhook_id = ${webhookId} ${q.status ? sql`and status = ${q.status}` : sql``}`;
  const rows = await sql<DeliveryRow[]>`
    select * from webhook_deliveries where ${where}
    order by created_at desc, id desc limit ${limit} offset ${offset}`;
  const [count] = await sql<{ total: number }[]>`select count(*)::int as total from webhook_deliveries where ${where}`;
  const total = count?.total ?? 0;
  const attempts = rows.length === 0 ? [] : await sql<AttemptRow[]>`
    select * from webhook_delivery_attempts where delivery_id = any(${rows.map((r) => r.id)}) order by delivery_id, attempt`;
  const byDelivery = new Map<string, AttemptRow[]>();
  for (const a of attempts) byDelivery.set(a.delivery_id, [...(byDelivery.get(a.delivery_id) ?? []), a]);
  const deliveries: Delivery[] = rows.map((r) => ({
    id: r.id, webhookId: r.webhook_id, event: r.event, eventPosition: r.event_position, status: r.status,
    attempts: r.attempts, lastStatusCode: r.last_status_code, lastError: r.last_error,
    nextAttemptAt: iso(r.next_attempt_at), redeliveryOf: r.redelivery_of, payload: parseBody(r.body),
    history: (byDelivery.get(r.id) ?? []).map((a) => ({
      attempt: a.attempt, ok: a.ok, statusCode: a.status_code, durationMs: a.duration_ms, error: a.error,
      attemptedAt: a.attempted_at.toISOString(), nextAttemptAt: iso(a.next_attempt_at),
    })),
    createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  }));
  return { deliveries, pagination: { total, limit, offset, hasMore: offset + rows.length < total, nextCursor: null } };
}
