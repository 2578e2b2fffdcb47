/**
 * Two real server processes (`node --import tsx server/src/main.ts`) on one database:
 * what is decided through one reaches the WebSocket clients and long-pollers of the other.
 */
import t from 'tap';
import { serverDatabaseEnv, testDatabase } from '../helpers/db.ts';
import { subscribe } from '../helpers/live.ts';
import { heldWaits, startServerProcess } from '../helpers/process.ts';

const ADMIN_KEY = 'agk_multiprocess_admin_key_for_tests';

const startServer = (databaseUrl: string) => startServerProcess({ ...serverDatabaseEnv(databaseUrl), ADMIN_API_KEY: ADMIN_KEY });

async function api(base: string, method: string, path: string, body?: unknown, key = ADMIN_KEY) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

t.test('a decision through one process reaches the other process\'s clients', async (t) => {
  const { url } = await testDatabase(t);
  const a = await startServer(url);
  const b = await startServer(url);
  t.teardown(() => { a.child.kill('SIGKILL'); b.child.kill('SIGKILL'); });

  const key = await api(a.base, 'POST', '/api/keys', { name: 'agent', scopes: ['request:create', 'request:read'] });
  t.equal(key.status, 201);
  const agentKey = key.json.key as string;

  for (const [via, to] of [[a, b], [b, a]] as const) {
    const created = await api(via.base, 'POST', '/api/requests', { action: 'deploy' }, agentKey);
    t.equal(created.status, 201);
    const id = created.json.id as string;

    const stream = await subscribe(to.base, agentKey, { filter: { requestIds: [id] } });
    await stream.nextOfType('live');
    const pending = await api(to.base, 'GET', `/api/requests/${id}/wait?timeout=0.2`, undefined, agentKey);
    t.equal(pending.headers.get('x-agentgate-wait'), 'timeout', 'still pending on the other process');
    const waiting = api(to.base, 'GET', `/api/requests/${id}/wait?timeout=120`, undefined, agentKey);

    // Held, so the decision below must wake it across processes rather than be read at its start.
    await heldWaits(to.base, 1, agentKey);
    const decided = await api(via.base, 'POST', `/api/requests/${id}/decide`, { decision: 'approved', reason: 'ship it' });
    t.equal(decided.status, 200);

    const event = await stream.next((m) => m.type === 'event' && m.eventType === 'request.approved');
    t.match(event, { streamId: `request-${id}`, data: { reason: 'ship it' } });
    const answer = await waiting;
    t.equal(answer.status, 200);
    t.equal(answer.headers.get('x-agentgate-wait'), 'complete');
    t.match(answer.json, { id, status: 'approved', decisionReason: 'ship it' });
    await stream.close();
  }

  // SIGTERM with a long-poll and a WebSocket open: both are released and the process exits cleanly.
  const created = await api(a.base, 'POST', '/api/requests', { action: 'later' }, agentKey);
  const stream = await subscribe(b.base, agentKey, {});
  await stream.nextOfType('live');
  const waiting = api(b.base, 'GET', `/api/requests/${created.json.id}/wait?timeout=300`, undefined, agentKey);
  await heldWaits(b.base, 1, agentKey);
  b.child.kill('SIGTERM');
  t.equal((await stream.closed).code, 1001);
  const answer = await waiting;
  t.equal(answer.status, 200);
  t.equal(answer.headers.get('x-agentgate-wait'), 'timeout');
  t.equal(await b.exited, 0, 'exited cleanly');
  a.child.kill('SIGTERM');
  t.equal(await a.exited, 0);
});
