/**
 * Reads of the audit log (the `audit_log` view over `events`, one entry per event:
 * projections/90_audit_log.sql). Every query of the log lives here, so its shape can change
 * without touching the routes. Filters are phrased on the view's columns that are plain
 * expressions of indexed `events` columns (id = position, event_name = type, created_at =
 * recorded_at, actor = event_actor(…)), so each one can use its index; a request's entries
 * are found through its stream and the deliveries of its events.
 */
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { actorLabel, parseActorFilter, type ActorInfo } from './actor.ts';

interface AuditRow {
  id: number;
  request_id: string | null;
  stream_id: string;
  event_type: string;
  event_name: string;
  action: string | null;
  actor: ActorInfo;
  channel: string | null;
  details: Record<string, unknown>;
  created_at: Date;
  request_status: string | null;
  request_urgency: string | null;
}

export interface AuditEntry {
  id: string;
  position: number;
  requestId: string | null;
  streamId: string;
  eventType: string;
  event: string;
  action: string | null;
  actor: string;
  actorInfo: ActorInfo;
  channel: string | null;
  details: Record<string, unknown>;
  createdAt: string;
  request: { id: string; action: string; status: string; urgency: string } | null;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  id: String(r.id),
  position: r.id,
  requestId: r.request_id,
  streamId: r.stream_id,
  eventType: r.event_type,
  event: r.event_name,
  action: r.action,
  actor: actorLabel(r.actor),
  actorInfo: r.actor,
  channel: r.channel,
  details: r.details,
  createdAt: r.created_at.toISOString(),
  // The request as it stands now (the original's join), beside the event that touched it.
  request: r.request_id && r.request_status
    ? { id: r.request_id, action: r.action!, status: r.request_status, urgency: r.request_urgency! }
    : null,
});

/**
 * The positions of a request's entries: its stream's events (events_stream_version_unique)
 * and the webhook deliveries of those events (events_delivery_source_idx: the type list is
 * written out, not a parameter, so the planner sees that it implies the index's predicate).
 */
const requestPositions = (sql: Sql, requestId: string) => sql`
  select s.position from events s where s.stream_id = ${`request-${requestId}`}
  union all
  select d.position from events s
  join events d on (d.data->>'eventPosition')::bigint = s.position
    and d.type in ('webhook.delivery_attempted', 'webhook.redelivery_requested')
  where s.stream_id = ${`request-${requestId}`}`;

/**
 * The condition "entry of this request": the positions are computed first (an array, a few
 * entries) and looked up by primary key. Written as a join or `in (…)`, a planner without
 * statistics may walk the whole log to merge with them.
 */
const ofRequest = (sql: Sql, requestId: string) => sql`a.id = any(array(${requestPositions(sql, requestId)}))`;

export async function requestAudit(sql: Sql, requestId: string): Promise<AuditEntry[]> {
  const rows = await sql<AuditRow[]>`select a.* from audit_log a where ${ofRequest(sql, requestId)} order by a.id`;
  return rows.map(toEntry);
}

/**
 * The event type an `eventType` filter stands for: a request event's short name
 * (`approved`) or any event's full type (`request.approved`, `policy.updated`). One type, so
 * the filter is an equality the (type, position) index answers in page order.
 */
export function eventTypeOf(eventType: string): string {
  return eventType.includes('.') ? eventType : `request.${eventType}`;
}

export interface AuditSearch {
  eventType?: string;
  action?: string;
  /** The request's current status (pending, approved, denied, expired, cancelled). */
  status?: string;
  /** `key:ops-bot`, `policy:small-payments`, `reviewer:Alice`, `system`; or a bare name or id. */
  actor?: string;
  requestId?: string;
  /** ISO-8601 instant, or a date alone (YYYY-MM-DD: from the start of that day, UTC). */
  from?: string;
  /** ISO-8601 instant (exclusive), or a date alone (YYYY-MM-DD: to the end of that day, UTC). */
  to?: string;
  limit?: number;
  offset?: number;
  cursor?: string;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})$/;

/**
 * A `from`/`to` bound as the instant it stands for. A date alone covers that whole UTC day:
 * `from=2026-12-04` starts at 2026-12-04T00:00Z, `to=2026-12-04` ends before 2026-12-05T00:00Z.
 */
export function dateBound(value: string, which: 'from' | 'to'): Date {
  const m = DATE_ONLY.exec(value);
  if (!m) {
    const at = DATE_TIME.test(value) ? new Date(value) : new Date(NaN);
    if (Number.isNaN(at.getTime())) throw new AppError('VALIDATION_ERROR', `${which} is not a date`, [{ field: `querystring.${which}`, message: 'must be a date (YYYY-MM-DD) or an ISO-8601 date-time' }]);
    return at;
  }
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) {
    throw new AppError('VALIDATION_ERROR', `${which} is not a calendar date`, [{ field: `querystring.${which}`, message: `${value} is not a calendar date` }]);
  }
  return which === 'from' ? day : new Date(day.getTime() + 86_400_000);
}

