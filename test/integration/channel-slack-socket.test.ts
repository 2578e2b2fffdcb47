/**
 * Slack in Socket Mode (SLACK_APP_TOKEN): the fake Web API answers apps.connections.open
 * with a WebSocket this test serves; Bolt connects, and interactive envelopes sent over the
 * socket decide as the reviewer who clicked — each acknowledged over the socket, as Slack
 * requires — and the message is then updated.
 */
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Channels } from '../../server/src/channels/registry.ts';
import { startSlackSocketMode } from '../../server/src/channels/slack-interactions.ts';
import { slackChannel } from '../../server/src/channels/slack.ts';
import { testApp } from '../helpers/app.ts';
import { blockAction, fakeSlack } from '../helpers/fake-slack.ts';
import { eventually, inProcessWorker } from '../helpers/worker.ts';

t.test('a click over the socket decides the request, acknowledged over the socket', async (t) => {
  const slack = await fakeSlack(t);
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  t.teardown(() => new Promise<void>((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()); }));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  slack.socketUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/link?ticket=socket-test`;
  const acks: Array<{ envelope_id: string; payload?: unknown }> = [];
  let socket: WebSocket | null = null;
  wss.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (data) => acks.push(JSON.parse(String(data))));
    // Slack greets every new connection; the client counts itself connected on this.
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake', approximate_connection_time: 3600 }, connection_info: { app_id: 'A0APP' } }));
  });

  const h = await testApp(t, { publicUrl: 'https://gate.example.com' });
  const channels: Channels = {
    adapters: { slack: slackChannel({ botToken: 'xoxb-test', apiUrl: slack.apiUrl, defaultChannel: '#approvals', timeoutMs: 5000 }) },
    defaults: { slack: '#approvals', email: [] }, baseUrl: 'https://gate.example.com',
  };
  await inProcessWorker(t, h.sql, h.dbUrl, { channels });
  const alice = (await h.call('POST', '/api/reviewers', { body: { name: 'Alice', slackUserId: 'U0ALICE', groups: ['oncall'] } })).json();
  await h.call('POST', '/api/reviewers', { body: { name: 'Bob', slackUserId: 'U0BOB', groups: ['finance'] } });
  await h.call('POST', '/api/policies', {
    body: { name: 'deploys', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', approvers: ['group:oncall'], channels: ['slack:#approvals'] }] },
  });

  const stop = await startSlackSocketMode(h.sql, { botToken: 'xoxb-test', appToken: 'xapp-1-test', apiUrl: slack.apiUrl });
  t.teardown(stop);
  t.ok(slack.calls.some((c) => c.method === 'apps.connections.open'), 'Bolt asked Slack for a socket URL with the app token');
  await eventually(async () => socket, 'the socket connection');

  const request = (await h.call('POST', '/api/requests', { body: { action: 'deploy', params: { service: 'billing' } } })).json() as { id: string };
  const notified = await eventually(async () => (await h.sql`
    select data from events where stream_id = ${`request-${request.id}`} and type = 'request.notified'`)[0], 'the message posted');
  const message = { channel: notified.data.ref.channel as string, ts: notified.data.messageId as string };
  const send = (envelopeId: string, payload: object) => socket!.send(JSON.stringify({ envelope_id: envelopeId, type: 'interactive', accepts_response_payload: false, payload }));
  const status = async () => (await h.call('GET', `/api/requests/${request.id}`)).json();

  send('env-bob', blockAction('U0BOB', 'agentgate_approve', request.id, message));
  await eventually(async () => acks.find((a) => a.envelope_id === 'env-bob'), "Bob's click acknowledged");
  await eventually(async () => slack.calls.find((c) => c.method === 'chat.postEphemeral' && c.args.user === 'U0BOB'), 'the reason, to Bob only');
  t.equal((await status()).status, 'pending', "a non-approver's click over the socket decides nothing");

  send('env-alice', blockAction('U0ALICE', 'agentgate_approve', request.id, message));
  await eventually(async () => acks.find((a) => a.envelope_id === 'env-alice'), "Alice's click acknowledged");
  const decided = await status();
  t.equal(decided.status, 'approved', 'decided by the time the click is acknowledged');
  t.same(decided.decider, { type: 'reviewer', id: alice.id, name: 'Alice', channel: 'slack', externalId: 'U0ALICE' });
  const update = await eventually(async () => slack.updates().find((c) => c.args.ts === message.ts), 'the message updated');
  t.match(JSON.stringify(update.args.blocks), /Approved by Alice \(slack\)/);
});
