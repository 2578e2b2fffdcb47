/**
 * Slack's rate limit end to end: chat.postMessage and chat.update answered "429,
 * Retry-After: 1" are made again once the pause is over, within the same job: one message,
 * one update, nothing recorded as failed, and nothing sent to Slack during the pause.
 */
import t, { type Test } from 'tap';
import type { Channels } from '../../server/src/channels/registry.ts';
import { slackChannel } from '../../server/src/channels/slack.ts';
import { testApp } from '../helpers/app.ts';
import { fakeSlack, type SlackCall } from '../helpers/fake-slack.ts';
import { eventually, inProcessWorker } from '../helpers/worker.ts';

const BASE = 'https://gate.example.com';

/**
 * The refused call went again a second (its Retry-After) later, and no call of its method
 * left after the refusal was answered before the pause was over (a call already on its way
 * when the refusal came may arrive just after it).
 */
function assertPausedOnce(t: Test, refused: SlackCall, calls: SlackCall[]) {
  const again = calls.find((c) => c.args.channel === refused.args.channel && c.at >= refused.at);
  t.ok(again && again.at - refused.at >= 950, `the refused ${refused.method} went again ${again ? again.at - refused.at : '—'} ms after its refusal`);
  const during = calls.filter((c) => c.at > refused.at + 200 && c.at < refused.at + 950);
  t.same(during.map((c) => c.at - refused.at), [], `no ${refused.method} during the pause`);
}

t.test('429 with Retry-After: the call waits the pause out and goes once', async (t) => {
  const slack = await fakeSlack(t);
  const h = await testApp(t, { publicUrl: BASE });
  const channels: Channels = {
    adapters: { slack: slackChannel({ botToken: 'xoxb-test', apiUrl: slack.apiUrl, timeoutMs: 5000 }) },
    defaults: { email: [] }, baseUrl: BASE,
  };
  await inProcessWorker(t, h.sql, h.dbUrl, { channels });
  await h.call('POST', '/api/policies', {
    body: { name: 'slack', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', channels: ['slack:#approvals', 'slack:#ops'] }] },
  });
  const posts = slack.rateLimit('chat.postMessage', 1, 1);
  const request = (await h.call('POST', '/api/requests', { body: { action: 'deploy' } })).json() as { id: string };
  const stream = `request-${request.id}`;

  await eventually(async () => (await h.sql`select 1 from events where stream_id = ${stream} and type = 'request.notified'`).length === 2, 'both messages recorded');
  t.equal(posts.refused.length, 1, 'Slack refused one post');
  t.same(slack.posted().map((c) => c.args.channel).sort(), ['#approvals', '#ops'], 'one message per destination: the refused post went again');
  assertPausedOnce(t, posts.refused[0]!, slack.posted());

  const updates = slack.rateLimit('chat.update', 1, 1);
  const decided = await h.call('POST', `/api/requests/${request.id}/decide`, { body: { decision: 'approved' } });
  t.equal(decided.statusCode, 200);
  await eventually(async () => (await h.sql`select 1 from events where stream_id = ${stream} and type = 'request.notification_updated'`).length === 2, 'both updates recorded');
  t.equal(updates.refused.length, 1, 'Slack refused one update');
  t.equal(slack.updates().length, 2, 'each message updated once');
  assertPausedOnce(t, updates.refused[0]!, slack.updates());

  const [failed] = await h.sql<{ n: number }[]>`select count(*)::int as n from events where stream_id = ${stream} and type = 'request.notification_failed'`;
  t.equal(failed!.n, 0, 'a rate limit waited out is no failure');
});

t.test('a pause longer than the bound fails the attempt, recorded; the job posts once Slack lets it', async (t) => {
  const slack = await fakeSlack(t);
  const h = await testApp(t, { publicUrl: BASE });
  const channels: Channels = {
    adapters: { slack: slackChannel({ botToken: 'xoxb-test', apiUrl: slack.apiUrl, timeoutMs: 5000, rateLimitMaxWaitMs: 500 }) },
    defaults: { email: [] }, baseUrl: BASE,
  };
  await inProcessWorker(t, h.sql, h.dbUrl, { channels });
  await h.call('POST', '/api/policies', {
    body: { name: 'slack', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', channels: ['slack:#approvals'] }] },
  });
  slack.rateLimit('chat.postMessage', 1, 2);
  const request = (await h.call('POST', '/api/requests', { body: { action: 'deploy' } })).json() as { id: string };
  const stream = `request-${request.id}`;
  const [failure] = await eventually(async () => {
    const rows = await h.sql`select data from events where stream_id = ${stream} and type = 'request.notification_failed'`;
    return rows.length > 0 && rows;
  }, 'the failed attempt recorded');
  t.match(failure!.data, { stage: 'post', attempt: 1, error: /chat\.postMessage: rate limited, retry after 2 s/ });
  await eventually(async () => (await h.sql`select 1 from events where stream_id = ${stream} and type = 'request.notified'`).length === 1, 'posted on a later attempt', 30_000);
  t.equal(slack.posted().length, 1, 'one message');
});
