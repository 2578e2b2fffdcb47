/**
 * The audit log's queries on a large log that was never analysed (autovacuum off), the
 * worst case for a planner: every statement a search, a request's trail and the actors list
 * send — each filter alone and combined, first pages and later ones, their totals, the
 * decision entries of policies — is captured and explained (with ANALYZE). None may read
 * `events` by a sequential scan (the count of the whole, unfiltered log excepted: that is
 * every event); a page filtered by the request's action or status reads a bounded number of
 * events whatever the size of the log. The full-size numbers are in docs/audit-plans.md
 * (`npm run bench:audit-plans`).
 */
import t from 'tap';
import postgres from 'postgres';
import type { Sql } from '../../server/src/db/connect.ts';
import { auditActors, requestAudit, searchAudit, WALK_WINDOW, FEW_REQUESTS, type AuditSearch } from '../../server/src/audit/queries.ts';
import { prefilledRequestId, prefillLog } from '../../bench/prefill.ts';
import { testApp } from '../helpers/app.ts';

/** The log grows to this many events: large enough that a walk of it shows. */
const EVENTS = 150_000;
/**
 * A page filtered on the request reads at most this many events: the walk's window (each event
 * looked up in both views) plus a few index probes per request of a small set.
 */
const MAX_PAGE_READ = 3 * WALK_WINDOW + 4 * FEW_REQUESTS;

interface PlanNode {
  'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; 'Actual Rows'?: number; 'Actual Loops'?: number;
  'Rows Removed by Filter'?: number; 'Rows Removed by Index Recheck'?: number; Plans?: PlanNode[];
}
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

