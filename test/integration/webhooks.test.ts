import t from 'tap';
import { testApp } from '../helpers/app.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';
import { verifySignature } from '../../server/src/webhooks/signing.ts';

const eventCount = async (sql: import('../../server/src/db/connect.ts').Sql) =>
  (await sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;

t.test('create shows the secret once; reads never show it', async (t) => {
  const h = await testApp(t);
  const created = await h.call('POST', '/api/webhooks', { body: { url: 'https://hooks.example.com/in', events: ['request.created', 'request.decided'] } });
  t.equal(created.statusCode, 201, created.body);
  const w = created.json();
  t.match(w, { id: /^whk_/, url: 'https://hooks.example.com/in', events: ['request.created', 'request.decided'], enabled: true, maxAttempts: 8, description: null });
  t.match(w.secret, /^[0-9a-f]{64}$/, 'a generated secret: 32 random bytes, hex');

  const got = await h.call('GET', `/api/webhooks/${w.id}`);
  t.equal(got.statusCode, 200);
  t.notOk('secret' in got.json(), 'GET has no secret');
  const list = await h.call('GET', '/api/webhooks');
  t.equal(list.json().webhooks.length, 1);
  t.notOk('secret' in list.json().webhooks[0], 'the list has no secret');
  t.notMatch(list.body, w.secret);

  const own = await h.call('POST', '/api/webhooks', {
    body: { url: 'http://hooks.example.com/2', events: ['*'], secret: 'x'.repeat(40), description: 'mine', enabled: false, maxAttempts: 3 },
  });
  t.equal(own.statusCode, 201, own.body);
  t.match(own.json(), { secret: 'x'.repeat(40), description: 'mine', enabled: false, maxAttempts: 3, events: ['*'] });

  const audit = await h.sql<{ details: Record<string, unknown> }[]>`select details from audit_log where event_type = 'webhook.created'`;
  t.equal(audit.length, 2);
  t.ok(audit.every((a) => !('secret' in a.details)), 'the audit log never shows a secret');
});

t.test('bad input is a 400 naming the field, and nothing is written', async (t) => {
  const h = await testApp(t);
  const before = await eventCount(h.sql);
  const cases: Array<[unknown, string]> = [
    [{ url: 'https://x.example/', events: ['request.approve'] }, 'body.events'],
    [{ url: 'https://x.example/', events: [] }, 'body.events'],
    [{ url: 'https://x.example/' }, 'body.events'],
    [{ events: ['*'] }, 'body.url'],
    [{ url: 'ftp://x.example/', events: ['*'] }, 'body.url'],
    [{ url: 'https://x.example/', events: ['*'], secret: 'too short' }, 'body.secret'],
    [{ url: 'https://x.example/', events: ['*'], maxAttempts: 21 }, 'body.maxAttempts'],
    [{ url: 'https://x.example/', events: ['*'], maxAttempts: 0 }, 'body.maxAttempts'],
    [{ url: 'https://x.example/', events: ['*'], extra: 1 }, 'body.extra'],
  ];
  for (const [body, field] of cases) {
    const res = await h.call('POST', '/api/webhooks', { body });
    t.equal(res.statusCode, 400, `${JSON.stringify(body)} → 400`);
    t.equal(res.json().error.code, 'VALIDATION_ERROR');
    t.ok(res.json().error.details.some((d: { field: string }) => d.field.startsWith(field)), `names ${field}: ${res.body}`);
  }
  const noBody = await h.call('POST', '/api/webhooks');
  t.equal(noBody.statusCode, 400);
  t.equal(await eventCount(h.sql), before, 'no event written');
});

t.test('update, delete, not found and ids', async (t) => {
  const h = await testApp(t);
  const w = (await h.call('POST', '/api/webhooks', { body: { url: 'https://hooks.example.com/in', events: ['request.created'] } })).json();
  const patched = await h.call('PATCH', `/api/webhooks/${w.id}`, { body: { events: ['request.expired', 'policy.changed'], enabled: false, description: 'ops' } });
  t.equal(patched.statusCode, 200, patched.body);
  t.match(patched.json(), { events: ['request.expired', 'policy.changed'], enabled: false, description: 'ops', url: 'https://hooks.example.com/in' });
  t.notOk('secret' in patched.json());

  const rotated = await h.call('PATCH', `/api/webhooks/${w.id}`, { body: { secret: 'n'.repeat(32) } });
  t.equal(rotated.statusCode, 200);
  t.equal((await h.sql`select secret from webhooks where id = ${w.id}`)[0]!.secret, 'n'.repeat(32), 'the secret can be rotated');

  t.equal((await h.call('PATCH', `/api/webhooks/${w.id}`, { body: {} })).statusCode, 400, 'an empty patch is refused');
  t.equal((await h.call('PATCH', `/api/webhooks/${w.id}`, { body: { events: ['nope'] } })).statusCode, 400);

  const del = await h.call('DELETE', `/api/webhooks/${w.id}`);
  t.equal(del.statusCode, 200);
  t.same(del.json(), { id: w.id, deleted: true, success: true });
  for (const [method, path] of [['GET', ''], ['DELETE', ''], ['GET', '/deliveries']] as const) {
    const res = await h.call(method, `/api/webhooks/${w.id}${path}`);
    t.equal(res.statusCode, 404, `${method} ${path} after delete`);
    t.equal(res.json().error.code, 'NOT_FOUND');
  }
  t.equal((await h.call('PATCH', `/api/webhooks/${w.id}`, { body: { enabled: true } })).statusCode, 404);
  const bad = await h.call('GET', '/api/webhooks/req_01jx0000000000000000000000');
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().error.code, 'INVALID_ID');
});

