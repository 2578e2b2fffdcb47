/**
 * The benchmark's write floor (bench/write-floor.ts), added to the server through buildApp's
 * `routes`: creates are judged against it, so it must pay what a create pays up to the
 * write (the key lookup with its rate-limit count, the scope check, the body's validation,
 * the answer's schema) and write one durable row and nothing else: no event, no request.
 */
import t from 'tap';
import { createWriteFloorTable, WRITE_FLOOR_PATH, writeFloorRoutes } from '../../bench/write-floor.ts';
import { testApp } from '../helpers/app.ts';

t.test('an added route runs under the API\'s authentication, scopes and validation, and writes one row', async (t) => {
  const h = await testApp(t, { routes: [writeFloorRoutes({ groupCommitMs: 1 })] });
  await createWriteFloorTable(h.sql);
  const agent = await h.key(['request:create'], { name: 'floor agent', rateLimit: 3 });
  const reader = await h.key(['request:read']);
  const body = { action: 'bench.write_floor', params: { to: 'someone@example.com', n: 1 }, urgency: 'high' };

  t.equal((await h.call('POST', WRITE_FLOOR_PATH, { key: null, body })).statusCode, 401, 'no key');
  const forbidden = await h.call('POST', WRITE_FLOOR_PATH, { key: reader.key, body });
  t.equal(forbidden.statusCode, 403, 'a key without request:create');
  t.equal(forbidden.json().error.code, 'FORBIDDEN');
  const invalid = await h.call('POST', WRITE_FLOOR_PATH, { key: agent.key, body: { params: {} } });
  t.equal(invalid.statusCode, 400, 'the create body schema: action is required');
  t.equal(invalid.json().error.code, 'VALIDATION_ERROR');

  const [before] = await h.sql<{ n: number }[]>`select count(*)::int as n from events`;
  const res = await h.call('POST', WRITE_FLOOR_PATH, { key: agent.key, body });
  t.equal(res.statusCode, 201, res.body);
  const answer = res.json();
  t.match(answer, { action: 'bench.write_floor', params: body.params, status: 'pending', urgency: 'high', requester: { id: agent.id, name: 'floor agent' } });
  const created = await h.call('POST', '/api/requests', { body: { action: 'compare' } });
  t.same(Object.keys(answer).sort(), Object.keys(created.json()).sort(), 'the same answer shape as a routed create');

  const rows = await h.sql<{ id: string; body: unknown }[]>`select id, body from bench_write_floor`;
  t.same(rows, [{ id: answer.id, body }], 'one row, the body as sent');
  const [after] = await h.sql<{ n: number }[]>`select count(*)::int as n from events`;
  t.equal(after!.n, before!.n + 1, 'no event but the comparison create\'s');
  t.equal((await h.call('POST', WRITE_FLOOR_PATH, { key: agent.key, body })).statusCode, 201);
  t.equal((await h.call('POST', WRITE_FLOOR_PATH, { key: agent.key, body })).statusCode, 429, 'the key\'s rate limit counts these calls (the invalid one too)');
});

t.test('concurrent writes, group-committed, each answered with its own row', async (t) => {
  const h = await testApp(t, { routes: [writeFloorRoutes({ groupCommitMs: 2 })] });
  await createWriteFloorTable(h.sql);
  const answers = await Promise.all(Array.from({ length: 12 }, (_, n) =>
    h.call('POST', WRITE_FLOOR_PATH, { body: { action: 'bench.write_floor', params: { n } } })));
  t.same(answers.map((a) => a.statusCode), Array(12).fill(201));
  const rows = await h.sql<{ id: string; n: number }[]>`select id, (body#>>'{params,n}')::int as n from bench_write_floor`;
  t.same(new Map(rows.map((r) => [r.id, r.n])), new Map(answers.map((a, n) => [a.json().id, n])), 'each answer names the row written from its own body');
});
