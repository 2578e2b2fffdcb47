/**
 * Request expiry by one sweep job (projections/50_jobs.sql, requests/expiry.ts): every
 * pending request expires on time and once, a decided one never; the sweep is due at the
 * earliest expiry however creates race; a create is never missed by a sweep rescheduling
 * while it commits; a lost sweep is put back at start; jobs of one request from before the
 * sweep still work beside it.
 */
import t from 'tap';
import type { Sql } from '../../server/src/db/connect.ts';
import { executeCommand } from '../../server/src/events/command.ts';
import { decide, evolve, initialRequestState, type PolicyOutcome } from '../../server/src/requests/decider.ts';
import { sweepExpiredRequests } from '../../server/src/requests/expiry.ts';
import { WORKER_METADATA } from '../../server/src/webhooks/delivery.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { eventually, inProcessWorker, jobCount, jobSchema } from '../helpers/worker.ts';

async function create(h: TestApp, expiresAt: Date | null, key?: string) {
  const res = await h.call('POST', '/api/requests', { ...(key ? { key } : {}), body: { action: 'deploy', ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) } });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json() as { id: string; expiresAt: string | null };
}

const sweepJobs = (sql: Sql) => sql<{ run_at: Date; locked_at: Date | null }[]>`
  select run_at, locked_at from graphile_worker.jobs where task_identifier = 'expire_requests'`;

const expiredEvents = (sql: Sql) => sql<{ stream_id: string; recorded_at: Date }[]>`
  select stream_id, recorded_at from events where type = 'request.expired' order by position`;

const outcome: PolicyOutcome = {
  decision: 'route_to_human', policyId: null, policyVersion: null, policyName: null, ruleIndex: null,
  approvers: [], channels: [], requireReason: false, requireDistinctApprover: false, reason: 'test',
};

/** A create through the one write path that stays open (uncommitted) after its append until released. */
function heldCreate(h: TestApp, id: string, expiresAt: string) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let appended!: () => void;
  const inside = new Promise<void>((r) => (appended = r));
  const done = executeCommand(h.appSql, {
    streamId: `request-${id}`, streamType: 'request', initial: initialRequestState, evolve: (s, e) => evolve(s, e),
    decide: (s) => decide({
      type: 'create', id, action: 'deploy', params: {}, context: {}, urgency: 'normal', expiresAt,
      requester: { id: 'key_test', name: 'test' }, outcome, now: new Date(), notify: false,
    }, s),
    metadata: { actor: { type: 'system', id: 'test', name: 'test' }, channel: 'system' },
    afterAppend: async () => { appended(); await held; },
  });
  return { inside, release, done };
}

t.test('every pending request expires on time and once; a decided one never', async (t) => {
  const h = await testApp(t);
  await inProcessWorker(t, h.sql, h.dbUrl);
  // Decided at once, before expiries that fall among the others'.
  const decided = [];
  for (let i = 0; i < 8; i++) {
    const r = await create(h, new Date(Date.now() + 4000 + i * 100));
    const res = await h.call('POST', `/api/requests/${r.id}/decide`, { body: { decision: 'approved' } });
    t.equal(res.statusCode, 200, 'decided before its expiry');
    decided.push(r);
  }
  // Expiries spread over a second and a half, created out of order and together.
  const start = Date.now() + 3000;
  const pending = await Promise.all(Array.from({ length: 30 }, (_, i) => create(h, new Date(start + ((i * 37) % 30) * 50))));
  await eventually(async () => (await expiredEvents(h.sql)).length >= pending.length, 'every pending request to expire');
  await eventually(async () => (await jobCount(h.sql, 'expire_requests')) === 0, 'the sweep to finish with nothing left to expire');

  const expired = await expiredEvents(h.sql);
  t.same(expired.map((e) => e.stream_id).sort(), pending.map((r) => `request-${r.id}`).sort(), 'each pending request expired once, no decided one');
  const lateness = expired.map((e) => {
    const r = pending.find((p) => `request-${p.id}` === e.stream_id)!;
    return e.recorded_at.getTime() - Date.parse(r.expiresAt!);
  });
  t.ok(lateness.every((ms) => ms >= 0), 'none before its time');
  // Polling every 50 ms here (1 s by default): the rest is this machine's load.
  t.ok(Math.max(...lateness) < 1500, `each about on time (the latest ${Math.max(...lateness)} ms after its expiry)`);
  for (const r of decided) t.equal((await h.call('GET', `/api/requests/${r.id}`)).json().status, 'approved');
  t.equal(await jobCount(h.sql, 'expire_request'), 0, 'no job per request');
});

