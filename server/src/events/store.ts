import { AppError } from '../errors.ts';
import type { Sql, TxSql } from '../db/connect.ts';
import type { EventMetadata, NewEvent, StoredEvent, StreamType } from './types.ts';

type Db = Sql | TxSql;

/** Thrown when a stream's version is not the one the writer based its decision on. */
export class StreamVersionConflict extends AppError {
  constructor(readonly streamId: string, readonly expectedVersion: number) {
    super('CONCURRENCY_CONFLICT', `stream ${streamId} is no longer at version ${expectedVersion}`, { streamId, expectedVersion });
  }
}

interface EventRow {
  position: number;
  tx_id: string;
  stream_id: string;
  stream_type: string;
  version: number;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  recorded_at: Date;
}

const toStored = (r: EventRow): StoredEvent => ({
  position: r.position,
  txId: r.tx_id,
  streamId: r.stream_id,
  streamType: r.stream_type,
  version: r.version,
  type: r.type,
  data: r.data,
  metadata: r.metadata,
  recordedAt: r.recorded_at,
});

export interface AppendInput {
  streamId: string;
  streamType: StreamType;
  /** The version the decision was based on: 0 for a new stream. */
  expectedVersion: number;
  events: NewEvent[];
  metadata: EventMetadata;
}

/**
 * Appends events to one stream inside the caller's transaction, or as one statement of its
 * own (given the pool: a statement commits on its own, so the caller then tells
 * `committed`); projections update and the NOTIFY is queued by triggers in the same
 * transaction. StreamVersionConflict (decide
 * again in a new transaction) when:
 * - the stream is not at `expectedVersion`, behind or ahead;
 * - a transaction still running appended the same version (unique (stream_id, version));
 * - the stream's last event was written by a younger transaction than this one. Readers
 *   order the log by transaction id (see readAfter), so this append would otherwise be
 *   read before the event it follows. It happens when the transaction got its id (any
 *   earlier write or row lock) before that event committed; call append first.
 */
export async function append(tx: Db, input: AppendInput): Promise<StoredEvent[]> {
  if (input.events.length === 0) return [];
  const rows = input.events.map((e, i) => ({
    stream_id: input.streamId,
    stream_type: input.streamType,
    version: input.expectedVersion + i + 1,
    type: e.type,
    data: e.data,
    metadata: input.metadata,
  }));
  try {
    const inserted = await tx<EventRow[]>`
      with head as (
        select version, tx_id from events where stream_id = ${input.streamId} order by version desc limit 1
      )
      insert into events (stream_id, stream_type, version, type, data, metadata)
      select stream_id, stream_type, version, type, data, metadata
      from jsonb_to_recordset(${tx.json(rows as never)}::jsonb)
        as x(stream_id text, stream_type text, version integer, type text, data jsonb, metadata jsonb)
      -- A version ahead of the stream would leave a gap that no later writer (expecting
      -- the event count) could ever fill.
      where coalesce((select version from head), 0) = ${input.expectedVersion}
        and coalesce((select tx_id from head) <= pg_current_xact_id(), true)
      order by version
      returning position, tx_id::text, stream_id, stream_type, version, type, data, metadata, recorded_at`;
    if (inserted.length === 0) throw new StreamVersionConflict(input.streamId, input.expectedVersion);
    return inserted.map(toStored);
  } catch (err) {
    if (isUniqueViolation(err, 'events_stream_version_unique')) {
      throw new StreamVersionConflict(input.streamId, input.expectedVersion);
    }
    throw err;
  }
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint_name?: string };
  return e?.code === '23505' && (constraint === undefined || e.constraint_name === constraint);
}

export async function readStream(db: Db, streamId: string): Promise<StoredEvent[]> {
  const rows = await db<EventRow[]>`
    select position, tx_id::text, stream_id, stream_type, version, type, data, metadata, recorded_at
    from events where stream_id = ${streamId} order by version`;
  return rows.map(toStored);
}

/**
 * A reader's place in the log. The log order is (transaction id, position): positions
 * are handed out at insert but become visible at commit, so a plain "position > last"
 * reader could skip a row whose transaction commits late. Reading only transactions
 * older than the oldest still running one (pg_snapshot_xmin) and ordering by
 * (tx_id, position) makes the order stable: no row can later appear before the cursor.
 */
export interface LogCursor {
  txId: string;
  position: number;
}

export const LOG_START: LogCursor = { txId: '0', position: 0 };

export async function readAfter(db: Db, cursor: LogCursor, limit: number): Promise<StoredEvent[]> {
  const rows = await db<EventRow[]>`
    select e.position, e.tx_id::text, e.stream_id, e.stream_type, e.version, e.type, e.data, e.metadata, e.recorded_at
    from events e
    where (e.tx_id, e.position) > (${cursor.txId}::xid8, ${cursor.position})
      and e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
    -- Qualified on purpose: a bare "tx_id" here would name the text output column and
    -- sort '1000' before '999'.
    order by e.tx_id, e.position
    limit ${limit}`;
  return rows.map(toStored);
}

/** The cursor just after the event at `position`; 0 means the start of the log. */
export async function cursorAt(db: Db, position: number): Promise<LogCursor | null> {
  if (position === 0) return LOG_START;
  const [row] = await db<{ tx_id: string }[]>`select tx_id::text from events where position = ${position}`;
  return row ? { txId: row.tx_id, position } : null;
}

export const cursorAfter = (e: StoredEvent): LogCursor => ({ txId: e.txId, position: e.position });
