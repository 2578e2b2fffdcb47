/**
 * Live connections count against the key: caps on open long-polls, WebSockets and NDJSON
 * followers per key and in all, and WebSocket subscribes counted against the key's rate
 * limit (the same counter as HTTP calls). Slots are given back when connections end.
 */
import t from 'tap';
import WebSocket from 'ws';
import { Sessions } from '../../server/src/sessions/sessions.ts';
import { SESSION_COOKIE } from '../../server/src/sessions/tokens.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { connectStream, listenOn, settled, streamUrl, subscribe, until, StreamClient } from '../helpers/live.ts';

async function pending(h: TestApp, key: string): Promise<string> {
  const res = await h.call('POST', '/api/requests', { key, body: { action: 'deploy' } });
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
  return res.json().id as string;
}

/** A WebSocket's answer to authentication: the `authenticated` message, or how it closed. */
async function authOutcome(c: StreamClient) {
  return Promise.race([
    c.nextOfType('authenticated').then(() => 'authenticated' as const),
    c.closed,
  ]);
}

/** An open `GET /api/events?follow=true`; resolves once its headers arrived. */
async function openFollower(base: string, key: string) {
  const abort = new AbortController();
  const res = await fetch(`${base}/api/events?follow=true`, { headers: { authorization: `Bearer ${key}` }, signal: abort.signal });
  return { res, close: () => abort.abort() };
}

t.test('long-polls: the key\'s N+1th open poll is refused with 429, other keys are not, slots come back', async (t) => {
  const h = await testApp(t, { liveCaps: { perKey: { longpoll: 3 } } });
  const agent = await h.key(['request:create', 'request:read']);
  const other = await h.key(['request:read']);
  const id = await pending(h, agent.key);

  const held = [1, 2, 3].map(() => h.call('GET', `/api/requests/${id}/wait?timeout=300`, { key: agent.key }));
  await until(() => h.app.live.watchCount === 3, 'three open polls');
  t.equal(h.app.liveLimits.held(agent.id, 'longpoll'), 3);

  // timeout=1: were it accepted, it would answer 200 after a second (the defect).
  const refused = await h.call('GET', `/api/requests/${id}/wait?timeout=1`, { key: agent.key });
  t.equal(refused.statusCode, 429, refused.body);
  t.match(refused.json(), {
    error: { code: 'TOO_MANY_CONNECTIONS', message: /maximum of 3 open long-polls/, details: { kind: 'longpoll', scope: 'key', limit: 3 } },
  });
  t.ok(Number(refused.headers['retry-after']) >= 1, 'Retry-After says when to try again');

  const theirs = h.call('GET', `/api/requests/${id}/wait?timeout=300`, { key: other.key });
  await until(() => h.app.live.watchCount === 4, 'another key still polls');

  t.equal((await h.call('POST', `/api/requests/${id}/decide`, { body: { decision: 'approved' } })).statusCode, 200);
  for (const r of await Promise.all([...held, theirs])) t.equal(r.statusCode, 200);
  await until(() => h.app.liveLimits.total === 0, 'every slot given back');
  t.equal(h.app.liveLimits.held(agent.id), 0, 'no slot leaks after the polls ended');

  // Polls that end on their timeout, or because the client left, give their slot back too.
  const second = await pending(h, agent.key);
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all([1, 2, 3].map(() => h.call('GET', `/api/requests/${second}/wait?timeout=0.2`, { key: agent.key })));
    t.same(answers.map((a) => a.statusCode), [200, 200, 200], `round ${round}: three polls again`);
  }
  const base = await listenOn(h.app);
  const gone = [1, 2, 3].map(() => new AbortController());
  const fetches = gone.map((a) => fetch(`${base}/api/requests/${second}/wait?timeout=300`, { headers: { authorization: `Bearer ${agent.key}` }, signal: a.signal }).catch(() => null));
  await until(() => h.app.liveLimits.held(agent.id, 'longpoll') === 3, 'three polls over HTTP');
  for (const a of gone) a.abort();
  await Promise.all(fetches);
  await until(() => h.app.liveLimits.held(agent.id, 'longpoll') === 0, 'clients that left gave their slots back');
  t.equal((await h.call('GET', `/api/requests/${second}/wait?timeout=0`, { key: agent.key })).statusCode, 200);
});

