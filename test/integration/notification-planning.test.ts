/**
 * Whether a routed request gets a job to plan its announcements: the server that takes the
 * request knows the matched rule's channels and its own default destinations, records in
 * `request.created` whether there is anything to plan (`notify`), and the trigger adds the
 * `notify_request` job only then. Nothing to plan, no job; anything (even a skip to record),
 * a job; an event without the field (older writers), a job, as before.
 */
import t from 'tap';
import { channelSettings, type Channels } from '../../server/src/channels/registry.ts';
import type { Sql } from '../../server/src/db/connect.ts';
import type { EventMetadata } from '../../server/src/events/types.ts';
import { appendCreates } from '../../server/src/requests/append-creates.ts';
import type { RequestCreatedData } from '../../server/src/requests/decider.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { eventually, inProcessWorker, jobSchema } from '../helpers/worker.ts';

const BASE = 'https://gate.example.com';

async function create(h: TestApp, key: string, action: string) {
  const res = await h.call('POST', '/api/requests', { key, body: { action } });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json() as { id: string; status: string };
}

const createdData = async (sql: Sql, id: string) =>
  (await sql<{ data: RequestCreatedData }[]>`select data from events where stream_id = ${`request-${id}`} and type = 'request.created'`)[0]!.data;

const planningJobs = async (sql: Sql, id: string) =>
  (await sql`select 1 from graphile_worker.jobs where task_identifier = 'notify_request' and key = ${`notify:${id}`}`).length;

async function rules(h: TestApp) {
  const res = await h.call('POST', '/api/policies', {
    body: { name: 'rules', priority: 1, rules: [
      { match: { action: 'read' }, decision: 'auto_approve' },
      { match: { action: 'deploy' }, decision: 'route_to_human', channels: ['slack:#deploys'] },
      { match: { action: 'escalate' }, decision: 'route_to_human', channels: ['group:oncall'] },
    ] },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
}

t.test('no channel named and no default destination: nothing to announce, no job', async (t) => {
  const h = await testApp(t); // no channel configured
  await jobSchema(h.sql, h.dbUrl);
  await rules(h);
  const agent = await h.key(['request:create']);

  const quiet = await create(h, agent.key, 'anything'); // no rule matches: routed, no channel
  t.equal(quiet.status, 'pending');
  t.equal((await createdData(h.sql, quiet.id)).notify, false, 'request.created says there is nothing to announce');
  t.equal(await planningJobs(h.sql, quiet.id), 0, 'and no job was added to plan it');

  const auto = await create(h, agent.key, 'read');
  t.equal(auto.status, 'approved');
  t.notOk('notify' in (await createdData(h.sql, auto.id)), 'a request a policy decided carries no such field');
  t.equal(await planningJobs(h.sql, auto.id), 0);

  // A rule naming a channel is planned even where the channel is off: the skip is recorded.
  for (const action of ['deploy', 'escalate']) {
    const named = await create(h, agent.key, action);
    t.equal((await createdData(h.sql, named.id)).notify, true, `${action}: the rule names a channel`);
    t.equal(await planningJobs(h.sql, named.id), 1, `${action}: one job plans it`);
  }
  t.equal((await h.sql`select 1 from graphile_worker.jobs where task_identifier = 'notify_request'`).length, 2, 'no other planning job');
});

t.test('a default destination on the server: every routed request is planned, and the worker records the plan', async (t) => {
  // Slack is off (no token), but a default channel is set: the plan records the skip, as before.
  const channels: Channels = { adapters: {}, defaults: { slack: '#approvals', email: [] }, baseUrl: BASE };
  const h = await testApp(t, { publicUrl: BASE, channels: channelSettings(channels) });
  await inProcessWorker(t, h.sql, h.dbUrl, { channels });
  const agent = await h.key(['request:create']);
  const request = await create(h, agent.key, 'anything');
  t.equal((await createdData(h.sql, request.id)).notify, true);
  const [planned] = await eventually(async () => {
    const rows = await h.sql<{ data: { destinations: unknown[]; skipped: unknown[] } }[]>`
      select data from events where stream_id = ${`request-${request.id}`} and type = 'request.notifications_planned'`;
    return rows.length > 0 && rows;
  }, 'the plan to be recorded');
  t.same(planned!.data, { destinations: [], skipped: [{ spec: 'SLACK_DEFAULT_CHANNEL', reason: 'slack is not configured' }] });
});

t.test('the trigger follows the event: notify false adds no job; true, or no field (older writers), adds one', async (t) => {
  const h = await testApp(t);
  await jobSchema(h.sql, h.dbUrl);
  const routed = (n: number, notify?: boolean): RequestCreatedData => ({
    id: `req_01jx00000000000000000${String(n).padStart(5, '0')}`, action: 'deploy', params: {}, context: {}, urgency: 'normal',
    expiresAt: null, requester: { id: 'key_test', name: 'test' }, autoDecision: null,
    policy: { decision: 'route_to_human', policyId: null, policyVersion: null, policyName: null, ruleIndex: null, approvers: [],
      channels: [], requireReason: false, requireDistinctApprover: false, reason: 'no policy matched' },
    ...(notify !== undefined ? { notify } : {}),
  });
  const metadata: EventMetadata = { actor: { type: 'system', id: 'test', name: 'test' }, channel: 'system' };
  const items = [routed(1, false), routed(2, true), routed(3)];
  t.ok(await appendCreates(h.sql, items.map((data) => ({ data, metadata })), 0), 'appended');
  t.same(await Promise.all(items.map((d) => planningJobs(h.sql, d.id))), [0, 1, 1]);
});
