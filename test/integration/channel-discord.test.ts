/**
 * Discord end to end against a local stand-in of its REST API: the routed request's message
 * arrives with buttons; an Ed25519-signed click by an allowed reviewer approves it as that
 * reviewer and the click's answer rewrites the message (once: the update job then leaves it);
 * a non-approver's click, a forged, tampered or stale signature change nothing; PING is
 * answered; a decision made through the API (or a cancel) edits the message once; a reason is
 * asked for in a modal where the rule requires one; a group member is reached in a direct message.
 */
import t, { type Test } from 'tap';
import { discordChannel } from '../../server/src/channels/discord.ts';
import { channelSettings, type Channels } from '../../server/src/channels/registry.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import {
  buttonClick, discordKeypair, fakeDiscord, modalSubmit, ping, signedInteraction, type FakeDiscord, type StoredMessage,
} from '../helpers/fake-discord.ts';
import { eventually, inProcessWorker, jobCount } from '../helpers/worker.ts';

const BASE = 'https://gate.example.com';
const TOKEN = 'discord-bot-token-for-tests';
const CHANNEL = '1200000000000000001';
const ALICE = '1300000000000000001';
const BOB = '1300000000000000002';
const EPHEMERAL = 64;

async function setup(t: Test) {
  const discord = await fakeDiscord(t, { botToken: TOKEN });
  const keys = discordKeypair();
  const channels: Channels = {
    adapters: { discord: discordChannel({ botToken: TOKEN, apiUrl: discord.apiUrl, defaultChannel: CHANNEL, timeoutMs: 5000 }) },
    defaults: { discord: CHANNEL, email: [] }, baseUrl: BASE,
  };
  const h = await testApp(t, { publicUrl: BASE, discord: { publicKey: keys.publicKey }, channels: channelSettings(channels) });
  t.teardown(() => channels.adapters.discord!.close!());
  await inProcessWorker(t, h.sql, h.dbUrl, { channels });
  const alice = (await h.call('POST', '/api/reviewers', { body: { name: 'Alice', discordUserId: ALICE, groups: ['oncall'], preferredChannel: 'discord' } })).json();
  await h.call('POST', '/api/reviewers', { body: { name: 'Bob', discordUserId: BOB, groups: ['finance'] } });
  const agent = await h.key(['request:create']);
  return { discord, keys, h, alice, agent };
}

/** A request for `action`, routed by a rule of its own (one action per rule, so rules do not overlap). */
async function routed(h: TestApp, agentKey: string, rule: Record<string, unknown>, action = 'deploy') {
  const p = await h.call('POST', '/api/policies', {
    body: { name: `discord ${action}`, priority: 1, rules: [{ match: { action }, decision: 'route_to_human', ...rule }] },
  });
  if (p.statusCode !== 201) throw new Error(p.body);
  return (await h.call('POST', '/api/requests', { key: agentKey, body: { action, params: { service: 'billing' } } })).json() as { id: string };
}

const send = (h: TestApp, privateKey: ReturnType<typeof discordKeypair>['privateKey'], payload: object, timestamp?: number) => {
  const signed = signedInteraction(privateKey, payload, timestamp);
  return h.app.inject({ method: 'POST', url: '/integrations/discord/interactions', headers: signed.headers, payload: signed.body });
};

const messageFor = (discord: FakeDiscord, requestId: string, where: (m: StoredMessage) => boolean = () => true) =>
  eventually(async () => [...discord.messages.values()].find((m) => m.embeds[0]?.footer?.text === requestId && where(m)), 'the Discord message');

const events = (h: TestApp, id: string, type: string) =>
  h.sql<{ data: Record<string, any> }[]>`select data from events where stream_id = ${`request-${id}`} and type = ${type} order by version`;

const status = async (h: TestApp, id: string) => (await h.call('GET', `/api/requests/${id}`)).json().status;

const buttons = (m: Pick<StoredMessage, 'components'>) => m.components.flatMap((row) => row.components);

