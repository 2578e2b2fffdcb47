/**
 * Per-key rate limits: headers, 429 with Retry-After, unlimited keys, and one shared
 * limit across two real server processes on one database.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import t from 'tap';
import { serverDatabaseEnv, testDatabase } from '../helpers/db.ts';
import { testApp } from '../helpers/app.ts';
import { startServerProcess, type ServerProcess } from '../helpers/process.ts';

t.test('a key with rateLimit 5', async (t) => {
  const h = await testApp(t);
  const limited = await h.key(['request:read', 'request:create'], { rateLimit: 5 });
  const other = await h.key(['request:read'], { rateLimit: 5 });

  const remaining: number[] = [];
  for (let i = 1; i <= 5; i++) {
    const res = await h.call('GET', '/api/requests', { key: limited.key });
    t.equal(res.statusCode, 200, `request ${i} passes`);
    t.equal(res.headers['x-ratelimit-limit'], '5', 'X-RateLimit-Limit');
    remaining.push(Number(res.headers['x-ratelimit-remaining']));
    const reset = Number(res.headers['x-ratelimit-reset']);
    t.ok(Number.isInteger(reset) && reset >= 1 && reset <= 60, `X-RateLimit-Reset is whole seconds within the window (${reset})`);
  }
  t.same(remaining, [4, 3, 2, 1, 0], 'X-RateLimit-Remaining counts down');

  const before = (await h.sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;
  const sixth = await h.call('POST', '/api/requests', { key: limited.key, body: { action: 'one_too_many' } });
  t.equal(sixth.statusCode, 429, 'the 6th request in the window is refused');
  t.match(sixth.json(), { error: { code: 'RATE_LIMITED', message: String, details: { limit: 5 } } });
  const retryAfter = Number(sixth.headers['retry-after']);
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After in seconds (${sixth.headers['retry-after']})`);
  t.equal(sixth.headers['x-ratelimit-limit'], '5');
  t.equal(sixth.headers['x-ratelimit-remaining'], '0');
  t.ok(sixth.headers['x-request-id'], 'a 429 carries X-Request-Id');
  t.equal((await h.sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n, before, 'a refused create writes nothing');
  t.equal((await h.call('GET', '/api/requests', { key: limited.key })).statusCode, 429, 'and stays refused within the window');

  const fresh = await h.call('GET', '/api/requests', { key: other.key });
  t.equal(fresh.statusCode, 200, "another key's budget is its own");
  t.equal(fresh.headers['x-ratelimit-remaining'], '4');

  const unlimited = await h.key(['request:read'], { rateLimit: null });
  for (let i = 0; i < 25; i++) {
    const res = await h.call('GET', '/api/requests', { key: unlimited.key });
    if (res.statusCode !== 200 || res.headers['x-ratelimit-limit'] !== undefined || res.headers['x-ratelimit-remaining'] !== undefined) {
      t.fail(`unlimited key, request ${i + 1}: ${res.statusCode} ${JSON.stringify(res.headers)}`);
      return;
    }
  }
  t.pass('an unlimited key is never limited and gets no limit headers');
  const [{ hits } = { hits: -1 }] = await h.sql<{ hits: number }[]>`select count(*)::int as hits from rate_limit_hits where key_id = ${unlimited.id}`;
  t.equal(hits, 0, 'and its requests count nothing: no hit is written for it');
  const [{ counted } = { counted: -1 }] = await h.sql<{ counted: number }[]>`select count(*)::int as counted from rate_limit_hits where key_id = ${other.id}`;
  t.equal(counted, 1, "a limited key's request is counted once");
  t.equal((await h.call('GET', '/health', { key: null })).headers['x-ratelimit-limit'], undefined, 'no limit headers on a public route');
});

t.test('raising the limit takes effect on the next request', async (t) => {
  const h = await testApp(t);
  const k = await h.key(['request:read'], { rateLimit: 1 });
  t.equal((await h.call('GET', '/api/requests', { key: k.key })).statusCode, 200);
  t.equal((await h.call('GET', '/api/requests', { key: k.key })).statusCode, 429);
  t.equal((await h.call('PATCH', `/api/keys/${k.id}`, { body: { rateLimit: 3 } })).statusCode, 200);
  const after = await h.call('GET', '/api/requests', { key: k.key });
  t.equal(after.statusCode, 200, 'room again under the new limit');
  t.equal(after.headers['x-ratelimit-limit'], '3');
  t.equal((await h.call('PATCH', `/api/keys/${k.id}`, { body: { rateLimit: null } })).statusCode, 200);
  const unlimited = await h.call('GET', '/api/requests', { key: k.key });
  t.equal(unlimited.statusCode, 200);
  t.equal(unlimited.headers['x-ratelimit-limit'], undefined, 'unlimited again: no headers');
});

async function stopServer(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

t.test('two server processes share one limit and see revocations at once', async (t) => {
  const db = await testDatabase(t);
  const adminKey = `agk_${randomBytes(32).toString('base64url')}`;
  const servers: ServerProcess[] = [];
  // Registered before starting, so a failed second start still stops the first; runs before the database is dropped.
  t.teardown(() => Promise.all(servers.map(stopServer)));
  for (let i = 0; i < 2; i++) servers.push(await startServerProcess({ ...serverDatabaseEnv(db.url), ADMIN_API_KEY: adminKey }));
  const [a, b] = servers as [ServerProcess, ServerProcess];

  const api = (s: ServerProcess, method: string, path: string, key: string, body?: unknown) =>
    fetch(`${s.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  const created = await api(a, 'POST', '/api/keys', adminKey, { name: 'shared budget', scopes: ['request:read', 'key:manage'], rateLimit: 10 });
  t.equal(created.status, 201, 'key created through process A');
  const { key, id } = (await created.json()) as { key: string; id: string };

  const attempts = 30;
  const results = await Promise.all(
    Array.from({ length: attempts }, (_, i) => api(i % 2 === 0 ? a : b, 'GET', '/api/requests?limit=1', key)
      .then(async (res) => ({ status: res.status, via: i % 2 === 0 ? 'A' : 'B', code: res.status === 429 ? ((await res.json()) as { error: { code: string } }).error.code : null }))),
  );
  const ok = results.filter((r) => r.status === 200);
  const limited = results.filter((r) => r.status === 429);
  t.equal(ok.length, 10, 'exactly the limit succeeds across both processes');
  t.equal(limited.length, attempts - 10, 'every other request is 429');
  t.ok(limited.every((r) => r.code === 'RATE_LIMITED'), 'each refusal is RATE_LIMITED');
  t.ok(new Set(results.map((r) => r.via)).size === 2, 'both processes served requests');

  // The budget is spent, so revocation is proved with a second, unlimited key.
  const second = await api(a, 'POST', '/api/keys', adminKey, { name: 'to revoke', scopes: ['request:read'], rateLimit: null });
  const k2 = (await second.json()) as { key: string; id: string };
  t.equal((await api(b, 'GET', '/api/requests', k2.key)).status, 200, 'the new key works on process B');
  t.equal((await api(a, 'DELETE', `/api/keys/${k2.id}`, adminKey)).status, 200, 'revoked through process A');
  t.equal((await api(b, 'GET', '/api/requests', k2.key)).status, 401, 'the very next request on process B is refused');
  t.equal((await api(a, 'GET', '/api/requests', k2.key)).status, 401, 'and on process A');
  t.ok(id, 'the limited key has an id');
});
