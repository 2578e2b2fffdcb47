/**
 * The write path stays O(1) on a large log whose statistics are missing: a create, a decision
 * and a cancel each read a bounded number of rows, whatever the size of `events`, `requests`
 * (the audit log is a view over `events`). A query that turns into a scan (a sequential scan, or an index walk over
 * every entry of one event type, as the "first evaluation" EXISTS once did) reads tens of
 * thousands of rows here and fails the test.
 *
 * How it counts: the server runs on a pool of one connection, so every statement of the write
 * path (projection triggers included) runs in one backend; that backend's statistics are
 * flushed on demand (pg_stat_force_next_flush) and read from pg_stat_user_tables and
 * pg_stat_user_indexes before and after each operation. Autovacuum is off for the grown
 * tables and nothing is analysed after they grow, as on a busy or badly tuned server.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { connect, type Sql } from '../../server/src/db/connect.ts';
import { buildApp } from '../../server/src/http/app.ts';
import { bootstrapAdminKey } from '../../server/src/keys/commands.ts';
import { testDatabase } from '../helpers/db.ts';

const STREAMS = 100_000; // two old-shape events each: 200,000 events; 100,000 requests
const BIG_TABLES = ['events', 'requests', 'idempotency_keys'];
/** Rows one write may read from a big table; a scan reads tens of thousands. */
const MAX_ROWS_PER_OPERATION = 60;

interface Reads { table: string; seqScans: number; rowsRead: number }

async function readsOfBigTables(owner: Sql, app: Sql): Promise<Map<string, Reads>> {
  // The server's only backend publishes its counters at the end of its next transaction.
  // So does this connection, whose own reads (the set-up's counts) must not land in a later delta.
  await app`select pg_stat_force_next_flush()`;
  await app`select 1`;
  await owner`select pg_stat_force_next_flush()`;
  await owner`select 1`;
  await owner`select pg_stat_clear_snapshot()`;
  const rows = await owner<{ table: string; seq_scan: string; seq_tup_read: string; idx_tup_read: string }[]>`
    select t.relname as table, t.seq_scan, t.seq_tup_read,
           coalesce((select sum(i.idx_tup_read) from pg_stat_user_indexes i where i.relid = t.relid), 0) as idx_tup_read
    from pg_stat_user_tables t
    where t.schemaname = current_schema() and t.relname in ${owner(BIG_TABLES)}`;
  return new Map(rows.map((r) => [r.table, {
    table: r.table, seqScans: Number(r.seq_scan), rowsRead: Number(r.seq_tup_read) + Number(r.idx_tup_read),
  }]));
}

function delta(before: Map<string, Reads>, after: Map<string, Reads>): Reads[] {
  return [...after.values()].map((a) => {
    const b = before.get(a.table)!;
    return { table: a.table, seqScans: a.seqScans - b.seqScans, rowsRead: a.rowsRead - b.rowsRead };
  });
}

