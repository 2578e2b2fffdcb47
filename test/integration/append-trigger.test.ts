/**
 * The append trigger (events_after_append, projections/00_dispatch.sql): a statement of
 * creates only is projected set-based, and must leave exactly what the per-event functions
 * leave (the rows a rebuild makes, the expiry sweep at the earliest pending expiry, one
 * notification job per routed request that has something to announce, a webhook delivery
 * per announced event); any other statement is applied row by row in log order, so one
 * statement may hold several events of one stream.
 */
import t from 'tap';
import type { Sql } from '../../server/src/db/connect.ts';
import { rebuildProjections } from '../../server/src/db/migrate.ts';
import { newId } from '../../server/src/ids.ts';
import { appendCreates, type NewRequest } from '../../server/src/requests/append-creates.ts';
import { decide, initialRequestState, type PolicyOutcome, type RequestCreatedData } from '../../server/src/requests/decider.ts';
import { testApp } from '../helpers/app.ts';
import { jobSchema } from '../helpers/worker.ts';

const routed: PolicyOutcome = {
  decision: 'route_to_human', policyId: null, policyVersion: null, policyName: null, ruleIndex: null,
  approvers: [], channels: [], requireReason: false, requireDistinctApprover: false, reason: 'test',
};
const approvedAtOnce: PolicyOutcome = { ...routed, decision: 'auto_approve', policyId: 'pol_test', policyName: 'test policy', reason: 'matched' };

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

function created(opts: { outcome: PolicyOutcome; expiresAt: string | null; notify?: boolean; idempotencyKey?: string }): NewRequest {
  const [event] = decide({
    type: 'create', id: newId('request'), action: 'deploy', params: { n: 1 }, context: { why: 'test' }, urgency: 'high',
    expiresAt: opts.expiresAt, requester: { id: 'key_test', name: 'test' }, outcome: opts.outcome, now: new Date(),
    ...(opts.notify !== undefined ? { notify: opts.notify } : {}),
    ...(opts.idempotencyKey ? { idempotency: { key: opts.idempotencyKey, bodyHash: 'hash' } } : {}),
  }, initialRequestState());
  return { data: event!.data as RequestCreatedData, metadata: { actor: { type: 'system', id: 'test', name: 'test' }, channel: 'api' } };
}

const policyVersion = async (sql: Sql) => Number((await sql<{ version: number }[]>`select version from policy_set`)[0]!.version);
const tableRows = (sql: Sql, table: 'requests' | 'idempotency_keys') =>
  sql<{ row: unknown }[]>`select to_jsonb(x) as row from ${sql(table)} x order by 1`.then((rows) => rows.map((r) => r.row));

t.test('a statement of creates: the rows, jobs and deliveries each event would have made', async (t) => {
  const h = await testApp(t);
  await jobSchema(h.sql, h.dbUrl);
  const batch = [
    created({ outcome: routed, expiresAt: inSeconds(600), notify: true }),
    created({ outcome: routed, expiresAt: inSeconds(300), notify: false, idempotencyKey: 'retry-1' }),
    // Decided at once: its earlier expiry must not move the sweep.
    created({ outcome: approvedAtOnce, expiresAt: inSeconds(60) }),
    created({ outcome: routed, expiresAt: null }),
  ];
  const appended = await appendCreates(h.appSql, batch, await policyVersion(h.sql));
  t.equal(appended?.length, 4, 'one statement appended the four');
  const [{ statements } = { statements: 0 }] = await h.sql<{ statements: number }[]>`
    select count(distinct tx_id)::int as statements from events where type = 'request.created'`;
  t.equal(statements, 1, 'in one transaction');

  const rows = await h.sql<{ id: string; status: string; decided_by: string | null; created_with_decision: boolean; urgency_rank: number; version: number }[]>`
    select id, status, decided_by, created_with_decision, urgency_rank, version from requests order by last_position`;
  t.same(rows.map((r) => r.status), ['pending', 'pending', 'approved', 'pending'], 'each request has its status');
  t.equal(rows[2]!.decided_by, 'policy:test policy', 'the policy decided the third');
  t.same(rows.map((r) => r.created_with_decision), [false, false, true, false]);
  t.ok(rows.every((r) => r.urgency_rank === 2 && r.version === 1));
  const idem = await h.sql<{ request_id: string }[]>`select request_id from idempotency_keys where idempotency_key = 'retry-1'`;
  t.same(idem.map((r) => r.request_id), [batch[1]!.data.id], 'the Idempotency-Key is kept for its request only');

  const sweep = await h.sql<{ run_at: Date }[]>`select run_at from graphile_worker.jobs where key = 'expire-requests'`;
  t.equal(sweep.length, 1, 'one expiry sweep');
  t.equal(sweep[0]!.run_at.toISOString(), batch[1]!.data.expiresAt, 'due at the earliest expiry of a pending request');
  const notify = await h.sql<{ key: string }[]>`select key from graphile_worker.jobs where task_identifier = 'notify_request'`;
  t.same(notify.map((j) => j.key), [`notify:${batch[0]!.data.id}`, `notify:${batch[3]!.data.id}`],
    'a notification job for each routed request not marked as having nothing to announce');

  // The same rows as a rebuild from the log, which projects one event at a time.
  const live = { requests: await tableRows(h.sql, 'requests'), idempotency: await tableRows(h.sql, 'idempotency_keys') };
  await rebuildProjections(h.sql);
  t.same(await tableRows(h.sql, 'requests'), live.requests, 'requests: rebuilt rows equal the rows made live');
  t.same(await tableRows(h.sql, 'idempotency_keys'), live.idempotency, 'idempotency_keys: likewise');
});

