/**
 * Email end to end: a request routed to two addresses reaches a real SMTP server as one
 * message each, with that recipient's own links; a link's GET decides nothing, its POST
 * decides as the reviewer with that address (or is refused and recorded), and works once.
 */
import t, { type Test } from 'tap';
import { emailChannel } from '../../server/src/channels/email.ts';
import { requestView } from '../../server/src/channels/jobs.ts';
import type { Channels } from '../../server/src/channels/registry.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { smtpServer } from '../helpers/smtp.ts';
import { eventually, inProcessWorker } from '../helpers/worker.ts';

const BASE = 'https://gate.example.com';

async function setup(t: Test) {
  const mailbox = await smtpServer(t);
  const h = await testApp(t, { publicUrl: BASE });
  const email = emailChannel({ url: mailbox.url, from: 'AgentGate <gate@example.com>', defaultTo: [], timeoutMs: 5000 });
  const channels: Channels = { adapters: { email }, defaults: { email: [] }, baseUrl: BASE };
  await inProcessWorker(t, h.sql, h.dbUrl, { channels });
  const alice = (await h.call('POST', '/api/reviewers', { body: { name: 'Alice', email: 'alice@example.com', groups: ['oncall'] } })).json();
  const bob = (await h.call('POST', '/api/reviewers', { body: { name: 'Bob', email: 'bob@example.com', groups: ['finance'] } })).json();
  const agent = await h.key(['request:create']);
  return { mailbox, h, alice, bob, agent, channels };
}

