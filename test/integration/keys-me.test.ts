/**
 * GET /api/keys/me: any valid key learns what it is (name, scopes, rate limit), from the
 * authentication alone. The call counts against the key's rate limit like any other, and a
 * key renamed or rescoped elsewhere answers with its new state on the next call.
 */
import t from 'tap';
import { testApp } from '../helpers/app.ts';

t.test('any key reads itself; the call is rate-limited and follows changes at once', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create'], { name: 'mailer agent', rateLimit: 3 });

  const first = await h.call('GET', '/api/keys/me', { key: agent.key });
  t.equal(first.statusCode, 200, first.body);
  t.same(first.json(), { type: 'key', id: agent.id, name: 'mailer agent', scopes: ['request:create'], admin: false, rateLimit: 3 });
  t.equal(first.headers['x-ratelimit-limit'], '3');
  t.equal(first.headers['x-ratelimit-remaining'], '2', 'the call counted one hit');

  const renamed = await h.call('PATCH', `/api/keys/${agent.id}`, { body: { name: 'mailer', scopes: ['request:create', 'request:read'] } });
  t.equal(renamed.statusCode, 200, renamed.body);
  const second = await h.call('GET', '/api/keys/me', { key: agent.key });
  t.match(second.json(), { name: 'mailer', scopes: ['request:create', 'request:read'] }, 'the change is in force on the next call');

  t.equal((await h.call('GET', '/api/keys/me', { key: agent.key })).statusCode, 200);
  const limited = await h.call('GET', '/api/keys/me', { key: agent.key });
  t.equal(limited.statusCode, 429, 'the fourth call in the minute is over the limit');
  t.equal(limited.json().error.code, 'RATE_LIMITED');

  const admin = await h.call('GET', '/api/keys/me');
  t.equal(admin.statusCode, 200, admin.body);
  t.match(admin.json(), { type: 'key', admin: true, rateLimit: null });
  t.ok((admin.json().scopes as string[]).includes('admin'));

  // "me" is a route of its own, never read as a key id.
  const byId = await h.call('GET', '/api/keys/me', { key: (await h.key(['key:manage'])).key });
  t.equal(byId.statusCode, 200);
  t.equal(byId.json().scopes[0], 'key:manage');
});

t.test('the documented route answers through its schema', async (t) => {
  const h = await testApp(t);
  const doc = (await h.call('GET', '/openapi.json', { key: null })).json();
  const op = doc.paths['/api/keys/me']?.get;
  t.ok(op, 'GET /api/keys/me is in the OpenAPI document');
  t.ok(op.responses['200'], 'with its 200 shape');
});
