import t from 'tap';
import WebSocket from 'ws';
import { testApp } from '../helpers/app.ts';
import { listenOn, StreamClient, streamUrl } from '../helpers/live.ts';
import { SESSION_COOKIE } from '../../server/src/sessions/tokens.ts';

/** The session cookie a response set, as a browser would send it back. */
function cookieOf(res: { headers: Record<string, unknown> }): string {
  const set = ([] as string[]).concat((res.headers['set-cookie'] as string | string[] | undefined) ?? []);
  const found = set.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (!found) throw new Error(`no session cookie in ${JSON.stringify(set)}`);
  return found.split(';')[0]!;
}

t.test('signing in with a key opens a cookie session that acts as the key', async (t) => {
  const h = await testApp(t);
  const reviewer = await h.key(['request:read', 'request:decide'], { name: 'alice' });

  const bad = await h.call('POST', '/api/session', { key: null, body: { apiKey: 'agk_wrong' } });
  t.equal(bad.statusCode, 401);
  t.notOk(bad.headers['set-cookie']);

  const res = await h.call('POST', '/api/session', { key: null, body: { apiKey: reviewer.key } });
  t.equal(res.statusCode, 201);
  const body = res.json();
  t.match(body, { subject: { type: 'key', id: reviewer.id, name: 'alice' }, scopes: ['request:read', 'request:decide'] });
  t.notMatch(res.body, reviewer.key, 'the key is not echoed back');
  const setCookie = String(([] as string[]).concat(res.headers['set-cookie'] as string[])[0]);
  t.match(setCookie, /HttpOnly/i);
  t.match(setCookie, /SameSite=Strict/i);
  t.notMatch(setCookie, /Secure/i, 'not Secure over plain http');
  const cookie = cookieOf(res);

  const me = await h.call('GET', '/api/session', { key: null, headers: { cookie } });
  t.equal(me.statusCode, 200);
  t.equal(me.json().csrfToken, body.csrfToken);

  const list = await h.call('GET', '/api/requests', { key: null, headers: { cookie } });
  t.equal(list.statusCode, 200, 'reads with the cookie alone');
  const policies = await h.call('GET', '/api/policies', { key: null, headers: { cookie } });
  t.equal(policies.statusCode, 403, 'the key\'s scopes still decide');

  // A write with the cookie needs the anti-CSRF header.
  const created = await h.call('POST', '/api/requests', { body: { action: 'deploy' } });
  const id = created.json().id;
  const noCsrf = await h.call('POST', `/api/requests/${id}/decide`, { key: null, headers: { cookie }, body: { decision: 'approved' } });
  t.equal(noCsrf.statusCode, 403);
  t.equal(noCsrf.json().error.code, 'CSRF_REJECTED');
  const wrongCsrf = await h.call('POST', `/api/requests/${id}/decide`, { key: null, headers: { cookie, 'x-csrf-token': 'x'.repeat(43) }, body: { decision: 'approved' } });
  t.equal(wrongCsrf.json().error.code, 'CSRF_REJECTED');
  const decided = await h.call('POST', `/api/requests/${id}/decide`, { key: null, headers: { cookie, 'x-csrf-token': body.csrfToken }, body: { decision: 'approved', reason: 'fine' } });
  t.equal(decided.statusCode, 200);
  t.equal(decided.json().decidedBy, 'alice', 'recorded as the key behind the session');
});

t.test('a forged or tampered cookie is refused', async (t) => {
  const h = await testApp(t);
  const res = await h.call('POST', '/api/session', { key: null, body: { apiKey: h.adminKey } });
  const cookie = cookieOf(res);
  const [name, token] = cookie.split('=') as [string, string];
  const parts = token.split('.');
  const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString());
  payload.sub = 'key:key_01jaaaaaaaaaaaaaaaaaaaaaaa';
  const forged = `${name}=${parts[0]}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${parts[2]}`;
  const r = await h.call('GET', '/api/requests', { key: null, headers: { cookie: forged } });
  t.equal(r.statusCode, 401);
  t.match(String(r.headers['set-cookie']), new RegExp(`${SESSION_COOKIE}=;`), 'the bad cookie is cleared');
});

