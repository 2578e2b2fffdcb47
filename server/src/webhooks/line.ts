/**
 * Serving one webhook's line of deliveries (webhook_outbox, sql/0030) in event order.
 *
 * Only the head of the line is ever sent. A failed attempt with a retry left keeps the
 * head until the retry is due, so a later delivery never overtakes an earlier one; a
 * success or a final failure (the webhook's maxAttempts) lets the next one go. The job
 * sends every due head back to back, so a backlog drains at the receiver's speed rather
 * than one job pick-up (and, between queued jobs, one poll interval) per delivery.
 */
import type { Sql } from '../db/connect.ts';
import { runDeliveryAttempt, type AttemptResult, type DeliverJobPayload, type DeliveryOptions } from './delivery.ts';

/** At most this many deliveries per run, so that a long backlog yields its worker to other jobs now and then. */
export const LINE_BATCH = 100;

interface Head {
  deliveryId: string;
  attempt: number;
  due: boolean;
  payload: DeliverJobPayload;
}

async function headOf(sql: Sql, webhookId: string): Promise<Head | null> {
  const [row] = await sql<{ delivery_id: string; attempt: number; due: boolean; payload: DeliverJobPayload }[]>`
    select delivery_id, attempt, due_at <= now() as due, payload
    from webhook_outbox where webhook_id = ${webhookId} order by seq limit 1`;
  return row ? { deliveryId: row.delivery_id, attempt: row.attempt, due: row.due, payload: row.payload } : null;
}

/** A delivery that cannot be sent (its webhook or its recorded body is gone) leaves the line. */
async function dropFromLine(sql: Sql, webhookId: string, result: AttemptResult, deliveryId: string): Promise<void> {
  if (result === 'webhook_gone') await sql`delete from webhook_outbox where webhook_id = ${webhookId}`;
  else await sql`delete from webhook_outbox where delivery_id = ${deliveryId}`;
  await sql`select wake_webhook_line(${webhookId})`;
}

export interface LineRun {
  sent: number;
  results: AttemptResult[];
}

/** Sends the due heads of a webhook's line, one after the other, until the head is not due (or LINE_BATCH). */
export async function serveWebhookLine(sql: Sql, webhookId: string, opts: DeliveryOptions): Promise<LineRun> {
  const results: AttemptResult[] = [];
  let previous: string | null = null;
  while (results.length < LINE_BATCH) {
    const head = await headOf(sql, webhookId);
    if (!head || !head.due) break;
    const key = `${head.deliveryId}#${head.attempt}`;
    // The same head twice means the attempt did not move the line: stop rather than spin
    // (graphile-worker retries the job later).
    if (key === previous) throw new Error(`webhook ${webhookId}: delivery ${head.deliveryId} attempt ${head.attempt} did not move the line`);
    previous = key;
    const result = await runDeliveryAttempt(sql, { ...head.payload, attempt: head.attempt }, opts);
    results.push(result);
    if (result === 'webhook_gone' || result === 'no_body') await dropFromLine(sql, webhookId, result, head.deliveryId);
  }
  // A full batch: the line's job was re-added by the last attempt's trigger, due now.
  return { sent: results.filter((r) => r === 'sent').length, results };
}