t.test('the webhook:manage scope guards every route', async (t) => {
  const h = await testApp(t);
  const reader = await h.key(['request:read', 'request:create']);
  const manager = await h.key(['webhook:manage']);
  const denied = await h.call('POST', '/api/webhooks', { key: reader.key, body: { url: 'https://x.example/', events: ['*'] } });
  t.equal(denied.statusCode, 403);
  t.equal(denied.json().error.code, 'FORBIDDEN');
  t.equal((await h.call('GET', '/api/webhooks', { key: reader.key })).statusCode, 403);
  const ok = await h.call('POST', '/api/webhooks', { key: manager.key, body: { url: 'https://x.example/', events: ['*'] } });
  t.equal(ok.statusCode, 201);
  const id = ok.json().id;
  for (const [method, path] of [['GET', `/api/webhooks/${id}`], ['PATCH', `/api/webhooks/${id}`], ['DELETE', `/api/webhooks/${id}`],
    ['GET', `/api/webhooks/${id}/deliveries`], ['POST', `/api/webhooks/${id}/test`],
    ['POST', `/api/webhooks/${id}/deliveries/dlv_01jx0000000000000000000000/redeliver`]] as const) {
    const res = await h.call(method, path, { key: reader.key, ...(method === 'PATCH' ? { body: { enabled: false } } : {}) });
    t.equal(res.statusCode, 403, `${method} ${path}`);
  }
  t.equal((await h.call('GET', '/api/webhooks', { key: null })).statusCode, 401);
});