t.test('audit queries stay on indexes on a large unanalysed log', async (t) => {
  const h = await testApp(t);
  const bot = await h.key(['request:create', 'request:read'], { name: 'ops-bot' });
  const create = async (action: string) => {
    const res = await h.call('POST', '/api/requests', { key: bot.key, body: { action } });
    if (res.statusCode !== 201) throw new Error(res.body);
    return res.json() as { id: string; status: string };
  };
  const reads = (await h.call('POST', '/api/policies', { body: { name: 'reads are fine', priority: 1, rules: [{ match: { action: 'read_file' }, decision: 'auto_approve' }] } })).json();
  await h.call('POST', '/api/policies', { body: { name: 'no-drops', priority: 2, rules: [{ match: { action: 'drop_table' }, decision: 'auto_deny' }] } });
  const auto = await create('read_file');
  const routed = await create('deploy');
  await h.call('POST', `/api/requests/${routed.id}/decide`, { body: { decision: 'approved', reason: 'release window' } });
  const pending = await create('send_email');
  for (let i = 0; i < 3; i++) await create('drop_table');
  t.equal(auto.status, 'approved');
  // Deliveries of the routed request's events, so its trail and the request filters read them too.
  await h.sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`
      insert into events (stream_id, stream_type, version, type, data, metadata)
      select 'webhook-whk_plans', 'webhook', g, 'webhook.delivery_attempted',
             jsonb_build_object('deliveryId', 'dlv_' || g, 'event', 'request.decided', 'eventPosition', s.position, 'attempt', 1, 'ok', true),
             '{"actor":{"type":"system","id":"worker","name":"worker"},"channel":"worker"}'
      from generate_series(1, 3) g cross join lateral (
        select position from events where stream_id = ${`request-${routed.id}`} order by version desc limit 1) s`;
  });
  // Cloned streams, 4,000 at a time (under 10,000 rows a transaction): most approved by the
  // policy, three in ten routed and approved, one in ten still pending.
  const grown = await prefillLog(h.sql, EVENTS, auto.id, routed.id, { pendingSeed: pending.id, chunk: 4_000 });
  t.ok(grown.events >= EVENTS * 0.99, `${grown.events} events`);

  let captured: { query: string; params: unknown[] }[] = [];
  // Like the server's pool (db/connect.ts): JIT off.
  const recording = postgres(h.dbUrl, {
    max: 2, onnotice: () => {}, connection: { jit: 'off' },
    types: { bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
    debug: (_conn, query, params) => { captured.push({ query, params: params as unknown[] }); },
  }) as unknown as Sql;
  t.teardown(() => recording.end({ timeout: 1 }));

  const [{ at }] = await h.sql<[{ at: Date }]>`select recorded_at as at from events where stream_id = ${`request-${prefilledRequestId(500)}`}`;
  const range = { from: at.toISOString(), to: new Date(at.getTime() + 1000).toISOString() };
  /** [name, query, whether a page of it must read a bounded number of events] */
  const cases: [string, AuditSearch, boolean][] = [
    ['no filter', {}, false],
    ['eventType=approved (events and policy decisions)', { eventType: 'approved' }, false],
    ['eventType=denied (policy decisions only)', { eventType: 'denied' }, false],
    ['eventType=created', { eventType: 'created' }, false],
    ['eventType=policy.created (rare)', { eventType: 'policy.created' }, false],
    ['actor=key:ops-bot', { actor: 'key:ops-bot' }, false],
    ['actor=system', { actor: 'system' }, false],
    ['actor=policy:reads are fine (decision entries)', { actor: 'policy:reads are fine' }, false],
    ['actor=<policy id> (a bare id)', { actor: reads.id as string }, false],
    ['actor=ops-bot (a bare name)', { actor: 'ops-bot' }, false],
    ['from/to, one second', range, true],
    ['action=deploy (a large set)', { action: 'deploy' }, true],
    ['action=read_file (a large set a policy decided)', { action: 'read_file' }, true],
    ['action=drop_table (a few)', { action: 'drop_table' }, true],
    ['status=pending (a large set)', { status: 'pending' }, true],
    ['status=approved (most requests)', { status: 'approved' }, true],
    ['status=denied (a few)', { status: 'denied' }, true],
    ['action=deploy&status=approved', { action: 'deploy', status: 'approved' }, true],
    ['action=read_file&eventType=approved', { action: 'read_file', eventType: 'approved' }, true],
    ['status=pending&eventType=created', { status: 'pending', eventType: 'created' }, true],
    ['status=pending&actor=key:ops-bot', { status: 'pending', actor: 'key:ops-bot' }, true],
    ['action=deploy&from/to', { action: 'deploy', ...range }, true],
    ['requestId', { requestId: routed.id }, true],
    ['requestId&eventType=approved', { requestId: auto.id, eventType: 'approved' }, true],
  ];

  const explain = async (c: { query: string; params: unknown[] }) => {
    const [{ 'QUERY PLAN': [plan] }] = await h.sql.unsafe(`explain (analyze, format json) ${c.query}`, c.params as never[]) as unknown as [{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }];
    const all = nodes(plan!.Plan);
    const onEvents = all.filter((n) => n['Relation Name'] === 'events');
    const times = (n: PlanNode, k: keyof PlanNode) => ((n[k] as number | undefined) ?? 0) * (n['Actual Loops'] ?? 1);
    const read = onEvents.filter((n) => !/^Bitmap Index/.test(n['Node Type']))
      .reduce((sum, n) => sum + times(n, 'Actual Rows') + times(n, 'Rows Removed by Filter') + times(n, 'Rows Removed by Index Recheck'), 0);
    return {
      seq: onEvents.some((n) => n['Node Type'] === 'Seq Scan'),
      read,
      how: `${[...new Set(all.map((n) => n['Index Name']).filter(Boolean))].join(', ') || 'no index'}; ${plan!['Execution Time'].toFixed(1)} ms, ${read} rows of events`,
    };
  };
  const isTotal = (query: string) => /count\(\*\)|sum\(/i.test(query);
  const isWholeLogCount = (query: string) => /select count\(\*\) from audit_event_entries a where true\s*\)/.test(query.replace(/\s+/g, ' '));

  const check = async (name: string, bounded: boolean) => {
    for (const c of captured) {
      const { seq, read, how } = await explain(c);
      const kind = isTotal(c.query) ? 'total' : 'page';
      if (kind === 'total' && isWholeLogCount(c.query)) continue; // every event: a pass over the log is the plan
      t.notOk(seq, `${name}, ${kind}: no sequential scan of events (${how})`);
      if (bounded && kind === 'page') t.ok(read <= MAX_PAGE_READ, `${name}, page: reads ${read} events at most (${how})`);
    }
  };

  /**
   * The same search written plainly: every entry of the audit_log view copied once (10,000
   * positions a transaction) into a table without indexes, then filtered by a plain scan of
   * it: the request filters, the event type and a key's printed name.
   */
  await h.sql`create table audit_plain as select * from audit_log where false`;
  const [{ last }] = await h.sql<[{ last: number }]>`select max(position)::int as last from events`;
  for (let low = 0; low <= last; low += 10_000) {
    await h.sql`insert into audit_plain select * from audit_log where id >= ${low} and id < ${low + 10_000}`;
  }
  const plainly = async (q: AuditSearch) => {
    const type = q.eventType ? (q.eventType.includes('.') ? q.eventType : `request.${q.eventType}`) : null;
    const key = q.actor?.startsWith('key:') ? q.actor.slice(4) : null;
    const where = h.sql`
      ${q.action ? h.sql`and action = ${q.action}` : h.sql``}
      ${q.status ? h.sql`and request_status = ${q.status}` : h.sql``}
      ${q.requestId ? h.sql`and request_id = ${q.requestId}` : h.sql``}
      ${type ? h.sql`and event_name = ${type}` : h.sql``}
      ${key ? h.sql`and actor->>'type' = 'key' and actor->>'name' = ${key}` : h.sql``}`;
    const [{ n }] = await h.sql<[{ n: number }]>`select count(*)::int as n from audit_plain where true ${where}`;
    const newest = await h.sql<{ id: string }[]>`
      select case when part = 0 then id::text else id || '.' || part end as id from audit_plain where true ${where}
      order by audit_plain.id desc, part desc limit 50`;
    return { total: n, ids: newest.map((r) => r.id) };
  };

  for (const [name, q, bounded] of cases) {
    captured = [];
    const first = await searchAudit(recording, { ...q, limit: 50 });
    t.ok(first.entries.length > 0, `${name}: some match`);
    if (bounded && !q.from && (!q.actor || q.actor.startsWith('key:'))) {
      const expected = await plainly(q);
      t.equal(first.pagination.total, expected.total, `${name}: the total is exact`);
      t.same(first.entries.map((e) => e.id), expected.ids, `${name}: the first page is the newest entries, in order`);
    }
    await check(name, bounded);
    if (first.pagination.nextCursor) {
      captured = [];
      const second = await searchAudit(recording, { ...q, limit: 50, cursor: first.pagination.nextCursor });
      t.notOk(second.entries.some((e) => first.entries.some((f) => f.id === e.id)), `${name}: pages do not overlap`);
      t.equal(second.pagination.total, first.pagination.total, `${name}: a later page reports the first page's total`);
      t.notOk(captured.some((c) => isTotal(c.query) && /audit_|requests/.test(c.query) && !/limit/.test(c.query)), `${name}: a later page does not count again`);
      await check(`${name} (a later page)`, bounded);
    }
  }

  captured = [];
  const trail = await requestAudit(recording, auto.id);
  t.same(trail.map((e) => e.eventType), ['created', 'approved'], "the auto-approved request's trail: created, then the policy's decision");
  await check('request trail', true);
  captured = [];
  const routedTrail = await requestAudit(recording, routed.id);
  t.equal(routedTrail.filter((e) => e.event === 'webhook.delivery_attempted').length, 3, 'with the deliveries of its events');
  await check('request trail with deliveries', true);
  captured = [];
  const { actors } = await auditActors(recording, 1000);
  t.ok(actors.includes('policy:reads are fine') && actors.includes('key:ops-bot'), actors.join(', '));
  await check('distinct actors', true);
});
