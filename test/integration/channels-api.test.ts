/**
 * GET /api/channels and POST /api/channels/:type/test: every channel listed on or off as
 * configured, with its last delivery and last test; a test is sent by the worker (the API
 * answers while the channel's API is still busy), and its outcome is recorded.
 */
import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { loadConfig } from '../../server/src/config.ts';
import { emailChannel } from '../../server/src/channels/email.ts';
import { channelSettings, channelsFromConfig, type Channels } from '../../server/src/channels/registry.ts';
import { slackChannel } from '../../server/src/channels/slack.ts';
import { testApp } from '../helpers/app.ts';
import { fakeSlack } from '../helpers/fake-slack.ts';
import { smtpServer } from '../helpers/smtp.ts';
import { eventually, inProcessWorker } from '../helpers/worker.ts';

const BASE = 'https://gate.example.com';

async function setup(t: Test, slackApiUrl?: string) {
  const slack = await fakeSlack(t);
  const mailbox = await smtpServer(t);
  const channels: Channels = {
    adapters: {
      slack: slackChannel({ botToken: 'xoxb-test', apiUrl: slackApiUrl ?? slack.apiUrl, defaultChannel: '#approvals', timeoutMs: 3000 }),
      email: emailChannel({ url: mailbox.url, from: 'AgentGate <gate@example.com>', defaultTo: ['ops@example.com'], timeoutMs: 3000 }),
    },
    defaults: { slack: '#approvals', email: ['ops@example.com'] }, baseUrl: BASE,
  };
  const h = await testApp(t, { publicUrl: BASE, channels: channelSettings(channels) });
  await inProcessWorker(t, h.sql, h.dbUrl, { channels });
  return { h, slack, mailbox };
}

t.test('channels are listed on or off; the scope guards them', async (t) => {
  const { h } = await setup(t);
  const res = await h.call('GET', '/api/channels');
  t.equal(res.statusCode, 200);
  const list = res.json().channels as Array<{ type: string; enabled: boolean; reason: string | null; defaultTarget: string | null; lastDelivery: unknown; lastTest: unknown }>;
  t.same(list.map((c) => c.type), ['slack', 'discord', 'email']);
  t.match(list.find((c) => c.type === 'slack'), { enabled: true, reason: null, defaultTarget: '#approvals', lastDelivery: null, lastTest: null });
  t.match(list.find((c) => c.type === 'discord'), { enabled: false, reason: /not configured/ });
  t.match(list.find((c) => c.type === 'email'), { enabled: true, defaultTarget: 'ops@example.com' });

  const reader = await h.key(['request:read']);
  t.equal((await h.call('GET', '/api/channels', { key: reader.key })).statusCode, 403, 'request:read is not enough');
  t.equal((await h.call('POST', '/api/channels/slack/test', { key: reader.key })).statusCode, 403);
  const manager = await h.key(['reviewer:manage']);
  t.equal((await h.call('GET', '/api/channels', { key: manager.key })).statusCode, 200, 'reviewer:manage lists them');
  t.equal((await h.call('GET', '/api/channels', { key: null })).statusCode, 401);

  const off = await h.call('POST', '/api/channels/discord/test');
  t.equal(off.statusCode, 409);
  t.match(off.json(), { error: { code: 'CHANNEL_NOT_CONFIGURED', details: { channel: 'discord' } } });
  const unknown = await h.call('POST', '/api/channels/pigeon/test');
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().error.code, 'NOT_FOUND');
});

