/**
 * Expiry and cancellation reach every posted message: each Slack message is updated once to
 * show the outcome, without buttons; an emailed message cannot change, so its links stop
 * working instead.
 */
import t, { type Test } from 'tap';
import { emailChannel } from '../../server/src/channels/email.ts';
import type { Channels } from '../../server/src/channels/registry.ts';
import { slackChannel } from '../../server/src/channels/slack.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { fakeSlack, type FakeSlack } from '../helpers/fake-slack.ts';
import { smtpServer, type Mailbox } from '../helpers/smtp.ts';
import { eventually, inProcessWorker } from '../helpers/worker.ts';

const BASE = 'https://gate.example.com';

async function setup(t: Test) {
  const slack = await fakeSlack(t);
  const mailbox = await smtpServer(t);
  const h = await testApp(t, { publicUrl: BASE });
  const channels: Channels = {
    adapters: {
      slack: slackChannel({ botToken: 'xoxb-test', apiUrl: slack.apiUrl, timeoutMs: 5000 }),
      email: emailChannel({ url: mailbox.url, from: 'AgentGate <gate@example.com>', defaultTo: [], timeoutMs: 5000 }),
    },
    defaults: { email: [] }, baseUrl: BASE,
  };
  await inProcessWorker(t, h.sql, h.dbUrl, { channels });
  await h.call('POST', '/api/reviewers', { body: { name: 'Alice', email: 'alice@example.com', slackUserId: 'U0ALICE' } });
  await h.call('POST', '/api/policies', {
    body: { name: 'everywhere', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', channels: ['slack:#approvals', 'slack:#ops', 'email:alice@example.com'] }] },
  });
  const agent = await h.key(['request:create', 'request:read']);
  return { slack, mailbox, h, agent };
}

/** Waits for the three messages; returns the Slack ones' ts and Alice's approve token. */
async function announced(t: Test, h: TestApp, slack: FakeSlack, mailbox: Mailbox, id: string) {
  const rows = await eventually(async () => {
    const r = await h.sql`select data from events where stream_id = ${`request-${id}`} and type = 'request.notified'`;
    return r.length === 3 && r;
  }, 'three messages recorded');
  const mail = mailbox.to('alice@example.com').find((m) => m.text?.includes(id));
  const token = /Approve: \S+\/decide\?token=([\w-]{43})/.exec(mail?.text ?? '')?.[1];
  if (!token) throw new Error('no approve link in the mail');
  const ts = rows.filter((r) => r.data.destination.channel === 'slack').map((r) => r.data.messageId as string).sort();
  t.equal(slack.posted().filter((c) => JSON.stringify(c.args).includes(id)).length, 2);
  return { ts, token };
}

async function updatedOnce(t: Test, h: TestApp, slack: FakeSlack, id: string, ts: string[], words: RegExp) {
  await eventually(async () => (await h.sql`select 1 from events where stream_id = ${`request-${id}`} and type = 'request.notification_updated'`).length === 2, 'both Slack messages updated');
  const updates = slack.updates().filter((c) => ts.includes(String(c.args.ts)));
  t.same(updates.map((c) => String(c.args.ts)).sort(), ts, 'each Slack message updated exactly once');
  for (const u of updates) {
    t.match(JSON.stringify(u.args.blocks), words);
    t.notOk((u.args.blocks as Array<{ type: string }>).some((b) => b.type === 'actions'), 'its buttons are gone');
  }
}

t.test('a cancelled request: every Slack message shows it; the emailed link no longer works', async (t) => {
  const { slack, mailbox, h, agent } = await setup(t);
  const request = (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy', params: {} } })).json() as { id: string };
  const { ts, token } = await announced(t, h, slack, mailbox, request.id);
  const cancelled = await h.call('POST', `/api/requests/${request.id}/cancel`, { key: agent.key, body: { reason: 'no longer needed' } });
  t.equal(cancelled.statusCode, 200, cancelled.body);
  await updatedOnce(t, h, slack, request.id, ts, /[Cc]ancelled/);
  const link = await h.app.inject({ method: 'POST', url: '/decide', payload: { token } });
  t.equal(link.statusCode, 410, 'the emailed link is spent');
  t.equal(mailbox.to('alice@example.com').length, 1, 'no second mail');
});

t.test('an expired request: every Slack message shows it; the emailed link no longer works', async (t) => {
  const { slack, mailbox, h, agent } = await setup(t);
  const expiresAt = new Date(Date.now() + 4000).toISOString();
  const request = (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy', params: {}, expiresAt } })).json() as { id: string };
  const { ts, token } = await announced(t, h, slack, mailbox, request.id);
  await eventually(async () => (await h.call('GET', `/api/requests/${request.id}`, { key: agent.key })).json().status === 'expired', 'the expiry', 60_000);
  await updatedOnce(t, h, slack, request.id, ts, /[Ee]xpired/);
  const link = await h.app.inject({ method: 'POST', url: '/decide', payload: { token } });
  t.equal(link.statusCode, 410, 'the emailed link is spent');
});