t.test('a statement of creates with a subscribed webhook queues what each create announces', async (t) => {
  const h = await testApp(t);
  await jobSchema(h.sql, h.dbUrl);
  const res = await h.call('POST', '/api/webhooks', { body: { url: 'http://127.0.0.1:9/hook', events: ['request.created', 'request.approved'] } });
  t.equal(res.statusCode, 201, res.body);
  const batch = [created({ outcome: routed, expiresAt: inSeconds(300) }), created({ outcome: approvedAtOnce, expiresAt: null }), created({ outcome: routed, expiresAt: inSeconds(200) })];
  await appendCreates(h.appSql, batch, await policyVersion(h.sql));
  const queued = await h.sql<{ event: string; id: string; status: string }[]>`
    select payload->>'event' as event, payload#>>'{subject,id}' as id, payload#>>'{subject,row,status}' as status
    from webhook_outbox order by seq`;
  t.same(queued, [
    { event: 'request.created', id: batch[0]!.data.id, status: 'pending' },
    { event: 'request.created', id: batch[1]!.data.id, status: 'pending' },
    { event: 'request.approved', id: batch[1]!.data.id, status: 'approved' },
    { event: 'request.created', id: batch[2]!.data.id, status: 'pending' },
  ], 'in log order, each create as created, the one decided at once also as approved');
  const sweep = await h.sql<{ run_at: Date }[]>`select run_at from graphile_worker.jobs where key = 'expire-requests'`;
  t.equal(sweep[0]?.run_at.toISOString(), batch[2]!.data.expiresAt, 'the sweep still runs by the earliest expiry');
});

t.test('a statement holding a create and a later event of the same stream applies them in order', async (t) => {
  const h = await testApp(t);
  await jobSchema(h.sql, h.dbUrl);
  const create = created({ outcome: routed, expiresAt: inSeconds(300), notify: true });
  const streamId = `request-${create.data.id}`;
  const decider = { type: 'key', id: 'key_admin', name: 'admin' };
  // As the owner: one INSERT of two events of one stream, as an import or an old writer may append.
  await h.sql`
    insert into events (stream_id, stream_type, version, type, data, metadata) values
      (${streamId}, 'request', 1, 'request.created', ${h.sql.json(create.data as never)}, ${h.sql.json(create.metadata as never)}),
      (${streamId}, 'request', 2, 'request.approved', ${h.sql.json({ decider, label: null, reason: 'fine' })}, '{"channel": "api"}')`;
  const [row] = await h.sql<{ status: string; decided_by: string; decision_reason: string; version: number }[]>`
    select status, decided_by, decision_reason, version from requests where id = ${create.data.id}`;
  t.same(row, { status: 'approved', decided_by: 'admin', decision_reason: 'fine', version: 2 }, 'the decision applies to the row its create made');
  t.equal(Number((await h.sql`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'notify_request'`)[0]!.n), 1,
    'the create still added its notification job');
});
