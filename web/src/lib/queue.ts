/**
 * The pending queue as a pure value: built from a page of pending requests, then kept
 * current by folding live events into it. No DOM, no network: tested on its own.
 */
import type { ApprovalRequest, LiveEvent, PolicyDecision, Urgency } from '@agentgate/sdk';

export const URGENCY_RANK: Record<Urgency, number> = { critical: 0, high: 1, normal: 2, low: 3 };

export interface QueueItem {
  id: string;
  action: string;
  urgency: Urgency;
  params: Record<string, unknown>;
  context: Record<string, unknown>;
  createdAt: string;
  expiresAt: string | null;
  requester: string | null;
  policy: Partial<PolicyDecision> | null;
}

/** A request that left the queue, and who or what took it out. */
export interface Departure {
  id: string;
  action: string;
  status: 'approved' | 'denied' | 'expired' | 'cancelled';
  by: string;
  reason: string | null;
  at: string;
}

/** Most urgent first, then oldest first (it has waited longest), then by id for a stable order. */
export function compareQueueItems(a: QueueItem, b: QueueItem): number {
  return URGENCY_RANK[a.urgency] - URGENCY_RANK[b.urgency]
    || Date.parse(a.createdAt) - Date.parse(b.createdAt)
    || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function fromRequest(r: ApprovalRequest): QueueItem {
  const requester = (r as { requester?: { name?: string } }).requester;
  return {
    id: r.id, action: r.action, urgency: r.urgency, params: r.params as Record<string, unknown>, context: r.context as Record<string, unknown>,
    createdAt: r.createdAt, expiresAt: r.expiresAt, requester: requester?.name ?? null, policy: r.policyDecision ?? null,
  };
}

/** Index of the first item that sorts after `item` (binary search; the list is sorted). */
export function insertionIndex(items: readonly QueueItem[], item: QueueItem): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareQueueItems(items[mid]!, item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const DECIDED = { 'request.approved': 'approved', 'request.denied': 'denied', 'request.expired': 'expired', 'request.cancelled': 'cancelled' } as const;

/** Who acted, printable: the actor's name, or what the event says. */
export function actorName(e: LiveEvent): string {
  const d = e.data as { decider?: { name?: string; type?: string }; cancelledBy?: { name?: string } };
  if (e.eventType === 'request.expired') return 'expiry';
  return d.decider?.name ?? d.cancelledBy?.name ?? e.metadata.actor?.name ?? 'someone';
}

const streamRequestId = (e: LiveEvent) => (e.streamId.startsWith('request-') ? e.streamId.slice('request-'.length) : null);

/** The policy outcome an event carries: its own event, or folded into the creation (either shape). */
function outcomeOf(e: LiveEvent): Partial<PolicyDecision> | null {
  if (e.eventType === 'request.policy_evaluated') return e.data as Partial<PolicyDecision>;
  const d = e.data as { policyDecision?: Partial<PolicyDecision>; outcome?: Partial<PolicyDecision>; policy?: Partial<PolicyDecision> };
  return d.policyDecision ?? d.outcome ?? d.policy ?? null;
}

export interface Applied {
  items: QueueItem[];
  /** A new pending request (counted even when it sorts past the loaded part of the queue). */
  created: boolean;
  /** Set when the event took a request out of the queue. */
  departed: Departure | null;
  changed: boolean;
}

/**
 * Folds one event into the queue (returns a new array when it changed). Events of requests
 * not in the queue are ignored except creations; a decision for one removes it.
 */
export function applyEvent(items: QueueItem[], e: LiveEvent, opts: { complete?: boolean } = {}): Applied {
  if (e.streamType !== 'request') return { items, created: false, departed: null, changed: false };
  const id = streamRequestId(e);
  if (!id) return { items, created: false, departed: null, changed: false };
  const at = items.findIndex((i) => i.id === id);

  if (e.eventType === 'request.created') {
    if (at >= 0) return { items, created: false, departed: null, changed: false };
    const d = e.data as { action: string; urgency?: Urgency; params?: Record<string, unknown>; context?: Record<string, unknown>; expiresAt?: string | null; requester?: { name?: string }; createdAt?: string };
    const item: QueueItem = {
      id, action: d.action, urgency: d.urgency ?? 'normal', params: d.params ?? {}, context: d.context ?? {},
      createdAt: d.createdAt ?? e.recordedAt, expiresAt: d.expiresAt ?? null, requester: d.requester?.name ?? null, policy: outcomeOf(e),
    };
    // A creation decided at once by a policy is followed by its decision in the same batch.
    const index = insertionIndex(items, item);
    // Past the end of a partly loaded queue it belongs among the pages not read yet.
    if (index === items.length && opts.complete === false) return { items, created: true, departed: null, changed: false };
    const next = items.slice();
    next.splice(index, 0, item);
    return { items: next, created: true, departed: null, changed: true };
  }
  if (at < 0) return { items, created: false, departed: null, changed: false };

  if (e.eventType === 'request.policy_evaluated') {
    const next = items.slice();
    next[at] = { ...items[at]!, policy: outcomeOf(e) };
    return { items: next, created: false, departed: null, changed: true };
  }
  const status = DECIDED[e.eventType as keyof typeof DECIDED];
  if (!status) return { items, created: false, departed: null, changed: false };
  const gone = items[at]!;
  const next = items.slice(0, at).concat(items.slice(at + 1));
  const reason = (e.data as { reason?: string | null }).reason ?? null;
  return { items: next, created: false, departed: { id, action: gone.action, status, by: actorName(e), reason, at: e.recordedAt }, changed: true };
}

/** Folds a batch; departures in order, and how the pending count moved. */
export function applyEvents(items: QueueItem[], events: readonly LiveEvent[], opts: { complete?: boolean } = {}): { items: QueueItem[]; departed: Departure[]; delta: number } {
  const departed: Departure[] = [];
  let current = items;
  let delta = 0;
  const createdHere = new Set<string>();
  for (const e of events) {
    const r = applyEvent(current, e, opts);
    current = r.items;
    if (r.created) {
      delta++;
      createdHere.add(e.streamId);
    }
    if (r.departed) {
      departed.push(r.departed);
      delta--;
    } else if (!r.created && e.streamType === 'request' && e.eventType in DECIDED && (createdHere.has(e.streamId) || opts.complete === false)) {
      // A pending request past the loaded part of the queue (or created in this very batch) left it.
      delta--;
    }
  }
  return { items: current, departed, delta };
}
