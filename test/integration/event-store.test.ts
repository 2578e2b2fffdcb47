/**
 * The event log's guarantees, against a real PostgreSQL: append-only whoever asks,
 * optimistic concurrency per stream, and a reader that sees every committed event
 * exactly once, in a stable order, even when transactions commit out of position order.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Sql } from '../../server/src/db/connect.ts';
import {
  append, cursorAfter, cursorAt, LOG_START, readAfter, readStream, StreamVersionConflict,
  type LogCursor,
} from '../../server/src/events/store.ts';
import type { EventMetadata, NewEvent, StoredEvent, StreamType } from '../../server/src/events/types.ts';
import { oldestOpenTransaction, testDatabase } from '../helpers/db.ts';

/** No projection interprets this stream type; only the audit log records its events. */
const PROBE = 'probe' as StreamType;
const META: EventMetadata = { actor: { type: 'system', id: 'test', name: 'event store test' }, channel: 'system' };
const probe = (data: Record<string, unknown> = {}): NewEvent => ({ type: 'probe.appended', data });

function appendProbe(sql: Sql, streamId: string, expectedVersion: number, events: NewEvent[]): Promise<StoredEvent[]> {
  return sql.begin((tx) => append(tx, { streamId, streamType: PROBE, expectedVersion, events, metadata: META }));
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/**
 * Reads from `cursor` until `count` events have come back. Other databases' transactions
 * on the same server can hold the snapshot's xmin back for a while, so "not yet" is normal;
 * the deadline only turns a hang into a readable failure.
 */
async function readCount(sql: Sql, cursor: LogCursor, count: number, deadlineMs = 60_000): Promise<StoredEvent[]> {
  const seen: StoredEvent[] = [];
  const deadline = Date.now() + deadlineMs;
  while (seen.length < count && Date.now() < deadline) {
    const batch = await readAfter(sql, cursor, 100);
    seen.push(...batch);
    const last = batch.at(-1);
    if (last) cursor = cursorAfter(last);
    else await sleep(10);
  }
  return seen;
}

const positionsInLogOrder = async (sql: Sql) =>
  (await sql<{ position: number }[]>`select position from events order by tx_id, position`).map((r) => r.position);

const allEvents = (sql: Sql) => sql`select * from events order by position`;

t.test('append-only', async (t) => {
  const { sql } = await testDatabase(t);
  await appendProbe(sql, 'probe-a', 0, [probe({ n: 1 }), probe({ n: 2 })]);
  await appendProbe(sql, 'probe-b', 0, [probe({ n: 3 })]);
  const before = await allEvents(sql);
  t.equal(before.length, 3);

  t.test("the app's own connection cannot change or remove events", async (t) => {
    // The tests connect as a superuser, for whom privileges do not apply: the trigger still does.
    await t.rejects(sql`update events set data = '{"n": 0}' where stream_id = 'probe-a'`,
      { code: '42501', message: 'events is append-only: UPDATE refused' });
    await t.rejects(sql`delete from events where stream_id = 'probe-b'`,
      { code: '42501', message: 'events is append-only: DELETE refused' });
    await t.rejects(sql`truncate events`,
      { code: '42501', message: 'events is append-only: TRUNCATE refused' });
    await t.rejects(sql`truncate events cascade`, { code: '42501' });
    t.same(await allEvents(sql), before, 'every row unchanged');
  });

  t.test('an application role has no UPDATE, DELETE or TRUNCATE privilege on events', async (t) => {
    const role = `agentgate_app_${randomBytes(5).toString('hex')}`;
    await sql`create role ${sql(role)} login`;
    await sql`grant select, insert on events to ${sql(role)}`;
    const conn = await sql.reserve();
    t.teardown(async () => {
      await conn`reset role`.catch(() => {});
      conn.release();
      // Roles are cluster-wide: remove its grants here, then the role itself.
      await sql`drop owned by ${sql(role)}`;
      await sql`drop role if exists ${sql(role)}`;
    });

    await conn`set role ${conn(role)}`;
    const [who] = await conn<{ current_user: string; rolsuper: boolean }[]>`
      select current_user, rolsuper from pg_roles where rolname = current_user`;
    t.same(who, { current_user: role, rolsuper: false }, 'acting as a non-superuser');
    const [readable] = await conn<{ n: number }[]>`select count(*)::int as n from events`;
    t.equal(readable?.n, 3, 'it can read the log');

    const denied = { code: '42501', message: /permission denied for table events/ };
    await t.rejects(conn`update events set type = 'x'`, denied, 'UPDATE: permission denied');
    await t.rejects(conn`delete from events`, denied, 'DELETE: permission denied');
    await t.rejects(conn`truncate events`, denied, 'TRUNCATE: permission denied');

    // Even a role someone wrongly granted those rights meets the trigger.
    await conn`reset role`;
    await sql`grant update, delete, truncate on events to ${sql(role)}`;
    await conn`set role ${conn(role)}`;
    await t.rejects(conn`update events set type = 'x'`, { code: '42501', message: /append-only: UPDATE refused/ });
    await t.rejects(conn`delete from events`, { code: '42501', message: /append-only: DELETE refused/ });
    await t.rejects(conn`truncate events`, { code: '42501', message: /append-only: TRUNCATE refused/ });
    await conn`reset role`;
    t.same(await allEvents(sql), before, 'every row unchanged');
  });
});

t.test('optimistic concurrency', async (t) => {
  const { sql } = await testDatabase(t);
  const first = await appendProbe(sql, 'probe-occ', 0, [probe({ n: 1 }), probe({ n: 2 })]);
  t.same(first.map((e) => e.version), [1, 2], 'versions count from 1 within the stream');
  const count = async () => (await sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;
  const auditCount = async () => (await sql<{ n: number }[]>`select count(*)::int as n from audit_log`)[0]!.n;

  for (const stale of [0, 1, 3, 7]) {
    const err = await appendProbe(sql, 'probe-occ', stale, [probe({ stale })]).catch((e: unknown) => e);
    t.type(err, StreamVersionConflict, `expected version ${stale} against version 2 is refused`);
    t.match(err, { code: 'CONCURRENCY_CONFLICT', status: 409, details: { streamId: 'probe-occ', expectedVersion: stale } });
  }
  t.equal(await count(), 2, 'nothing was appended');
  t.equal(await auditCount(), 2, 'no projection saw anything either');
  t.same((await readStream(sql, 'probe-occ')).map((e) => e.data), [{ n: 1 }, { n: 2 }]);

  t.test('two writers racing from the same version: the second to commit loses, writing nothing', async (t) => {
    const holding = deferred<StoredEvent[]>();
    const commit = deferred();
    const winner = sql.begin(async (tx) => {
      const appended = await append(tx, { streamId: 'probe-occ', streamType: PROBE, expectedVersion: 2, events: [probe({ by: 'winner' })], metadata: META });
      holding.resolve(appended);
      await commit.promise;
      return appended;
    });
    await holding.promise;
    const loser = appendProbe(sql, 'probe-occ', 2, [probe({ by: 'loser' })]).catch((e: unknown) => e);
    // Let the loser reach the unique index and wait there for the winner's transaction.
    let sawWait = false;
    for (const end = Date.now() + 60_000; !sawWait && Date.now() < end;) {
      const [w] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_locks
        where not granted and locktype = 'transactionid'
          and pid in (select pid from pg_stat_activity where datname = current_database())`;
      sawWait = w!.n > 0;
      if (!sawWait) await sleep(10);
    }
    t.ok(sawWait, 'the loser waited on the unique index for the winner to finish');
    commit.resolve();
    await winner;
    t.match(await loser, { code: 'CONCURRENCY_CONFLICT' });
    t.same((await readStream(sql, 'probe-occ')).map((e) => [e.version, e.data]), [[1, { n: 1 }], [2, { n: 2 }], [3, { by: 'winner' }]]);
    t.equal(await count(), 3);
  });
});

t.test('a transaction older than the stream head cannot append to it (per-stream log order)', async (t) => {
  const { sql } = await testDatabase(t);
  // R takes its transaction id, then W appends version 1 and commits, then R (having
  // read version 1) appends version 2. In log order (tx_id, position) R's event would
  // come before W's: version 2 before version 1.
  const rHasXid = deferred();
  const rGo = deferred();
  const r = sql.begin(async (tx) => {
    await tx`select pg_current_xact_id()`;
    rHasXid.resolve();
    await rGo.promise;
    return append(tx, { streamId: 'probe-s', streamType: PROBE, expectedVersion: 1, events: [probe({ by: 'R' })], metadata: META });
  }).catch((e: unknown) => e);
  await rHasXid.promise;
  const [w] = await appendProbe(sql, 'probe-s', 0, [probe({ by: 'W' })]);
  rGo.resolve();
  t.match(await r, { code: 'CONCURRENCY_CONFLICT' }, 'the older transaction is refused, as on a lost race');
  const [retried] = await appendProbe(sql, 'probe-s', 1, [probe({ by: 'R, retried' })]);
  t.ok(BigInt(retried!.txId) > BigInt(w!.txId), 'a fresh transaction appends after the head');
  const read = await readCount(sql, LOG_START, 2);
  t.same(read.map((e) => [e.version, e.data.by]), [[1, 'W'], [2, 'R, retried']], 'log order keeps the stream in version order');
});

/** Appends one probe event in a transaction left open until `release()`; `done` settles at commit. */
async function appendHeldOpen(sql: Sql, streamId: string, data: Record<string, unknown>) {
  const inserted = deferred<StoredEvent>();
  const held = deferred();
  const done = sql.begin(async (tx) => {
    const [e] = await append(tx, { streamId, streamType: PROBE, expectedVersion: 0, events: [probe(data)], metadata: META });
    inserted.resolve(e!);
    await held.promise;
  });
  return { event: await inserted.promise, release: () => held.resolve(), done };
}

t.test('reading by (transaction, position): nothing skipped when positions commit out of order', async (t) => {
  t.test('a lower position still in flight holds back the higher one, then both come in order', async (t) => {
    const { sql } = await testDatabase(t);
    const { event: a, release: releaseA, done: txA } = await appendHeldOpen(sql, 'probe-a', { tx: 'A' });
    const [b] = await appendProbe(sql, 'probe-b', 0, [probe({ tx: 'B' })]);
    t.ok(b!.position > a.position, 'B took the higher position and committed first');

    // A reader that only remembers the last position sees B now and skips A for good.
    const naive = async (after: number) =>
      (await sql<{ position: number }[]>`select position from events where position > ${after} order by position`).map((r) => r.position);
    const naiveFirst = await naive(0);
    t.same(naiveFirst, [b!.position], 'the naive reader sees B alone');

    t.same(await readAfter(sql, LOG_START, 100), [], 'readAfter holds B back while A is open');

    releaseA();
    await txA;
    t.same(await naive(naiveFirst.at(-1)!), [], 'the naive reader, resuming after B, never sees A');
    const read = await readCount(sql, LOG_START, 2);
    t.same(read.map((e) => e.position), [a.position, b!.position], 'readAfter returns A then B');
    t.same(await readAfter(sql, cursorAfter(read[1]!), 100), [], 'and nothing twice');
  });

  t.test('log order follows transaction ids, and cursorAt resumes exactly after an event', async (t) => {
    const { sql } = await testDatabase(t);
    const [zero] = await appendProbe(sql, 'probe-0', 0, [probe({ tx: 'zero' })]);
    // B takes its transaction id first, A then takes the lower position: the log order
    // (B before A) differs from the position order (A before B).
    const bHasXid = deferred();
    const bGo = deferred();
    const txB = sql.begin(async (tx) => {
      await tx`select pg_current_xact_id()`;
      bHasXid.resolve();
      await bGo.promise;
      return append(tx, { streamId: 'probe-b', streamType: PROBE, expectedVersion: 0, events: [probe({ tx: 'B' })], metadata: META });
    });
    await bHasXid.promise;
    const { event: a, release: releaseA, done: txA } = await appendHeldOpen(sql, 'probe-a', { tx: 'A' });
    bGo.resolve();
    const [b] = await txB;
    t.ok(a.position < b!.position && BigInt(b!.txId) < BigInt(a.txId), 'A: lower position, later transaction');

    const early = await readCount(sql, cursorAfter(zero!), 1);
    t.same(early.map((e) => e.position), [b!.position], 'B is readable while A is still open: it cannot be preceded by A');
    releaseA();
    await txA;
    const all = await readCount(sql, LOG_START, 3);
    t.same(all.map((e) => e.position), [zero!.position, b!.position, a.position], 'log order: zero, B, A');
    t.same(all.map((e) => e.position), await positionsInLogOrder(sql));

    t.same(await cursorAt(sql, 0), LOG_START, 'position 0 is the start of the log');
    t.equal(await cursorAt(sql, 999_999), null, 'an unknown position has no cursor');
    for (const [i, e] of all.entries()) {
      const cursor = await cursorAt(sql, e.position);
      t.same(cursor, cursorAfter(e), `cursorAt(${e.position}) is the cursor after that event`);
      const rest = await readAfter(sql, cursor!, 100);
      t.same(rest.map((r) => r.position), all.slice(i + 1).map((r) => r.position), `resuming after ${e.position}`);
    }
    t.same((await readAfter(sql, (await cursorAt(sql, b!.position))!, 100)).map((e) => e.position), [a.position],
      'after B comes A, although A has the lower position');
  });

  t.test('16 concurrent writers, slow and rolled-back transactions, one reader following along', async (t) => {
    const WRITERS = 16;
    const TRANSACTIONS = 25;
    const { sql } = await testDatabase(t, { poolSize: WRITERS + 4 });
    const committed = new Set<string>();
    const aborted = new Set<string>();
    let writersDone = false;

    class Rollback extends Error {}
    async function writer(w: number) {
      const streamId = `probe-w${w}`;
      let version = 0;
      for (let i = 0; i < TRANSACTIONS; i++) {
        const size = 1 + ((w + i) % 3);
        const slow = (w + i) % 4 === 0;
        const abort = (w * 7 + i) % 6 === 0;
        // Taking the transaction id long before the insert widens the gap between
        // id order and position order, the case readers get wrong.
        const xidFirst = (w + 2 * i) % 5 === 0;
        const marks = Array.from({ length: size }, (_, k) => `${w}.${i}.${k}`);
        try {
          await sql.begin(async (tx) => {
            if (xidFirst) {
              await tx`select pg_current_xact_id()`;
              await tx`select pg_sleep(${((w * 3 + i) % 4) * 0.005})`;
            }
            await append(tx, { streamId, streamType: PROBE, expectedVersion: version, events: marks.map((mark) => probe({ mark })), metadata: META });
            if (slow) await tx`select pg_sleep(${(((w * 13 + i * 7) % 5) + 1) * 0.01})`;
            if (abort) throw new Rollback();
          });
          version += size;
          for (const m of marks) committed.add(m);
        } catch (err) {
          if (!(err instanceof Rollback)) throw err;
          for (const m of marks) aborted.add(m);
        }
      }
    }

    const seen: StoredEvent[] = [];
    async function reader() {
      let cursor = LOG_START;
      let drainDeadline = Infinity;
      for (;;) {
        const batch = await readAfter(sql, cursor, 50);
        seen.push(...batch);
        const last = batch.at(-1);
        if (last) {
          cursor = cursorAfter(last);
          continue;
        }
        if (writersDone) {
          // Drained once nothing is left after the cursor; anything the reader skipped
          // would be behind it, and shows up in the comparison below.
          const [left] = await sql<{ n: number }[]>`
            select count(*)::int as n from events where (tx_id, position) > (${cursor.txId}::xid8, ${cursor.position})`;
          if (left!.n === 0) return;
          drainDeadline = Math.min(drainDeadline, Date.now() + 60_000);
          if (Date.now() > drainDeadline) {
            throw new Error(`${left!.n} committed event(s) still unread 60 s after the writers finished; ${await oldestOpenTransaction(sql)}`);
          }
        }
        await sleep(2);
      }
    }

    const reading = reader();
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    writersDone = true;
    await reading;

    t.ok(aborted.size > 0 && committed.size > 0, `${committed.size} events committed, ${aborted.size} rolled back`);
    const positions = seen.map((e) => e.position);
    t.same(positions, await positionsInLogOrder(sql), 'the reader saw every committed event once, in log order');
    const seenMarks = seen.map((e) => String(e.data.mark));
    t.same(new Set(seenMarks), committed, 'exactly the committed events');
    t.equal(new Set(seenMarks).size, seenMarks.length, 'none twice');
    t.notOk(seenMarks.some((m) => aborted.has(m)), 'never a rolled-back one');
    const outOfOrder = positions.some((p, i) => i > 0 && p < positions[i - 1]!);
    t.comment(`positions ${outOfOrder ? 'did' : 'did not'} commit out of order in this run`);

    const versions = new Map<string, number[]>();
    for (const e of seen) versions.set(e.streamId, [...(versions.get(e.streamId) ?? []), e.version]);
    const gapless = [...versions.values()].every((vs) => vs.every((v, i) => v === i + 1));
    t.ok(gapless, 'each stream read with versions 1, 2, 3, … in order');
  });
});