t.test('revoking the key or signing out ends the session; removing a scope narrows it', async (t) => {
  const h = await testApp(t);
  const k = await h.key(['request:read', 'policy:read']);
  const open = async () => {
    const res = await h.call('POST', '/api/session', { key: null, body: { apiKey: k.key } });
    return { cookie: cookieOf(res), csrf: res.json().csrfToken as string };
  };
  const s1 = await open();
  t.equal((await h.call('GET', '/api/policies', { key: null, headers: { cookie: s1.cookie } })).statusCode, 200);
  await h.call('PATCH', `/api/keys/${k.id}`, { body: { scopes: ['request:read'] } });
  t.equal((await h.call('GET', '/api/policies', { key: null, headers: { cookie: s1.cookie } })).statusCode, 403, 'narrowed on the next call');
  t.same((await h.call('GET', '/api/session', { key: null, headers: { cookie: s1.cookie } })).json().scopes, ['request:read']);

  const s2 = await open();
  const noCsrf = await h.call('DELETE', '/api/session', { key: null, headers: { cookie: s2.cookie } });
  t.equal(noCsrf.statusCode, 403, 'sign-out needs the anti-CSRF header too');
  const out = await h.call('DELETE', '/api/session', { key: null, headers: { cookie: s2.cookie, 'x-csrf-token': s2.csrf } });
  t.equal(out.statusCode, 204);
  t.equal((await h.call('GET', '/api/requests', { key: null, headers: { cookie: s2.cookie } })).statusCode, 401, 'the old cookie no longer works');
  t.equal((await h.call('GET', '/api/requests', { key: null, headers: { cookie: s1.cookie } })).statusCode, 200, 'other sessions live on');

  await h.call('DELETE', `/api/keys/${k.id}`);
  const after = await h.call('GET', '/api/requests', { key: null, headers: { cookie: s1.cookie } });
  t.equal(after.statusCode, 401);
});

t.test('the signing secret is generated once and shared through the database', async (t) => {
  const h = await testApp(t);
  const res = await h.call('POST', '/api/session', { key: null, body: { apiKey: h.adminKey } });
  const cookie = cookieOf(res);
  // A second server process on the same database (or this one after a restart).
  const { buildApp } = await import('../../server/src/http/app.ts');
  const other = await buildApp({ sql: h.sql, logLevel: 'silent' });
  t.teardown(() => other.close());
  const r = await other.inject({ method: 'GET', url: '/api/requests', headers: { cookie } });
  t.equal(r.statusCode, 200);
  // JWT_SECRET set: that secret signs, and tokens of the generated one are refused.
  const configured = await buildApp({ sql: h.sql, logLevel: 'silent', jwtSecret: 'x'.repeat(40) });
  t.teardown(() => configured.close());
  t.equal((await configured.inject({ method: 'GET', url: '/api/requests', headers: { cookie } })).statusCode, 401);
});

t.test('the WebSocket authenticates with the session cookie from the same origin only', async (t) => {
  const h = await testApp(t);
  const base = await listenOn(h.app);
  const k = await h.key(['request:read']);
  const res = await h.call('POST', '/api/session', { key: null, body: { apiKey: k.key } });
  const cookie = cookieOf(res);
  const host = new URL(base).host;

  const same = new StreamClient(new WebSocket(streamUrl(base), ['agentgate.v1'], { headers: { cookie, origin: `http://${host}` } }));
  await same.opened;
  t.match(await same.nextOfType('authenticated'), { keyId: k.id });

  const cross = new StreamClient(new WebSocket(streamUrl(base), ['agentgate.v1'], { headers: { cookie, origin: 'https://evil.example' } }));
  await cross.opened;
  t.equal((await cross.closed).code, 4001, 'a cross-site page cannot ride the cookie');

  await h.call('DELETE', `/api/keys/${k.id}`);
  t.equal((await same.closed).code, 4001, 'revoking the key closes the session\'s stream');
});

t.test('signing out closes every stream of the session, on every server process', async (t) => {
  const h = await testApp(t);
  const base = await listenOn(h.app);
  // A second server process on the same database holds a stream of the same session.
  const { buildApp } = await import('../../server/src/http/app.ts');
  const other = await buildApp({ sql: h.sql, logLevel: 'silent' });
  t.teardown(() => other.close());
  const otherBase = await listenOn(other);
  const k = await h.key(['request:read']);
  const signIn = async () => {
    const res = await h.call('POST', '/api/session', { key: null, body: { apiKey: k.key } });
    return { cookie: cookieOf(res), csrf: res.json().csrfToken as string };
  };
  const open = async (at: string, cookie: string) => {
    const s = new StreamClient(new WebSocket(streamUrl(at), ['agentgate.v1'], { headers: { cookie, origin: `http://${new URL(at).host}` } }));
    await s.opened;
    await s.nextOfType('authenticated');
    return s;
  };
  const session = await signIn();
  const kept = await signIn();
  const here = await open(base, session.cookie);
  const there = await open(otherBase, session.cookie);
  const otherSession = await open(base, kept.cookie);

  const out = await h.call('DELETE', '/api/session', { key: null, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } });
  t.equal(out.statusCode, 204);
  t.match(await here.closed, { code: 4001 }, 'the tab\'s stream on this process closes');
  t.match(await there.closed, { code: 4001 }, 'and the one held by another process');
  t.equal(otherSession.ws.readyState, WebSocket.OPEN, 'another session of the same key stays open');

  // An ended session cannot open a new stream either.
  const again = new StreamClient(new WebSocket(streamUrl(base), ['agentgate.v1'], { headers: { cookie: session.cookie, origin: `http://${new URL(base).host}` } }));
  await again.opened;
  t.equal((await again.closed).code, 4001);
  otherSession.ws.close();
});