t.test('the process\'s total cap refuses any key once reached', async (t) => {
  const h = await testApp(t, { liveCaps: { total: 2 } });
  const keys = [await h.key(['request:create', 'request:read']), await h.key(['request:read']), await h.key(['request:read'])];
  const id = await pending(h, keys[0]!.key);
  const open = keys.slice(0, 2).map((k) => h.call('GET', `/api/requests/${id}/wait?timeout=300`, { key: k.key }));
  await until(() => h.app.live.watchCount === 2, 'two polls');
  const refused = await h.call('GET', `/api/requests/${id}/wait?timeout=1`, { key: keys[2]!.key });
  t.equal(refused.statusCode, 429, refused.body);
  t.match(refused.json(), { error: { code: 'TOO_MANY_CONNECTIONS', details: { scope: 'server', limit: 2 } } });
  await h.call('POST', `/api/requests/${id}/decide`, { body: { decision: 'denied', reason: 'no' } });
  await Promise.all(open);
  t.equal((await h.call('GET', `/api/requests/${id}/wait?timeout=1`, { key: keys[2]!.key })).statusCode, 200);
});

t.test('WebSockets: the key\'s N+1th stream is closed with 4029 and a clear reason', async (t) => {
  const h = await testApp(t, { liveCaps: { perKey: { websocket: 2 } } });
  const base = await listenOn(h.app);
  const reader = await h.key(['request:read']);
  const other = await h.key(['request:read']);

  const first = await connectStream(base, reader.key);
  const second = await connectStream(base, reader.key, 'message');
  t.equal(await authOutcome(first), 'authenticated');
  t.equal(await authOutcome(second), 'authenticated');

  const third = await connectStream(base, reader.key, 'header');
  const closed = await third.closed;
  t.equal(closed.code, 4029);
  t.match(closed.reason, /maximum of 2 open WebSocket streams/);
  t.match(third.messages.find((m) => m.type === 'error'), {
    error: { code: 'TOO_MANY_CONNECTIONS', details: { kind: 'websocket', scope: 'key', limit: 2 } },
  }, 'an error message says why before the close');
  t.notOk(third.messages.some((m) => m.type === 'authenticated'));

  const theirs = await connectStream(base, other.key);
  t.equal(await authOutcome(theirs), 'authenticated', 'another key is not affected');

  await first.close();
  await until(() => h.app.liveLimits.held(reader.id, 'websocket') === 1, 'the closed stream\'s slot');
  const again = await connectStream(base, reader.key);
  t.equal(await authOutcome(again), 'authenticated', 'a freed slot is usable again');

  // Streams the server ends (here: revocation) give their slots back as well.
  await h.call('DELETE', `/api/keys/${reader.id}`);
  t.equal((await second.closed).code, 4001);
  t.equal((await again.closed).code, 4001);
  await until(() => h.app.liveLimits.held(reader.id) === 0, 'no slot leaks after server-side closes');
  await theirs.close();
  await until(() => h.app.liveLimits.total === 0, 'all slots back');
});

t.test('NDJSON followers are capped per key; plain exports are not', async (t) => {
  const h = await testApp(t, { liveCaps: { perKey: { follower: 2 } } });
  const base = await listenOn(h.app);
  const auditor = await h.key(['audit:read']);

  const a = await openFollower(base, auditor.key);
  const b = await openFollower(base, auditor.key);
  t.equal(a.res.status, 200);
  t.equal(b.res.status, 200);
  const c = await fetch(`${base}/api/events?follow=true`, { headers: { authorization: `Bearer ${auditor.key}` } });
  t.equal(c.status, 429);
  t.ok(Number(c.headers.get('retry-after')) >= 1);
  t.match(await c.json(), { error: { code: 'TOO_MANY_CONNECTIONS', message: /maximum of 2 open followed event exports/, details: { kind: 'follower', limit: 2 } } });

  const plain = await h.call('GET', '/api/events?limit=1', { key: auditor.key });
  t.equal(plain.statusCode, 200, 'an export that ends on its own is only rate limited');

  a.close();
  await until(() => h.app.liveLimits.held(auditor.id, 'follower') === 1, 'the closed follower\'s slot');
  const d = await openFollower(base, auditor.key);
  t.equal(d.res.status, 200);
  b.close();
  d.close();
  await until(() => h.app.liveLimits.held(auditor.id) === 0, 'no slot leaks after followers leave');
});

