/**
 * Reading the event log for live delivery. Same order and horizon as events/store.ts
 * readAfter: (tx_id, position), and only transactions older than pg_snapshot_xmin, so a
 * row can never appear later before a cursor already handed out. On top of readAfter it
 * filters in SQL, reports whether committed rows are being held back by the horizon,
 * and builds each wire message (secrets removed) once, in the database.
 */
import type { Sql } from '../db/connect.ts';
import type { LogCursor } from '../events/store.ts';

/** An event as live readers pass it around: routing fields plus its finished wire message. */
export interface LiveEvent {
  position: number;
  txId: string;
  streamId: string;
  streamType: string;
  type: string;
  /** recorded_at in epoch milliseconds (for since/until on live events). */
  recordedMs: number;
  /**
   * `{"type":"event","position":…,"streamId":…,…}` — the same text for every subscriber.
   * Null only for a request event the hub read while no listener wanted request events'
   * messages (see `readTail` and `LiveListener.needsRequestMessages`).
   */
  msg: string | null;
}

/** The wire message of an event that must have one (any event but a request event the hub read for no subscriber). */
export function wireMessage(e: LiveEvent): string {
  if (e.msg === null) throw new Error(`event ${e.position} (${e.type}) was read without its message`);
  return e.msg;
}

/** Which events a reader wants; every list is "any of", the lists are ANDed. */
export interface LogFilter {
  streamTypes?: readonly string[];
  streamIds?: readonly string[];
  types?: readonly string[];
  since?: string;
  until?: string;
}

export interface LogPage {
  events: LiveEvent[];
  /** Where the next read starts; past filtered-out rows when the page is short. */
  cursor: LogCursor;
  /** The page stopped early: committed rows wait behind an older transaction still open. */
  heldBack: boolean;
}

export const cursorOf = (e: LiveEvent): LogCursor => ({ txId: e.txId, position: e.position });