function actorCondition(sql: Sql, text: string) {
  const f = parseActorFilter(text);
  // A bare name or id keeps working as it always did; `type:name` is the printed form.
  const plain = sql`a.actor->>'name' = ${f.text} or a.actor->>'id' = ${f.text}`;
  if (f.kind === 'plain') return sql`and (${plain})`;
  if (f.name === null) return sql`and (a.actor->>'type' = ${f.type} or ${plain})`;
  return sql`and ((a.actor->>'type' = ${f.type} and a.actor->>'name' in (${f.name}, ${`${f.type}:${f.name}`})) or ${plain})`;
}

/**
 * Newest first. Pages by `cursor` (the position of the last entry of the previous page:
 * stable while the log grows) or by `offset` (the original API's way), not both.
 */
export async function searchAudit(sql: Sql, q: AuditSearch) {
  const limit = q.limit ?? 50;
  const offset = q.offset ?? 0;
  let before: number | null = null;
  if (q.cursor !== undefined) {
    if (q.offset) throw new AppError('VALIDATION_ERROR', 'Use either offset or cursor, not both', [{ field: 'querystring.cursor', message: 'cannot be combined with offset' }]);
    before = Number(Buffer.from(q.cursor, 'base64url').toString('utf8'));
    if (!Number.isSafeInteger(before) || before <= 0) throw new AppError('INVALID_CURSOR');
  }
  const from = q.from ? dateBound(q.from, 'from') : null;
  const to = q.to ? dateBound(q.to, 'to') : null;
  const filters = sql`
    ${q.eventType ? sql`and a.event_name = ${eventTypeOf(q.eventType)}` : sql``}
    ${q.action ? sql`and a.action = ${q.action}` : sql``}
    ${q.status ? sql`and a.request_status = ${q.status}` : sql``}
    ${q.actor ? actorCondition(sql, q.actor) : sql``}
    ${q.requestId ? sql`and ${ofRequest(sql, q.requestId)}` : sql``}
    ${from ? sql`and a.created_at >= ${from}` : sql``}
    ${to ? sql`and a.created_at < ${to}` : sql``}`;
  const [rows, [count]] = await Promise.all([
    sql<AuditRow[]>`select a.* from audit_log a where true ${filters} ${before !== null ? sql`and a.id < ${before}` : sql``}
      order by a.id desc limit ${limit + 1} offset ${offset}`,
    // Reads only what the filters name: the view's joins drop out of an unfiltered count.
    sql<[{ total: number }]>`select count(*)::int as total from audit_log a where true ${filters}`,
  ]) as [AuditRow[], [{ total: number }]];
  const page = rows.slice(0, limit);
  const hasMore = rows.length > limit;
  const last = page[page.length - 1];
  return {
    entries: page.map(toEntry),
    pagination: {
      total: count.total,
      limit,
      offset,
      hasMore,
      nextCursor: hasMore && last ? Buffer.from(String(last.id)).toString('base64url') : null,
    },
  };
}

/**
 * The distinct actors of the log, printed (`key:ops-bot`, …), sorted. A loose index scan
 * over (actor type, actor name): one index probe per distinct actor, never a pass over the
 * log, and at most `max` of them.
 */
export async function auditActors(sql: Sql, max: number): Promise<{ actors: string[]; truncated: boolean }> {
  const rows = await sql<{ type: string; name: string }[]>`
    with recursive seen as (
      (select a.actor->>'type' as type, a.actor->>'name' as name from audit_log a
        order by a.actor->>'type', a.actor->>'name' limit 1)
      union all
      select n.type, n.name from seen, lateral (
        select a.actor->>'type' as type, a.actor->>'name' as name from audit_log a
        where (a.actor->>'type', a.actor->>'name') > (seen.type, seen.name)
        order by a.actor->>'type', a.actor->>'name' limit 1) n
    )
    select type, name from seen limit ${max + 1}`;
  const truncated = rows.length > max;
  const actors = [...new Set(rows.slice(0, max).map(actorLabel))].sort();
  return { actors, truncated };
}

/** The distinct actions of requests, sorted: the same loose index scan over `requests (action)`. */
export async function auditActions(sql: Sql, max: number): Promise<{ actions: string[]; truncated: boolean }> {
  const rows = await sql<{ action: string }[]>`
    with recursive seen as (
      (select action from requests order by action limit 1)
      union all
      select n.action from seen, lateral (
        select action from requests where action > seen.action order by action limit 1) n
    )
    select action from seen limit ${max + 1}`;
  return { actions: rows.slice(0, max).map((r) => r.action), truncated: rows.length > max };
}
