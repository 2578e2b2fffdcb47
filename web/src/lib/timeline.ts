/**
 * A request's timeline: its audit trail as read, then live events appended, without
 * duplicates (by entry id) and in log order. Event names are shown as the log records
 * them, so a reshaped event still appears (with its details) rather than vanishing. A
 * policy's decision made as the request was created is recorded inside `request.created`
 * and is an entry of its own, as in the audit log: "Created" by the key, then "Approved"
 * by the policy.
 */
import type { AuditEntry, LiveEvent } from '@agentgate/sdk';

export interface TimelineEntry {
  /** The audit entry's id: the event's position, or `<position>.1` for the decision a request.created carries. */
  id: string;
  position: number;
  /** `request-<id>` for the request's own events; `webhook-<id>` for deliveries of them. */
  streamId: string;
  event: string;
  actor: string;
  channel: string | null;
  at: string;
  details: Record<string, unknown>;
}

export function fromAudit(a: AuditEntry): TimelineEntry {
  return { id: a.id, position: a.position, streamId: a.streamId, event: a.event, actor: a.actorInfo.name, channel: a.channel, at: a.createdAt, details: a.details };
}

interface AutoDecision { status: string; decider: { name: string }; reason?: string | null }

/**
 * A live event as timeline entries, as the audit log reads it: one, or for a
 * `request.created` carrying a policy's decision, that and the decision.
 */
export function fromLive(e: LiveEvent): TimelineEntry[] {
  const channel = typeof e.metadata.channel === 'string' ? e.metadata.channel : null;
  const own: TimelineEntry = {
    id: String(e.position), position: e.position, streamId: e.streamId, event: e.eventType,
    actor: e.metadata.actor?.name ?? 'system', channel, at: e.recordedAt, details: e.data,
  };
  const auto = e.eventType === 'request.created' ? (e.data as { autoDecision?: AutoDecision | null }).autoDecision : null;
  if (!auto || typeof auto !== 'object') return [own];
  return [own, {
    id: `${e.position}.1`, position: e.position, streamId: e.streamId, event: `request.${auto.status}`,
    actor: auto.decider.name, channel, at: e.recordedAt,
    details: { decider: auto.decider, label: null, reason: auto.reason ?? null, policy: (e.data as { policy?: unknown }).policy },
  }];
}

const DELIVERY_EVENTS = new Set(['webhook.delivery_attempted', 'webhook.redelivery_requested']);

/** A webhook delivery event (of any request: which one is told by the position it names). */
export const isDelivery = (e: LiveEvent) => DELIVERY_EVENTS.has(e.eventType);

/**
 * The live events that belong on a request's timeline: its own, and webhook deliveries of
 * any of its events (a delivery names the position of the event it sends). `positions`
 * holds the positions of the request's events already on the timeline.
 */
export function forRequest(events: readonly LiveEvent[], requestId: string, positions: ReadonlySet<number>): TimelineEntry[] {
  const stream = `request-${requestId}`;
  const own = new Set(positions);
  const out: TimelineEntry[] = [];
  for (const e of events) {
    if (e.streamId === stream) {
      own.add(e.position);
      out.push(...fromLive(e));
    } else if (isDelivery(e) && own.has(Number((e.data as { eventPosition?: unknown }).eventPosition))) {
      out.push(...fromLive(e));
    }
  }
  return out;
}

/** Positions of the request's own events on a timeline. */
export function ownPositions(entries: readonly TimelineEntry[], requestId: string): Set<number> {
  const stream = `request-${requestId}`;
  return new Set(entries.filter((e) => e.streamId === stream).map((e) => e.position));
}

export type DeliveryStatus = 'delivered' | 'retrying' | 'failed' | 'redelivery requested';

/** Where a delivery attempt left its delivery; null for entries that are not deliveries. */
export function deliveryStatus(e: TimelineEntry): DeliveryStatus | null {
  const d = e.details as { ok?: boolean; nextAttemptAt?: string | null };
  if (e.event === 'webhook.redelivery_requested') return 'redelivery requested';
  if (e.event !== 'webhook.delivery_attempted') return null;
  return d.ok ? 'delivered' : d.nextAttemptAt ? 'retrying' : 'failed';
}

/** Log order: by position, and the decision a request.created carries after its creation. */
const logOrder = (a: TimelineEntry, b: TimelineEntry) => a.position - b.position || a.id.localeCompare(b.id);

export function mergeTimeline(entries: readonly TimelineEntry[], more: readonly TimelineEntry[]): TimelineEntry[] {
  const seen = new Set(entries.map((e) => e.id));
  const added = more.filter((e) => !seen.has(e.id));
  if (!added.length) return entries as TimelineEntry[];
  return [...entries, ...added].sort(logOrder);
}

const LABELS: Record<string, string> = {
  'request.created': 'Created',
  'request.policy_evaluated': 'Policy evaluated',
  'request.approved': 'Approved',
  'request.denied': 'Denied',
  'request.expired': 'Expired',
  'request.cancelled': 'Cancelled',
  'request.decision_link_issued': 'Decision links issued',
  'request.notified': 'Notified',
  'request.decision_refused': 'Decision refused',
  'webhook.delivery_attempted': 'Webhook delivery',
  'webhook.redelivery_requested': 'Webhook redelivery',
};

export function eventLabel(event: string): string {
  return LABELS[event] ?? event.replace(/^request\./, '').replace(/_/g, ' ');
}

/** One line saying what matters in an entry. */
export function summary(e: TimelineEntry): string {
  const d = e.details as Record<string, any>;
  switch (e.event) {
    case 'request.policy_evaluated':
      return `${String(d.decision ?? '').replace(/_/g, ' ')} — ${d.reason ?? ''}`;
    case 'request.approved':
    case 'request.denied': {
      const who = [d.decider?.name ? `by ${d.decider.name}` : '', d.label ? `(${d.label})` : ''].filter(Boolean).join(' ');
      const why = d.reason ? `“${d.reason}”` : '';
      return who && why ? `${who}: ${why}` : who || why;
    }
    case 'request.cancelled':
      return d.reason ? `“${d.reason}”` : '';
    case 'request.expired':
      return d.reason ?? '';
    case 'request.decision_link_issued':
      return [d.reviewer ? `for ${d.reviewer}` : '', d.expiresAt ? `until ${d.expiresAt}` : ''].filter(Boolean).join(' ');
    case 'webhook.delivery_attempted': {
      const answer = d.statusCode ? `HTTP ${d.statusCode}` : d.error ? String(d.error) : 'no answer';
      const next = d.nextAttemptAt ? `; next attempt ${new Date(d.nextAttemptAt).toLocaleTimeString()}` : '';
      return `${d.event ?? ''} to ${e.streamId.replace(/^webhook-/, '')}, attempt ${d.attempt ?? '?'}: ${answer}${next}`;
    }
    case 'webhook.redelivery_requested':
      return `${d.event ?? ''} to ${e.streamId.replace(/^webhook-/, '')} (again of ${d.of ?? '?'})`;
    default:
      return '';
  }
}
