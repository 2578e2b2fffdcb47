/**
 * Decision links (api-contract.md "Decision links"): a key hands a reviewer without a key
 * a pair of one-use links; GET shows a confirmation page and decides nothing, the page's
 * POST decides as the issuing key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { executeCommand } from '../../server/src/events/command.ts';
import { streamId } from '../../server/src/events/types.ts';
import { decide, evolve, initialRequestState, type RequestState } from '../../server/src/requests/decider.ts';
import { testApp, type TestApp } from '../helpers/app.ts';

interface Issued { requestId: string; tokens: { approve: { token: string; url: string }; deny: { token: string; url: string } }; expiresAt: string }

const PUBLIC_URL = 'https://gate.example.com/';

const eventCount = async (h: TestApp) => (await h.sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;

async function ask(t: Test, h: TestApp, key: string, body: Record<string, unknown>): Promise<string> {
  const res = await h.call('POST', '/api/requests', { key, body });
  t.equal(res.statusCode, 201, res.body);
  return res.json().id as string;
}

async function issue(t: Test, h: TestApp, key: string, id: string, body?: Record<string, unknown>): Promise<Issued> {
  const res = await h.call('POST', `/api/requests/${id}/tokens`, { key, body });
  t.equal(res.statusCode, 201, `links issued: ${res.body.slice(0, 300)}`);
  return res.json() as Issued;
}

const page = (h: TestApp, token: string) => h.app.inject({ method: 'GET', url: `/decide?token=${encodeURIComponent(token)}` });
const submit = (h: TestApp, token: string, reason?: string) => h.app.inject({
  method: 'POST', url: '/decide',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams({ token, ...(reason !== undefined ? { reason } : {}) }).toString(),
});
const submitJson = (h: TestApp, body: Record<string, unknown>) => h.app.inject({
  method: 'POST', url: '/decide', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body),
});

t.test('decision links', async (t) => {
  const lines: string[] = [];
  const logStream = new Writable({ write(chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
  const h = await testApp(t, { publicUrl: PUBLIC_URL, logLevel: 'trace', logStream });
  const agent = await h.key(['request:create', 'request:read'], { name: 'mailer agent' });
  const ops = await h.key(['request:decide', 'request:read'], { name: 'ops bot' });
  const tokens: string[] = [];
  const issueAndKeep = async (t: Test, key: string, id: string, body?: Record<string, unknown>) => {
    const issued = await issue(t, h, key, id, body);
    tokens.push(issued.tokens.approve.token, issued.tokens.deny.token);
    return issued;
  };

  t.test('issue, look, approve: the decision is the issuing key, by email, labelled with the reviewer', async (t) => {
    const id = await ask(t, h, agent.key, { action: 'send_email', params: { to: 'a@b.c', amount: 42 }, context: { why: 'invoice' }, urgency: 'high' });
    const before = Date.now();
    const links = await issueAndKeep(t, ops.key, id, { reviewer: 'bob@example.com', expiresInSeconds: 3600 });
    t.equal(links.requestId, id);
    for (const [which, link] of Object.entries(links.tokens)) {
      t.match(link.token, /^[A-Za-z0-9_-]{43}$/, `${which}: 32 random bytes, base64url`);
      t.equal(link.url, `https://gate.example.com/decide?token=${link.token}`, `${which}: the URL is on PUBLIC_URL`);
    }
    t.not(links.tokens.approve.token, links.tokens.deny.token, 'two different tokens');
    const expiry = Date.parse(links.expiresAt);
    t.ok(expiry >= before + 3600_000 - 1000 && expiry <= Date.now() + 3600_000 + 1000, `expires in an hour (${links.expiresAt})`);

    const [issuedEvent] = await h.sql<{ data: Record<string, unknown>; metadata: Record<string, unknown>; text: string }[]>`
      select data, metadata, data::text || metadata::text as text from events where type = 'request.decision_link_issued' and stream_id = ${`request-${id}`}`;
    t.ok(issuedEvent, 'request.decision_link_issued is on the request stream');
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    t.match(issuedEvent!.data, {
      approveTokenHash: sha(links.tokens.approve.token), denyTokenHash: sha(links.tokens.deny.token),
      reviewer: 'bob@example.com', issuedBy: { type: 'key', id: ops.id, name: 'ops bot' }, linkId: /^lnk_/,
    });
    t.match(issuedEvent!.metadata, { actor: { type: 'key', id: ops.id } }, 'the issuing key is the actor');
    t.notOk(issuedEvent!.text.includes(links.tokens.approve.token) || issuedEvent!.text.includes(links.tokens.deny.token), 'no token is stored, only hashes');
    const audit = await h.call('GET', `/api/requests/${id}/audit`);
    const entry = (audit.json() as { eventType: string; details: Record<string, unknown> }[]).find((e) => e.eventType === 'decision_link_issued');
    t.ok(entry, 'the audit trail shows the issue');
    t.notOk(entry && ('approveTokenHash' in entry.details || 'denyTokenHash' in entry.details), 'without the token hashes');
    t.equal(entry?.details.reviewer, 'bob@example.com');

    const events = await eventCount(h);
    const shown = await page(h, links.tokens.approve.token);
    t.equal(shown.statusCode, 200, shown.body.slice(0, 300));
    t.match(shown.headers['content-type'], /^text\/html/);
    t.equal(shown.headers['cache-control'], 'no-store');
    t.equal(shown.headers['referrer-policy'], 'no-referrer');
    t.match(shown.headers['content-security-policy'], /default-src 'none'.*style-src 'unsafe-inline'.*form-action 'self'/);
    for (const text of ['send_email', '&quot;amount&quot;: 42', 'invoice', 'high', 'mailer agent', 'Approve', 'bob@example.com', 'name="reason"', 'action="/decide"']) {
      t.ok(shown.body.includes(text), `the page shows ${text}`);
    }
    t.ok(shown.body.includes(`name="token" value="${links.tokens.approve.token}"`), 'the form carries the token');
    const denyPage = await page(h, links.tokens.deny.token);
    t.ok(denyPage.statusCode === 200 && denyPage.body.includes('>Deny</button>'), 'the deny link offers to deny');
    t.equal(await eventCount(h), events, 'looking decides nothing and writes nothing');
    t.equal((await h.call('GET', `/api/requests/${id}`)).json().status, 'pending');

    const done = await submit(h, links.tokens.approve.token, 'looks fine');
    t.equal(done.statusCode, 200, done.body.slice(0, 300));
    t.match(done.body, /approved/);
    t.equal(done.headers['cache-control'], 'no-store');
    const decided = (await h.call('GET', `/api/requests/${id}`)).json();
    t.match(decided, {
      status: 'approved', decider: { type: 'key', id: ops.id, name: 'ops bot' }, decidedBy: 'ops bot',
      decidedByLabel: 'bob@example.com', decisionReason: 'looks fine',
    });
    const [approved] = await h.sql<{ metadata: Record<string, unknown> }[]>`
      select metadata from events where type = 'request.approved' and stream_id = ${`request-${id}`}`;
    t.match(approved!.metadata, { actor: { type: 'key', id: ops.id }, channel: 'email', causationId: issuedEvent!.data.linkId },
      'decided by email, caused by the link, as the issuing key');

    const after = await eventCount(h);
    const denyAfter = await submit(h, links.tokens.deny.token, 'no');
    t.equal(denyAfter.statusCode, 410, 'the other link of the pair is gone');
    t.match(denyAfter.body, /already approved/);
    const denyJson = await submitJson(h, { token: links.tokens.deny.token });
    t.equal(denyJson.statusCode, 410);
    t.equal(denyJson.json().error.code, 'LINK_GONE');
    const again = await submit(h, links.tokens.approve.token);
    t.equal(again.statusCode, 410, 'a link works once');
    t.equal((await page(h, links.tokens.approve.token)).statusCode, 410, 'the page too says the link is no longer valid');
    t.equal(await eventCount(h), after, 'nothing was written after the decision');

    const late = await h.call('POST', `/api/requests/${id}/tokens`, { key: ops.key });
    t.equal(late.statusCode, 409, 'no links for a decided request');
    t.equal(late.json().error.code, 'ALREADY_DECIDED');
  });

  t.test('a JSON post denies and answers with the request', async (t) => {
    const id = await ask(t, h, agent.key, { action: 'drop_table' });
    const links = await issueAndKeep(t, ops.key, id);
    const res = await submitJson(h, { token: links.tokens.deny.token, reason: 'not today' });
    t.equal(res.statusCode, 200, res.body);
    t.match(res.json(), { id, status: 'denied', decider: { id: ops.id }, decidedByLabel: 'decision link', decisionReason: 'not today' });
  });

  t.test('an expired link answers 410 and decides nothing', async (t) => {
    const id = await ask(t, h, agent.key, { action: 'rotate_keys' });
    const token = randomBytes(32).toString('base64url');
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const hourAgo = new Date(Date.now() - 3600_000);
    const ops_ = { type: 'key' as const, id: ops.id, name: 'ops bot', admin: false };
    await executeCommand<RequestState>(h.sql, {
      streamId: streamId('request', id), streamType: 'request', initial: initialRequestState, evolve: (s, e) => evolve(s, e),
      decide: (s) => decide({
        type: 'issue_links', linkId: 'lnk_expired', approveTokenHash: sha(token), denyTokenHash: sha(`${token}x`),
        expiresAt: new Date(hourAgo.getTime() + 60_000).toISOString(), reviewer: null, principal: ops_, now: hourAgo,
      }, s),
      metadata: { actor: ops_, channel: 'api' },
    });
    const before = await eventCount(h);
    const shown = await page(h, token);
    t.equal(shown.statusCode, 410);
    t.match(shown.body, /expired/);
    const posted = await submit(h, token);
    t.equal(posted.statusCode, 410);
    t.equal(await eventCount(h), before, 'nothing written');
    t.equal((await h.call('GET', `/api/requests/${id}`)).json().status, 'pending');
  });

  t.test('unknown or malformed tokens: 404', async (t) => {
    const unknown = randomBytes(32).toString('base64url');
    for (const url of [`/decide?token=${unknown}`, '/decide', '/decide?token=', '/decide?token=%3Cscript%3E']) {
      const res = await h.app.inject({ method: 'GET', url });
      t.equal(res.statusCode, 404, `GET ${url}`);
      t.match(res.headers['content-type'], /^text\/html/);
    }
    t.equal((await submit(h, unknown)).statusCode, 404);
    const json = await submitJson(h, { token: unknown });
    t.equal(json.statusCode, 404);
    t.equal(json.json().error.code, 'NOT_FOUND');
  });

  t.test('a key cannot hand out a power it lacks', async (t) => {
    const approver = await h.key(['request:decide'], { name: 'deploy approver' });
    const policy = await h.call('POST', '/api/policies', { body: {
      name: 'deploys need the approver', priority: 10, enabled: true,
      rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', approvers: [approver.id], channels: [] }],
    } });
    t.equal(policy.statusCode, 201, policy.body);
    const id = await ask(t, h, agent.key, { action: 'deploy' });
    const before = await eventCount(h);
    const refused = await h.call('POST', `/api/requests/${id}/tokens`, { key: ops.key, body: { reviewer: 'mallory@example.com' } });
    t.equal(refused.statusCode, 403);
    t.equal(refused.json().error.code, 'NOT_AN_APPROVER');
    t.equal(await eventCount(h), before, 'nothing written');
    await issueAndKeep(t, approver.key, id);

    const both = await h.key(['request:create', 'request:decide'], { name: 'self-approver' });
    const own = await ask(t, h, both.key, { action: 'promote_self' });
    const self = await h.call('POST', `/api/requests/${own}/tokens`, { key: both.key });
    t.equal(self.statusCode, 403, 'four eyes: not for its own request');
    t.equal(self.json().error.code, 'SELF_APPROVAL_FORBIDDEN');

    const reader = await h.key(['request:read']);
    t.equal((await h.call('POST', `/api/requests/${own}/tokens`, { key: reader.key })).statusCode, 403, 'request:decide is needed');
    const short = await h.call('POST', `/api/requests/${own}/tokens`, { key: ops.key, body: { expiresInSeconds: 59 } });
    t.equal(short.statusCode, 400, 'expiresInSeconds below 60 is refused');
  });

  t.test('a link stops when its issuing key is revoked', async (t) => {
    const temp = await h.key(['request:decide'], { name: 'temp' });
    const id = await ask(t, h, agent.key, { action: 'restart' });
    const links = await issueAndKeep(t, temp.key, id);
    t.equal((await h.call('DELETE', `/api/keys/${temp.id}`)).statusCode, 200);
    t.equal((await page(h, links.tokens.approve.token)).statusCode, 410);
    t.equal((await submit(h, links.tokens.approve.token)).statusCode, 410);
    t.equal((await h.call('GET', `/api/requests/${id}`)).json().status, 'pending');
  });

  t.test("the request's expiry caps the link's", async (t) => {
    const expiresAt = new Date(Date.now() + 600_000).toISOString();
    const id = await ask(t, h, agent.key, { action: 'soon', expiresAt });
    const links = await issueAndKeep(t, ops.key, id, { expiresInSeconds: 604_800 });
    t.equal(links.expiresAt, expiresAt, "capped at the request's expiry");
  });

  t.test('every value on the page is escaped', async (t) => {
    const id = await ask(t, h, agent.key, {
      action: '<script>alert(1)</script>', params: { html: '</pre><img src=x onerror=alert(2)>' }, context: { q: '"\'&' },
    });
    const links = await issueAndKeep(t, ops.key, id, { reviewer: '<b>bob</b>' });
    const shown = await page(h, links.tokens.approve.token);
    t.equal(shown.statusCode, 200);
    t.notOk(shown.body.includes('<script>'), 'no script tag');
    t.ok(shown.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the action appears escaped');
    t.notOk(shown.body.includes('<img'), 'no injected element');
    t.notOk(shown.body.includes('<b>bob'), 'the reviewer label is escaped');
    const done = await submit(h, links.tokens.approve.token, '<i>ok</i>');
    t.equal(done.statusCode, 200);
    t.notOk(done.body.includes('<script>') || done.body.includes('<i>ok'), 'the result page escapes too');
  });

  t.test('without PUBLIC_URL the link is on the listen address, never on the Host header', async (t) => {
    const plain = await testApp(t);
    await plain.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (plain.app.server.address() as { port: number }).port;
    const a = await plain.key(['request:create']);
    const id = await ask(t, plain, a.key, { action: 'x' });
    const hosts: Record<string, string>[] = [{}, { host: 'evil.example' }, { host: 'evil.example', 'x-forwarded-host': 'evil.example' }];
    for (const headers of hosts) {
      const res = await plain.call('POST', `/api/requests/${id}/tokens`, { body: {}, headers });
      t.equal(res.statusCode, 201, res.body);
      const links = res.json() as Issued;
      t.equal(links.tokens.approve.url, `http://127.0.0.1:${port}/decide?token=${links.tokens.approve.token}`, `Host ${JSON.stringify(headers)} is ignored`);
      t.notMatch(links.tokens.deny.url, /evil/);
    }
  });

  t.test('no token reaches the log', async (t) => {
    t.ok(tokens.length >= 10, `tokens were issued (${tokens.length})`);
    const log = lines.join('\n');
    t.match(log, /\/decide\?token=\[redacted\]/, 'the link visits were logged, masked');
    for (const token of tokens) t.notOk(log.includes(token), 'token not in the log');
  });
});
