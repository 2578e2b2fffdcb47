/** Inputs that once reached PostgreSQL or a recursion and came back as 500s; each is a clean 4xx. */
import t from 'tap';
import { bootstrapAdminKey } from '../../server/src/keys/commands.ts';
import { testApp } from '../helpers/app.ts';

const eventCount = async (h: Awaited<ReturnType<typeof testApp>>) =>
  (await h.sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;

t.test('refused inputs are 400s and write nothing', async (t) => {
  const h = await testApp(t);
  const before = await eventCount(h);
  const cases: [string, string, unknown][] = [
    ['NUL in params', '/api/requests', '{"action":"x","params":{"a":"\\u0000"}}'],
    ['NUL in action', '/api/requests', '{"action":"x\\u0000"}'],
    ['leap second', '/api/requests', { action: 'x', expiresAt: '2030-12-31T23:59:60Z' }],
    ['deep nesting', '/api/requests', `{"action":"x","params":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`],
  ];
  for (const [name, url, body] of cases) {
    const res = await h.call('POST', url, { body });
    t.equal(res.statusCode, 400, `${name}: ${res.body.slice(0, 200)}`);
    t.equal(res.json().error.code, 'VALIDATION_ERROR', name);
  }
  t.equal(await eventCount(h), before, 'nothing was written');

  const ok = await h.call('POST', '/api/requests', { body: { action: 'x', params: { a: [[[[1]]]] } } });
  t.equal(ok.statusCode, 201, 'ordinary nesting is fine');

  for (const url of ['/api/audit?actor=a%00b', '/api/requests?action=a%00b']) {
    const res = await h.call('GET', url);
    t.equal(res.statusCode, 400, url);
    t.equal(res.json().error.code, 'VALIDATION_ERROR', url);
  }
});

t.test('forged list cursors are INVALID_CURSOR', async (t) => {
  const h = await testApp(t);
  const forge = (c: unknown) => Buffer.from(JSON.stringify(c)).toString('base64url');
  for (const c of [{ c: '2030', i: 'x', u: 1.5 }, { c: '2030-01-01T00:00:00.000Z', i: 'x', u: 9 }, { c: '2030', i: 'x' }]) {
    const res = await h.call('GET', `/api/requests?sort=urgency&cursor=${forge(c)}`);
    t.equal(res.statusCode, 400, JSON.stringify(c));
    t.equal(res.json().error.code, 'INVALID_CURSOR');
  }
});

t.test('an ADMIN_API_KEY chosen by the operator works whatever its prefix', async (t) => {
  const h = await testApp(t);
  await bootstrapAdminKey(h.sql, 'operator-chosen-admin-secret');
  const res = await h.call('GET', '/api/requests', { key: 'operator-chosen-admin-secret' });
  t.equal(res.statusCode, 200);
  const wrong = await h.call('GET', '/api/requests', { key: 'operator-chosen-admin-secreT' });
  t.equal(wrong.statusCode, 401);
});
