/**
 * Counts what the events this process committed say: requests created and reaching an
 * outcome, the time each took, webhook delivery attempts. Fed by executeCommand once a
 * transaction has committed, so only the writing process counts an event.
 */
import type { Sql } from '../db/connect.ts';
import { onCommitted } from '../events/command.ts';
import type { StoredEvent } from '../events/types.ts';
import { decisionLatency, requestsCreated, requestsDecided, webhookDeliveries, webhookDuration } from './registry.ts';

const OUTCOMES: Record<string, string> = {
  'request.approved': 'approved',
  'request.denied': 'denied',
  'request.expired': 'expired',
  'request.cancelled': 'cancelled',
};

type Data = Record<string, unknown>;
const actorType = (actor: unknown): string => (actor && typeof actor === 'object' && typeof (actor as Data).type === 'string' ? (actor as Data).type as string : 'system');

export function countCommitted(events: readonly StoredEvent[], sql: Sql): void {
  const createdAt = new Map<string, Date>();
  for (const e of events) {
    const channel = String(e.metadata?.channel ?? 'api');
    if (e.type === 'request.created') {
      requestsCreated.inc({ channel });
      createdAt.set(e.streamId, e.recordedAt);
      // A policy's own decision is part of the creation (the event shape of requests/decider.ts).
      const auto = (e.data as { autoDecision?: { status: string; decider: unknown } | null }).autoDecision;
      if (auto) {
        requestsDecided.inc({ outcome: auto.status, channel, decider: actorType(auto.decider) });
        decisionLatency.observe({ outcome: auto.status, decider: actorType(auto.decider) }, 0);
      }
      continue;
    }
    const outcome = OUTCOMES[e.type];
    if (outcome) {
      const data = e.data as Data;
      const decider = e.type === 'request.cancelled' ? actorType(data.cancelledBy) : e.type === 'request.expired' ? 'system' : actorType(data.decider);
      requestsDecided.inc({ outcome, channel, decider });
      const observe = (created: Date) =>
        decisionLatency.observe({ outcome, decider }, Math.max(0, (e.recordedAt.getTime() - created.getTime()) / 1000));
      const sameBatch = createdAt.get(e.streamId);
      if (sameBatch) observe(sameBatch);
      else void creationTime(sql, e.streamId).then((t) => t && observe(t), () => {});
      continue;
    }
    if (e.type === 'webhook.delivery_attempted') {
      const data = e.data as { ok?: boolean; durationMs?: number };
      const result = data.ok ? 'success' : 'failure';
      webhookDeliveries.inc({ outcome: result });
      if (typeof data.durationMs === 'number') webhookDuration.observe({ outcome: result }, data.durationMs / 1000);
    }
  }
}

async function creationTime(sql: Sql, streamId: string): Promise<Date | null> {
  const id = streamId.replace(/^request-/, '');
  const [row] = await sql<{ createdAt: Date }[]>`select created_at as "createdAt" from requests where id = ${id}`;
  return row?.createdAt ?? null;
}

let installed = false;
/** Once per process: every committed batch is counted. */
export function countCommittedEvents(): void {
  if (installed) return;
  installed = true;
  onCommitted(countCommitted);
}