t.test('SSRF: every non-public address class is refused at create and update, naming the reason', async (t) => {
  const h = await testApp(t, { webhookAllowPrivate: false });
  const before = await eventCount(h.sql);
  const refused: Array<[string, RegExp]> = [
    ['http://127.0.0.1:8080/hook', /loopback/],
    ['http://localhost/hook', /loopback/],
    ['http://[::1]/hook', /loopback/],
    ['http://10.0.0.8/hook', /private/],
    ['http://172.20.1.1/hook', /private/],
    ['http://192.168.0.10/hook', /private/],
    ['http://[fd12::1]/hook', /private/],
    ['http://169.254.10.10/hook', /link-local/],
    ['http://[fe80::1]/hook', /link-local/],
    ['http://224.0.0.251/hook', /multicast/],
    ['http://[ff05::2]/hook', /multicast/],
    ['http://0.0.0.0/hook', /unspecified/],
    ['http://[::]/hook', /unspecified/],
    ['http://100.72.0.1/hook', /CGNAT/],
    ['http://169.254.169.254/latest/meta-data/', /metadata/],
    ['http://[fd00:ec2::254]/', /metadata/],
    ['http://metadata.google.internal/computeMetadata/v1/', /metadata/],
    ['http://[::ffff:127.0.0.1]/hook', /loopback/],
    ['http://[::ffff:a9fe:a9fe]/hook', /metadata/],
    ['http://2130706433/hook', /loopback/],
  ];
  for (const [url, reason] of refused) {
    const res = await h.call('POST', '/api/webhooks', { body: { url, events: ['*'] } });
    t.equal(res.statusCode, 400, url);
    t.equal(res.json().error.code, 'UNSAFE_WEBHOOK_URL', url);
    t.match(res.json().error.message, reason, `${url}: ${res.json().error.message}`);
  }
  t.equal(await eventCount(h.sql), before, 'nothing written for a refused URL');

  const publicIp = await h.call('POST', '/api/webhooks', { body: { url: 'https://93.184.216.34/hook', events: ['*'] } });
  t.equal(publicIp.statusCode, 201, 'a public address is accepted');
  const patched = await h.call('PATCH', `/api/webhooks/${publicIp.json().id}`, { body: { url: 'http://10.1.1.1/' } });
  t.equal(patched.statusCode, 400);
  t.equal(patched.json().error.code, 'UNSAFE_WEBHOOK_URL');
  t.equal((await h.call('GET', `/api/webhooks/${publicIp.json().id}`)).json().url, 'https://93.184.216.34/hook', 'unchanged');
});

t.test('SSRF: a URL that became unsafe is refused again at send time', async (t) => {
  const h = await testApp(t, { webhookAllowPrivate: false });
  const w = (await h.call('POST', '/api/webhooks', { body: { url: 'https://93.184.216.34/hook', events: ['*'] } })).json();
  // The stored URL points inside (as after a DNS change); the send-time check must catch it.
  await h.sql`update webhooks set url = 'http://127.0.0.1:1/hook' where id = ${w.id}`;
  const res = await h.call('POST', `/api/webhooks/${w.id}/test`);
  t.equal(res.statusCode, 200);
  t.match(res.json(), { success: false, status: null, error: /refused: .*loopback/ });
});

t.test('test ping: signed, recorded, listed in the deliveries', async (t) => {
  const h = await testApp(t);
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const w = (await h.call('POST', '/api/webhooks', { body: { url: receiver.url, events: ['request.created'] } })).json();
  const res = await h.call('POST', `/api/webhooks/${w.id}/test`);
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { success: true, status: 200, deliveryId: /^dlv_/, error: null });
  t.equal(receiver.received.length, 1);
  const [got] = receiver.received;
  t.match(got!.json, { event: 'test', deliveryId: res.json().deliveryId, data: { webhookId: w.id } });
  t.equal(got!.headers['x-agentgate-event'], 'test');
  t.equal(got!.headers['x-agentgate-delivery'], res.json().deliveryId);
  t.ok(verifySignature(w.secret, got!.body, got!.headers['x-agentgate-signature'] as string), 'v1 signature verifies');
  t.ok(verifySignature(w.secret, got!.body, got!.headers['x-agentgate-signature-v2'] as string, got!.headers['x-agentgate-timestamp'] as string), 'v2 signature verifies');
  t.notOk(verifySignature('y'.repeat(64), got!.body, got!.headers['x-agentgate-signature'] as string), 'another secret does not verify');

  receiver.respond = () => 503;
  const failed = await h.call('POST', `/api/webhooks/${w.id}/test`);
  t.match(failed.json(), { success: false, status: 503, error: /HTTP 503/ });

  const deliveries = await h.call('GET', `/api/webhooks/${w.id}/deliveries`);
  t.equal(deliveries.statusCode, 200, deliveries.body);
  const body = deliveries.json();
  t.equal(body.pagination.total, 2);
  t.match(body.deliveries[0], { id: failed.json().deliveryId, event: 'test', status: 'failed', attempts: 1, lastStatusCode: 503, history: [{ attempt: 1, ok: false, statusCode: 503 }] });
  t.match(body.deliveries[1], { id: res.json().deliveryId, status: 'success', payload: { event: 'test' }, history: [{ attempt: 1, ok: true, statusCode: 200 }] });
  const onlyFailed = await h.call('GET', `/api/webhooks/${w.id}/deliveries?status=failed`);
  t.equal(onlyFailed.json().deliveries.length, 1);
});
