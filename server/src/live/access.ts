/**
 * Who may see which events live, and what a subscriber asked for.
 *
 * A stream type is visible to whoever may already read that resource through the API,
 * and to `audit:read` (the audit log shows every event anyway) and `admin`:
 *   request → request:read · policy → policy:read (policy:write) · webhook → webhook:manage
 *   apikey  → key:manage   · reviewer → reviewer:manage
 *   channel → reviewer:manage (its test messages, which GET /api/channels shows to that scope)
 *   any other or future type → audit:read only.
 * A key that can see no stream type is refused. Secrets are removed from every event
 * whatever the scope (see log.ts).
 */
import { hasScope, type Scope } from '../keys/scopes.ts';
import type { LiveEvent, LogFilter } from './log.ts';

export const STREAM_TYPES = ['request', 'policy', 'webhook', 'apikey', 'reviewer', 'channel'] as const;

const RESOURCE_SCOPE: Record<(typeof STREAM_TYPES)[number], Scope> = {
  request: 'request:read',
  policy: 'policy:read',
  webhook: 'webhook:manage',
  apikey: 'key:manage',
  reviewer: 'reviewer:manage',
  channel: 'reviewer:manage',
};

/** The stream types a key may read, or null for "every type" (audit:read, admin). */
export function readableStreamTypes(scopes: readonly string[]): string[] | null {
  if (hasScope(scopes, 'audit:read')) return null;
  return STREAM_TYPES.filter((t) => hasScope(scopes, RESOURCE_SCOPE[t]));
}

export const canReadAnyStream = (scopes: readonly string[]) => {
  const types = readableStreamTypes(scopes);
  return types === null || types.length > 0;
};

/** The scopes that would let a key read some events, for error messages. */
export const READ_SCOPES = ['request:read', 'policy:read', 'webhook:manage', 'key:manage', 'reviewer:manage', 'audit:read'] as const;

/** What a subscriber asks for (the `filter` of a WebSocket subscribe). */
export interface SubscribeFilter {
  requestIds?: string[];
  streams?: string[];
  types?: string[];
  streamTypes?: string[];
}

export class FilterRefused extends Error {
  constructor(message: string, readonly streamTypes: string[]) {
    super(message);
  }
}

/**
 * Narrows a subscriber's filter to what its key may read. Asking for a stream type the
 * key cannot read is refused rather than silently narrowed, so a client is never left
 * waiting for events that can never come.
 */
export function effectiveFilter(scopes: readonly string[], wanted: SubscribeFilter = {}): LogFilter {
  const readable = readableStreamTypes(scopes);
  let streamTypes: string[] | undefined = readable ?? undefined;
  if (wanted.streamTypes) {
    const refused = readable ? wanted.streamTypes.filter((t) => !readable.includes(t)) : [];
    if (refused.length) throw new FilterRefused(`This key may not read ${refused.join(', ')} events`, refused);
    streamTypes = [...new Set(wanted.streamTypes)];
  }
  const streamIds = wanted.requestIds || wanted.streams
    ? [...new Set([...(wanted.requestIds ?? []).map((id) => `request-${id}`), ...(wanted.streams ?? [])])]
    : undefined;
  return {
    ...(streamTypes ? { streamTypes } : {}),
    ...(streamIds ? { streamIds } : {}),
    ...(wanted.types ? { types: [...new Set(wanted.types)] } : {}),
  };
}

/** The same filter as a predicate over live events. */
export function matcher(f: LogFilter): (e: LiveEvent) => boolean {
  const streamTypes = f.streamTypes ? new Set(f.streamTypes) : null;
  const streamIds = f.streamIds ? new Set(f.streamIds) : null;
  const types = f.types ? new Set(f.types) : null;
  const since = f.since ? Date.parse(f.since) : -Infinity;
  const until = f.until ? Date.parse(f.until) : Infinity;
  return (e) =>
    (streamTypes === null || streamTypes.has(e.streamType)) &&
    (streamIds === null || streamIds.has(e.streamId)) &&
    (types === null || types.has(e.type)) &&
    e.recordedMs >= since && e.recordedMs < until;
}