async function policy(h: TestApp, rule: Record<string, unknown>) {
  const res = await h.call('POST', '/api/policies', {
    body: { name: `email ${Math.random()}`, priority: 1, rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', ...rule }] },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
}

/** The approve and deny tokens in a mail's text. */
function tokens(text: string | undefined) {
  const approve = /Approve: \S+\/decide\?token=([\w-]{43})/.exec(text ?? '')?.[1];
  const deny = /Deny: +\S+\/decide\?token=([\w-]{43})/.exec(text ?? '')?.[1];
  if (!approve || !deny) throw new Error(`no links in mail:\n${text}`);
  return { approve, deny };
}



t.test('each recipient gets their own links, which decide as them', async (t) => {
  const { mailbox, h, alice, agent } = await setup(t);
  await policy(h, { approvers: ['group:oncall'], channels: ['email:alice@example.com', 'email:Bob@Example.com'] });
  const request = (await h.call('POST', '/api/requests', {
    key: agent.key, body: { action: 'deploy', params: { service: 'billing', version: '1.4.2' }, context: { ticket: 'OPS-7' }, urgency: 'high' },
  })).json();

  await eventually(async () => mailbox.to('alice@example.com').length === 1 && mailbox.to('bob@example.com').length === 1, 'two mails');
  const [aliceMail] = mailbox.to('alice@example.com');
  const [bobMail] = mailbox.to('bob@example.com');
  t.match(aliceMail!.subject, /deploy/);
  t.match(aliceMail!.text, /service: billing/, 'params in the text');
  t.match(aliceMail!.text, /Urgency: high/);
  t.match(aliceMail!.text, new RegExp(`${BASE}/requests/${request.id}`), 'a link to the dashboard');
  t.match(aliceMail!.html, /Approve<\/a>/, 'an HTML part with buttons');
  const aliceLinks = tokens(aliceMail!.text);
  const bobLinks = tokens(bobMail!.text);
  t.not(aliceLinks.approve, bobLinks.approve, 'links are per recipient');

  const notified = await eventually(async () => {
    const rows = await h.sql`select data from events where stream_id = ${`request-${request.id}`} and type = 'request.notified' order by version`;
    return rows.length === 2 && rows;
  }, 'both messages recorded');
  t.same(notified.map((e) => e.data.destination.key).sort(), ['email:alice@example.com', 'email:bob@example.com'], 'each message recorded with its id');

  const page = await h.app.inject({ method: 'GET', url: `/decide?token=${aliceLinks.approve}` });
  t.equal(page.statusCode, 200);
  t.equal((await h.call('GET', `/api/requests/${request.id}`)).json().status, 'pending', 'the GET decided nothing');

  const bobTry = await h.app.inject({ method: 'POST', url: '/decide', payload: { token: bobLinks.approve } });
  t.equal(bobTry.statusCode, 403, 'Bob is not an approver');
  t.equal(bobTry.json().error.code, 'NOT_AN_APPROVER');
  t.equal((await h.call('GET', `/api/requests/${request.id}`)).json().status, 'pending', "Bob's click changed nothing");
  const [refused] = await h.sql`select data, metadata from events where stream_id = ${`request-${request.id}`} and type = 'request.decision_refused'`;
  t.match(refused!.data, { channel: 'email', externalId: 'bob@example.com', code: 'NOT_AN_APPROVER', decision: 'approved' });

  const decided = await h.app.inject({ method: 'POST', url: '/decide', payload: { token: aliceLinks.approve } });
  t.equal(decided.statusCode, 200, decided.body);
  t.same(decided.json().decider, { type: 'reviewer', id: alice.id, name: 'Alice', channel: 'email', externalId: 'alice@example.com' });
  t.equal(decided.json().decisionChannel ?? 'email', 'email');

  const again = await h.app.inject({ method: 'POST', url: '/decide', payload: { token: aliceLinks.approve } });
  t.equal(again.statusCode, 410, 'a second use fails');
  const other = await h.app.inject({ method: 'POST', url: '/decide', payload: { token: aliceLinks.deny } });
  t.equal(other.statusCode, 410, 'so does the other link of the pair');
});

t.test('a link checks the directory when used: a disabled reviewer is refused', async (t) => {
  const { mailbox, h, alice, agent } = await setup(t);
  await policy(h, { channels: ['group:oncall'] });
  const request = (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy' } })).json();
  await eventually(async () => mailbox.to('alice@example.com').length === 1, "Alice's mail (group member, email only)");
  await h.call('PATCH', `/api/reviewers/${alice.id}`, { body: { disabled: true } });
  const res = await h.app.inject({ method: 'POST', url: '/decide', payload: { token: tokens(mailbox.to('alice@example.com')[0]!.text).approve } });
  t.equal(res.statusCode, 403);
  t.equal(res.json().error.code, 'REVIEWER_DISABLED');
  t.equal((await h.call('GET', `/api/requests/${request.id}`)).json().status, 'pending');
});

t.test('an address not in the directory is refused; a required reason is asked for', async (t) => {
  const { mailbox, h, agent } = await setup(t);
  await policy(h, { requireReason: true, channels: ['email:stranger@example.com', 'email:alice@example.com'] });
  const request = (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy' } })).json();
  await eventually(async () => mailbox.mails.length === 2, 'two mails');
  const stranger = await h.app.inject({ method: 'POST', url: '/decide', payload: { token: tokens(mailbox.to('stranger@example.com')[0]!.text).deny } });
  t.equal(stranger.json().error.code, 'UNKNOWN_REVIEWER');
  const aliceLinks = tokens(mailbox.to('alice@example.com')[0]!.text);
  const noReason = await h.app.inject({ method: 'POST', url: '/decide', payload: { token: aliceLinks.deny } });
  t.equal(noReason.statusCode, 400);
  t.equal(noReason.json().error.code, 'REASON_REQUIRED');
  const withReason = await h.app.inject({ method: 'POST', url: '/decide', payload: { token: aliceLinks.deny, reason: 'not during the freeze' } });
  t.equal(withReason.statusCode, 200, withReason.body);
  t.match(withReason.json(), { status: 'denied', decisionReason: 'not during the freeze' });
  const refusals = await h.sql`select count(*)::int as n from events where stream_id = ${`request-${request.id}`} and type = 'request.decision_refused'`;
  t.equal(refusals[0]!.n, 1, 'only the stranger was refused (a missing reason is not a refusal)');
});

t.test('a message sent again (a retry after a crash) carries the same Message-ID, one per request and recipient', async (t) => {
  const { mailbox, h, agent, channels } = await setup(t);
  await policy(h, { channels: ['email:alice@example.com', 'email:bob@example.com'] });
  const request = (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy' } })).json();
  await eventually(async () => mailbox.mails.length === 2, 'two mails');
  const notified = await eventually(async () => {
    const rows = await h.sql`select data from events where stream_id = ${`request-${request.id}`} and type = 'request.notified' order by version`;
    return rows.length === 2 && rows;
  }, 'both recorded');
  const [first] = mailbox.to('alice@example.com');
  t.match(first!.messageId, new RegExp(`^<${request.id}\\.[0-9a-f]{16}@example\\.com>$`), 'the request id in the Message-ID, at the sender\'s domain');
  t.equal(notified.find((e) => e.data.destination.key === 'email:alice@example.com')!.data.messageId, first!.messageId, 'recorded as sent');
  t.not(mailbox.to('bob@example.com')[0]!.messageId, first!.messageId, 'each recipient has their own');

  // The worker died after the server took the mail, before recording it: the retry sends again.
  const destination = { key: 'email:alice@example.com', channel: 'email' as const, target: 'alice@example.com' };
  const again = await channels.adapters.email!.post(requestView(channels, (await h.call('GET', `/api/requests/${request.id}`)).json()), destination);
  await eventually(async () => mailbox.to('alice@example.com').length === 2, 'the second copy');
  t.equal(mailbox.to('alice@example.com')[1]!.messageId, first!.messageId, 'the copy has the same Message-ID: mail systems see one message');
  t.equal(again.messageId, first!.messageId);
});

t.test('a burst of mails shares a few pooled SMTP connections', async (t) => {
  const mailbox = await smtpServer(t);
  const h = await testApp(t, { publicUrl: BASE });
  const email = emailChannel({ url: mailbox.url, from: 'AgentGate <gate@example.com>', defaultTo: [], timeoutMs: 5000, poolSize: 2 });
  t.teardown(() => email.close?.());
  await inProcessWorker(t, h.sql, h.dbUrl, { channels: { adapters: { email }, defaults: { email: [] }, baseUrl: BASE } });
  const recipients = Array.from({ length: 4 }, (_, i) => `email:ops${i}@example.com`);
  await policy(h, { channels: recipients });
  for (let i = 0; i < 3; i++) await h.call('POST', '/api/requests', { body: { action: 'deploy', params: { i } } });
  await eventually(async () => mailbox.mails.length === 12, 'twelve mails', 30_000);
  t.ok(mailbox.connections() <= 2, `12 mails over ${mailbox.connections()} connections (at most the pool's 2)`);
});