t.test('creates racing to move the sweep earlier: the earliest expiry wins', async (t) => {
  const h = await testApp(t, { createGroupCommitMs: 0 }); // each create its own transaction
  await jobSchema(h.sql, h.dbUrl);
  const base = Date.now() + 3_600_000;
  const at = (ms: number) => new Date(base + ms).toISOString();

  // The earlier one moves the sweep but has not committed when the later one looks.
  const earlier = heldCreate(h, 'req_01jx0000000000000000000011', at(0));
  await earlier.inside;
  const later = h.call('POST', '/api/requests', { body: { action: 'deploy', expiresAt: at(60_000) } });
  await eventually(async () => (await h.sql`
    select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`).length > 0, 'the later create to wait');
  earlier.release();
  await earlier.done;
  t.equal((await later).statusCode, 201);
  t.same((await sweepJobs(h.sql)).map((j) => j.run_at.toISOString()), [at(0)], 'the later create did not push the sweep back');

  // Many at once, latest first, so that nearly every create finds the sweep later than its own expiry.
  const expiries = Array.from({ length: 24 }, (_, i) => new Date(Date.now() + 1_800_000 - i * 1000));
  await Promise.all(expiries.map((e) => create(h, e)));
  const jobs = await sweepJobs(h.sql);
  t.equal(jobs.length, 1, 'one sweep');
  t.equal(jobs[0]!.run_at.getTime(), Math.min(...expiries.map((d) => d.getTime())), 'due at the earliest expiry');
});

t.test('a create committing while a sweep reschedules is not missed', async (t) => {
  const h = await testApp(t);
  await jobSchema(h.sql, h.dbUrl);
  const soon = await create(h, new Date(Date.now() + 1000));
  await new Promise((r) => setTimeout(r, Date.parse(soon.expiresAt!) - Date.now() + 50));
  t.equal((await sweepJobs(h.sql))[0]!.run_at.toISOString(), soon.expiresAt, 'the sweep is due (at the first expiry)');

  // A create whose expiry is later than the due sweep: it leaves the sweep alone, and stays
  // open (uncommitted) while the sweep runs.
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const open = heldCreate(h, 'req_01jx0000000000000000000077', later);
  await open.inside;
  let swept = false;
  const sweeping = sweepExpiredRequests(h.appSql, WORKER_METADATA).then((r) => { swept = true; return r; });
  await eventually(async () => swept || (await h.sql`
    select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`).length > 0, 'the sweep to reach its rescheduling');
  t.notOk(swept, 'the sweep waits for the open create before it reschedules');
  open.release();
  await open.done;
  const result = await sweeping;
  t.equal(result.expired, 1, 'the due request expired');
  t.equal(result.next?.toISOString(), later, 'the next sweep is due at the create\'s expiry');
  t.same((await sweepJobs(h.sql)).map((j) => j.run_at.toISOString()), [later]);
});

t.test('a lost sweep is put back when a server or worker starts', async (t) => {
  const h = await testApp(t);
  await jobSchema(h.sql, h.dbUrl);
  const r = await create(h, new Date(Date.now() + 3_600_000));
  await create(h, new Date(Date.now() + 7_200_000));
  await h.sql`delete from graphile_worker._private_jobs where key = 'expire-requests'`;
  t.equal((await sweepJobs(h.sql)).length, 0, 'lost');
  await jobSchema(h.sql, h.dbUrl); // what every start runs
  t.same((await sweepJobs(h.sql)).map((j) => j.run_at.toISOString()), [r.expiresAt], 'back, at the earliest pending expiry');
});

t.test('a job of one request from before the sweep still expires it, once, beside the sweep', async (t) => {
  const h = await testApp(t);
  await jobSchema(h.sql, h.dbUrl);
  const r = await create(h, new Date(Date.now() + 1500));
  await h.sql`select graphile_worker.add_job('expire_request', ${h.sql.json({ requestId: r.id })}::json,
    run_at => ${r.expiresAt}::timestamptz, job_key => ${`expire:${r.id}`})`;
  await inProcessWorker(t, h.sql, h.dbUrl);
  await eventually(async () => (await jobCount(h.sql)) === 0, 'both jobs to run');
  t.same((await expiredEvents(h.sql)).map((e) => e.stream_id), [`request-${r.id}`], 'expired once');
});

t.test('a pending row the sweep cannot expire holds back neither the others nor the next sweep', async (t) => {
  const h = await testApp(t);
  await jobSchema(h.sql, h.dbUrl);
  // A row without its stream: nothing the request's command can expire.
  await h.sql`insert into requests (id, action, params, context, status, urgency, urgency_rank, expires_at, created_at, updated_at, version, last_position)
    values ('req_01jx0000000000000000000099', 'deploy', '{}', '{}', 'pending', 'normal', 1, now() - interval '1 minute', now(), now(), 1, 0)`;
  const r = await create(h, new Date(Date.now() + 1500));
  await inProcessWorker(t, h.sql, h.dbUrl);
  await eventually(async () => (await h.call('GET', `/api/requests/${r.id}`)).json().status === 'expired', 'the real request to expire');
  await eventually(async () => (await jobCount(h.sql, 'expire_requests')) === 0, 'no sweep scheduled for the row it cannot expire');
});
