import type { Sql, TxSql } from '../db/connect.ts';
import { append, readStream, StreamVersionConflict } from './store.ts';
import type { EventMetadata, NewEvent, StoredEvent, StreamType } from './types.ts';

export interface CommandSpec<S> {
  streamId: string;
  streamType: StreamType;
  initial: () => S;
  evolve: (state: S, event: StoredEvent) => S;
  /** Pure: the events that the command produces given the current state (may throw AppError). */
  decide: (state: S) => NewEvent[];
  metadata: EventMetadata;
  /** The stream is new (a freshly generated id): skip loading it; the append still checks. */
  newStream?: boolean;
  /**
   * Serialise with every other command naming the same key (a transaction-level advisory
   * lock taken first). For invariants that span streams, such as unique names: those
   * appends then commit in position order, so a rebuild replays them as they happened.
   */
  serializeOn?: string;
  /**
   * Optional: the current state and stream version read from a projection row kept at the
   * stream's version, instead of replaying the stream (for long streams such as a webhook's
   * delivery attempts). Null falls back to replaying. A stale read loses at the append's
   * version check and is decided again.
   */
  load?: (tx: TxSql) => Promise<{ state: S; version: number } | null>;
  /**
   * Reads the outside facts `decide` needs (who else holds a unique identity, …) in the
   * same transaction, after the serializeOn lock, so they cannot change before the append.
   */
  prepare?: (tx: TxSql) => Promise<void>;
  /** Extra work in the same transaction, after the append (e.g. enqueueing jobs). */
  afterAppend?: (tx: TxSql, appended: StoredEvent[], state: S) => Promise<void>;
}

export interface CommandResult<S> {
  state: S;
  appended: StoredEvent[];
}

/**
 * The one write path: load the stream, decide, append at the expected version, all in
 * one transaction. On a version conflict the command is decided again against the new
 * state (which usually turns a lost race into a clear domain error such as ALREADY_DECIDED).
 */
type CommittedObserver = (events: readonly StoredEvent[], sql: Sql) => void;
const committedObservers = new Set<CommittedObserver>();

/** Told about each command's events once its transaction has committed (metrics count them there). */
export function onCommitted(observer: CommittedObserver): () => void {
  committedObservers.add(observer);
  return () => committedObservers.delete(observer);
}

/** Tells every observer about events that have committed; every write path calls it after its commit. */
export function committed(events: readonly StoredEvent[], sql: Sql): void {
  for (const observe of committedObservers) {
    try {
      observe(events, sql);
    } catch {
      // an observer's failure is not the write's: it has committed
    }
  }
}

export async function executeCommand<S>(sql: Sql, spec: CommandSpec<S>, attempts = 3): Promise<CommandResult<S>> {
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await sql.begin(async (tx) => {
        if (spec.serializeOn) await tx`select pg_advisory_xact_lock(hashtextextended(${spec.serializeOn}, 0))`;
        if (spec.prepare) await spec.prepare(tx);
        const loaded = spec.load ? await spec.load(tx) : null;
        let state: S;
        let version: number;
        if (loaded) {
          ({ state, version } = loaded);
        } else {
          const history = spec.newStream ? [] : await readStream(tx, spec.streamId);
          state = spec.initial();
          for (const e of history) state = spec.evolve(state, e);
          version = history.length;
        }
        const events = spec.decide(state);
        const appended = await append(tx, {
          streamId: spec.streamId,
          streamType: spec.streamType,
          expectedVersion: version,
          events,
          metadata: spec.metadata,
        });
        for (const e of appended) state = spec.evolve(state, e);
        if (spec.afterAppend) await spec.afterAppend(tx, appended, state);
        return { state, appended };
      });
      committed(result.appended, sql);
      return result;
    } catch (err) {
      if ((err instanceof StreamVersionConflict || isTransient(err)) && attempt < attempts) continue;
      throw err;
    }
  }
}

/** Deadlocks and serialization failures: Postgres rolled the transaction back; running it again is safe. */
const isTransient = (err: unknown) => {
  const code = (err as { code?: string })?.code;
  return code === '40P01' || code === '40001';
};
