/**
 * Keys cannot raise their own power: a key that is not admin grants only what it holds,
 * cannot change itself, and a key minted by a requester (directly or through keys it
 * minted) cannot decide that requester's requests.
 */
import t from 'tap';
import { testApp } from '../helpers/app.ts';

t.test('an agent key with key:manage cannot approve its own request through a second key', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read', 'key:manage'], { rateLimit: 100 });
  const created = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy' } });
  t.equal(created.statusCode, 201, created.body);
  const requestId = created.json().id as string;
  const events = async () => (await h.sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;
  const before = await events();

  for (const scopes of [['request:decide'], ['policy:write'], ['webhook:manage'], ['audit:read'], ['request:read', 'request:decide']]) {
    const res = await h.call('POST', '/api/keys', { key: agent.key, body: { name: 'helper', scopes, rateLimit: 100 } });
    t.equal(res.statusCode, 403, `cannot mint ${scopes.join('+')}`);
    t.equal(res.json().error.code, 'KEY_ESCALATION');
    t.match(res.json().error.message, /scopes it holds/);
  }
  const looser = await h.call('POST', '/api/keys', { key: agent.key, body: { name: 'fast', scopes: ['request:read'], rateLimit: 101 } });
  t.equal(looser.statusCode, 403, 'cannot mint a looser rate limit');
  t.match(looser.json(), { error: { code: 'KEY_ESCALATION', details: { field: 'rateLimit', maximum: 100 } } });
  const unlimited = await h.call('POST', '/api/keys', { key: agent.key, body: { name: 'fast', scopes: ['request:read'], rateLimit: null } });
  t.equal(unlimited.statusCode, 403, 'cannot mint an unlimited key');

  for (const body of [{ scopes: ['request:create', 'request:read', 'key:manage', 'request:decide'] }, { rateLimit: 1000 }, { rateLimit: null }, { name: 'renamed' }]) {
    const self = await h.call('PATCH', `/api/keys/${agent.id}`, { key: agent.key, body });
    t.equal(self.statusCode, 403, `cannot change itself: ${JSON.stringify(body)}`);
  }
  t.equal(await events(), before, 'nothing was written by a refused call');

  // A narrower key is fine, and records the agent as its creator.
  const reader = await h.call('POST', '/api/keys', { key: agent.key, body: { name: 'reader', scopes: ['request:read'], rateLimit: 10 } });
  t.equal(reader.statusCode, 201, reader.body);
  const [row] = await h.sql<{ created_by: { type: string; id: string } }[]>`select created_by from api_keys where id = ${reader.json().id}`;
  t.match(row!.created_by, { type: 'key', id: agent.id }, 'the new key records its creator');
  // …and cannot be widened by its creator afterwards either.
  const widen = await h.call('PATCH', `/api/keys/${reader.json().id}`, { key: agent.key, body: { scopes: ['request:decide'] } });
  t.equal(widen.statusCode, 403);
  t.equal(widen.json().error.code, 'KEY_ESCALATION');

  const status = await h.call('GET', `/api/requests/${requestId}`);
  t.equal(status.json().status, 'pending', 'the request is still waiting for someone else');
});

t.test('four-eyes refuses a decider minted by the requester, directly or transitively', async (t) => {
  const h = await testApp(t);
  // A requester that may decide and manage keys (an admin gave it both).
  const requester = await h.key(['request:create', 'request:read', 'request:decide', 'key:manage']);
  const created = await h.call('POST', '/api/requests', { key: requester.key, body: { action: 'deploy' } });
  const requestId = created.json().id as string;

  const mint = async (by: string, name: string) => {
    const res = await h.call('POST', '/api/keys', { key: by, body: { name, scopes: ['request:decide', 'request:read', 'key:manage'] } });
    t.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string; key: string };
  };
  const child = await mint(requester.key, 'child');
  const grandchild = await mint(child.key, 'grandchild');

  for (const [who, key] of [['the requester itself', requester.key], ['a key it minted', child.key], ['a key minted by a key it minted', grandchild.key]] as const) {
    const res = await h.call('POST', `/api/requests/${requestId}/decide`, { key, body: { decision: 'approved' } });
    t.equal(res.statusCode, 403, `${who} cannot decide`);
    t.equal(res.json().error.code, 'SELF_APPROVAL_FORBIDDEN');
    // Nor hand the decision to someone else through a decision link.
    const links = await h.call('POST', `/api/requests/${requestId}/tokens`, { key, body: {} });
    t.equal(links.statusCode, 403, `${who} cannot issue decision links`);
  }
  t.match((await h.call('POST', `/api/requests/${requestId}/decide`, { key: grandchild.key, body: { decision: 'approved' } })).json().error.message, /created/);

  // An unrelated decider (minted by the admin) still may.
  const other = await h.key(['request:decide']);
  const ok = await h.call('POST', `/api/requests/${requestId}/decide`, { key: other.key, body: { decision: 'approved' } });
  t.equal(ok.statusCode, 200, ok.body);
  // The child may decide other keys' requests.
  const second = await h.call('POST', '/api/requests', { key: (await h.key(['request:create'])).key, body: { action: 'deploy' } });
  const byChild = await h.call('POST', `/api/requests/${second.json().id}/decide`, { key: child.key, body: { decision: 'denied' } });
  t.equal(byChild.statusCode, 200, byChild.body);
});
