/**
 * A request's timeline: its audit trail as read, then live events appended, without
 * duplicates (by log position) and in log order. Event names are shown as the log
 * records them, so a reshaped event still appears (with its details) rather than vanishing.
 */
import type { AuditEntry, LiveEvent } from '@agentgate/sdk';

export interface TimelineEntry {
  position: number;
  event: string;
  actor: string;
  channel: string | null;
  at: string;
  details: Record<string, unknown>;
}

export function fromAudit(a: AuditEntry): TimelineEntry {
  return { position: a.position, event: a.event, actor: a.actor.name, channel: a.channel, at: a.createdAt, details: a.details };
}

export function fromLive(e: LiveEvent): TimelineEntry {
  return {
    position: e.position, event: e.eventType, actor: e.metadata.actor?.name ?? 'system',
    channel: typeof e.metadata.channel === 'string' ? e.metadata.channel : null, at: e.recordedAt, details: e.data,
  };
}

export function mergeTimeline(entries: readonly TimelineEntry[], more: readonly TimelineEntry[]): TimelineEntry[] {
  const seen = new Set(entries.map((e) => e.position));
  const added = more.filter((e) => !seen.has(e.position));
  if (!added.length) return entries as TimelineEntry[];
  return [...entries, ...added].sort((a, b) => a.position - b.position);
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
    case 'request.denied':
      return [d.decider?.name ? `by ${d.decider.name}` : '', d.label ? `(${d.label})` : '', d.reason ? `: “${d.reason}”` : ''].filter(Boolean).join(' ');
    case 'request.cancelled':
      return d.reason ? `“${d.reason}”` : '';
    case 'request.expired':
      return d.reason ?? '';
    case 'request.decision_link_issued':
      return [d.reviewer ? `for ${d.reviewer}` : '', d.expiresAt ? `until ${d.expiresAt}` : ''].filter(Boolean).join(' ');
    case 'webhook.delivery_attempted':
      return `${d.event ?? ''} attempt ${d.attempt ?? '?'}: ${d.ok ? 'delivered' : 'failed'}${d.statusCode ? ` (HTTP ${d.statusCode})` : d.error ? ` (${d.error})` : ''}`;
    default:
      return '';
  }
}
