/**
 * The live hub's guarantees under load: every event exactly once, in log order
 * (tx_id, position), across concurrent appenders whose commits land out of position
 * order, a LISTEN connection killed mid-stream, and transactions that hold the horizon.
 */
import t from 'tap';
import { connect, type Sql, type TxSql } from '../../server/src/db/connect.ts';
import { append } from '../../server/src/events/store.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { listenOn, logOrder, subscribe, until, type StreamClient } from '../helpers/live.ts';

const meta = { actor: { type: 'system' as const, id: 'test', name: 'test' }, channel: 'system' as const };

/** Appends 1–3 events to a private stream per transaction, sleeping inside it so commits reorder. */
async function rawAppender(sql: Sql, name: string, txs: number) {
  let version = 0;
  for (let i = 0; i < txs; i++) {
    const n = 1 + (i % 3);
    await sql.begin(async (tx) => {
      await append(tx, {
        streamId: `load-${name}`, streamType: 'load' as 'request', expectedVersion: version,
        events: Array.from({ length: n }, (_, k) => ({ type: 'load.tick', data: { i, k } })),
        metadata: meta,
      });
      await tx`select pg_sleep(${(i % 5) * 0.004})`;
    });
    version += n;
  }
}

/** Creates requests through the API and decides every other one. */
async function apiAppender(h: TestApp, key: string, count: number) {
  for (let i = 0; i < count; i++) {
    const res = await h.call('POST', '/api/requests', { key, body: { action: `load.${i}` } });
    if (res.statusCode !== 201) throw new Error(res.body);
    if (i % 2 === 0) await h.call('POST', `/api/requests/${res.json().id}/decide`, { body: { decision: 'approved' } });
  }
}

async function marker(sql: Sql, name: string): Promise<number> {
  const [e] = await sql.begin((tx) => append(tx, {
    streamId: `marker-${name}`, streamType: 'marker' as 'request', expectedVersion: 0,
    events: [{ type: 'marker.set', data: {} }], metadata: meta,
  }));
  return e!.position;
}

const positions = (c: StreamClient) => c.events.map((e) => e.position);

/**
 * One commit out of position order for certain: the older transaction takes its id, a
 * younger one appends and commits, then the older one appends. Log order puts the older
 * (higher position) first. Returns both positions.
 */
async function forcedInversion(sql: Sql): Promise<{ older: number; younger: number }> {
  let xidTaken!: () => void;
  const hasXid = new Promise<void>((r) => { xidTaken = r; });
  let youngerCommitted!: () => void;
  const go = new Promise<void>((r) => { youngerCommitted = r; });
  const older = sql.begin(async (tx) => {
    await tx`select pg_current_xact_id()`;
    xidTaken();
    await go;
    const [e] = await append(tx, {
      streamId: 'marker-older', streamType: 'marker' as 'request', expectedVersion: 0,
      events: [{ type: 'marker.set', data: {} }], metadata: meta,
    });
    return e!.position;
  });
  await hasXid;
  const younger = await marker(sql, 'younger');
  youngerCommitted();
  return { older: await older, younger };
}

t.test('concurrent appenders: each subscriber sees every event once, in log order', async (t) => {
  const h = await testApp(t, {});
  const base = await listenOn(h.app);
  const agent = await h.key(['request:create', 'request:read']);
  const fromStart = await subscribe(base, h.adminKey, { from: 0 });
  await fromStart.nextOfType('live');

  const inversion = forcedInversion(h.sql);
  const load = Promise.all([
    ...Array.from({ length: 6 }, (_, i) => rawAppender(h.sql, `raw${i}`, 40)),
    ...Array.from({ length: 4 }, () => apiAppender(h, agent.key, 25)),
    inversion,
  ]);

  // Mid-load: a client that resumes from where it was, and one that only wants new events.
  await fromStart.count(150);
  const resumeAt = fromStart.events[99]!.position;
  const resumed = await subscribe(base, h.adminKey, { from: resumeAt });
  const liveOnly = await subscribe(base, h.adminKey, {});

  await load;
  const end = await marker(h.sql, 'end');
  await Promise.all([fromStart.position(end), resumed.position(end), liveOnly.position(end)]);

  const order = await logOrder(h.sql);
  t.ok(order.length > 600, `${order.length} events appended`);
  const { older, younger } = await inversion;
  t.ok(older > younger && order.indexOf(older) < order.indexOf(younger),
    'commits did land out of position order (the case that matters): the older transaction\'s later position comes first');
  t.same(positions(fromStart), order, 'replay then live: the whole log, exactly once, in log order');
  t.same(positions(resumed), order.slice(order.indexOf(resumeAt) + 1), 'resumed after the given position, no gap or repeat');
  const firstLive = positions(liveOnly)[0]!;
  t.same(positions(liveOnly), order.slice(order.indexOf(firstLive)), 'live only: a gap-free suffix of the log');
  for (const c of [fromStart, resumed, liveOnly]) await c.close();
});

