/**
 * Bad input is refused with a coded 4xx and writes nothing: every case below counts the
 * rows of `events` before and after.
 */
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { testApp, type TestApp } from '../helpers/app.ts';

type Call = Parameters<TestApp['call']>;

const eventCount = async (h: TestApp) => (await h.sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;

/** Sends one bad call and checks the coded error, the X-Request-Id header and that no event was written. */
async function refused(t: Test, h: TestApp, call: Call, status: number, code: string): Promise<LightMyRequestResponse> {
  const before = await eventCount(h);
  const res = await h.call(...call);
  const label = `${call[0]} ${call[1]}`;
  t.equal(res.statusCode, status, `${label} → ${status} (${res.body.slice(0, 300)})`);
  t.match(res.headers['content-type'], /application\/json/, `${label}: the error is JSON`);
  const body = res.json() as { error?: { code?: unknown; message?: unknown } };
  t.equal(body.error?.code, code, `${label} → ${code}`);
  t.type(body.error?.message, 'string', `${label}: has a message`);
  t.ok(String(body.error?.message).length > 0, `${label}: the message is not empty`);
  t.ok(res.headers['x-request-id'], `${label}: has X-Request-Id`);
  t.equal(await eventCount(h), before, `${label}: nothing written`);
  return res;
}

const fieldsOf = (res: LightMyRequestResponse) =>
  new Set(((res.json().error.details ?? []) as { field: string }[]).map((d) => d.field));

t.test('bad input', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read']);
  const created = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'send_email', params: { to: 'a@b.c' } } });
  t.equal(created.statusCode, 201, created.body);
  const reqId = created.json().id as string;

  t.test('malformed JSON', async (t) => {
    for (const raw of ['{"action":', '{action: "x"}', "{'action':'x'}", '{"action":"x"}}', 'nul']) {
      const res = await refused(t, h, ['POST', '/api/requests', { key: agent.key, body: raw }], 400, 'INVALID_JSON');
      t.notMatch(res.json().error.message, /at Object\.|node_modules/, 'no stack in the message');
    }
    await refused(t, h, ['POST', `/api/requests/${reqId}/decide`, { body: '{"decision": "approved",' }], 400, 'INVALID_JSON');
  });

  t.test('prototype keys are refused, as fastify itself would', async (t) => {
    for (const raw of [
      '{"action":"x","params":{"__proto__":{"admin":true}}}',
      '{"action":"x","context":{"a":[{"\\u005f_proto__":{"admin":true}}]}}',
      '{"action":"x","params":{"constructor":{"prototype":{"admin":true}}}}',
    ]) {
      const res = await refused(t, h, ['POST', '/api/requests', { key: agent.key, body: raw }], 400, 'INVALID_JSON');
      t.match(res.json().error.message, /forbidden/, raw);
    }
    const fine = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'x', params: { constructor: 'Acme', note: 'no __proto__ here', accent: '\u00e9' } } });
    t.equal(fine.statusCode, 201, 'a harmless "constructor" key and such text are accepted');
    t.same(fine.json().params, { constructor: 'Acme', note: 'no __proto__ here', accent: '\u00e9' });
  });

  t.test('wrong types list every bad field', async (t) => {
    const res = await refused(t, h, ['POST', '/api/requests', {
      key: agent.key, body: { action: 5, params: 'x', urgency: 'meh', expiresAt: 'not a date' },
    }], 400, 'VALIDATION_ERROR');
    const fields = fieldsOf(res);
    for (const f of ['body.action', 'body.params', 'body.urgency', 'body.expiresAt']) t.ok(fields.has(f), `details name ${f}`);
    for (const f of ['action', 'params', 'urgency', 'expiresAt']) t.match(res.json().error.message, f, `the message names ${f}`);
    const details = res.json().error.details as { field: string; message: string }[];
    t.equal(details.length, fields.size, 'one entry per bad field, however many union branches failed');
    t.equal(details.find((d) => d.field === 'body.urgency')?.message, 'must be one of: low, normal, high, critical', 'the allowed urgencies are named');
    t.match(details.find((d) => d.field === 'body.expiresAt')?.message, /date-time/, 'the expected format is named');

    const cases: [string, unknown, string][] = [
      ['a numeric string is not coerced', { action: 'x', params: { a: 1 }, urgency: 1 }, 'body.urgency'],
      ['params as an array', { action: 'x', params: [1, 2] }, 'body.params'],
      ['params as null', { action: 'x', params: null }, 'body.params'],
      ['context as a string', { action: 'x', context: 'ctx' }, 'body.context'],
      ['empty action', { action: '' }, 'body.action'],
      ['blank action', { action: '   ' }, 'body.action'],
      ['action over 200 characters', { action: 'a'.repeat(201) }, 'body.action'],
      ['missing action', { params: {} }, 'body.action'],
      ['a date without a time', { action: 'x', expiresAt: '2030-01-01' }, 'body.expiresAt'],
      ['expiresAt as a number', { action: 'x', expiresAt: 1893456000000 }, 'body.expiresAt'],
      ['unknown urgency in another case', { action: 'x', urgency: 'HIGH' }, 'body.urgency'],
    ];
    for (const [what, body, field] of cases) {
      const r = await refused(t, h, ['POST', '/api/requests', { key: agent.key, body }], 400, 'VALIDATION_ERROR');
      t.ok(fieldsOf(r).has(field), `${what}: details name ${field} (${JSON.stringify(r.json().error.details)})`);
    }
    const past = await refused(t, h, ['POST', '/api/requests', { key: agent.key, body: { action: 'x', expiresAt: '2001-01-01T00:00:00.000Z' } }], 400, 'VALIDATION_ERROR');
    t.match(past.json().error.message, /future/, 'an expiry in the past is refused');

    for (const body of [[], 'null', '"a string"', '42']) {
      await refused(t, h, ['POST', '/api/requests', { key: agent.key, body }], 400, 'VALIDATION_ERROR');
    }
    const empty = await refused(t, h, ['POST', '/api/requests', { key: agent.key, headers: { 'content-type': 'application/json' } }], 400, 'VALIDATION_ERROR');
    t.ok(fieldsOf(empty).size > 0, 'a missing body names a field');

    const decide = await refused(t, h, ['POST', `/api/requests/${reqId}/decide`, { body: { decision: 'maybe', reason: 5 } }], 400, 'VALIDATION_ERROR');
    t.ok(fieldsOf(decide).has('body.decision') && fieldsOf(decide).has('body.reason'), 'decide: both bad fields named');
    await refused(t, h, ['POST', `/api/requests/${reqId}/decide`, {}], 400, 'VALIDATION_ERROR');
    await refused(t, h, ['POST', `/api/requests/${reqId}/decide`, { body: {} }], 400, 'VALIDATION_ERROR');

    const key = await refused(t, h, ['POST', '/api/keys', { body: { name: 'k', scopes: ['root', 'request:read'], rateLimit: '5' } }], 400, 'VALIDATION_ERROR');
    t.ok(fieldsOf(key).has('body.scopes.0') && fieldsOf(key).has('body.rateLimit'), `keys: bad scope and string rateLimit named (${[...fieldsOf(key)]})`);
    await refused(t, h, ['POST', '/api/keys', { body: { name: 'k', scopes: [] } }], 400, 'VALIDATION_ERROR');
    await refused(t, h, ['POST', '/api/keys', { body: { name: 'k', scopes: ['request:read'], rateLimit: 0 } }], 400, 'VALIDATION_ERROR');
  });

  t.test('unknown fields are refused, not ignored', async (t) => {
    const create = await refused(t, h, ['POST', '/api/requests', { key: agent.key, body: { action: 'x', prams: {} } }], 400, 'VALIDATION_ERROR');
    t.ok(fieldsOf(create).has('body.prams'), 'create: the unknown field is named');
    const decide = await refused(t, h, ['POST', `/api/requests/${reqId}/decide`, { body: { decision: 'approved', decided_by: 'me' } }], 400, 'VALIDATION_ERROR');
    t.ok(fieldsOf(decide).has('body.decided_by'), 'decide: the unknown field is named');
    const cancel = await refused(t, h, ['POST', `/api/requests/${reqId}/cancel`, { key: agent.key, body: { reason: 'x', force: true } }], 400, 'VALIDATION_ERROR');
    t.ok(fieldsOf(cancel).has('body.force'), 'cancel: the unknown field is named');
    const key = await refused(t, h, ['POST', '/api/keys', { body: { name: 'k', scopes: ['request:read'], admin: true } }], 400, 'VALIDATION_ERROR');
    t.ok(fieldsOf(key).has('body.admin'), 'keys: the unknown field is named');
    t.equal((await h.call('GET', `/api/requests/${reqId}`)).json().status, 'pending', 'the request is untouched');
  });

  t.test('wrong content type', async (t) => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      await refused(t, h, ['POST', '/api/requests', { key: agent.key, body: '{"action":"x"}', headers: { 'content-type': type } }], 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    const ok = await h.call('POST', '/api/requests', { key: agent.key, body: '{"action":"charset_ok"}', headers: { 'content-type': 'application/json; charset=utf-8' } });
    t.equal(ok.statusCode, 201, 'application/json with a charset is accepted');
  });

  t.test('bad ids', async (t) => {
    for (const id of ['nope', 'pol_01aaaaaaaaaaaaaaaaaaaaaaaa', 'req_', 'req_01AAAAAAAAAAAAAAAAAAAAAAAA!', "req_' or 1=1 --"]) {
      const enc = encodeURIComponent(id);
      await refused(t, h, ['GET', `/api/requests/${enc}`, {}], 400, 'INVALID_ID');
      await refused(t, h, ['POST', `/api/requests/${enc}/decide`, { body: { decision: 'approved' } }], 400, 'INVALID_ID');
      await refused(t, h, ['POST', `/api/requests/${enc}/cancel`, { key: agent.key }], 400, 'INVALID_ID');
      await refused(t, h, ['GET', `/api/requests/${enc}/audit`, {}], 400, 'INVALID_ID');
      await refused(t, h, ['DELETE', `/api/keys/${enc}`, {}], 400, 'INVALID_ID');
    }
    const unknown = 'req_01aaaaaaaaaaaaaaaaaaaaaaaa';
    await refused(t, h, ['GET', `/api/requests/${unknown}`, {}], 404, 'NOT_FOUND');
    await refused(t, h, ['POST', `/api/requests/${unknown}/decide`, { body: { decision: 'approved' } }], 404, 'NOT_FOUND');
  });

  t.test('unknown routes, and known paths with the wrong method', async (t) => {
    await refused(t, h, ['GET', '/api/nope', {}], 404, 'ROUTE_NOT_FOUND');
    await refused(t, h, ['POST', '/api/requests/x/y/z', { body: {} }], 404, 'ROUTE_NOT_FOUND');
    await refused(t, h, ['PUT', '/api/requests', { key: agent.key, body: { action: 'x' } }], 405, 'METHOD_NOT_ALLOWED');
    await refused(t, h, ['GET', '/nowhere', { key: null }], 404, 'ROUTE_NOT_FOUND');
  });

  t.test('bad queries', async (t) => {
    const list = (q: string) => ['GET', `/api/requests?${q}`, { key: agent.key }] as Call;
    const limitless = await refused(t, h, list('limit=0'), 400, 'VALIDATION_ERROR');
    t.ok(fieldsOf(limitless).has('querystring.limit'), 'limit named');
    await refused(t, h, list('limit=ten'), 400, 'VALIDATION_ERROR');
    await refused(t, h, list('offset=-1'), 400, 'VALIDATION_ERROR');
    await refused(t, h, list('status=done'), 400, 'VALIDATION_ERROR');
    await refused(t, h, list('urgency=meh'), 400, 'VALIDATION_ERROR');
    await refused(t, h, list('sort=name'), 400, 'VALIDATION_ERROR');
    const page = await h.call('GET', '/api/requests?limit=1', { key: agent.key });
    const cursor = page.json().pagination.nextCursor as string;
    t.type(cursor, 'string', 'a next cursor to misuse');
    const both = await refused(t, h, list(`offset=1&cursor=${cursor}`), 400, 'VALIDATION_ERROR');
    t.match(both.json().error.message, /offset or cursor/);
    await refused(t, h, list('cursor=garbage'), 400, 'INVALID_CURSOR');
    await refused(t, h, list(`cursor=${Buffer.from('{"c":"yesterday","i":"x"}').toString('base64url')}`), 400, 'INVALID_CURSOR');
    await refused(t, h, list(`sort=urgency&cursor=${cursor}`), 400, 'INVALID_CURSOR');
    await refused(t, h, ['GET', '/api/audit?limit=0', {}], 400, 'VALIDATION_ERROR');
    await refused(t, h, ['GET', '/api/audit?from=last-week', {}], 400, 'VALIDATION_ERROR');
    await refused(t, h, ['GET', '/api/audit?to=2026-02-30', {}], 400, 'VALIDATION_ERROR');
    await refused(t, h, ['GET', '/api/audit?status=approvd', {}], 400, 'VALIDATION_ERROR');
    await refused(t, h, ['GET', `/api/audit?offset=1&cursor=${Buffer.from('9').toString('base64url')}`, {}], 400, 'VALIDATION_ERROR');
  });

  t.test('error bodies and request ids', async (t) => {
    const given = 'client-trace.42:abc';
    const echoed = await h.call('GET', '/api/requests/nope', { headers: { 'x-request-id': given } });
    t.equal(echoed.headers['x-request-id'], given, 'an incoming X-Request-Id is echoed on an error');
    const okEcho = await h.call('GET', '/api/requests', { headers: { 'x-request-id': given } });
    t.equal(okEcho.headers['x-request-id'], given, 'and on a success');
    const anon = await h.call('GET', '/api/requests', { key: null, headers: { 'x-request-id': given } });
    t.equal(anon.headers['x-request-id'], given, 'and on a 401');
    const health = await h.call('GET', '/health', { key: null, headers: { 'x-request-id': given } });
    t.equal(health.headers['x-request-id'], given, 'and on a public route');

    const generated = new Set<string>();
    for (let i = 0; i < 3; i++) generated.add(String((await h.call('GET', '/api/requests/nope')).headers['x-request-id']));
    t.equal(generated.size, 3, 'generated request ids are distinct');

    for (const bad of ['has space', 'x'.repeat(129), '<script>', 'a\u00e9b']) {
      const res = await h.call('GET', '/api/requests', { headers: { 'x-request-id': bad } });
      t.ok(res.headers['x-request-id'], 'an id is always sent');
      t.not(res.headers['x-request-id'], bad, `an unsafe X-Request-Id (${bad.slice(0, 12)}…) is replaced, not echoed`);
    }
    const created = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'traced' }, headers: { 'x-request-id': 'trace-create-1' } });
    t.equal(created.statusCode, 201);
    const [event] = await h.sql<{ metadata: { requestId?: string } }[]>`
      select metadata from events where stream_id = ${`request-${created.json().id}`} order by version limit 1`;
    t.equal(event?.metadata.requestId, 'trace-create-1', 'the request id is recorded on the event it caused');
  });
});

t.test('an oversized body is a 413 and writes nothing', async (t) => {
  const h = await testApp(t, { bodyLimit: 2048 });
  const agent = await h.key(['request:create']);
  const big = { action: 'big', params: { blob: 'x'.repeat(4096) } };
  await refused(t, h, ['POST', '/api/requests', { key: agent.key, body: big }], 413, 'BODY_TOO_LARGE');
  // A body just under the limit still works: the limit is the only reason for the 413.
  const small = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'small', params: { blob: 'x'.repeat(1500) } } });
  t.equal(small.statusCode, 201, small.body);
  const before = await eventCount(h);
  const noKey = await h.call('POST', '/api/requests', { key: null, body: big });
  t.equal(noKey.statusCode, 401, 'without a key the answer is 401 before the body is even read');
  t.equal(await eventCount(h), before);
});
