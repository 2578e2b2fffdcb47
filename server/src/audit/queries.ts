/**
 * Reads of the audit log (projections/90_audit_log.sql): `audit_event_entries`, one entry
 * per event, and `audit_decision_entries`, the decision a policy made as a request was
 * created (recorded inside its `request.created`), an entry of its own. An entry is keyed by
 * (position, part): part 0 is the event's own entry, part 1 the decision it carries; the log
 * reads newest first by that key. Every query of the log lives here, so its shape can change
 * without touching the routes.
 *
 * Each filter is phrased on view columns that are plain expressions of indexed `events`
 * columns (id = position, event_name = type, created_at = recorded_at, actor =
 * event_actor(…), and the partial indexes of the decision entries), and each view is read
 * on its own, so each filter can use its index. Filters on the request (`requestId`,
 * `action`, `status`) find the matching requests first, through the indexes of `requests`,
 * then their entries by stream and by the deliveries of their events (see eventPositionsOf).
 */
import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { ACTOR_TYPES, actorLabel, parseActorFilter, type ActorFilter, type ActorInfo } from './actor.ts';

/** A piece of SQL composed into a query (a postgres.js fragment). */
type Fragment = postgres.PendingQuery<postgres.Row[]>;

interface AuditRow {
  id: number;
  part: number;
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

/** An entry's id: the event's position for its own entry, `<position>.1` for the decision it carries. */
export const entryId = (position: number, part: number): string => (part === 0 ? String(position) : `${position}.${part}`);

const toEntry = (r: AuditRow): AuditEntry => ({
  id: entryId(r.id, r.part),
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

/** Newest first; the decision a request.created carries reads after (above) its creation. */
const byLogOrderDesc = (a: AuditRow, b: AuditRow) => b.id - a.id || b.part - a.part;

// ---------------------------------------------------------------------------------------
// Request filters: the matching requests first, then their entries.

/** What a search asks of the request an entry is about. */
interface RequestFilter { requestId?: string; action?: string; status?: string }

const hasRequestFilter = (f: RequestFilter) => Boolean(f.requestId || f.action || f.status);

/**
 * The ids of the requests a filter selects, from the indexes of `requests` (primary key,
 * `(action, …)`, `(status, …)`). A request id alone needs no row: its stream is its entries.
 */
function matchingRequests(sql: Sql, f: RequestFilter, max?: number): Fragment {
  if (f.requestId && !f.action && !f.status) return sql`select ${f.requestId}::text as id`;
  // Bounded, in the order of the (action|status, created_at desc, id desc) indexes: an index
  // scan that stops after `max` rows, where a bitmap would first read every match.
  return max === undefined
    ? sql`select r.id from requests r where true ${onRequestRow(sql, f)}`
    : sql`select r.id from requests r where true ${onRequestRow(sql, f)} order by r.created_at desc, r.id desc limit ${max}`;
}

/** The request filter on an entry's request columns (the views join `requests` by primary key). */
const onEntryRequest = (sql: Sql, f: RequestFilter) => sql`
  ${f.requestId ? sql`and a.request_id = ${f.requestId}` : sql``}
  ${f.action ? sql`and a.action = ${f.action}` : sql``}
  ${f.status ? sql`and a.request_status = ${f.status}` : sql``}`;

const onRequestRow = (sql: Sql, f: RequestFilter) => sql`
  ${f.requestId ? sql`and r.id = ${f.requestId}` : sql``}
  ${f.action ? sql`and r.action = ${f.action}` : sql``}
  ${f.status ? sql`and r.status = ${f.status}` : sql``}`;

/**
 * The positions of the events of the given requests: each request's stream
 * (events_stream_version_unique) and the webhook deliveries of those events
 * (events_delivery_source_idx: the type list is written out, not a parameter, so the
 * planner sees that it implies the index's predicate). Each step is a LATERAL subquery the
 * planner cannot flatten (`offset 0`), so it stays one index probe per request and per event:
 * without statistics a planner may otherwise hash the whole log against the requests.
 */
/**
 * Their entries are then looked up by primary key from an array of those positions, in
 * either view (a decision entry sits at the position of the request.created that carries
 * it). Written as a join or `in (…)`, a planner without statistics may walk the whole log
 * to merge with them.
 */
const eventPositionsOf = (sql: Sql, requests: Fragment) => sql`
  select p.position from (${requests}) r
  cross join lateral (select s.position from events s where s.stream_id = 'request-' || r.id offset 0) s
  cross join lateral (
    select s.position
    union all
    select d.position from events d
    where (d.data->>'eventPosition')::bigint = s.position
      and d.type in ('webhook.delivery_attempted', 'webhook.redelivery_requested')
  ) p`;


// ---------------------------------------------------------------------------------------
// Filters on the entry itself, per view.

/**
 * The event type an `eventType` filter stands for: a request event's short name
 * (`approved`) or any event's full type (`request.approved`, `policy.updated`). One type, so
 * the filter is an equality the (type, position) index answers in page order.
 */
export function eventTypeOf(eventType: string): string {
  return eventType.includes('.') ? eventType : `request.${eventType}`;
}

/** The statuses of the decision entries an event type filter admits (a policy decides approved or denied). */
function decisionStatuses(eventName: string | null): string[] {
  if (eventName === null) return ['approved', 'denied'];
  if (eventName === 'request.approved') return ['approved'];
  if (eventName === 'request.denied') return ['denied'];
  return [];
}

/**
 * `seen`: the distinct (type, name) actors of the event entries, in index order. A loose
 * index scan over events_actor_idx: one probe per distinct actor, never a pass over the log.
 */
const distinctEventActors = (sql: Sql) => sql`
  with recursive seen as (
    (select a.actor->>'type' as type, a.actor->>'name' as name from audit_event_entries a
      order by a.actor->>'type', a.actor->>'name' limit 1)
    union all
    select n.type, n.name from seen, lateral (
      select a.actor->>'type' as type, a.actor->>'name' as name from audit_event_entries a
      where (a.actor->>'type', a.actor->>'name') > (seen.type, seen.name)
      order by a.actor->>'type', a.actor->>'name' limit 1) n
  )`;

/**
 * The (type, name) pairs recorded with an actor id, found by walking the distinct actors of
 * events_actor_idx (type, name, id) one at a time and probing each for the id: one probe per
 * distinct actor, never a pass over the log. Lets a bare-id filter use that index.
 */
async function actorsWithId(sql: Sql, id: string): Promise<{ types: string[]; names: string[] }> {
  const rows = await sql<{ type: string; name: string }[]>`
    ${distinctEventActors(sql)}
    select s.type, s.name from seen s
    where exists (select 1 from audit_event_entries a
      where a.actor->>'type' = s.type and a.actor->>'name' = s.name and a.actor->>'id' = ${id})`;
  return { types: [...new Set(rows.map((r) => r.type))], names: [...new Set(rows.map((r) => r.name))] };
}

/**
 * An actor filter, resolved for both views. A printed form names a type and a name (a
 * policy's decider is recorded as `policy:<name>` already, so both spellings are looked
 * for); a bare name matches that name under any actor type; a bare id, the actors recorded
 * with it. Every arm leads with the actor's type, so events_actor_idx answers it. A printed
 * form is not looked for among ids: no id takes that form (`key_…`, `rev_…`, `pol_…`, and the
 * server's own `system`, `worker`, `slack:U…`).
 */
interface ResolvedActor {
  filter: ActorFilter;
  /** A bare text: the (type, name) pairs recorded with it as an id. */
  byId: { types: string[]; names: string[] } | null;
}

function eventActorCondition(sql: Sql, r: ResolvedActor): Fragment {
  const f = r.filter;
  const types = [...ACTOR_TYPES];
  // A name equal to the whole text, under any type (a reviewer called "system", a key "ci:bot").
  const named = sql`(a.actor->>'type' = any(${types}) and a.actor->>'name' = ${f.text})`;
  if (f.kind === 'label') {
    if (f.name === null) return sql`and (a.actor->>'type' = ${f.type} or ${named})`;
    return sql`and ((a.actor->>'type' = ${f.type} and a.actor->>'name' = any(${[f.name, `${f.type}:${f.name}`]})) or ${named})`;
  }
  const byId = r.byId && r.byId.types.length
    ? sql`or (a.actor->>'type' = any(${r.byId.types}) and a.actor->>'name' = any(${r.byId.names}) and a.actor->>'id' = ${f.text})`
    : sql``;
  return sql`and (${named} ${byId})`;
}

/**
 * Who decides in a decision entry: a policy, recorded as `policy:<name>`, or an override
 * that denied, recorded as `override:<id>` (the printed form is the recorded name).
 */
const DECIDING_TYPES: readonly string[] = ['policy', 'override'];

/**
 * The same filter on decision entries, whose actor is always a policy or an override:
 * null when no decision entry can match (another type of actor). A bare text can only be
 * their id there (a bare name has no `policy:` prefix).
 */
function decisionActorCondition(sql: Sql, r: ResolvedActor): Fragment | null {
  const f = r.filter;
  if (f.kind === 'label') {
    if (!DECIDING_TYPES.includes(f.type) || f.name === null) return null;
    const prefix = `${f.type}:`;
    const names = [`${prefix}${f.name}`, ...(f.name.startsWith(prefix) ? [f.name] : [])];
    return names.length === 1 ? sql`and a.actor->>'name' = ${names[0]!}` : sql`and a.actor->>'name' = any(${names})`;
  }
  return sql`and a.actor->>'id' = ${f.text}`;
}

// ---------------------------------------------------------------------------------------
// Search.

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

/**
 * Where a page ends: the (position, part) of its last entry, and the total counted for the
 * first page with a fingerprint of the filters it was counted for, so later pages of the
 * same search need not count again. Older cursors hold a position alone (base64url of its
 * digits): "before this position", as they always meant.
 */
interface Cursor { p: number; e: number; t?: number; f?: string }

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

function decodeCursor(s: string): Cursor {
  const text = Buffer.from(s, 'base64url').toString('utf8');
  if (/^\d+$/.test(text)) {
    const p = Number(text);
    if (!Number.isSafeInteger(p) || p <= 0) throw new AppError('INVALID_CURSOR');
    return { p, e: 0 };
  }
  try {
    const c = JSON.parse(text) as Cursor;
    // Exactly what encodeCursor writes: anything else is forged or corrupted.
    if (!Number.isSafeInteger(c.p) || c.p <= 0 || (c.e !== 0 && c.e !== 1)) throw new Error('shape');
    if (c.t !== undefined && !(Number.isSafeInteger(c.t) && c.t >= 0)) throw new Error('shape');
    if (c.f !== undefined && typeof c.f !== 'string') throw new Error('shape');
    return c;
  } catch {
    throw new AppError('INVALID_CURSOR');
  }
}

/**
 * Matching requests up to this many are read request-first for a page and its total (their
 * entries by stream: about a few index probes each). More than this is a large set: see
 * searchAudit.
 */
export const FEW_REQUESTS = 2_000;
/** A large set's page walks at most this many of the newest events below the cursor first. */
export const WALK_WINDOW = 10_000;

/**
 * The events of a date range as the source of its entries' positions, when the range holds
 * at most WALK_WINDOW events (counted on events_recorded_at_idx, up to that many); null for a
 * wider range, which is read like the rest of the log.
 */
async function dateRangePositions(sql: Sql, from: Date | null, to: Date | null): Promise<{ source: Fragment } | null> {
  const range = sql`${from ? sql`and recorded_at >= ${from}` : sql``} ${to ? sql`and recorded_at < ${to}` : sql``}`;
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from (select 1 from events where true ${range} limit ${WALK_WINDOW + 1}) e`;
  // Wrapped: a fragment is a thenable, which an async function would run in place of returning.
  return row!.n <= WALK_WINDOW ? { source: sql`select position from events where true ${range}` } : null;
}

/**
 * Newest first. Pages by `cursor` (the last entry of the previous page: stable while the log
 * grows) or by `offset` (the original API's way), not both.
 *
 * Which entries are looked at, by the filters given (every filter applies in each case):
 * - a date range of at most WALK_WINDOW events: the events of that range;
 * - a filter on the request (`action`, `status`, `requestId`): the matching requests first.
 *   Up to FEW_REQUESTS of them, their entries are computed from their streams for the page
 *   and the total. A larger set is common enough that its entries are dense among recent
 *   events: the page walks the WALK_WINDOW newest events below the cursor, each looked up
 *   with its request by primary key, and only if the page is not full by then reads the rest
 *   request-first. Its total is inherently one step per matching request: summed from
 *   `requests` when only request filters are given (each request's version counts its
 *   stream's events), counted over the requests' entries otherwise;
 * - otherwise each view newest first on the index of its filter (an actor's page walks the
 *   recent events first, as its index is not in log order), counted on the same indexes.
 * The first page's total is carried by the cursor to the later pages (docs/audit-plans.md).
 */
export async function searchAudit(sql: Sql, q: AuditSearch) {
  const limit = q.limit ?? 50;
  const offset = q.offset ?? 0;
  let cursor: Cursor | null = null;
  if (q.cursor !== undefined) {
    if (q.offset) throw new AppError('VALIDATION_ERROR', 'Use either offset or cursor, not both', [{ field: 'querystring.cursor', message: 'cannot be combined with offset' }]);
    cursor = decodeCursor(q.cursor);
  }
  const from = q.from ? dateBound(q.from, 'from') : null;
  const to = q.to ? dateBound(q.to, 'to') : null;
  const eventName = q.eventType ? eventTypeOf(q.eventType) : null;
  const requestFilter: RequestFilter = { requestId: q.requestId, action: q.action, status: q.status };
  const filter = parseActorFilter(q.actor ?? '');
  const actor: ResolvedActor | null = q.actor
    ? { filter, byId: filter.kind === 'plain' ? await actorsWithId(sql, filter.text) : null }
    : null;

  // Filters on the entry, per view (null: no entry of that view can match).
  const dates = sql`${from ? sql`and a.created_at >= ${from}` : sql``} ${to ? sql`and a.created_at < ${to}` : sql``}`;
  const eventFilters = sql`
    ${eventName ? sql`and a.event_name = ${eventName}` : sql``}
    ${actor ? eventActorCondition(sql, actor) : sql``}
    ${dates}`;
  const statuses = decisionStatuses(eventName);
  const decisionActor = actor ? decisionActorCondition(sql, actor) : sql``;
  const decisionFilters = statuses.length && decisionActor
    ? sql`${statuses.length === 1 ? sql`and a.event_type = ${statuses[0]!}` : sql``} ${decisionActor} ${dates}`
    : null;
  // Decision entries newest first come from one index scan: on the policy's name when a
  // policy is asked for (events_policy_decision_policy_idx), else on the status
  // (events_policy_decision_status_idx), one scan per status, merged.
  const byPolicyName = actor?.filter.kind === 'label' && DECIDING_TYPES.includes(actor.filter.type);
  const decisionParts: Fragment[] = byPolicyName || statuses.length === 1
    ? [sql``]
    : statuses.map((status) => sql`and a.event_type = ${status}`);
  const entryFiltered = Boolean(eventName || actor || from || to);

  // The cursor's bound in each view: entries before (p, e) in (position, part) order.
  const eventBefore = cursor ? cursor.p + (cursor.e > 0 ? 1 : 0) : null;
  const decisionBefore = cursor ? cursor.p : null;
  const take = offset + limit + 1;

  const fingerprint = createHash('sha256')
    .update(JSON.stringify([eventName, q.action ?? null, q.status ?? null, q.actor ?? null, q.requestId ?? null, from?.getTime() ?? null, to?.getTime() ?? null]))
    .digest('base64url').slice(0, 16);
  const knownTotal = cursor?.t !== undefined && cursor.f === fingerprint ? cursor.t : undefined;

  let rows: AuditRow[];
  let total: number;
  const inRange = from || to ? await dateRangePositions(sql, from, to) : null;
  if (inRange) {
    // A date range of at most WALK_WINDOW events: its events are the candidates.
    const onRequest = onEntryRequest(sql, requestFilter);
    const ranged = { eventFilters: sql`${eventFilters} ${onRequest}`, decisionFilters: decisionFilters && sql`${decisionFilters} ${onRequest}` };
    [rows, total] = await Promise.all([
      positionsPage(sql, inRange.source, { ...ranged, eventBefore, decisionBefore, take }),
      knownTotal ?? positionsTotal(sql, inRange.source, ranged.eventFilters, ranged.decisionFilters),
    ]);
  } else if (!hasRequestFilter(requestFilter)) {
    const spec = { eventFilters, decisionFilters, decisionParts, eventBefore, decisionBefore, take };
    [rows, total] = await Promise.all([
      // An actor's entries by index are not in log order (the index is on type, name, id):
      // the newest are looked for among recent events first.
      actor ? walkPage(sql, spec, sql``, (floor, rest) => logPage(sql, { ...spec, take: rest }, floor)) : logPage(sql, spec),
      knownTotal ?? logTotal(sql, eventFilters, decisionFilters, decisionParts),
    ]);
  } else {
    const few = await sql<{ n: number }[]>`select count(*)::int as n from (${matchingRequests(sql, requestFilter, FEW_REQUESTS + 1)}) r`;
    const requests = matchingRequests(sql, requestFilter);
    const scoped = { eventFilters, decisionFilters, eventBefore, decisionBefore, take };
    if (few[0]!.n <= FEW_REQUESTS) {
      [rows, total] = await Promise.all([
        positionsPage(sql, eventPositionsOf(sql, requests), scoped),
        knownTotal ?? positionsTotal(sql, eventPositionsOf(sql, requests), eventFilters, decisionFilters),
      ]);
    } else {
      [rows, total] = await Promise.all([
        walkPage(sql, scoped, onEntryRequest(sql, requestFilter),
          (floor, rest) => positionsPage(sql, eventPositionsOf(sql, requests), { ...scoped, take: rest }, floor)),
        knownTotal ?? (!entryFiltered ? requestEntriesTotal(sql, requestFilter, requests)
          : eventName?.startsWith('request.') && !actor && !from && !to ? requestEventTypeTotal(sql, requestFilter, eventName)
          : positionsTotal(sql, eventPositionsOf(sql, requests), eventFilters, decisionFilters)),
      ]);
    }
  }
  rows = rows.sort(byLogOrderDesc).slice(offset, take);

  const page = rows.slice(0, limit);
  const hasMore = rows.length > limit;
  const last = page[page.length - 1];
  return {
    entries: page.map(toEntry),
    pagination: {
      total,
      limit,
      offset,
      hasMore,
      nextCursor: hasMore && last ? encodeCursor({ p: last.id, e: last.part, t: total, f: fingerprint }) : null,
    },
  };
}

interface PageSpec {
  eventFilters: Fragment;
  decisionFilters: Fragment | null;
  eventBefore: number | null;
  decisionBefore: number | null;
  take: number;
}

/**
 * Parenthesised SELECTs, each ordered newest first with its own limit, read as one:
 * the caller merges their rows into log order.
 */
async function readParts(sql: Sql, parts: Fragment[]): Promise<AuditRow[]> {
  if (parts.length === 0) return [];
  const all = parts.slice(1).reduce((acc, p) => sql`${acc} union all (${p})`, sql`(${parts[0]!})`);
  return sql<AuditRow[]>`${all}`;
}

/** A page of the whole log (below `floor` when given): the events' entries and the decision entries (`decisionParts`), each newest first. */
function logPage(sql: Sql, s: PageSpec & { decisionParts: Fragment[] }, floor?: number): Promise<AuditRow[]> {
  const bound = (before: number | null) => {
    const b = floor !== undefined ? Math.min(floor, before ?? floor) : before;
    return b !== null ? sql`and a.id < ${b}` : sql``;
  };
  const parts = [sql`
    select a.* from audit_event_entries a where true ${s.eventFilters} ${bound(s.eventBefore)}
    order by a.id desc limit ${s.take}`];
  if (s.decisionFilters) {
    const before = bound(s.decisionBefore);
    for (const part of s.decisionParts) {
      parts.push(sql`
        select a.* from audit_decision_entries a where true ${part}
        ${s.decisionFilters} ${before} order by a.id desc limit ${s.take}`);
    }
  }
  return readParts(sql, parts);
}

/** The total of the whole log under entry filters: each view counted on its own index. */
async function logTotal(sql: Sql, eventFilters: Fragment, decisionFilters: Fragment | null, decisionParts: Fragment[]): Promise<number> {
  const counts = [sql`(select count(*) from audit_event_entries a where true ${eventFilters})`];
  if (decisionFilters) {
    for (const part of decisionParts) {
      counts.push(sql`(select count(*) from audit_decision_entries a where true ${part} ${decisionFilters})`);
    }
  }
  const sum = counts.slice(1).reduce((acc, c) => sql`${acc} + ${c}`, counts[0]!);
  const [row] = await sql<{ total: number }[]>`select (${sum})::int as total`;
  return row!.total;
}

/**
 * The entries at the given positions (an array computed first, in the CTE `positions`), one
 * position at a time from the newest, each looked up by primary key in both views: a LATERAL
 * the planner cannot flatten, so it stays a probe per position (matched against an array
 * instead, a planner without statistics may filter a whole index through it).
 */
const atPositions = (sql: Sql, s: Pick<PageSpec, 'eventFilters' | 'decisionFilters'>, eventBound: Fragment, decisionBound: Fragment) => sql`
  (select unnest(ids) as id from positions order by 1 desc) p
  cross join lateral (
    ${s.decisionFilters ? sql`(select a.* from audit_decision_entries a where a.id = p.id ${s.decisionFilters} ${decisionBound})
    union all` : sql``}
    (select a.* from audit_event_entries a where a.id = p.id ${s.eventFilters} ${eventBound})
    offset 0) a`;

/**
 * How many entries are at those positions: the same probes in no order, reading only what
 * the filters name (the views' joins drop out when no column of theirs is read).
 */
const countAtPositions = (sql: Sql, eventFilters: Fragment, decisionFilters: Fragment | null) => sql`
  (select unnest(ids) as id from positions) p
  cross join lateral (
    ${decisionFilters ? sql`(select 1 from audit_decision_entries a where a.id = p.id ${decisionFilters})
    union all` : sql``}
    (select 1 from audit_event_entries a where a.id = p.id ${eventFilters})
    offset 0) a`;

/** The CTE `positions`: the positions a SELECT gives, as one array. */
const positionsOf = (sql: Sql, source: Fragment) => sql`positions as materialized (select array(${source}) as ids)`;

/**
 * A page of the entries at the positions `source` selects (a set of requests' events, or
 * the events of a date range), below `floor` when given.
 */
function positionsPage(sql: Sql, source: Fragment, s: PageSpec, floor?: number): Promise<AuditRow[]> {
  const bound = (before: number | null) => {
    const b = floor !== undefined ? Math.min(floor, before ?? floor) : before;
    return b !== null ? sql`and a.id < ${b}` : sql``;
  };
  return sql<AuditRow[]>`
    with ${positionsOf(sql, source)}
    select a.* from ${atPositions(sql, s, bound(s.eventBefore), bound(s.decisionBefore))}
    limit ${s.take}`;
}

/** The number of entries at the positions `source` selects, under the filters. */
async function positionsTotal(sql: Sql, source: Fragment, eventFilters: Fragment, decisionFilters: Fragment | null): Promise<number> {
  const [row] = await sql<{ total: number }[]>`
    with ${positionsOf(sql, source)}
    select count(*)::int as total from ${countAtPositions(sql, eventFilters, decisionFilters)}`;
  return row!.total;
}

/**
 * A page by walking the log: the newest WALK_WINDOW events below the cursor are looked at
 * one by one, each entry with its request by primary key (a LATERAL the planner cannot turn
 * into a hash of the log against `requests`); what the window leaves of the page is read by
 * `rest` below it. For filters whose matches are common (a large set of requests, an actor)
 * the page is full within the window; for sparse ones the work is the window plus what
 * `rest` costs, never a walk of the whole log.
 */
async function walkPage(sql: Sql, s: PageSpec, onRequest: Fragment, rest: (floor: number, take: number) => Promise<AuditRow[]>): Promise<AuditRow[]> {
  const before = s.eventBefore;
  const [edge] = await sql<{ position: number }[]>`
    select position from events where true ${before !== null ? sql`and position < ${before}` : sql``}
    order by position desc offset ${WALK_WINDOW - 1} limit 1`;
  const floor = edge?.position ?? null;
  // Within one position the decision (part 1) reads before the event's own entry (part 0).
  const decision = s.decisionFilters ? sql`
    (select a.* from audit_decision_entries a where a.id = w.position ${s.decisionFilters} ${onRequest}
      ${s.decisionBefore !== null ? sql`and a.id < ${s.decisionBefore}` : sql``})
    union all` : sql``;
  const walked = await sql<AuditRow[]>`
    select a.* from (
      select position from events where true ${before !== null ? sql`and position < ${before}` : sql``}
      order by position desc limit ${WALK_WINDOW}) w
    cross join lateral (
      ${decision}
      (select a.* from audit_event_entries a where a.id = w.position ${s.eventFilters} ${onRequest})
      offset 0) a
    limit ${s.take}`;
  if (walked.length >= s.take || floor === null) return walked;
  return [...walked, ...await rest(floor, s.take - walked.length)];
}

/**
 * The number of entries of a large set of requests, without entry filters: each request's
 * stream has `version` events, one more entry when a policy decided in its request.created;
 * plus the webhook deliveries of those events, counted from whichever side is smaller: every
 * delivery of the log, each checked against its request, or the deliveries of each of the
 * requests' events.
 */
async function requestEntriesTotal(sql: Sql, f: RequestFilter, requests: Fragment): Promise<number> {
  const [own] = await sql<{ n: number; requests: number }[]>`
    select coalesce(sum(r.version + r.created_with_decision::int), 0)::int as n, count(*)::int as requests
    from requests r where true ${onRequestRow(sql, f)}`;
  const cap = Math.max(own!.requests, FEW_REQUESTS);
  const [few] = await sql<{ n: number }[]>`
    select count(*)::int as n from (
      select 1 from events d where d.type in ('webhook.delivery_attempted', 'webhook.redelivery_requested') limit ${cap + 1}) d`;
  const [deliveries] = few!.n <= cap
    ? await sql<{ n: number }[]>`
      select count(*)::int as n from events d
      where d.type in ('webhook.delivery_attempted', 'webhook.redelivery_requested')
        and exists (
          select 1 from requests r
          where r.id = (select substr(s.stream_id, 9) from events s
                        where s.position = (d.data->>'eventPosition')::bigint and s.stream_type = 'request')
          ${onRequestRow(sql, f)})`
    : await sql<{ n: number }[]>`
      select count(*)::int as n from (${requests}) r
      cross join lateral (select s.position from events s where s.stream_id = 'request-' || r.id offset 0) s
      cross join lateral (
        select 1 from events d
        where (d.data->>'eventPosition')::bigint = s.position
          and d.type in ('webhook.delivery_attempted', 'webhook.redelivery_requested')
        offset 0) d`;
  return own!.n + deliveries!.n;
}

/**
 * The number of entries of one request event type among a large set of requests: the events
 * of that type (events_type_position_idx), each checked against its request by primary key,
 * plus, for approved or denied, the requests whose creation carried that decision (a decision
 * is final, so their status is still that decision): no step per request's event.
 */
async function requestEventTypeTotal(sql: Sql, f: RequestFilter, eventName: string): Promise<number> {
  const statuses = decisionStatuses(eventName);
  const [row] = await sql<{ n: number }[]>`
    select ((select count(*) from events e
              where e.type = ${eventName}
                and exists (select 1 from requests r where r.id = substr(e.stream_id, 9) ${onRequestRow(sql, f)}))
      ${statuses.length === 1 ? sql`+ (select count(*) from requests r
              where r.created_with_decision and r.status = ${statuses[0]!} ${onRequestRow(sql, f)})` : sql``})::int as n`;
  return row!.n;
}

// ---------------------------------------------------------------------------------------
// A request's trail; the distinct actors and actions.

/** A request's entries, oldest first: its events, the decision a policy made at its creation, its deliveries. */
export async function requestAudit(sql: Sql, requestId: string): Promise<AuditEntry[]> {
  const requests = matchingRequests(sql, { requestId });
  const rows = await sql<AuditRow[]>`
    with ${positionsOf(sql, eventPositionsOf(sql, requests))}
    select a.* from ${atPositions(sql, { eventFilters: sql``, decisionFilters: sql`` }, sql``, sql``)}`;
  rows.reverse();
  return rows.map(toEntry);
}

/**
 * The distinct actors of the log, printed (`key:ops-bot`, …), sorted. Loose index scans:
 * over (actor type, actor name) of the events, and over the policies of the decision
 * entries: one index probe per distinct actor, never a pass over the log, at most `max`.
 */
export async function auditActors(sql: Sql, max: number): Promise<{ actors: string[]; truncated: boolean }> {
  const [events, policies] = await Promise.all([
    sql<{ type: string; name: string }[]>`
      ${distinctEventActors(sql)}
      select type, name from seen limit ${max + 1}`,
    sql<{ name: string }[]>`
      with recursive seen as (
        (select a.actor->>'name' as name from audit_decision_entries a order by a.actor->>'name' limit 1)
        union all
        select n.name from seen, lateral (
          select a.actor->>'name' as name from audit_decision_entries a
          where a.actor->>'name' > seen.name order by a.actor->>'name' limit 1) n
      )
      select name from seen limit ${max + 1}`,
  ]);
  const all = [...new Set([...events.map(actorLabel), ...policies.map((p) => actorLabel({ type: p.name.startsWith('override:') ? 'override' : 'policy', name: p.name }))])].sort();
  const truncated = events.length > max || policies.length > max || all.length > max;
  return { actors: all.slice(0, max), truncated };
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