t.test('a test is queued at once and sent by the worker, even while the channel\'s API is slow', async (t) => {
  const { h, slack, mailbox } = await setup(t);
  const release = slack.holdPosts();
  const res = await h.call('POST', '/api/channels/slack/test');
  t.equal(res.statusCode, 202, 'answered while Slack has not answered yet');
  const queued = res.json();
  t.match(queued, { id: /^tst_/, channel: 'slack', status: 'queued', target: '#approvals', finishedAt: null });
  await eventually(async () => slack.posted().length === 1, 'the test reaching Slack');
  t.equal((await h.call('GET', `/api/channels/slack/tests/${queued.id}`)).json().status, 'queued', 'still waiting on Slack');
  release();
  const sent = await eventually(async () => {
    const r = (await h.call('GET', `/api/channels/slack/tests/${queued.id}`)).json();
    return r.status === 'sent' ? r : null;
  }, 'the test recorded as sent');
  t.match(sent, { target: '#approvals', messageId: /^\d+\.\d+$/, error: null });
  t.equal(slack.posted()[0]!.args.channel, '#approvals');

  const mail = (await h.call('POST', '/api/channels/email/test')).json();
  await eventually(async () => mailbox.to('ops@example.com').length === 1, 'the test mail');
  await eventually(async () => (await h.call('GET', `/api/channels/email/tests/${mail.id}`)).json().status === 'sent', 'recorded');
  const list = (await h.call('GET', '/api/channels')).json().channels as Array<{ type: string; lastTest: { id: string; status: string } | null }>;
  t.match(list.find((c) => c.type === 'slack')?.lastTest, { id: queued.id, status: 'sent' });
  t.match(list.find((c) => c.type === 'email')?.lastTest, { id: mail.id, status: 'sent' });

  const [event] = await h.sql`select metadata from events where stream_id = 'channel-slack' and type = 'channel.test_requested'`;
  t.match(event!.metadata, { actor: { type: 'key' } }, 'who asked for the test is in the log');
  t.equal((await h.call('GET', `/api/channels/slack/tests/${mail.id}`)).statusCode, 404, 'a test is found under its own channel');
  t.equal((await h.call('GET', '/api/channels/slack/tests/nope')).statusCode, 400);
});

t.test('a failing channel API: the test and the last delivery say why; the API is not held', async (t) => {
  // A port that refuses connections: Slack's API "down".
  const refused = await new Promise<number>((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address() as { port: number }; srv.close(() => resolve(port)); });
  });
  const { h } = await setup(t, `http://127.0.0.1:${refused}/api/`);
  const test = (await h.call('POST', '/api/channels/slack/test')).json();
  const failed = await eventually(async () => {
    const r = (await h.call('GET', `/api/channels/slack/tests/${test.id}`)).json();
    return r.status === 'failed' ? r : null;
  }, 'the failed test');
  t.ok(failed.error, `the error is recorded: ${failed.error}`);

  await h.call('POST', '/api/policies', { body: { name: 'to slack', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', channels: ['slack'] }] } });
  const created = await h.call('POST', '/api/requests', { body: { action: 'deploy', params: {} } });
  t.equal(created.statusCode, 201, 'a create does not wait on the channel');
  const delivery = await eventually(async () => {
    const c = ((await h.call('GET', '/api/channels')).json().channels as Array<{ type: string; lastDelivery: { status: string } | null }>).find((x) => x.type === 'slack');
    return c?.lastDelivery?.status === 'failed' ? c.lastDelivery : null;
  }, 'the failed delivery listed');
  t.match(delivery, { requestId: created.json().id, destination: 'slack:#approvals', attempts: 1, error: /\S/ });
});

t.test('a channel without credentials is off, said once, never an error', async (t) => {
  const lines: Array<{ obj: object; msg?: string }> = [];
  const { config } = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', SLACK_DEFAULT_CHANNEL: '#approvals' });
  const channels = channelsFromConfig(config, { info: (obj, msg) => lines.push({ obj, ...(msg ? { msg } : {}) }) });
  t.same(Object.keys(channels.adapters), []);
  t.equal(lines.length, 1, 'one line at start');
  t.match(lines[0]!.obj, { on: [], off: { slack: 'SLACK_BOT_TOKEN is not set', email: /SMTP_URL/ } });
  t.match(channelSettings(channels).find((s) => s.type === 'slack'), { enabled: false, reason: 'SLACK_BOT_TOKEN is not set', defaultTarget: '#approvals' });
  const on = channelsFromConfig(loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', SLACK_BOT_TOKEN: 'xoxb-1', SMTP_URL: 'smtp://127.0.0.1:2525' }).config);
  t.same(Object.keys(on.adapters).sort(), ['email', 'slack']);
});
