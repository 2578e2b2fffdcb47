/**
 * Dashboard sign-in by a one-time emailed link, against a real SMTP server: the link
 * arrives, works once (the session is the reviewer's), a second use fails, an expired one
 * fails, an unknown address is answered the same and gets nothing, asks are rate-limited.
 */
import t, { type Test } from 'tap';
import { emailChannel } from '../../server/src/channels/email.ts';
import { channelSettings, type Channels } from '../../server/src/channels/registry.ts';
import { useSignInLink } from '../../server/src/sessions/sign-in-links.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { smtpServer, type Mailbox } from '../helpers/smtp.ts';
import { eventually, inProcessWorker } from '../helpers/worker.ts';

const BASE = 'https://gate.example.com';

async function setup(t: Test) {
  const mailbox = await smtpServer(t);
  const email = emailChannel({ url: mailbox.url, from: 'AgentGate <gate@example.com>', defaultTo: [], timeoutMs: 5000 });
  const channels: Channels = { adapters: { email }, defaults: { email: [] }, baseUrl: BASE };
  const h = await testApp(t, { publicUrl: BASE, channels: channelSettings(channels) });
  await inProcessWorker(t, h.sql, h.dbUrl, { channels });
  const alice = (await h.call('POST', '/api/reviewers', { body: { name: 'Alice', email: 'alice@example.com', groups: ['oncall'] } })).json() as { id: string };
  return { mailbox, h, alice };
}

const ask = (h: TestApp, email: string, ip = '203.0.113.7') =>
  h.app.inject({ method: 'POST', url: '/api/session/email-link', payload: { email }, remoteAddress: ip });

const use = (h: TestApp, token: string) => h.app.inject({ method: 'POST', url: '/api/session/email-link/use', payload: { token } });

async function linkToken(mailbox: Mailbox, address: string, nth = 1): Promise<string> {
  const mail = await eventually(async () => mailbox.to(address)[nth - 1], `sign-in mail #${nth} to ${address}`);
  const token = new RegExp(`${BASE}/sign-in#token=([\\w-]{43})`).exec(mail.text ?? '')?.[1];
  if (!token) throw new Error(`no link in:\n${mail.text}`);
  return token;
}

function cookieOf(res: { headers: Record<string, unknown> }): string {
  const set = ([] as string[]).concat((res.headers['set-cookie'] as string | string[] | undefined) ?? []);
  const found = set.find((c) => c.startsWith('agentgate_session='));
  if (!found) throw new Error(`no session cookie in ${JSON.stringify(set)}`);
  return found.split(';')[0]!;
}

