/**
 * Slack end to end against a local stand-in of the Web API: the routed request's message
 * arrives with buttons; a signed click by an allowed reviewer approves it as that reviewer
 * and the message is updated; a non-approver's click, a forged and a stale signature change
 * nothing; a decision made through the API updates the message too; a reason is asked for
 * in a modal where the rule requires one.
 */
import t, { type Test } from 'tap';
import type { Channels } from '../../server/src/channels/registry.ts';
import { slackChannel } from '../../server/src/channels/slack.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { blockAction, fakeSlack, signedSlackRequest, viewSubmission, type FakeSlack } from '../helpers/fake-slack.ts';
import { eventually, inProcessWorker } from '../helpers/worker.ts';

const SECRET = 'slack-signing-secret-for-tests';
const BASE = 'https://gate.example.com';

async function setup(t: Test) {
  const slack = await fakeSlack(t);
  const settings = { botToken: 'xoxb-test', signingSecret: SECRET, apiUrl: slack.apiUrl };
  const h = await testApp(t, { publicUrl: BASE, slack: settings });
  const channels: Channels = {
    adapters: { slack: slackChannel({ botToken: 'xoxb-test', apiUrl: slack.apiUrl, defaultChannel: '#approvals', timeoutMs: 5000 }) },
    defaults: { slack: '#approvals', email: [] }, baseUrl: BASE,
  };
  await inProcessWorker(t, h.sql, h.dbUrl, { channels });
  const alice = (await h.call('POST', '/api/reviewers', { body: { name: 'Alice', slackUserId: 'U0ALICE', groups: ['oncall'] } })).json();
  await h.call('POST', '/api/reviewers', { body: { name: 'Bob', slackUserId: 'U0BOB', groups: ['finance'] } });
  const agent = await h.key(['request:create']);
  return { slack, h, alice, agent };
}