t.test('a WebSocket subscribe counts against the key\'s rate limit: no repeated replays past it', async (t) => {
  const h = await testApp(t);
  const base = await listenOn(h.app);
  // Two hits a minute: authenticating the socket takes one, the first subscribe the other.
  const reader = await h.key(['request:read'], { rateLimit: 2 });
  for (let i = 0; i < 3; i++) await h.call('POST', '/api/requests', { body: { action: `a${i}` } });
  // Replays read below the server-wide horizon: wait until other databases' writers let these through.
  await settled(h.sql);

  const c = await subscribe(base, reader.key, { from: 0 });
  await c.nextOfType('live');
  const replayed = c.events.length;
  t.ok(replayed >= 3, 'the first replay is served');
  for (let i = 0; i < 5; i++) {
    c.send({ type: 'unsubscribe' });
    c.send({ type: 'subscribe', from: 0 });
  }
  const closed = await c.closed;
  t.equal(closed.code, 4029);
  t.match(closed.reason, /Rate limit of 2 requests per minute exceeded; retry in \d+ s/);
  t.match(c.messages.find((m) => m.type === 'error'), { error: { code: 'RATE_LIMITED', details: { limit: 2 } } });
  t.equal(c.messages.filter((m) => m.type === 'subscribed').length, 1, 'only one subscribe was served');
  t.equal(c.events.length, replayed, 'the log was replayed once');

  // The same counter as HTTP calls.
  const http = await h.call('GET', '/api/requests', { key: reader.key });
  t.equal(http.statusCode, 429);
  await until(() => h.app.liveLimits.held(reader.id) === 0, 'the closed socket\'s slot');
});

t.test('a subscribe within the limit is served and counted', async (t) => {
  const h = await testApp(t);
  const base = await listenOn(h.app);
  const reader = await h.key(['request:read'], { rateLimit: 4 });
  const c = await subscribe(base, reader.key, { from: 0 });
  c.send({ type: 'unsubscribe' });
  await c.nextOfType('unsubscribed');
  c.send({ type: 'subscribe' });
  await c.next((m) => m.type === 'subscribed' && c.messages.filter((x) => x.type === 'subscribed').length === 2);
  // auth + two subscribes = 3 of 4: one HTTP call left, then 429.
  const res = await h.call('GET', '/api/requests', { key: reader.key });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-ratelimit-remaining'], '0');
  await c.close();
});

t.test('a reviewer\'s dashboard session (no key behind it) subscribes; its streams are capped per reviewer', async (t) => {
  const h = await testApp(t, { liveCaps: { perKey: { websocket: 1 } } });
  const base = await listenOn(h.app);
  const alice = (await h.call('POST', '/api/reviewers', { body: { name: 'Alice', email: 'alice@example.com' } })).json() as { id: string };
  // The app's sessions sign with the secret kept in the database: a second handle opens one it accepts.
  const sessions = await Sessions.create(h.sql, { rateLimitWindowMs: 60_000 });
  const { token } = await sessions.open({ type: 'reviewer', id: alice.id }, 'test');
  const open = async () => {
    const ws = new WebSocket(streamUrl(base), ['agentgate.v1'], { headers: { cookie: `${SESSION_COOKIE}=${token}`, origin: base } });
    const c = new StreamClient(ws);
    await c.opened;
    return c;
  };
  const c = await open();
  t.equal(await authOutcome(c), 'authenticated');
  c.send({ type: 'subscribe', from: 0 });
  const answer = await Promise.race([c.nextOfType('subscribed'), c.closed]);
  t.match(answer, { type: 'subscribed' }, 'the subscribe is served, not refused for want of a key');
  t.equal(h.app.liveLimits.held(alice.id, 'websocket'), 1);
  const second = await open();
  t.match(await second.closed, { code: 4029 }, 'a second stream of the same reviewer is over the cap of 1');
  await c.close();
  await until(() => h.app.liveLimits.total === 0, 'the slot given back');
});
