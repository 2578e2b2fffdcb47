/**
 * What a notification job reads and writes, in as few round trips as it can: one statement
 * reads the request as it stands with the notification history of its stream (one
 * snapshot, so the two agree), and each record is one INSERT at the version that read saw
 * (a single statement commits on its own; the projections and job triggers run inside it).
 * A job is mostly waiting on a channel's API; its database work is these two or three
 * statements, instead of a read, a second read and a four-statement transaction per record.
 *
 * When the stream moved on in between (a sibling destination recorded its message while
 * this one was posting), the append finds another version and the command is decided again
 * through the one write path (`executeCommand`) against the stream as it is then.
 */
import type { Sql } from '../db/connect.ts';
import { committed, executeCommand } from '../events/command.ts';
import { append, StreamVersionConflict } from '../events/store.ts';
import { streamId, type EventMetadata } from '../events/types.ts';
import { toApprovalRequest, type RequestRow } from '../requests/queries.ts';
import type { ApprovalRequest } from '../requests/schemas.ts';
import {
  decideNotification, evolveNotification, initialNotificationState, NOTIFICATION_EVENT_TYPES,
  type NotificationCommand, type NotificationState,
} from './notification-decider.ts';

export const NOTIFIER_METADATA: EventMetadata = { actor: { type: 'system', id: 'notifications', name: 'notifications' }, channel: 'worker' };

/**
 * Attempts of the write path after a lost race. A request's destinations are posted at the
 * same moment and record into one stream, so several may lose in a row; a record that
 * still fails makes the job run again, and the post again (Slack has no idempotency key).
 */
const RECORD_ATTEMPTS = 10;

/** A request, its notification state, and the version of its stream that state was read at. */
export interface LoadedNotification {
  request: ApprovalRequest;
  state: NotificationState;
  version: number;
}

interface LoadedRow extends RequestRow {
  stream_version: number | null;
  history: Array<{ type: string; data: Record<string, unknown> }> | null;
}

/** The request and its notification state in one statement; null when there is no such request. */
export async function loadNotification(sql: Sql, requestId: string): Promise<LoadedNotification | null> {
  const stream = streamId('request', requestId);
  const [row] = await sql<LoadedRow[]>`
    select r.*,
      (select max(e.version) from events e where e.stream_id = ${stream}) as stream_version,
      (select jsonb_agg(jsonb_build_object('type', e.type, 'data', e.data) order by e.version)
         from events e where e.stream_id = ${stream} and e.type = any(${NOTIFICATION_EVENT_TYPES as unknown as string[]}::text[])) as history
    from requests r where r.id = ${requestId}`;
  if (!row) return null;
  const { stream_version: version, history, ...request } = row;
  let state = initialNotificationState();
  for (const e of history ?? []) state = evolveNotification(state, e);
  // evolveNotification counts only the events it was given; the stream has the others too.
  return { request: toApprovalRequest(request), state: { ...state, version: version ?? 0 }, version: version ?? 0 };
}

/** A notification command through the one write path: the stream read, decided, appended in a transaction. */
export function runNotificationCommand(sql: Sql, requestId: string, command: NotificationCommand, attempts = 3) {
  return executeCommand<NotificationState>(sql, {
    streamId: streamId('request', requestId),
    streamType: 'request',
    initial: initialNotificationState,
    evolve: evolveNotification,
    decide: (s) => decideNotification(command, s),
    metadata: NOTIFIER_METADATA,
    // The jobs of one request write to its one stream, often at the same moment (its
    // destinations posted together): here they take turns instead of losing version races.
    serializeOn: `notifications:${requestId}`,
  }, attempts);
}

/**
 * Records a command's events against the loaded state: one INSERT at the loaded version,
 * or, when the stream has moved on, the write path against the fresh stream. Returns the
 * state (and version) after the record, for a job that records twice.
 */
export async function recordNotification(sql: Sql, loaded: LoadedNotification, command: NotificationCommand): Promise<LoadedNotification> {
  const events = decideNotification(command, loaded.state);
  // Notification state only grows (planned, posted, updated), so what a stale state finds
  // already done is done in the fresh one too.
  if (events.length === 0) return loaded;
  try {
    const appended = await append(sql, {
      streamId: streamId('request', loaded.request.id), streamType: 'request',
      expectedVersion: loaded.version, events, metadata: NOTIFIER_METADATA,
    });
    committed(appended, sql);
    let state = loaded.state;
    for (const e of appended) state = evolveNotification(state, e);
    return { ...loaded, state, version: loaded.version + appended.length };
  } catch (err) {
    if (!(err instanceof StreamVersionConflict)) throw err;
    const { state } = await runNotificationCommand(sql, loaded.request.id, command, RECORD_ATTEMPTS);
    return { ...loaded, state, version: state.version };
  }
}