t.test('the link arrives, signs in once as the reviewer, and a second use fails', async (t) => {
  const { mailbox, h, alice } = await setup(t);
  t.same((await h.call('GET', '/api/session/methods', { key: null })).json(), { apiKey: true, emailLink: true });
  const asked = await ask(h, 'Alice@Example.com');
  t.equal(asked.statusCode, 202);
  const token = await linkToken(mailbox, 'alice@example.com');
  const mail = mailbox.to('alice@example.com')[0]!;
  t.match(mail.subject, /sign-in link/);
  t.match(mail.text, /works once/);

  const [issued] = await h.sql`select data, metadata from events where stream_id = ${`reviewer-${alice.id}`} and type = 'reviewer.sign_in_link_issued'`;
  t.match(issued!.data, { email: 'alice@example.com', tokenHash: /^[0-9a-f]{64}$/ });
  const [leak] = await h.sql`select count(*)::int as n from events where data::text like ${`%${token}%`}`;
  t.equal(leak!.n, 0, 'the token itself is stored nowhere in the log');
  const [row] = await h.sql`select count(*)::int as n from reviewer_sign_in_links where token_hash = ${issued!.data.tokenHash}`;
  t.equal(row!.n, 1);

  const signedIn = await use(h, token);
  t.equal(signedIn.statusCode, 201, signedIn.body);
  t.match(signedIn.json(), { subject: { type: 'reviewer', id: alice.id, name: 'Alice' }, scopes: ['request:read', 'request:decide'] });
  const cookie = cookieOf(signedIn);
  const csrf = signedIn.json().csrfToken as string;
  const me = await h.call('GET', '/api/session', { key: null, headers: { cookie } });
  t.match(me.json(), { subject: { type: 'reviewer', id: alice.id } }, 'the session is the reviewer\'s');

  const again = await use(h, token);
  t.equal(again.statusCode, 410, 'a second use fails');
  t.equal(again.json().error.code, 'LINK_GONE');
  t.notOk(again.headers['set-cookie']);
  const [used] = await h.sql`select data, metadata from events where stream_id = ${`reviewer-${alice.id}`} and type = 'reviewer.signed_in'`;
  t.match(used!, { data: { via: 'email_link' }, metadata: { actor: { type: 'reviewer', id: alice.id }, channel: 'dashboard' } });

  // The reviewer decides where the rule names them, as themself; nothing beyond that.
  await h.call('POST', '/api/policies', { body: { name: 'deploys', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', approvers: ['group:oncall'] }] } });
  const agent = await h.key(['request:create']);
  const request = (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy', params: {} } })).json();
  t.equal((await h.call('GET', '/api/requests', { key: null, headers: { cookie } })).statusCode, 200);
  const decided = await h.call('POST', `/api/requests/${request.id}/decide`, {
    key: null, headers: { cookie, 'x-csrf-token': csrf, 'x-agentgate-channel': 'dashboard' }, body: { decision: 'approved', reason: 'looks right' },
  });
  t.equal(decided.statusCode, 200, decided.body);
  t.match(decided.json().decider, { type: 'reviewer', id: alice.id, name: 'Alice' });
  const keys = await h.call('GET', '/api/keys', { key: null, headers: { cookie } });
  t.equal(keys.statusCode, 403, 'a reviewer session manages nothing');

  // Disabling the reviewer ends the session at once.
  await h.call('PATCH', `/api/reviewers/${alice.id}`, { body: { disabled: true } });
  t.equal((await h.call('GET', '/api/requests', { key: null, headers: { cookie } })).statusCode, 401);
});

t.test('two uses of one link at once: exactly one session', async (t) => {
  const { mailbox, h } = await setup(t);
  await ask(h, 'alice@example.com');
  const token = await linkToken(mailbox, 'alice@example.com');
  const results = await Promise.all(Array.from({ length: 5 }, () => use(h, token)));
  t.same(results.map((r) => r.statusCode).sort(), [201, 410, 410, 410, 410]);
  const [sessions] = await h.sql`select count(*)::int as n from dashboard_sessions where subject_type = 'reviewer'`;
  t.equal(sessions!.n, 1);
});

t.test('an expired link fails; so does one whose reviewer moved to another address', async (t) => {
  const { mailbox, h, alice } = await setup(t);
  await ask(h, 'alice@example.com');
  const token = await linkToken(mailbox, 'alice@example.com');
  const meta = { ip: '127.0.0.1', userAgent: undefined, requestId: 'test' };
  await t.rejects(useSignInLink(h.sql, token, meta, new Date(Date.now() + 15 * 60_000 + 1000)), { code: 'LINK_GONE' }, '15 minutes later');
  await t.rejects(useSignInLink(h.sql, token, meta, new Date(Date.now() + 16 * 60_000)), { code: 'LINK_GONE' });

  await ask(h, 'alice@example.com');
  const second = await linkToken(mailbox, 'alice@example.com', 2);
  await h.call('PATCH', `/api/reviewers/${alice.id}`, { body: { email: 'alice@elsewhere.example' } });
  t.equal((await use(h, second)).statusCode, 410, 'sent to an address the reviewer no longer has');
  t.equal((await use(h, 'x'.repeat(43))).statusCode, 410, 'a made-up token');
});

t.test('an unknown address is answered the same and gets nothing; asks are rate-limited', async (t) => {
  const { mailbox, h } = await setup(t);
  const unknown = await ask(h, 'mallory@example.com');
  const known = await ask(h, 'alice@example.com');
  t.equal(unknown.statusCode, known.statusCode);
  t.same(unknown.json(), known.json(), 'the same answer');
  await linkToken(mailbox, 'alice@example.com');
  t.equal(mailbox.to('mallory@example.com').length, 0, 'nothing sent to an unknown address');
  t.equal(mailbox.mails.length, 1);
  const [events] = await h.sql`select count(*)::int as n from events where data::text like '%mallory%'`;
  t.equal(events!.n, 0, 'nothing recorded about it');

  // Per address (unknown ones too, so the limit reveals nothing), then per client.
  for (let i = 0; i < 2; i++) t.equal((await ask(h, 'mallory@example.com', '198.51.100.1')).statusCode, 202);
  const limited = await ask(h, 'mallory@example.com', '198.51.100.2');
  t.equal(limited.statusCode, 429);
  t.equal(limited.json().error.code, 'RATE_LIMITED');
  t.ok(Number(limited.headers['retry-after']) > 0);
  for (let i = 0; i < 10; i++) await ask(h, `someone${i}@example.com`, '198.51.100.9');
  t.equal((await ask(h, 'another@example.com', '198.51.100.9')).statusCode, 429, 'one client asking for many addresses');
  t.equal((await h.app.inject({ method: 'POST', url: '/api/session/email-link', payload: { email: 'not an email' } })).statusCode, 400);
});

t.test('without email configured the method is off', async (t) => {
  const h = await testApp(t);
  t.same((await h.call('GET', '/api/session/methods', { key: null })).json(), { apiKey: true, emailLink: false });
  const res = await ask(h, 'alice@example.com');
  t.equal(res.statusCode, 409);
  t.equal(res.json().error.code, 'CHANNEL_NOT_CONFIGURED');
});