t.test('killing the LISTEN connection mid-stream loses nothing', async (t) => {
  const h = await testApp(t);
  const base = await listenOn(h.app);
  const live = h.app.live;
  const sub = await subscribe(base, h.adminKey, { from: 0 });
  await sub.nextOfType('live');

  const load = Promise.all(Array.from({ length: 4 }, (_, i) => rawAppender(h.sql, `k${i}`, 60)));
  for (let kill = 0; kill < 3; kill++) {
    await sub.count(50 * (kill + 1));
    const pid = live.listenerPid;
    const listensBefore = live.stats.listens;
    t.ok(pid, 'the hub has a LISTEN backend');
    const [row] = await h.sql<{ query: string }[]>`select query from pg_stat_activity where pid = ${pid!}`;
    t.match(row?.query, /^listen /i, 'and it is the one running LISTEN');
    await h.sql`select pg_terminate_backend(${pid!}, 5000)`;
    await until(() => live.stats.listens > listensBefore, 'LISTEN to be re-established');
    t.not(live.listenerPid, pid, 'a new LISTEN backend');
  }
  await load;

  // A commit whose NOTIFY nobody hears: the listener is gone and cannot come back before
  // the commit (the database refuses new connections meanwhile). Only the catch-up after
  // LISTEN is re-established can deliver it.
  const conn = await h.sql.reserve();
  const db = new URL(h.dbUrl).pathname.slice(1);
  const server = connect(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', { max: 1 });
  t.teardown(() => server.end({ timeout: 1 }));
  const listensBefore = live.stats.listens;
  await server`alter database ${server(db)} with allow_connections false`;
  await conn`select pg_terminate_backend(${live.listenerPid!}, 5000)`;
  await conn`begin`;
  const [lost] = await append(conn as unknown as TxSql, {
    streamId: 'lost-notify', streamType: 'marker' as 'request', expectedVersion: 0,
    events: [{ type: 'marker.set', data: {} }], metadata: meta,
  });
  await conn`commit`;
  t.notOk(positions(sub).includes(lost!.position));
  await server`alter database ${server(db)} with allow_connections true`;
  conn.release();
  await sub.position(lost!.position);
  await until(() => live.stats.listens > listensBefore, 'LISTEN to be re-established');
  t.same(positions(sub), await logOrder(h.sql), 'every event once, in log order, across four reconnects');
  await sub.close();
});

t.test('an event held back by an open transaction arrives when that transaction ends, NOTIFY or not', async (t) => {
  const h = await testApp(t);
  const base = await listenOn(h.app);
  const live = h.app.live;
  const sub = await subscribe(base, h.adminKey, { from: 0 });
  await sub.nextOfType('live');

  for (const end of ['commit', 'rollback'] as const) {
    // A transaction with an id but no event: it holds the horizon and will never NOTIFY.
    const blocker = await h.sql.reserve();
    await blocker`begin`;
    await blocker`select pg_current_xact_id()`;
    const [held] = await h.sql.begin((tx) => append(tx, {
      streamId: `held-${end}`, streamType: 'marker' as 'request', expectedVersion: 0,
      events: [{ type: 'marker.set', data: {} }], metadata: meta,
    }));
    const rechecks = live.stats.heldBackRechecks;
    await until(() => live.stats.heldBackRechecks > rechecks + 1, 'the hub to see the held-back row');
    t.notOk(positions(sub).includes(held!.position), `not delivered while the older transaction is open (${end})`);
    await blocker.unsafe(end);
    blocker.release();
    await sub.position(held!.position);
    t.pass(`delivered after ${end} without a NOTIFY`);
  }
  t.same(positions(sub), await logOrder(h.sql));
  await sub.close();
});
