/**
 * The requests list at 100,000 requests: every filter and sort the dashboard offers pages by
 * keyset on an index. The page query the API really runs is captured and explained (with
 * ANALYZE): it must never read the whole table nor sort more than a small filtered set.
 */
import t from 'tap';
import postgres from 'postgres';
import type { Sql } from '../../server/src/db/connect.ts';
import { listRequests } from '../../server/src/requests/queries.ts';
import type { ListRequestsQuery } from '../../server/src/requests/schemas.ts';
import { testDatabase } from '../helpers/db.ts';

const ROWS = 100_000;
/** More rows sorted or read than these for one page means the plan works through a large part of the table. */
const MAX_SORTED = 1_000;
const MAX_READ = 4_000;

interface PlanNode {
  'Node Type': string; 'Index Name'?: string; 'Actual Rows'?: number; 'Actual Loops'?: number;
  'Rows Removed by Filter'?: number; 'Rows Removed by Index Recheck'?: number; Plans?: PlanNode[];
}
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

t.test('requests pages stay on an index at 100,000 requests, for every filter and sort offered', async (t) => {
  const { sql, url } = await testDatabase(t);
  // The projection holds the current state of each request; filled directly, as a replay
  // would. Skewed like real traffic: a few actions make most requests, one old action was
  // used only at the start, most requests are decided and of normal urgency.
  // In short transactions: an open writing transaction holds back every live reader on the
  // cluster (they read below the oldest running transaction), other test files' included.
  for (let from = 1; from <= ROWS; from += 10_000) await sql`
    insert into requests (id, action, params, context, status, urgency, urgency_rank, created_at, updated_at, version, last_position)
    select 'req_' || lpad(g::text, 26, '0'),
           case when g <= 200 then 'legacy_export' else 'action_' || floor(50 * power(r.a, 3))::int end, '{}', '{}',
           case when r.s < 8 then 'pending' when r.s < 12 then 'expired' when r.s < 15 then 'cancelled' when r.s < 60 then 'approved' else 'denied' end,
           u.urgency, urgency_rank(u.urgency),
           timestamptz '2026-01-01' + g * interval '1 minute', timestamptz '2026-01-01' + g * interval '1 minute', 1, g
    from generate_series(${from}::int, ${Math.min(ROWS, from + 9_999)}::int) g
    cross join lateral (select (abs(hashint4(g)) % 10000) / 10000.0 as a, abs(hashint4(g + 1000000)) % 100 as s,
                               abs(hashint4(g + 2000000)) % 20 as u) r
    cross join lateral (select case when r.u = 0 then 'critical' when r.u < 5 then 'high' when r.u < 17 then 'normal' else 'low' end as urgency) u`;
  await sql`analyze requests`;

  // A client that records each query the list runs, to explain exactly that query.
  let captured: { query: string; params: unknown[] }[] = [];
  const recording = postgres(url, {
    max: 1, onnotice: () => {},
    types: { bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
    debug: (_conn, query, params) => { captured.push({ query, params: params as unknown[] }); },
  }) as unknown as Sql;
  t.teardown(() => recording.end({ timeout: 1 }));

  const day = (d: number) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString();
  // The dashboard's requests page: newest first, any of these filters together; its export
  // reads 100 at a time; the queue page reads the pending ones most urgent first.
  const cases: [string, ListRequestsQuery][] = [
    ['no filter', {}],
    ['an action used only long ago', { action: 'legacy_export' }],
    ['a rare action', { action: 'action_49' }],
    ['a rare urgency and status', { status: 'cancelled', urgency: 'critical' }],
    ['status', { status: 'approved' }],
    ['action', { action: 'action_7' }],
    ['urgency', { urgency: 'high' }],
    ['date range', { from: day(20), to: day(30) }],
    ['status + action', { status: 'denied', action: 'action_7' }],
    ['status + urgency', { status: 'approved', urgency: 'low' }],
    ['action + urgency', { action: 'action_3', urgency: 'critical' }],
    ['status + action + urgency', { status: 'approved', action: 'action_4', urgency: 'normal' }],
    ['status + an action used only long ago', { status: 'denied', action: 'legacy_export' }],
    ['status + date range', { status: 'pending', from: day(10), to: day(40) }],
    ['action + date range', { action: 'action_9', from: day(10), to: day(40) }],
    ['urgency + date range', { urgency: 'low', from: day(10), to: day(40) }],
    ['every filter', { status: 'denied', action: 'action_9', urgency: 'high', from: day(5), to: day(60) }],
    ['queue order', { status: 'pending', sort: 'queue' }],
  ];
  for (const [name, q] of cases) {
    for (const limit of [50, 100]) {
      captured = [];
      const first = await listRequests(recording, { ...q, limit });
      t.ok(first.requests.length > 0, `${name}: some match`);
      // The first page counts the filtered set; later pages carry that total in their cursor.
      const count = captured.find((c) => /count\(\*\)/i.test(c.query));
      if (!count) throw new Error(`${name}: the first page's count was not captured`);
      // A page deep in the set when there is one, reached by its cursor as the Older button and the export do.
      if (first.pagination.nextCursor) {
        captured = [];
        const second = await listRequests(recording, { ...q, limit, cursor: first.pagination.nextCursor });
        t.notOk(second.requests.some((r) => first.requests.some((f) => f.id === r.id)), `${name}: pages do not overlap`);
        t.notOk(captured.some((c) => /count\(\*\)/i.test(c.query)), `${name}: a later page does not count the set again`);
        t.equal(second.pagination.total, first.pagination.total, `${name}: a later page reports the first page's total`);
      }
      const page = captured.find((c) => /order by/i.test(c.query));
      if (!page) throw new Error(`${name}: the page query was not captured`);
      const [{ 'QUERY PLAN': [plan] }] = await recording.unsafe(`explain (analyze, format json) ${page.query}`, page.params as never[]) as unknown as [{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }];
      const all = nodes(plan!.Plan);
      const rows = (n: PlanNode, k: keyof PlanNode) => ((n[k] as number | undefined) ?? 0) * (n['Actual Loops'] ?? 1);
      const seq = all.filter((n) => n['Node Type'] === 'Seq Scan');
      // What a sort takes in (its own row count is what it hands on, at most the page).
      const sorted = Math.max(0, ...all.filter((n) => n['Node Type'] === 'Sort').map((n) => rows(n.Plans![0]!, 'Actual Rows')));
      // Every row a scan of the table produced or read and dropped: the work behind one page.
      const read = all.filter((n) => /Scan$/.test(n['Node Type']) && !/^Bitmap Index/.test(n['Node Type']))
        .reduce((sum, n) => sum + rows(n, 'Actual Rows') + rows(n, 'Rows Removed by Filter') + rows(n, 'Rows Removed by Index Recheck'), 0);
      // The first page's count of the filtered set: reported, not judged here.
      const [{ 'QUERY PLAN': [countPlan] }] = await recording.unsafe(`explain (analyze, format json) ${count!.query}`, count!.params as never[]) as unknown as [{ 'QUERY PLAN': [{ 'Execution Time': number }] }];
      const how = `indexes: ${[...new Set(all.map((n) => n['Index Name']).filter(Boolean))].join(', ') || 'none'}; page ${plan!['Execution Time'].toFixed(1)} ms, count ${countPlan!['Execution Time'].toFixed(1)} ms`;
      t.equal(seq.length, 0, `${name}, ${limit} a page: no scan of the whole table (${how})`);
      t.ok(sorted <= MAX_SORTED, `${name}, ${limit} a page: sorts ${sorted} rows, not the table`);
      t.ok(read <= MAX_READ, `${name}, ${limit} a page: reads ${read} rows, not the table`);
    }
  }
  // A cursor's total belongs to the filters it was counted for: other filters are counted anew.
  const approved = await listRequests(recording, { status: 'approved', limit: 50 });
  captured = [];
  const denied = await listRequests(recording, { status: 'denied', limit: 50, cursor: approved.pagination.nextCursor! });
  t.ok(captured.some((c) => /count\(\*\)/i.test(c.query)), 'a cursor used with other filters counts the set again');
  const [{ n }] = await recording<[{ n: number }]>`select count(*)::int as n from requests where status = 'denied'`;
  t.equal(denied.pagination.total, n, 'and reports the total of those filters');
});
