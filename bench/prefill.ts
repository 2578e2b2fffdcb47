/**
 * Grows the bench database's log to a given number of events by SQL generation, the shape
 * of a large, old installation: request streams cloned from seeds made through the API
 * (one a policy approved at once: one event; one routed to people then approved: two
 * events; optionally one still pending), with their read-model rows. Triggers are off while it runs (session_replication_role
 * = replica), autovacuum is off for the grown tables and nothing is analysed afterwards, as on
 * a busy or badly tuned server: every query of the write path must stay O(1) without fresh
 * statistics.
 */
import type { Sql } from '../server/src/db/connect.ts';

/** Tables that grow with the log; autovacuum (and so auto-analyze) is turned off for them. */
const GROWN = ['events', 'requests', 'audit_log', 'idempotency_keys'];

export interface PrefillResult {
  events: number;
  streams: number;
  seconds: number;
}

export interface PrefillOptions {
  /**
   * A request routed to people and still pending: one stream in ten is cloned from it (and
   * three in ten from the decided seed) instead of none.
   */
  pendingSeed?: string;
  /** Streams per transaction (default 20,000; tests keep theirs under 10,000 rows). */
  chunk?: number;
}

/**
 * Adds request streams until `events` holds at least `targetEvents` rows. `autoSeed` is a
 * request a policy approved at once, `decidedSeed` one routed to people and then decided.
 */
export async function prefillLog(sql: Sql, targetEvents: number, autoSeed: string, decidedSeed: string, options: PrefillOptions = {}): Promise<PrefillResult> {
  const t0 = performance.now();
  const pendingSeed = options.pendingSeed ?? decidedSeed;
  const streamEvents = async (seed: string) => {
    const [{ n } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from events where stream_id = ${`request-${seed}`}`;
    if (n === 0) throw new Error('prefill: the seed requests have no events');
    return n;
  };
  const [{ n: have } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from events`;
  const [autoEvents, decidedEvents, pendingEvents] = [await streamEvents(autoSeed), await streamEvents(decidedSeed), await streamEvents(pendingSeed)];
  // Six streams in ten like the auto seed, three like the decided one, one like the pending
  // one (the decided one when none is given).
  const perStream = 0.6 * autoEvents + 0.3 * decidedEvents + 0.1 * pendingEvents;
  const streams = Math.max(0, Math.ceil((targetEvents - have) / perStream));
  for (const table of GROWN) {
    const [exists] = await sql<{ kind: string | null }[]>`select (select relkind::text from pg_class where oid = to_regclass(${table})) as kind`;
    if (exists?.kind === 'r') await sql`alter table ${sql(table)} set (autovacuum_enabled = false)`;
  }
  if (streams === 0) return { events: have, streams: 0, seconds: 0 };

  // In transactions of CHUNK streams: a transaction holding an xid holds back every
  // gap-free log reader of the server (they read below the oldest open one), and the
  // server may be shared.
  const chunk = options.chunk ?? CHUNK;
  for (let first = 1; first <= streams; first += chunk) {
    await appendChunk(sql, first, Math.min(streams, first + chunk - 1), streams, autoSeed, decidedSeed, pendingSeed);
  }
  const [{ n: events } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from events`;
  return { events, streams, seconds: (performance.now() - t0) / 1000 };
}

const CHUNK = 20_000;

/**
 * Prefilled request ids keep the req_ format (26 base32 characters) and, like the ids of a
 * real old installation (ULIDs: time first), sort before every id made since, oldest
 * first: ULIDs of 1970. So new requests go in at the right-hand end of the id indexes
 * (`requests_pkey`, `events_stream_version_unique`), as on a log that grew by use. Ids
 * sorting after the new ones (an earlier `req_pf…` form) put every insert in the middle of
 * those indexes, where leaf pages split in half: about twice the pages dirtied per create,
 * a cost no real log has.
 */
const PREFILLED_ID_PREFIX = 'req_00';
const PREFILLED_ID_DIGITS = 24;

/** The id of the `n`th prefilled request (1 = the oldest). */
export function prefilledRequestId(n: number): string {
  return PREFILLED_ID_PREFIX + String(n).padStart(PREFILLED_ID_DIGITS, '0');
}

async function appendChunk(sql: Sql, first: number, last: number, streams: number, autoSeed: string, decidedSeed: string, pendingSeed: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    // The new streams and their seeds; ids as prefilledRequestId spells them.
    await tx`
      create temp table prefill_streams on commit drop as
      select g, ${PREFILLED_ID_PREFIX}::text || lpad(g::text, ${PREFILLED_ID_DIGITS}::int, '0') as id,
             case when g % 10 < 6 then ${autoSeed} when g % 10 < 9 then ${decidedSeed} else ${pendingSeed} end as seed
      from generate_series(${first}::int, ${last}::int) g`;
    // Oldest first, a millisecond apart, ending before the seeds: the log reads as history.
    await tx`
      insert into events (stream_id, stream_type, version, type, data, metadata, recorded_at)
      select 'request-' || p.id, 'request', s.version, s.type,
             case when s.data ? 'id' then s.data || jsonb_build_object('id', p.id) else s.data end,
             s.metadata, s.recorded_at - make_interval(secs => (${streams}::int - p.g + 1) / 1000.0)
      from prefill_streams p join events s on s.stream_id = 'request-' || p.seed
      order by p.g, s.version`;
    await tx`
      insert into requests
      select (jsonb_populate_record(r, jsonb_build_object(
        'id', p.id, 'created_at', e.recorded_at, 'updated_at', e.recorded_at, 'last_position', e.position))).*
      from prefill_streams p
      join events e on e.stream_id = 'request-' || p.id and e.version = 1
      join requests r on r.id = p.seed`;
    const [audit] = await tx<{ kind: string | null }[]>`select (select relkind::text from pg_class where oid = to_regclass('audit_log')) as kind`;
    if (audit?.kind === 'r') {
      // One entry per event, cloned from the seed's entry of the same version.
      await tx`
        insert into audit_log
        select (jsonb_populate_record(a, jsonb_build_object(
          'id', e.position, 'stream_id', e.stream_id, 'request_id', p.id, 'created_at', e.recorded_at,
          'details', case when a.details ? 'id' then a.details || jsonb_build_object('id', p.id) else a.details end))).*
        from prefill_streams p
        join events e on e.stream_id = 'request-' || p.id
        join events s on s.stream_id = 'request-' || p.seed and s.version = e.version
        join audit_log a on a.id = s.position`;
    }
  });
}
