import t from 'tap';
import type { Sql } from '../../server/src/db/connect.ts';
import { executeCommand } from '../../server/src/events/command.ts';
import { decide, evolve, initialRequestState, type PolicyOutcome } from '../../server/src/requests/decider.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { testDatabase } from '../helpers/db.ts';
import { createWebhook, receiverFor } from '../helpers/webhook-receiver.ts';
import { childWorker, eventually, inProcessWorker, jobCount, jobSchema } from '../helpers/worker.ts';

async function createRequest(h: TestApp, body: Record<string, unknown> = { action: 'deploy' }) {
  const res = await h.call('POST', '/api/requests', { body });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json() as { id: string; expiresAt: string | null; status: string };
}

const eventCount = async (sql: Sql) => (await sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;

const outcome: PolicyOutcome = {
  decision: 'route_to_human', policyId: null, policyVersion: null, policyName: null, ruleIndex: null,
  approvers: [], channels: [], requireReason: false, requireDistinctApprover: false, reason: 'test',
};

/** A request.created command through the one write path, optionally failing after the append. */
function createThrough(sql: Sql, id: string, expiresAt: string | null, failAfterAppend = false) {
  return executeCommand(sql, {
    streamId: `request-${id}`,
    streamType: 'request',
    initial: initialRequestState,
    evolve: (s, e) => evolve(s, e),
    decide: (s) => decide({
      type: 'create', id, action: 'deploy', params: {}, context: {}, urgency: 'normal', expiresAt,
      requester: { id: 'key_test', name: 'test' }, outcome, now: new Date(),
    }, s),
    metadata: { actor: { type: 'system', id: 'test', name: 'test' }, channel: 'system' },
    afterAppend: async (tx) => {
      if (!failAfterAppend) return;
      // Inside the transaction the jobs are there...
      const [row] = await tx<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs`;
      if (row!.n === 0) throw new Error('expected the jobs inside the transaction');
      throw new Error('boom: the transaction rolls back');
    },
  });
}

t.test('no event without its job, no job without its event', async (t) => {
  const h = await testApp(t);
  await jobSchema(h.sql, h.dbUrl); // no worker: the jobs stay where they are
  const r = await receiverFor(t);
  await createWebhook(h, { url: r.url, events: ['*'] });
  const before = await eventCount(h.sql);
  const expiresAt = new Date(Date.now() + 3_600_000).toISOString();

  await t.rejects(createThrough(h.sql, 'req_01jx0000000000000000000001', expiresAt, true), /boom/);
  t.equal(await eventCount(h.sql), before, 'the rolled-back append left no event');
  t.equal(await jobCount(h.sql), 0, 'and no job');

  await createThrough(h.sql, 'req_01jx0000000000000000000002', expiresAt);
  t.equal(await eventCount(h.sql), before + 1, 'one request.created, the policy outcome inside');
  const jobs = await h.sql<{ task_identifier: string; key: string | null; queue_name: string | null; run_at: Date }[]>`
    select task_identifier, key, queue_name, run_at from graphile_worker.jobs order by id`;
  t.match(jobs, [
    { task_identifier: 'expire_requests', key: 'expire-requests', queue_name: 'expire-requests' },
    { task_identifier: 'deliver_webhook', queue_name: /^webhook:whk_/ },
  ]);
  t.equal(jobs[0]!.run_at.toISOString(), expiresAt, 'the expiry sweep is due at expiresAt');
});

t.test('jobs scheduled before the worker schema exists wait in the outbox, then move in order', async (t) => {
  const { sql, url } = await testDatabase(t);
  await createThrough(sql, 'req_01jx0000000000000000000003', new Date(Date.now() + 60_000).toISOString());
  await createThrough(sql, 'req_01jx0000000000000000000004', new Date(Date.now() + 60_000).toISOString());
  const parked = await sql<{ job_key: string }[]>`select job_key from job_outbox order by id`;
  // Each routed request also parks its notification job (notify:<id>); the expiry sweep is
  // parked once, due at the earlier of the two expiries.
  t.same(parked.map((p) => p.job_key).filter((k) => k.startsWith('expire')), ['expire-requests']);
  const [first] = await sql<{ expires_at: Date }[]>`select expires_at from requests where id = 'req_01jx0000000000000000000003'`;
  const [sweep] = await sql<{ run_at: Date }[]>`select run_at from job_outbox where job_key = 'expire-requests'`;
  t.equal(sweep!.run_at.getTime(), first!.expires_at.getTime());
  const { drained } = await jobSchema(sql, url);
  t.equal(drained, parked.length);
  t.equal((await sql`select 1 from job_outbox`).length, 0);
  t.equal(await jobCount(sql, 'expire_requests'), 1);
});

t.test('one expiry sweep, due at the earliest expiry: a later one leaves it, an earlier one moves it', async (t) => {
  const h = await testApp(t, { requestDefaultTtlSeconds: 3600 });
  await jobSchema(h.sql, h.dbUrl);
  const sweeps = () => h.sql<{ run_at: Date; revision: number }[]>`
    select run_at, revision from graphile_worker.jobs where task_identifier = 'expire_requests'`;
  const a = await createRequest(h);
  t.ok(a.expiresAt, 'the default TTL gave the request an expiry');
  await createRequest(h);
  await createRequest(h);
  t.same((await sweeps()).map((j) => [j.run_at.toISOString(), j.revision]), [[a.expiresAt, 0]],
    'one job, due at the first expiry, untouched by the later ones');
  t.equal(await jobCount(h.sql, 'expire_request'), 0, 'no job per request');
  const explicit = await createRequest(h, { action: 'deploy', expiresAt: new Date(Date.now() + 120_000).toISOString() });
  t.ok(Date.parse(explicit.expiresAt!) < Date.now() + 121_000, 'an explicit expiresAt wins over the default TTL');
  t.same((await sweeps()).map((j) => j.run_at.toISOString()), [explicit.expiresAt], 'moved to the earlier expiry');
  await h.call('POST', `/api/requests/${explicit.id}/decide`, { body: { decision: 'denied' } });
  await h.call('POST', `/api/requests/${a.id}/cancel`);
  t.same((await sweeps()).map((j) => j.run_at.toISOString()), [explicit.expiresAt], 'a decision leaves the sweep as it is');
});

t.test('expiry: a pending request with a short TTL becomes expired, with its audit entry and webhook', async (t) => {
  const h = await testApp(t, { requestDefaultTtlSeconds: 1 });
  const r = await receiverFor(t);
  await createWebhook(h, { url: r.url, events: ['request.expired'] });
  await inProcessWorker(t, h.sql, h.dbUrl);
  const pending = await createRequest(h);
  const approved = await createRequest(h);
  await h.call('POST', `/api/requests/${approved.id}/decide`, { body: { decision: 'approved' } });
  t.ok(Date.parse(pending.expiresAt!) - Date.now() <= 1000, 'expires within a second');

  const expired = await eventually(async () => {
    const res = (await h.call('GET', `/api/requests/${pending.id}`)).json();
    return res.status === 'expired' && res;
  }, 'the request to expire');
  t.match(expired, { status: 'expired', decidedBy: 'system' });
  const trail = (await h.call('GET', `/api/requests/${pending.id}/audit`)).json() as Array<{ streamId: string; eventType: string; actor: string; actorInfo: { name: string } }>;
  // The request's own events (its trail also lists webhook deliveries as they are made).
  const audit = trail.filter((e) => e.streamId === `request-${pending.id}`);
  t.same(audit.map((e) => e.eventType), ['created', 'expired']);
  t.match(audit[1], { actor: 'system', actorInfo: { type: 'system', name: 'worker' } });

  const [got] = await r.waitFor(1);
  t.match(got!.json, { event: 'request.expired', data: { id: pending.id, status: 'expired' } });
  t.equal((await h.call('GET', `/api/requests/${approved.id}`)).json().status, 'approved', 'a decided request is not expired');
  await eventually(async () => (await jobCount(h.sql, 'expire_requests')) === 0, 'no sweep left: nothing pending expires');
  const again = await h.call('POST', `/api/requests/${pending.id}/decide`, { body: { decision: 'approved' } });
  t.equal(again.statusCode, 409, 'an expired request cannot be decided');
});

t.test('a worker killed between attempts: another process picks the retry up', async (t) => {
  const h = await testApp(t);
  await jobSchema(h.sql, h.dbUrl);
  const r = await receiverFor(t);
  r.respond = (n) => (n === 1 ? 500 : 200);
  const w = await createWebhook(h, { url: r.url, events: ['request.created'] });
  // A retry 16 s after the first attempt: the kill surely lands before it is due.
  const first = childWorker(t, h.dbUrl, { WEBHOOK_RETRY_BASE_MS: '8000' });
  await createRequest(h);
  await r.waitFor(1);
  await eventually(async () => (await h.sql`select 1 from webhook_delivery_attempts where attempt = 1`).length === 1, 'attempt 1 recorded');
  await first.kill9();
  t.equal(first.child.signalCode, 'SIGKILL', 'the first worker is gone');
  t.equal(r.received.length, 1, 'killed before the retry was due');
  const retryJobs = await h.sql<{ id: string }[]>`
    select id from graphile_worker.jobs where queue_name = ${`webhook:${w.id}`} and run_at > now() + interval '5 seconds'`;
  t.equal(retryJobs.length, 1, 'the retry waits in the queue, due later');
  // Due now, so the test need not sit out the 16 s: the head of the webhook's line, and its
  // job (graphile-worker's own admin function).
  await h.sql`update webhook_outbox set due_at = now() where webhook_id = ${w.id}`;
  await h.sql`select graphile_worker.reschedule_jobs(${retryJobs.map((j) => j.id)}::bigint[], run_at => now())`;

  childWorker(t, h.dbUrl);
  const [, retry] = await r.waitFor(2);
  t.equal(retry!.json.deliveryId, r.received[0]!.json.deliveryId, 'the same delivery, attempt 2');
  const [d] = await eventually(async () => {
    const rows = await h.sql<{ status: string; attempts: number }[]>`select status, attempts from webhook_deliveries where webhook_id = ${w.id}`;
    return rows[0]?.status === 'success' && rows;
  }, 'the delivery to succeed');
  t.equal(d!.attempts, 2);
  t.equal((await h.sql`select 1 from webhook_delivery_attempts`).length, 2, 'each attempt recorded once');
});

t.test('a worker killed in the middle of a job: the survivors release its lock and the job runs again', async (t) => {
  const h = await testApp(t);
  await jobSchema(h.sql, h.dbUrl);
  const r = await receiverFor(t);
  r.respond = (n) => (n === 1 ? null : 200); // the first call hangs: the job is in flight when killed
  const w = await createWebhook(h, { url: r.url, events: ['request.created'] });
  const first = childWorker(t, h.dbUrl);
  await createRequest(h);
  await r.waitFor(1);
  const [locked] = await h.sql<{ locked_by: string }[]>`select locked_by from graphile_worker.jobs where locked_by is not null`;
  t.ok(locked, 'the job is locked by the first worker');
  await first.kill9();

  const second = childWorker(t, h.dbUrl);
  const [, again] = await r.waitFor(2);
  t.equal(again!.json.deliveryId, r.received[0]!.json.deliveryId, 'the same delivery, sent again');
  await eventually(async () => {
    const rows = await h.sql<{ status: string }[]>`select status from webhook_deliveries where webhook_id = ${w.id}`;
    return rows[0]?.status === 'success';
  }, 'the delivery to succeed');
  const recorded = await h.sql<{ attempt: number }[]>`select attempt from webhook_delivery_attempts`;
  t.same(recorded.map((a) => a.attempt), [1], 'the interrupted try left no record; the finished one is attempt 1');
  t.equal((await h.sql`select 1 from worker_heartbeats where pool_id = ${locked!.locked_by}`).length, 0, 'the dead pool was reaped');
  t.equal(second.child.exitCode, null, 'the second worker still runs');
});

t.test('deep health reports the worker', async (t) => {
  const h = await testApp(t);
  const worker = await inProcessWorker(t, h.sql, h.dbUrl);
  const { buildApp } = await import('../../server/src/http/app.ts');
  const app = await buildApp({ sql: h.sql, logLevel: 'silent', healthChecks: {
    worker: async () => worker.healthy(),
    live: async () => ({ ok: true, details: { openWaits: 3 } }),
  } });
  t.teardown(() => app.close());
  const asKey = { authorization: `Bearer ${h.adminKey}` };
  const ok = await app.inject({ method: 'GET', url: '/health?deep=true', headers: asKey });
  t.equal(ok.statusCode, 200);
  t.match(ok.json(), { status: 'ok', checks: { worker: { status: 'ok' }, live: { status: 'ok', details: { openWaits: 3 } } } });
  t.notOk('details' in ok.json().checks.worker, 'a check that answers only yes or no has no details');
  await worker.stop();
  const down = await app.inject({ method: 'GET', url: '/health?deep=true', headers: asKey });
  t.equal(down.statusCode, 503);
  t.match(down.json(), { status: 'degraded', checks: { worker: { status: 'error' } } });
  // Without a key (or with a bad one) only the verdict is shown.
  for (const headers of [{}, { authorization: 'Bearer agk_not-a-key' }]) {
    const anonymous = await app.inject({ method: 'GET', url: '/health?deep=true', headers });
    t.equal(anonymous.statusCode, 503);
    t.same(Object.keys(anonymous.json()).sort(), ['status', 'timestamp'], 'no checks without a key');
  }
  const anonymousOk = await h.app.inject({ method: 'GET', url: '/health?deep=true' });
  t.notOk('checks' in anonymousOk.json(), 'no checks without a key when healthy either');
});
