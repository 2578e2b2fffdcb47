/** Revoking a key ends its open long-polls at once with a 401, never with the decision. */
import t from 'tap';
import { testApp } from '../helpers/app.ts';
import { until } from '../helpers/live.ts';

t.test('a revoked key\'s long-poll is answered 401 at once', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read']);
  const other = await h.key(['request:read']);
  const created = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy' } });
  const id = created.json().id as string;

  const mine = h.call('GET', `/api/requests/${id}/wait?timeout=300`, { key: agent.key });
  const theirs = h.call('GET', `/api/requests/${id}/wait?timeout=300`, { key: other.key });
  await until(() => h.app.live.watchCount === 2, 'both waiters');
  const started = Date.now();
  t.equal((await h.call('DELETE', `/api/keys/${agent.id}`)).statusCode, 200);
  const res = await mine;
  t.equal(res.statusCode, 401, res.body);
  t.match(res.json(), { error: { code: 'UNAUTHORIZED', message: /revoked/ } });
  t.ok(Date.now() - started < 60_000, 'answered on the revocation, not at the poll\'s timeout');
  t.equal(h.app.live.watchCount, 1, 'the other key still waits');

  // The decision goes to the key that is still valid, and never to the revoked one.
  const decided = await h.call('POST', `/api/requests/${id}/decide`, { body: { decision: 'approved' } });
  t.equal(decided.statusCode, 200);
  t.match((await theirs).json(), { id, status: 'approved' });
  const again = await h.call('GET', `/api/requests/${id}/wait?timeout=1`, { key: agent.key });
  t.equal(again.statusCode, 401);
});

t.test('a decision is not handed to a key revoked while it waited, even when both land together', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read']);
  const created = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy' } });
  const id = created.json().id as string;
  const waiting = h.call('GET', `/api/requests/${id}/wait?timeout=300`, { key: agent.key });
  await until(() => h.app.live.watchCount === 1, 'the waiter');
  // Revoke and decide in one transaction-free burst: whichever the poll sees first, it must not answer 200.
  await Promise.all([
    h.call('POST', `/api/requests/${id}/decide`, { body: { decision: 'approved' } }),
    h.call('DELETE', `/api/keys/${agent.id}`),
  ]);
  const res = await waiting;
  if (res.statusCode === 200) {
    // Only acceptable when the decision was answered before the revocation committed.
    const [key] = await h.sql<{ revoked_at: Date }[]>`select revoked_at from api_keys where id = ${agent.id}`;
    const [decision] = await h.sql<{ recorded_at: Date }[]>`select recorded_at from events where stream_id = ${'request-' + id} and type = 'request.approved'`;
    t.ok(decision!.recorded_at <= key!.revoked_at, 'a 200 only for a decision that came first');
  } else {
    t.equal(res.statusCode, 401);
  }
});
