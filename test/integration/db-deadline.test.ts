/**
 * The per-call database deadline (db/deadline.ts) against a real PostgreSQL: a database
 * that stops answering (a TCP relay that freezes, as a dropped network or a frozen host
 * would) and one that is up but blocked (a lock). A call gives up at its deadline with an
 * error the API answers as 503, and nothing it started is written afterwards: a query still
 * queued never runs, a running one is cancelled, a transaction that began too late rolls
 * back. Connection failures PostgreSQL reports (too many connections, admin shutdown) are
 * classified as "unavailable" too.
 */
import { createServer, Socket, type Server } from 'node:net';
import t from 'tap';
import { connect, type Sql } from '../../server/src/db/connect.ts';
import { withQueryDeadline } from '../../server/src/db/deadline.ts';
import { DatabaseTimeoutError, isDatabaseUnavailable } from '../../server/src/db/unavailable.ts';
import { testDatabase } from '../helpers/db.ts';

const DEADLINE_MS = 500;
/** Generous: a loaded 2-core machine. */
const SLACK_MS = 2_500;

/** A relay to PostgreSQL that can stop passing bytes in both directions (and resume). */
async function freezableRelay(target: URL): Promise<{ port: number; freeze(): void; thaw(): void; close(): Promise<void> }> {
  let frozen = false;
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(Number(target.port || 5432), target.hostname);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    if (frozen) { client.pause(); upstream.pause(); }
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => client.write(d));
    const end = () => { client.destroy(); upstream.destroy(); pairs.delete(pair); };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    freeze() { frozen = true; for (const [a, b] of pairs) { a.pause(); b.pause(); } },
    thaw() { frozen = false; for (const [a, b] of pairs) { a.resume(); b.resume(); } },
    close: () => new Promise<void>((r) => { for (const [a, b] of pairs) { a.destroy(); b.destroy(); } server.close(() => r()); }),
  };
}

async function timed<T>(work: Promise<T>): Promise<{ ms: number; err: unknown }> {
  const started = performance.now();
  try {
    await work;
    return { ms: performance.now() - started, err: null };
  } catch (err) {
    return { ms: performance.now() - started, err };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a database that stops answering: calls give up at the deadline, late work is never written', async (t) => {
  const { url, sql: admin } = await testDatabase(t, { migrate: false });
  await admin`create table marks (n int primary key)`;
  const relay = await freezableRelay(new URL(url));
  t.teardown(() => relay.close());
  const relayed = new URL(url);
  relayed.port = String(relay.port);
  // One connection: the insert below waits in the pool's queue behind the transaction. (A
  // statement already sent down a silent connection cannot be taken back: if the network
  // returns it may still run, which is why creates carry an Idempotency-Key.)
  const pool: Sql = connect(relayed.toString(), { max: 1, connectTimeout: 1 });
  t.teardown(() => pool.end({ timeout: 0 }));
  const sql = withQueryDeadline(pool, DEADLINE_MS);
  await sql`select 1`; // connections open while the relay passes

  relay.freeze();
  const hung = await timed(sql`select 1`);
  t.type(hung.err, DatabaseTimeoutError, 'a query on a silent connection fails with the deadline');
  t.ok(isDatabaseUnavailable(hung.err), 'classified as unavailable (503)');
  t.ok(hung.ms < DEADLINE_MS + SLACK_MS, `at the deadline (${Math.round(hung.ms)} ms)`);

  // A transaction whose BEGIN cannot get through, and an autocommit insert behind it.
  const tx = timed(sql.begin(async (tx) => { await tx`insert into marks values (1)`; }));
  const insert = timed(sql`insert into marks values (2)`);
  const [txr, insr] = await Promise.all([tx, insert]);
  t.type(txr.err, DatabaseTimeoutError, 'the transaction gives up');
  t.ok(txr.ms < DEADLINE_MS + SLACK_MS, `within the bound (${Math.round(txr.ms)} ms)`);
  t.type(insr.err, DatabaseTimeoutError, 'the insert gives up');

  // The database answers again: nothing that was given up on is written late.
  relay.thaw();
  await sleep(1_500);
  const rows = await admin<{ n: number }[]>`select n from marks order by n`;
  t.same(rows.map((r) => r.n), [], 'no row from a call that answered "unavailable" appears later');
  t.same(await sql`select 1 as ok`, [{ ok: 1 }], 'and the pool serves again');
});