t.test('create, decide and cancel read a bounded number of rows on a large unanalysed log', async (t) => {
  const { sql: appSql, url } = await testDatabase(t, { poolSize: 1 });
  const owner = connect(url, { max: 1 });
  t.teardown(() => owner.end({ timeout: 1 }));
  for (const table of BIG_TABLES) await owner`alter table ${owner(table)} set (autovacuum_enabled = false)`;

  // Set-up through a first server: a policy, an agent key, one real request whose rows are
  // cloned below (schema-agnostic copies).
  const setupSql = connect(url, { max: 2 });
  t.teardown(() => setupSql.end({ timeout: 1 }));
  const setup = await buildApp({ sql: setupSql, logLevel: 'silent', requestDefaultTtlSeconds: 600 });
  const adminKey = (await bootstrapAdminKey(setupSql)).key!;
  let app = setup;
  const call = (method: 'POST', path: string, body: unknown, key = adminKey, headers: Record<string, string> = {}) => app.inject({
    method, url: path, payload: JSON.stringify(body ?? {}),
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
  });
  const policy = await call('POST', '/api/policies', { name: 'reads', priority: 1, rules: [{ match: { action: 'read_file' }, decision: 'auto_approve' }] });
  t.equal(policy.statusCode, 201, policy.body);
  const agentRes = await call('POST', '/api/keys', { name: 'agent', scopes: ['request:create', 'request:read'], rateLimit: null });
  t.equal(agentRes.statusCode, 201, agentRes.body);
  const agent = (agentRes.json() as { key: string }).key;
  const seed = await call('POST', '/api/requests', { action: 'deploy', params: { n: 0 } }, agent);
  t.equal(seed.statusCode, 201, seed.body);
  const seedId = (seed.json() as { id: string }).id;
  await setup.close();

  // Grow the log with the old event shapes (created + policy_evaluated per stream) and the
  // read models with matching rows, without firing triggers: the shape of a large, old log.
  // In short transactions: an open writing transaction holds back every live reader on the
  // cluster (they read below the oldest running transaction), other test files' included.
  const CHUNK = 10_000;
  for (let from = 1; from <= STREAMS; from += CHUNK) {
    const to = Math.min(STREAMS, from + CHUNK - 1);
    await owner.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`
        insert into events (stream_id, stream_type, version, type, data, metadata)
        select 'request-req_bulk' || lpad(g::text, 21, '0'), 'request', v.version, v.type,
               jsonb_build_object('id', 'req_bulk' || lpad(g::text, 21, '0'), 'action', 'deploy', 'decision', 'route_to_human'),
               '{"actor":{"type":"key","id":"key_bulk","name":"bulk"}}'::jsonb
        from generate_series(${from}::int, ${to}::int) g
        cross join (values (1, 'request.created'), (2, 'request.policy_evaluated')) v(version, type)`;
      await tx`
        insert into requests
        select (jsonb_populate_record(r, jsonb_build_object('id', 'req_bulk' || lpad(g::text, 21, '0')))).*
        from requests r cross join generate_series(${from}::int, ${to}::int) g
        where r.id = ${seedId}`;
    });
  }
  const [stats] = await owner<{ analysed: string; events: string }[]>`
    select count(*) filter (where last_analyze is not null or last_autoanalyze is not null) as analysed,
           (select count(*) from events) as events
    from pg_stat_user_tables where relname in ${owner(BIG_TABLES)}`;
  t.equal(Number(stats!.analysed), 0, 'no statistics on the grown tables');
  t.ok(Number(stats!.events) > 2 * STREAMS, `the log holds ${stats!.events} events`);

  // The measured server starts on the grown log (its live reader begins at the head, as a
  // server restarted on an old database does), on a pool of one connection.
  app = await buildApp({ sql: appSql, logLevel: 'silent', requestDefaultTtlSeconds: 600 });
  t.teardown(() => app.close());

  // Warm-up: plans cached, the policy set loaded, and the live reader at the head of the log.
  // It starts below the oldest transaction running anywhere on the cluster (other test files
  // bulk-load beside this one), so it may first have the grown log to read: that is catching
  // up, not the write path.
  const [{ head }] = await owner<[{ head: number }]>`select max(position)::int as head from events`;
  const live = (app as unknown as { live: { cursor: { position: number } } }).live;
  const caughtUpBy = Date.now() + 120_000;
  do {
    await call('POST', '/api/requests', { action: 'read_file' }, agent);
    if (Date.now() > caughtUpBy) throw new Error(`the live reader is still at ${live.cursor.position}, below ${head}`);
  } while (live.cursor.position < head);

  const measure = async <R extends { statusCode: number; body: string }>(name: string, run: () => Promise<R>, status: number): Promise<R> => {
    const before = await readsOfBigTables(owner, appSql);
    const res = await run();
    t.equal(res.statusCode, status, `${name}: ${res.body}`);
    for (const d of delta(before, await readsOfBigTables(owner, appSql))) {
      t.equal(d.seqScans, 0, `${name}: no sequential scan of ${d.table}`);
      t.ok(d.rowsRead <= MAX_ROWS_PER_OPERATION, `${name}: ${d.rowsRead} rows read from ${d.table} (at most ${MAX_ROWS_PER_OPERATION})`);
    }
    return res;
  };

  const routed: string[] = [];
  for (let i = 0; i < 3; i++) {
    await measure('create (auto-approved)', () => call('POST', '/api/requests', { action: 'read_file', params: { i } }, agent), 201);
    const res = await measure('create (routed to people, with an Idempotency-Key)',
      () => call('POST', '/api/requests', { action: 'deploy', params: { i } }, agent, { 'idempotency-key': randomUUID() }), 201);
    routed.push((res.json() as { id: string }).id);
  }
  await measure('decide', () => call('POST', `/api/requests/${routed[0]}/decide`, { decision: 'approved', reason: 'ok' }), 200);
  await measure('cancel', () => call('POST', `/api/requests/${routed[1]}/cancel`, {}, agent), 200);
});
