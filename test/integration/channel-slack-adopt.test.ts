/**
 * Slack's duplicate-message window, one step at a time: the post job is run by hand against a
 * local stand-in of the Web API. A first attempt is recorded before it posts and looks nothing
 * up; a retry after an attempt whose message Slack took (but whose ts was never recorded) finds
 * it in conversations.history by its metadata and adopts it — in a channel named `#name` and in
 * a reviewer's direct messages; a retry after an attempt that never reached Slack posts; without
 * the history scope the retry posts again and says why in the log.
 */
import { Logger } from 'graphile-worker';
import t, { type Test } from 'tap';
import { notifyRequest, postNotification, requestView } from '../../server/src/channels/jobs.ts';
import { runNotificationCommand } from '../../server/src/channels/notification-store.ts';
import type { Channels } from '../../server/src/channels/registry.ts';
import { slackChannel } from '../../server/src/channels/slack.ts';
import type { Destination } from '../../server/src/channels/types.ts';
import { findRequest } from '../../server/src/requests/queries.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { fakeSlack, type FakeSlack } from '../helpers/fake-slack.ts';

const BASE = 'https://gate.example.com';

async function setup(t: Test) {
  const slack = await fakeSlack(t, { channels: ['approvals'] });
  const h = await testApp(t, { publicUrl: BASE });
  const channels: Channels = {
    adapters: { slack: slackChannel({ botToken: 'xoxb-test', apiUrl: slack.apiUrl, timeoutMs: 5000 }) },
    defaults: { email: [] }, baseUrl: BASE,
  };
  await h.call('POST', '/api/reviewers', { body: { name: 'Alice', slackUserId: 'U0ALICE', groups: ['oncall'], preferredChannel: 'slack' } });
  await h.call('POST', '/api/policies', {
    body: { name: 'slack', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', channels: ['slack:#approvals', 'group:oncall'] }] },
  });
  return { slack, h, channels };
}

/** A routed request, its destinations planned (the notify job, run by hand; no worker runs here). */
async function planned(h: TestApp, channels: Channels) {
  const { id } = (await h.call('POST', '/api/requests', { body: { action: 'deploy', params: { service: 'billing' } } })).json() as { id: string };
  await notifyRequest(h.sql, channels)({ requestId: id }, helpers(1).helpers);
  const [plan] = await h.sql`select data from events where stream_id = ${`request-${id}`} and type = 'request.notifications_planned'`;
  const destinations = plan!.data.destinations as Destination[];
  return { id, at: (key: string) => destinations.find((d) => d.key === key)! };
}

/** What graphile-worker hands a task: the job's attempt number and a logger, whose warnings are kept. */
function helpers(attempts: number) {
  const warnings: string[] = [];
  const logger = new Logger(() => (level, message) => { if (level === 'warning') warnings.push(message); });
  return { helpers: { job: { attempts }, logger } as never, warnings };
}

/** An attempt that Slack took and that died before recording the ts: its attempt recorded, the message in Slack. */
async function cutOffAfterSlackTookIt(h: TestApp, channels: Channels, id: string, destination: Destination) {
  await runNotificationCommand(h.sql, id, { type: 'record_attempt', destination, attempt: 1, startedAt: new Date().toISOString() });
  return channels.adapters.slack!.post(requestView(channels, (await findRequest(h.sql, id))!), destination);
}

const notified = (h: TestApp, id: string) => h.sql<{ data: Record<string, any> }[]>`
  select data from events where stream_id = ${`request-${id}`} and type = 'request.notified' order by version`;
const attempts = async (h: TestApp, id: string) => (await h.sql<{ n: number }[]>`
  select count(*)::int as n from events where stream_id = ${`request-${id}`} and type = 'request.notification_attempted'`)[0]!.n;
const lookups = (slack: FakeSlack) => slack.calls.filter((c) => c.method === 'conversations.history');

t.test('a first attempt is recorded before it posts, and looks nothing up', async (t) => {
  const { slack, h, channels } = await setup(t);
  const request = await planned(h, channels);
  await postNotification(h.sql, channels)({ requestId: request.id, destination: request.at('slack:#approvals') }, helpers(1).helpers);
  t.equal(slack.posted().length, 1);
  t.equal(await attempts(h, request.id), 1, 'the attempt recorded');
  t.same(lookups(slack), [], 'no history read on a first attempt');
  const [message] = await notified(h, request.id);
  t.match(message!.data, { messageId: slack.history('C0APPROVALS')[0]!.ts, ref: { channel: 'C0APPROVALS' } });
  t.notOk('adopted' in message!.data);
  t.match(slack.posted()[0]!.args.metadata, { event_type: 'agentgate_request', event_payload: { requestId: request.id, destination: 'slack:#approvals' } },
    'the message carries its request and destination');
});

t.test('a retry adopts the message Slack took from the attempt before, in a channel and in direct messages', async (t) => {
  const { slack, h, channels } = await setup(t);
  const other = await planned(h, channels);
  await postNotification(h.sql, channels)({ requestId: other.id, destination: other.at('slack:#approvals') }, helpers(1).helpers);
  const request = await planned(h, channels);
  for (const key of ['slack:#approvals', 'slack:U0ALICE']) {
    const destination = request.at(key);
    const taken = await cutOffAfterSlackTookIt(h, channels, request.id, destination);
    const before = slack.posted().length;
    const retry = helpers(2);
    await postNotification(h.sql, channels)({ requestId: request.id, destination }, retry.helpers);
    t.equal(slack.posted().length, before, `${key}: nothing posted again`);
    const recorded = (await notified(h, request.id)).find((e) => e.data.destination.key === key);
    t.match(recorded?.data, { messageId: taken.messageId, ref: { channel: taken.ref.channel }, adopted: true }, `${key}: the message Slack took, adopted`);
    t.same(retry.warnings, []);
  }
  t.equal(slack.history('C0APPROVALS').length, 2, "#approvals: the other request's message and this one's");
  t.equal(slack.history('D0ALICE').length, 1, "Alice's direct messages: one");
  const dm = slack.calls.find((c) => c.method === 'conversations.open');
  t.equal(dm?.args.users, 'U0ALICE', 'a user destination is looked up in their direct-message channel');
  t.ok(slack.calls.some((c) => c.method === 'users.conversations'), "a #name is found among the app's channels");
  for (const call of lookups(slack)) {
    t.match(call.args, { include_all_metadata: 'true', inclusive: 'true', oldest: /^\d+\.\d{6}$/, latest: /^\d+\.\d{6}$/, limit: /^\d+$/ });
    t.ok(Number(call.args.latest) - Number(call.args.oldest) < 600, 'a window of minutes around the attempt, not the whole history');
  }
});

t.test('a retry after an attempt that never reached Slack posts; so does one without the history scope, saying why', async (t) => {
  const { slack, h, channels } = await setup(t);
  const request = await planned(h, channels);
  const destination = request.at('slack:#approvals');
  await runNotificationCommand(h.sql, request.id, { type: 'record_attempt', destination, attempt: 1, startedAt: new Date().toISOString() });
  const retry = helpers(2);
  await postNotification(h.sql, channels)({ requestId: request.id, destination }, retry.helpers);
  t.equal(lookups(slack).length, 1, 'looked up first');
  t.equal(slack.posted().length, 1, 'found nothing, so posted');
  t.match((await notified(h, request.id))[0]!.data, { messageId: slack.history('C0APPROVALS')[0]!.ts });
  t.notOk('adopted' in (await notified(h, request.id))[0]!.data);

  slack.withoutScopes('channels:history');
  const second = await planned(h, channels);
  const taken = await cutOffAfterSlackTookIt(h, channels, second.id, second.at('slack:#approvals'));
  const blind = helpers(2);
  await postNotification(h.sql, channels)({ requestId: second.id, destination: second.at('slack:#approvals') }, blind.helpers);
  t.equal(slack.history('C0APPROVALS').filter((m) => m.metadata?.event_payload.requestId === second.id).length, 2,
    'without channels:history the retry cannot look, and posts a second message');
  const [recorded] = await notified(h, second.id);
  t.not(recorded!.data.messageId, taken.messageId, 'the new one is recorded');
  t.match(blind.warnings, [/could not look for the message .*missing_scope \(needs channels:history\); posting again/], 'and the log says why');
});