async function routed(h: TestApp, agentKey: string, rule: Record<string, unknown>) {
  const p = await h.call('POST', '/api/policies', {
    body: { name: `slack ${Math.random()}`, priority: 1, rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', ...rule }] },
  });
  if (p.statusCode !== 201) throw new Error(p.body);
  return (await h.call('POST', '/api/requests', { key: agentKey, body: { action: 'deploy', params: { service: 'billing' } } })).json() as { id: string };
}

const click = (h: TestApp, payload: object, opts: { secret?: string; timestamp?: number } = {}) => {
  const signed = signedSlackRequest(opts.secret ?? SECRET, payload, opts.timestamp);
  return h.app.inject({ method: 'POST', url: '/integrations/slack/events', headers: signed.headers, payload: signed.body });
};

async function messageFor(slack: FakeSlack, requestId: string) {
  const call = await eventually(async () => slack.posted().find((c) => JSON.stringify(c.args.blocks).includes(requestId)), 'the Slack message');
  return { call, ref: { channel: 'C0APPROVALS', ts: '' } };
}

const status = async (h: TestApp, id: string) => (await h.call('GET', `/api/requests/${id}`)).json().status;

t.test('a message with buttons; refused, forged and stale clicks change nothing; an approver approves; the message is updated', async (t) => {
  const { slack, h, alice, agent } = await setup(t);
  const request = await routed(h, agent.key, { approvers: ['group:oncall'], channels: ['slack:#approvals'] });
  const { call } = await messageFor(slack, request.id);
  t.equal(call.args.channel, '#approvals');
  const actions = (call.args.blocks as Array<{ type: string; elements?: Array<{ action_id: string }> }>).find((b) => b.type === 'actions');
  t.same(actions?.elements?.map((e) => e.action_id), ['agentgate_approve', 'agentgate_deny', 'agentgate_open'], 'Approve, Deny and a dashboard link');
  t.match(JSON.stringify(call.args.blocks), /service: billing/);
  const notified = await eventually(async () => (await h.sql`
    select data from events where stream_id = ${`request-${request.id}`} and type = 'request.notified'`)[0], 'the message id recorded');
  const message = { channel: notified.data.ref.channel as string, ts: notified.data.messageId as string };
  t.equal(message.channel, 'C0APPROVALS', 'the channel id Slack answered, for chat.update');

  const bob = await click(h, blockAction('U0BOB', 'agentgate_approve', request.id, message));
  t.equal(bob.statusCode, 200);
  t.equal(await status(h, request.id), 'pending', "a non-approver's click decides nothing");
  const ephemeral = await eventually(async () => slack.calls.find((c) => c.method === 'chat.postEphemeral' && c.args.user === 'U0BOB'), 'the reason, to Bob only');
  t.match(ephemeral.args.text, /not among this request's approvers/);
  const [refused] = await h.sql`select data from events where stream_id = ${`request-${request.id}`} and type = 'request.decision_refused'`;
  t.match(refused!.data, { channel: 'slack', externalId: 'U0BOB', code: 'NOT_AN_APPROVER' });

  const forged = await click(h, blockAction('U0ALICE', 'agentgate_approve', request.id, message), { secret: 'not-the-secret' });
  t.equal(forged.statusCode, 401, 'a forged signature is refused');
  const stale = await click(h, blockAction('U0ALICE', 'agentgate_approve', request.id, message), { timestamp: Math.floor(Date.now() / 1000) - 600 });
  t.equal(stale.statusCode, 401, 'a signature older than five minutes is refused');
  t.equal(await status(h, request.id), 'pending');

  const ok = await click(h, blockAction('U0ALICE', 'agentgate_approve', request.id, message));
  t.equal(ok.statusCode, 200);
  const decided = (await h.call('GET', `/api/requests/${request.id}`)).json();
  t.equal(decided.status, 'approved');
  t.same(decided.decider, { type: 'reviewer', id: alice.id, name: 'Alice', channel: 'slack', externalId: 'U0ALICE' });

  const update = await eventually(async () => slack.updates().find((c) => c.args.ts === message.ts), 'chat.update');
  t.equal(update.args.channel, 'C0APPROVALS');
  t.match(JSON.stringify(update.args.blocks), /Approved by Alice \(slack\)/);
  t.notOk((update.args.blocks as Array<{ type: string }>).some((b) => b.type === 'actions'), 'the buttons are gone');
  await eventually(async () => (await h.sql`select 1 from events where stream_id = ${`request-${request.id}`} and type = 'request.notification_updated'`).length === 1, 'the update recorded');
});

t.test('a decision through the API updates the message, once', async (t) => {
  const { slack, h, agent } = await setup(t);
  const request = await routed(h, agent.key, { channels: ['slack'] });
  await messageFor(slack, request.id);
  const notified = await eventually(async () => (await h.sql`
    select data from events where stream_id = ${`request-${request.id}`} and type = 'request.notified'`)[0], 'the message id recorded');
  t.equal(notified.data.destination.key, 'slack:#approvals', 'the default channel, once (named by the rule and by the default)');
  t.equal(slack.posted().length, 1);
  const res = await h.call('POST', `/api/requests/${request.id}/decide`, { body: { decision: 'denied', reason: 'not today' } });
  t.equal(res.statusCode, 200);
  const update = await eventually(async () => slack.updates().find((c) => c.args.ts === notified.data.messageId), 'chat.update');
  t.match(JSON.stringify(update.args.blocks), /Denied by .*: not today/);
  await eventually(async () => (await h.sql`select 1 from events where stream_id = ${`request-${request.id}`} and type = 'request.notification_updated'`).length === 1, 'recorded');
  t.equal(slack.updates().length, 1, 'exactly one update');
});

t.test('a reason is asked for in a modal where the rule requires one', async (t) => {
  const { slack, h, alice, agent } = await setup(t);
  const request = await routed(h, agent.key, { requireReason: true, channels: ['slack:#approvals'] });
  await messageFor(slack, request.id);
  const message = { channel: 'C0APPROVALS', ts: '1.1' };
  const res = await click(h, blockAction('U0ALICE', 'agentgate_approve', request.id, message));
  t.equal(res.statusCode, 200);
  const open = await eventually(async () => slack.calls.find((c) => c.method === 'views.open'), 'views.open');
  t.equal(await status(h, request.id), 'pending', 'nothing decided before the reason');
  const view = open.args.view as { callback_id: string; private_metadata: string };
  t.equal(view.callback_id, 'agentgate_reason');
  const empty = await click(h, viewSubmission('U0ALICE', view.private_metadata, '   '));
  t.match(empty.json(), { response_action: 'errors', errors: { reason: /reason is required/ } }, 'an empty reason is shown as an error in the modal');
  const submitted = await click(h, viewSubmission('U0ALICE', view.private_metadata, 'release window is open'));
  t.equal(submitted.statusCode, 200);
  const decided = (await h.call('GET', `/api/requests/${request.id}`)).json();
  t.match(decided, { status: 'approved', decisionReason: 'release window is open', decider: { id: alice.id, channel: 'slack' } });
});

t.test('a Deny click by someone who may not decide is refused at the click, with no modal; an approver gets the modal, judged again on submit', async (t) => {
  const { slack, h, alice, agent } = await setup(t);
  const request = await routed(h, agent.key, { approvers: ['group:oncall'], channels: ['slack:#approvals'] });
  await messageFor(slack, request.id);
  const message = { channel: 'C0APPROVALS', ts: '1.1' };
  const opened = () => slack.calls.filter((c) => c.method === 'views.open');
  const refusals = async () => (await h.sql`
    select data from events where stream_id = ${`request-${request.id}`} and type = 'request.decision_refused' order by version`).map((e) => e.data);

  const bob = await click(h, blockAction('U0BOB', 'agentgate_deny', request.id, message));
  t.equal(bob.statusCode, 200);
  const told = await eventually(async () => slack.calls.find((c) => c.method === 'chat.postEphemeral' && c.args.user === 'U0BOB'), 'the refusal, to Bob only');
  t.match(told.args.text, /^Not decided: Bob is not among this request's approvers/);
  t.same(opened(), [], 'no modal for someone who may not decide');
  t.match(await refusals(), [{ channel: 'slack', externalId: 'U0BOB', code: 'NOT_AN_APPROVER', decision: 'denied' }], 'recorded as a refused click is');

  const stranger = await click(h, blockAction('U0NOBODY', 'agentgate_deny', request.id, message));
  t.equal(stranger.statusCode, 200);
  const strangerTold = await eventually(async () => slack.calls.find((c) => c.method === 'chat.postEphemeral' && c.args.user === 'U0NOBODY'), 'the refusal');
  t.match(strangerTold.args.text, /U0NOBODY is not in the reviewer directory/);
  t.same(opened(), [], 'no modal for an unknown user either');

  const ok = await click(h, blockAction('U0ALICE', 'agentgate_deny', request.id, message));
  t.equal(ok.statusCode, 200);
  t.equal(opened().length, 1, "an approver's Deny opens the reason modal");
  t.equal((await refusals()).length, 2, 'and records nothing');

  // Between the click and the submission Alice is disabled: the submission is judged again.
  t.equal((await h.call('PATCH', `/api/reviewers/${alice.id}`, { body: { disabled: true } })).statusCode, 200);
  const view = opened()[0]!.args.view as { private_metadata: string };
  const submitted = await click(h, viewSubmission('U0ALICE', view.private_metadata, 'not now'));
  t.match(submitted.json(), { response_action: 'errors', errors: { reason: /Alice is disabled/ } });
  t.equal(await status(h, request.id), 'pending');
  t.match((await refusals()).at(-1), { externalId: 'U0ALICE', code: 'REVIEWER_DISABLED', decision: 'denied' });

  // A click on a request that is over is answered without a modal.
  t.equal((await h.call('PATCH', `/api/reviewers/${alice.id}`, { body: { disabled: false } })).statusCode, 200);
  t.equal((await h.call('POST', `/api/requests/${request.id}/cancel`, { body: { reason: 'gone' } })).statusCode, 200);
  await click(h, blockAction('U0ALICE', 'agentgate_deny', request.id, message));
  const late = await eventually(async () => slack.calls.filter((c) => c.method === 'chat.postEphemeral' && c.args.user === 'U0ALICE')[0], 'the answer');
  t.match(late.args.text, /Already decided/);
  t.equal(opened().length, 1, 'no second modal');
});