/** Orders cursors in log order: negative when a is before b. */
export function compareCursors(a: LogCursor, b: LogCursor): number {
  const ta = BigInt(a.txId);
  const tb = BigInt(b.txId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.position - b.position;
}

interface Row {
  position: number;
  tx_id: string;
  stream_id: string;
  stream_type: string;
  type: string;
  recorded_ms: number;
  msg: string | null;
}

const toLive = (r: Row): LiveEvent => ({
  position: r.position, txId: r.tx_id, streamId: r.stream_id, streamType: r.stream_type, type: r.type,
  recordedMs: Number(r.recorded_ms), msg: r.msg,
});

/**
 * The wire message of an event, as compact JSON text (row_to_json, unlike json_build_object,
 * adds no spaces). Webhook secrets, key hashes and idempotency keys never leave the server
 * (the audit projection removes the same fields); most events have none, and are not copied. recorded_at is rendered as the API's ISO form.
 */
const SECRET_FIELDS = ['secret', 'keyHash', 'idempotency', 'approveTokenHash', 'denyTokenHash'];

function messageOf(sql: Sql) {
  return sql`cross join lateral (
      select 'event' as "type", e.position as "position", e.stream_id as "streamId",
        e.stream_type as "streamType", e.version as "version", e.type as "eventType",
        case when e.data ?| ${SECRET_FIELDS}::text[] then e.data - ${SECRET_FIELDS}::text[] else e.data end as "data",
        e.metadata as "metadata",
        to_char(e.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "recordedAt"
    ) m`;
}

const recordedMs = (sql: Sql) => sql`floor(extract(epoch from e.recorded_at) * 1000)::float8`;

function conditions(sql: Sql, f: LogFilter) {
  return sql`
    ${f.streamTypes ? sql`and e.stream_type = any(${f.streamTypes as string[]}::text[])` : sql``}
    ${f.streamIds ? sql`and e.stream_id = any(${f.streamIds as string[]}::text[])` : sql``}
    ${f.types ? sql`and e.type = any(${f.types as string[]}::text[])` : sql``}
    ${f.since ? sql`and e.recorded_at >= ${f.since}::timestamptz` : sql``}
    ${f.until ? sql`and e.recorded_at < ${f.until}::timestamptz` : sql``}`;
}

/**
 * The unfiltered tail read of the live hub: the readable rows after the cursor, and, from
 * the same snapshot, whether committed rows wait past the horizon (so the caller learns it
 * is behind without a second query). Readable rows all come before held-back ones in log
 * order (tx_id < xmin for the one, >= for the other), so this is the same page as reading
 * every row and stopping at the first held-back one; but a held-back row is not fetched,
 * page after page, while an older transaction stays open — under concurrent appends there
 * nearly always is one, and that had the hub fetch each event several times.
 *
 * Without `requestMessages`, request events come without their wire message (msg null):
 * every row is still read, in the same order and up to the same cursor, but the most common
 * events' messages are not built, sent and decoded while only listeners that look at
 * routing fields are attached (see LiveListener.needsRequestMessages).
 *
 * The hub runs this after every notification, so it must not be planned each time. With
 * the cursor and the limit as plain parameters, a plan made for each call's values (a cursor
 * near the end: a few rows) always looked cheaper than the generic one (an unknown cursor
 * and limit: a good part of the table), so Postgres planned every read anew — 0.6 ms of
 * planning for 0.1 ms of work, about a third of its time per create. Read through
 * subqueries, they are costed the same whatever their values, so the prepared statement
 * settles on its generic plan (the same index scan from the cursor) after the first five.
 * Checked by test/integration/live-tail-plan.test.ts.
 */
export async function readTail(sql: Sql, cursor: LogCursor, limit: number, opts: { requestMessages: boolean }): Promise<LogPage> {
  const msg = opts.requestMessages ? sql`row_to_json(m)::text` : sql`case when e.stream_type <> 'request' then row_to_json(m)::text end`;
  const rows = await sql<(Row & { held_back: boolean })[]>`
    with h as (select pg_snapshot_xmin(pg_current_snapshot()) as xmin),
    page as (
      select e.position, e.tx_id, e.stream_id, e.stream_type, e.type, ${recordedMs(sql)} as recorded_ms, ${msg} as msg
      from events e cross join h ${messageOf(sql)}
      where (e.tx_id, e.position) > ((select ${cursor.txId}::xid8), (select ${cursor.position}::bigint)) and e.tx_id < h.xmin
      order by e.tx_id, e.position
      limit (select ${limit}::int)
    )
    select position, tx_id::text, stream_id, stream_type, type, recorded_ms, msg, false as held_back from page
    union all
    select null, null, null, null, null, null, null, true
    from h where exists (select 1 from events e where e.tx_id >= h.xmin)`;
  const events: LiveEvent[] = [];
  let heldBack = false;
  for (const r of rows) {
    if (r.held_back) heldBack = true;
    else events.push(toLive(r));
  }
  const last = events[events.length - 1];
  return { events, cursor: last ? cursorOf(last) : cursor, heldBack };
}

/**
 * A filtered page after `cursor`, optionally no further than `upTo`. When the page is
 * short the cursor moves to the last readable row of the same snapshot, so a selective
 * filter does not rescan the rows it skipped. The page and that tail come from one
 * statement, hence one snapshot: no matching row can fall between them.
 */
export async function readFiltered(
  sql: Sql, cursor: LogCursor, limit: number, filter: LogFilter, upTo?: LogCursor,
): Promise<LogPage> {
  const bound = upTo ? sql`and (e.tx_id, e.position) <= (${upTo.txId}::xid8, ${upTo.position})` : sql``;
  const rows = await sql<(Row & { tail: boolean })[]>`
    with h as (select pg_snapshot_xmin(pg_current_snapshot()) as xmin),
    page as (
      select e.position, e.tx_id, e.stream_id, e.stream_type, e.type, ${recordedMs(sql)} as recorded_ms,
             row_to_json(m)::text as msg
      from events e cross join h ${messageOf(sql)}
      where (e.tx_id, e.position) > (${cursor.txId}::xid8, ${cursor.position})
        and e.tx_id < h.xmin ${bound} ${conditions(sql, filter)}
      order by e.tx_id, e.position
      limit ${limit}
    ),
    tail as (
      select e.position, e.tx_id
      from events e, h
      where e.tx_id < h.xmin ${bound}
      order by e.tx_id desc, e.position desc
      limit 1
    )
    select position, tx_id::text, stream_id, stream_type, type, recorded_ms, msg, false as tail from page
    union all
    select position, tx_id::text, null, null, null, null, null, true from tail`;
  const events: LiveEvent[] = [];
  let tail: LogCursor | null = null;
  for (const r of rows) {
    if (r.tail) tail = { txId: r.tx_id, position: r.position };
    else events.push(toLive(r));
  }
  const last = events[events.length - 1];
  let next = last ? cursorOf(last) : cursor;
  if (events.length < limit && tail && compareCursors(tail, next) > 0) next = tail;
  return { events, cursor: next, heldBack: false };
}

/** The end of the readable log now: a reader starting here sees only later events. */
export async function logEnd(sql: Sql): Promise<LogCursor> {
  const [row] = await sql<{ tx_id: string; position: number }[]>`
    select e.tx_id::text, e.position from events e
    where e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
    order by e.tx_id desc, e.position desc
    limit 1`;
  return row ? { txId: row.tx_id, position: row.position } : { txId: '0', position: 0 };
}