t.test('a database that is up but blocked: the deadline cancels the query and rolls the transaction back', async (t) => {
  const { url, sql: admin } = await testDatabase(t, { migrate: false });
  await admin`create table marks (n int primary key)`;
  const pool: Sql = connect(url, { max: 1 });
  t.teardown(() => pool.end({ timeout: 0 }));
  const sql = withQueryDeadline(pool, DEADLINE_MS);
  await sql`select 1`;

  const locker = connect(url, { max: 1 });
  t.teardown(() => locker.end({ timeout: 0 }));
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => { locked = r; });
  const holding = locker.begin(async (tx) => {
    await tx`lock table marks in access exclusive mode`;
    locked();
    await released;
  });
  await isLocked;

  // The pool's one connection runs the blocked transaction; the insert after it queues.
  const tx = timed(sql.begin(async (tx) => { await tx`insert into marks values (1)`; }));
  const queued = timed(sql`insert into marks values (2)`);
  const [txr, qr] = await Promise.all([tx, queued]);
  t.type(txr.err, DatabaseTimeoutError, 'the blocked transaction gives up');
  t.ok(txr.ms < DEADLINE_MS + SLACK_MS, `at the deadline (${Math.round(txr.ms)} ms)`);
  t.type(qr.err, DatabaseTimeoutError, 'the queued insert gives up');

  release();
  await holding;
  await sleep(1_000);
  const rows = await admin<{ n: number }[]>`select n from marks order by n`;
  t.same(rows.map((r) => r.n), [], 'neither the cancelled transaction nor the dropped insert wrote anything');
  await sql`insert into marks values (3)`;
  t.same((await admin<{ n: number }[]>`select n from marks`).map((r) => r.n), [3], 'the connection serves again');
});

t.test('connection failures PostgreSQL reports are "unavailable", not server faults', async (t) => {
  const { url, sql: admin, name } = await testDatabase(t, { migrate: false });
  const role = `${name}_full`;
  // Roles belong to the cluster: made and dropped through the server's own database.
  const server = connect(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', { max: 1 });
  await server.unsafe(`create role ${role} login connection limit 0`);
  t.teardown(async () => {
    await server.unsafe(`drop role if exists ${role}`);
    await server.end({ timeout: 1 });
  });
  const asRole = new URL(url);
  asRole.username = role;
  const full = connect(asRole.toString(), { max: 1 });
  t.teardown(() => full.end({ timeout: 0 }));
  const tooMany = await timed(full`select 1`);
  t.equal((tooMany.err as { code?: string }).code, '53300', 'too many connections (53300)');
  t.ok(isDatabaseUnavailable(tooMany.err), '53300 is unavailable');

  const victim = connect(url, { max: 1 });
  t.teardown(() => victim.end({ timeout: 0 }));
  const [{ pid }] = (await victim<{ pid: number }[]>`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
  const running = timed(victim`select pg_sleep(30)`);
  await sleep(200);
  await admin`select pg_terminate_backend(${pid})`;
  const shutdown = await running;
  // postgres.js reports the server's FATAL, or the close that follows it, whichever it reads first.
  const code = (shutdown.err as { code?: string }).code;
  t.ok(code === '57P01' || code === 'CONNECTION_CLOSED', `terminated by an administrator (${code})`);
  t.ok(isDatabaseUnavailable(shutdown.err), `${code} is unavailable`);
  t.ok(isDatabaseUnavailable(Object.assign(new Error('shutting down'), { code: '57P01' })), '57P01 is unavailable');
  t.ok(isDatabaseUnavailable(Object.assign(new Error('starting up'), { code: '57P03' })), '57P03 is unavailable');
  t.ok(isDatabaseUnavailable(Object.assign(new Error('connection failure'), { code: '08006' })), 'class 08 is unavailable');

  const refused = connect('postgres://postgres@127.0.0.1:1/postgres', { max: 1, connectTimeout: 1 });
  t.teardown(() => refused.end({ timeout: 0 }));
  const nothing = await timed(refused`select 1`);
  t.ok(isDatabaseUnavailable(nothing.err), `a refused connection is unavailable (${(nothing.err as { code?: string }).code})`);

  t.notOk(isDatabaseUnavailable(Object.assign(new Error('syntax'), { code: '42601' })), 'a query fault is not');
  t.notOk(isDatabaseUnavailable(Object.assign(new Error('unique'), { code: '23505' })), 'nor a constraint violation');
});