t.test('PING is answered, and only when signed', async (t) => {
  const { h, keys } = await setup(t);
  const res = await send(h, keys.privateKey, ping());
  t.equal(res.statusCode, 200);
  t.same(res.json(), { type: 1 }, 'PONG');
  const other = discordKeypair();
  t.equal((await send(h, other.privateKey, ping())).statusCode, 401, 'a PING signed by another key is refused (Discord checks this)');
  const unsigned = await h.app.inject({ method: 'POST', url: '/integrations/discord/interactions', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(ping()) });
  t.equal(unsigned.statusCode, 401);
  t.equal(unsigned.json().error.code, 'UNAUTHORIZED');
});

t.test('a message with buttons; refused, forged and stale clicks change nothing; an approver approves; the message is updated once', async (t) => {
  const { discord, keys, h, alice, agent } = await setup(t);
  const request = await routed(h, agent.key, { approvers: ['group:oncall'], channels: [`discord:${CHANNEL}`] });
  const message = await messageFor(discord, request.id);
  t.equal(message.channel_id, CHANNEL);
  const post = discord.posts()[0]!;
  t.equal(post.authorization, `Bot ${TOKEN}`, 'posted with the bot token');
  t.same(post.body.allowed_mentions, { parse: [] }, 'text from a request pings nobody');
  t.same(buttons(message).map((b) => b.label), ['Approve', 'Deny', 'Open in dashboard']);
  t.equal(buttons(message)[2]!.url, `${BASE}/requests/${request.id}`, 'the dashboard link is the request page');
  t.match(message.embeds[0]!.fields![0]!.value, /service: billing/);
  const [notified] = await eventually(async () => {
    const rows = await events(h, request.id, 'request.notified');
    return rows.length ? rows : null;
  }, 'the message id recorded');
  t.match(notified!.data, { messageId: message.id, ref: { channel: CHANNEL }, destination: { key: `discord:${CHANNEL}` } });

  const approve = buttons(message)[0]!.custom_id!;
  const bob = await send(h, keys.privateKey, buttonClick(BOB, approve, message));
  t.equal(bob.statusCode, 200);
  t.match(bob.json(), { type: 4, data: { flags: EPHEMERAL, content: /not among this request's approvers/ } }, 'told privately why');
  t.equal(await status(h, request.id), 'pending', "a non-approver's click decides nothing");
  const [refused] = await events(h, request.id, 'request.decision_refused');
  t.match(refused!.data, { channel: 'discord', externalId: BOB, code: 'NOT_AN_APPROVER' });

  const stranger = await send(h, keys.privateKey, buttonClick('1300000000000000999', approve, message));
  t.match(stranger.json(), { type: 4, data: { flags: EPHEMERAL, content: /not in the reviewer directory/ } });

  const forged = await send(h, discordKeypair().privateKey, buttonClick(ALICE, approve, message));
  t.equal(forged.statusCode, 401, 'a click signed by another key is refused');
  const stale = await send(h, keys.privateKey, buttonClick(ALICE, approve, message), Math.floor(Date.now() / 1000) - 600);
  t.equal(stale.statusCode, 401, 'a signature older than five minutes is refused');
  const signed = signedInteraction(keys.privateKey, buttonClick(BOB, approve, message));
  const tampered = await h.app.inject({
    method: 'POST', url: '/integrations/discord/interactions', headers: signed.headers, payload: signed.body.replace(BOB, ALICE),
  });
  t.equal(tampered.statusCode, 401, 'a body changed after signing is refused');
  t.equal(await status(h, request.id), 'pending');

  const ok = await send(h, keys.privateKey, buttonClick(ALICE, approve, message));
  t.equal(ok.statusCode, 200);
  const answer = ok.json();
  t.equal(answer.type, 7, 'answered by updating the clicked message');
  t.match(answer.data.content, /Approved by Alice \(discord\)/);
  t.match(answer.data.embeds[0].description, /Approved by Alice \(discord\)/);
  t.same(answer.data.components, [], 'the buttons are gone');
  const decided = (await h.call('GET', `/api/requests/${request.id}`)).json();
  t.equal(decided.status, 'approved');
  t.same(decided.decider, { type: 'reviewer', id: alice.id, name: 'Alice', channel: 'discord', externalId: ALICE });
  const [updated] = await events(h, request.id, 'request.notification_updated');
  t.match(updated!.data, { key: `discord:${CHANNEL}`, messageId: message.id, status: 'approved', via: 'interaction' }, 'the update recorded with the decision');

  // The update job ran (or was never needed) and left the message alone: one update in all.
  await eventually(async () => (await jobCount(h.sql, 'update_notification')) === 0, 'the update jobs done');
  t.equal(discord.edits().length, 0, 'no second update through the REST API');
  t.equal((await events(h, request.id, 'request.notification_updated')).length, 1);

  const late = await send(h, keys.privateKey, buttonClick(ALICE, buttons(message)[1]!.custom_id!, message));
  t.match(late.json(), { type: 4, data: { flags: EPHEMERAL, content: /Already decided — ✅ Approved by Alice/ } });
});

t.test('a decision through the API edits the message once; so does a cancel', async (t) => {
  const { discord, h, agent } = await setup(t);
  const request = await routed(h, agent.key, { channels: [`discord:${CHANNEL}`] });
  const message = await messageFor(discord, request.id);
  await eventually(async () => (await events(h, request.id, 'request.notified')).length === 1, 'the message id recorded');
  const res = await h.call('POST', `/api/requests/${request.id}/decide`, { body: { decision: 'denied', reason: 'not today' } });
  t.equal(res.statusCode, 200);
  const edit = await eventually(async () => discord.edits()[0], 'the message edited');
  t.equal(edit.path, `/channels/${CHANNEL}/messages/${message.id}`);
  t.equal(edit.authorization, `Bot ${TOKEN}`);
  t.match(JSON.stringify(edit.body.embeds), /Denied by .*: not today/);
  t.same(edit.body.components, [], 'the buttons are removed');
  await eventually(async () => (await events(h, request.id, 'request.notification_updated')).length === 1, 'the update recorded');
  await eventually(async () => (await jobCount(h.sql, 'update_notification')) === 0, 'the update jobs done');
  t.equal(discord.edits().length, 1, 'exactly one edit');

  const other = await routed(h, agent.key, { channels: ['discord'] }, 'restart');
  const second = await messageFor(discord, other.id);
  t.equal(second.channel_id, CHANNEL, '`discord` alone is the default channel');
  await eventually(async () => (await events(h, other.id, 'request.notified')).length === 1, 'recorded');
  t.equal((await h.call('POST', `/api/requests/${other.id}/cancel`, { body: { reason: 'agent gave up' } })).statusCode, 200);
  const cancelled = await eventually(async () => discord.edits().find((e) => e.path.endsWith(second.id)), 'the cancelled message edited');
  t.match(JSON.stringify(cancelled.body.embeds), /Cancelled/);
  t.same(cancelled.body.components, []);
});

t.test('a reason is asked for in a modal where the rule requires one, and for every deny', async (t) => {
  const { discord, keys, h, alice, agent } = await setup(t);
  const request = await routed(h, agent.key, { requireReason: true, channels: [`discord:${CHANNEL}`] });
  const message = await messageFor(discord, request.id);
  await eventually(async () => (await events(h, request.id, 'request.notified')).length === 1, 'recorded');
  const [approve] = buttons(message);
  const res = await send(h, keys.privateKey, buttonClick(ALICE, approve!.custom_id!, message));
  const modal = res.json();
  t.equal(modal.type, 9, 'a modal');
  t.equal(modal.data.title, 'Approve request');
  t.equal(modal.data.components[0].components[0].custom_id, 'reason');
  t.equal(await status(h, request.id), 'pending', 'nothing decided before the reason');

  const empty = await send(h, keys.privateKey, modalSubmit(ALICE, modal.data.custom_id, '   ', message));
  t.match(empty.json(), { type: 4, data: { flags: EPHEMERAL, content: /reason is required/ } });
  t.equal(await status(h, request.id), 'pending');
  const submitted = await send(h, keys.privateKey, modalSubmit(ALICE, modal.data.custom_id, 'release window is open', message));
  t.match(submitted.json(), { type: 7, data: { components: [], content: /Approved by Alice \(discord\): release window is open/ } });
  const decided = (await h.call('GET', `/api/requests/${request.id}`)).json();
  t.match(decided, { status: 'approved', decisionReason: 'release window is open', decider: { id: alice.id, channel: 'discord', externalId: ALICE } });

  const plain = await routed(h, agent.key, { channels: [`discord:${CHANNEL}`] }, 'restart');
  const plainMessage = await messageFor(discord, plain.id);
  const deny = await send(h, keys.privateKey, buttonClick(ALICE, buttons(plainMessage)[1]!.custom_id!, plainMessage));
  t.match(deny.json(), { type: 9, data: { title: 'Deny request' } }, 'Deny always asks why');
});

t.test('a group member is reached in a direct message, and decides there', async (t) => {
  const { discord, keys, h, alice, agent } = await setup(t);
  const request = await routed(h, agent.key, { approvers: ['group:oncall'], channels: ['group:oncall'] });
  const message = await messageFor(discord, request.id, (m) => m.channel_id !== CHANNEL);
  const dm = discord.calls.find((c) => c.path === '/users/@me/channels');
  t.same(dm?.body, { recipient_id: ALICE }, "Alice's direct-message channel opened");
  await messageFor(discord, request.id, (m) => m.channel_id === CHANNEL);
  await eventually(async () => (await events(h, request.id, 'request.notified')).length === 2, 'both recorded (her message and the default channel)');
  const res = await send(h, keys.privateKey, buttonClick(ALICE, buttons(message)[0]!.custom_id!, message, { inGuild: false }));
  t.equal(res.json().type, 7);
  t.match((await h.call('GET', `/api/requests/${request.id}`)).json(), { status: 'approved', decider: { id: alice.id, externalId: ALICE } });
  const edit = await eventually(async () => discord.edits()[0], 'the default channel\'s message edited by the worker');
  t.match(edit.path, new RegExp(`^/channels/${CHANNEL}/messages/`));
  t.match(JSON.stringify(edit.body.embeds), /Approved by Alice \(discord\)/);
  await eventually(async () => (await jobCount(h.sql, 'update_notification')) === 0, 'the update jobs done');
  t.equal(discord.edits().length, 1, 'her own message was answered in place, the other edited once');
});

t.test('the channel is listed on; a test message reaches the default channel', async (t) => {
  const { discord, h, agent } = await setup(t);
  const list = (await h.call('GET', '/api/channels')).json().channels as Array<{ type: string; enabled: boolean; defaultTarget: string | null; lastDelivery: { status: string } | null }>;
  t.match(list.find((c) => c.type === 'discord'), { enabled: true, defaultTarget: CHANNEL, lastDelivery: null });
  const queued = await h.call('POST', '/api/channels/discord/test');
  t.equal(queued.statusCode, 202);
  const sent = await eventually(async () => {
    const r = (await h.call('GET', `/api/channels/discord/tests/${queued.json().id}`)).json();
    return r.status === 'sent' ? r : null;
  }, 'the test recorded as sent');
  const post = discord.posts().find((c) => String(c.body.content).includes('test message'));
  t.equal(post?.path, `/channels/${CHANNEL}/messages`);
  t.equal(sent.messageId, [...discord.messages.values()].find((m) => m.content.includes('test message'))?.id);

  const request = await routed(h, agent.key, { channels: ['discord'] });
  await messageFor(discord, request.id);
  await eventually(async () => {
    const channels = (await h.call('GET', '/api/channels')).json().channels as typeof list;
    return channels.find((c) => c.type === 'discord')?.lastDelivery?.status === 'posted';
  }, 'the last delivery listed');
});

/**
 * Carol is the person behind the agent's key; Dave is on call but disabled. A request routed
 * to the on-call group, and its Discord message.
 */
async function carolAndDisabledDave(t: Test) {
  const { discord, keys, h, agent } = await setup(t);
  const carol = '1300000000000000003';
  const dave = '1300000000000000004';
  t.equal((await h.call('POST', '/api/reviewers', { body: { name: 'Carol', discordUserId: carol, groups: ['oncall'], keyId: agent.id } })).statusCode, 201);
  const d = (await h.call('POST', '/api/reviewers', { body: { name: 'Dave', discordUserId: dave, groups: ['oncall'] } })).json();
  t.equal((await h.call('PATCH', `/api/reviewers/${d.id}`, { body: { disabled: true } })).statusCode, 200);
  const request = await routed(h, agent.key, { approvers: ['group:oncall'], channels: [`discord:${CHANNEL}`] });
  const message = await messageFor(discord, request.id);
  return { discord, keys, h, request, message, carol, dave };
}

t.test('a disabled reviewer and the requester themself (four eyes) change nothing and are told why', async (t) => {
  const { discord, keys, h, request, message, carol, dave } = await carolAndDisabledDave(t);
  const approve = buttons(message)[0]!.custom_id!;

  const own = await send(h, keys.privateKey, buttonClick(carol, approve, message));
  t.match(own.json(), { type: 4, data: { flags: EPHEMERAL, content: /^Not decided: a request cannot be decided by the key that created it/ } });
  const disabled = await send(h, keys.privateKey, buttonClick(dave, approve, message));
  t.match(disabled.json(), { type: 4, data: { flags: EPHEMERAL, content: /Dave is disabled/ } });
  t.equal(await status(h, request.id), 'pending');
  t.same((await events(h, request.id, 'request.decision_refused')).map((e) => [e.data.externalId, e.data.code]), [
    [carol, 'SELF_APPROVAL_FORBIDDEN'], [dave, 'REVIEWER_DISABLED'],
  ]);
});

t.test('a Deny click by someone who may not decide is refused at the click, with no modal; an approver gets the modal', async (t) => {
  const { discord, keys, h, request, message, carol, dave } = await carolAndDisabledDave(t);
  const deny = buttons(message)[1]!.custom_id!;

  const answers = [];
  for (const who of [BOB, '1300000000000000999', dave, carol]) answers.push((await send(h, keys.privateKey, buttonClick(who, deny, message))).json());
  t.match(answers, [
    { type: 4, data: { flags: EPHEMERAL, content: /^Not decided: Bob is not among this request's approvers/ } },
    { type: 4, data: { flags: EPHEMERAL, content: /^Not decided: 1300000000000000999 is not in the reviewer directory/ } },
    { type: 4, data: { flags: EPHEMERAL, content: /^Not decided: Dave is disabled/ } },
    { type: 4, data: { flags: EPHEMERAL, content: /^Not decided: a request cannot be decided by the key that created it/ } },
  ], 'each told why at once, privately');
  t.notOk(answers.some((a) => a.type === 9), 'no modal for any of them');
  t.same((await events(h, request.id, 'request.decision_refused')).map((e) => [e.data.externalId, e.data.code, e.data.decision]), [
    [BOB, 'NOT_AN_APPROVER', 'denied'], ['1300000000000000999', 'UNKNOWN_REVIEWER', 'denied'],
    [dave, 'REVIEWER_DISABLED', 'denied'], [carol, 'SELF_APPROVAL_FORBIDDEN', 'denied'],
  ], 'each refusal recorded as a refused click is');
  t.equal(await status(h, request.id), 'pending');

  const alice = await send(h, keys.privateKey, buttonClick(ALICE, deny, message));
  t.match(alice.json(), { type: 9, data: { title: 'Deny request' } }, "an approver's Deny opens the form");
  t.equal((await events(h, request.id, 'request.decision_refused')).length, 4, 'and records nothing');
});
