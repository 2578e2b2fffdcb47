import t from 'tap';
import WebSocket from 'ws';
import { buildApp } from '../../server/src/http/app.ts';
import { Live } from '../../server/src/live/live.ts';
import { append } from '../../server/src/events/store.ts';
import { bootstrapAdminKey } from '../../server/src/keys/commands.ts';
import { testApp } from '../helpers/app.ts';
import { testDatabase } from '../helpers/db.ts';
import { connectStream, listenOn, logOrder, streamUrl, subscribe, StreamClient, until } from '../helpers/live.ts';

const systemMeta = { actor: { type: 'system' as const, id: 'test', name: 'test' }, channel: 'system' as const };

t.test('authentication and permissions', async (t) => {
  const h = await testApp(t);
  const base = await listenOn(h.app);
  const reader = await h.key(['request:read']);

  t.test('a key in the subprotocol list; only agentgate.v1 is echoed', async (t) => {
    const c = await connectStream(base, reader.key, 'protocol');
    t.equal(c.ws.protocol, 'agentgate.v1');
    const auth = await c.nextOfType('authenticated');
    t.same(auth, { type: 'authenticated', keyId: reader.id, streamTypes: ['request'] });
    await c.close();
  });

  t.test('a key in the first message', async (t) => {
    const c = await connectStream(base, reader.key, 'message');
    t.match(await c.nextOfType('authenticated'), { keyId: reader.id });
    await c.close();
  });

  t.test('a key in the Authorization header (non-browser clients)', async (t) => {
    const c = await connectStream(base, reader.key, 'header');
    t.match(await c.nextOfType('authenticated'), { keyId: reader.id });
    await c.close();
  });

  t.test('a wrong key is refused with 4001', async (t) => {
    for (const mode of ['protocol', 'message'] as const) {
      const c = await connectStream(base, 'agk_not-a-real-key', mode);
      const closed = await c.closed;
      t.equal(closed.code, 4001, mode);
      t.match(closed.reason, /not valid/);
      t.notOk(c.messages.some((m) => m.type === 'authenticated'));
    }
  });

  t.test('anything but auth first is refused with 4001', async (t) => {
    const c = await connectStream(base, null, 'none');
    c.send({ type: 'subscribe', from: 0 });
    t.equal((await c.closed).code, 4001);
    t.equal(c.events.length, 0);
  });

  t.test('a key that can read no stream is refused with 4003', async (t) => {
    const writer = await h.key(['request:create', 'request:decide']);
    const c = await connectStream(base, writer.key);
    const closed = await c.closed;
    t.equal(closed.code, 4003);
    t.match(closed.reason, /request:read/);
  });

  t.test('a revoked key is refused, and revoking closes open streams', async (t) => {
    const k = await h.key(['request:read']);
    const c = await subscribe(base, k.key);
    const revoked = await h.call('DELETE', `/api/keys/${k.id}`);
    t.ok(revoked.statusCode < 300, revoked.body);
    const closed = await c.closed;
    t.equal(closed.code, 4001);
    t.match(closed.reason, /revoked/);
    const again = await connectStream(base, k.key);
    t.equal((await again.closed).code, 4001);
  });

  t.test('losing read scopes closes the stream with 4003', async (t) => {
    const k = await h.key(['request:read', 'policy:read']);
    const c = await subscribe(base, k.key);
    const patched = await h.call('PATCH', `/api/keys/${k.id}`, { body: { scopes: ['policy:read'] } });
    t.equal(patched.statusCode, 200, patched.body);
    t.equal((await c.closed).code, 4003);
  });

  t.test('a key never appears in the URL: a ?apiKey= query is ignored', async (t) => {
    const ws = new WebSocket(`${streamUrl(base)}?apiKey=${reader.key}`, ['agentgate.v1']);
    const c = new StreamClient(ws);
    await c.opened;
    c.send({ type: 'subscribe' });
    t.equal((await c.closed).code, 4001);
  });

  t.test('each key sees only the stream types it may read; secrets never leave', async (t) => {
    const agent = await h.key(['request:create', 'request:read']);
    const auditor = await h.key(['audit:read']);
    const policyReader = await h.key(['policy:read']);
    const onlyRequests = await subscribe(base, agent.key, { from: 0 });
    const everything = await subscribe(base, auditor.key, { from: 0 });
    const onlyPolicies = await subscribe(base, policyReader.key, { from: 0 });

    const created = await h.call('POST', '/api/requests', {
      key: agent.key, body: { action: 'pay' }, headers: { 'idempotency-key': 'pay-once' },
    });
    t.equal(created.statusCode, 201, created.body);
    const policy = await h.call('POST', '/api/policies', { body: { name: 'p', priority: 1, rules: [{ match: { action: 'x' }, decision: 'auto_approve' }] } });
    t.equal(policy.statusCode, 201, policy.body);
    await h.call('POST', '/api/keys', { body: { name: 'late key', scopes: ['request:read'] } });
    // Every secret-bearing field at once, on a stream type no projection knows (only audit:read sees it).
    const [marker] = await h.sql.begin((tx) => append(tx, {
      streamId: 'other-1', streamType: 'other' as 'webhook', expectedVersion: 0,
      events: [{ type: 'other.created', data: { url: 'https://x.test/', secret: 's'.repeat(40), keyHash: 'h', idempotency: { key: 'k' } } }],
      metadata: systemMeta,
    }));

    await everything.position(marker!.position);
    const all = await logOrder(h.sql);
    t.same(everything.events.map((e) => e.position), all, 'audit:read sees the whole log, in log order');
    const kinds = new Set(everything.events.map((e) => e.streamType));
    t.same([...kinds].sort(), ['apikey', 'other', 'policy', 'request']);
    t.same(everything.events.find((e) => e.position === marker!.position)!.data, { url: 'https://x.test/' });

    const lastRequestEvent = [...everything.events].reverse().find((e) => e.streamType === 'request')!;
    await onlyRequests.position(lastRequestEvent.position);
    const lastPolicyEvent = [...everything.events].reverse().find((e) => e.streamType === 'policy')!;
    await onlyPolicies.position(lastPolicyEvent.position);
    t.ok(onlyRequests.events.length > 0);
    t.ok(onlyRequests.events.every((e) => e.streamType === 'request'));
    t.ok(onlyPolicies.events.every((e) => e.streamType === 'policy'));

    for (const e of everything.events) {
      t.notOk('keyHash' in e.data || 'secret' in e.data || 'idempotency' in e.data, `${e.eventType} carries no secret`);
    }
    const createdEvent = everything.events.find((e) => e.eventType === 'request.created' && e.data.id === created.json().id)!;
    t.match(createdEvent, {
      type: 'event', streamId: `request-${created.json().id}`, streamType: 'request', version: 1,
      eventType: 'request.created', data: { action: 'pay' }, metadata: { actor: { id: agent.id } },
    });
    t.match(createdEvent.recordedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    t.ok(everything.events.some((e) => e.eventType === 'apikey.created' && e.data.keyPrefix), 'key events keep their public fields');

    // Asking for a type the key may not read is an error, not an empty stream.
    const c = await connectStream(base, agent.key);
    await c.nextOfType('authenticated');
    c.send({ type: 'subscribe', filter: { streamTypes: ['apikey'] } });
    t.match(await c.nextOfType('error'), { error: { code: 'FORBIDDEN', details: { streamTypes: ['apikey'] } } });
    for (const x of [onlyRequests, everything, onlyPolicies, c]) await x.close();
  });
});

t.test('subscribe: filters, replay then live, bad messages', async (t) => {
  const h = await testApp(t);
  const base = await listenOn(h.app);
  const agent = await h.key(['request:create', 'request:read', 'request:decide']);
  const create = async () => (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'a' } })).json() as { id: string };
  const a = await create();
  const b = await create();

  const onlyA = await subscribe(base, agent.key, { from: 0, filter: { requestIds: [a.id] } });
  const decisions = await subscribe(base, agent.key, { filter: { types: ['request.approved', 'request.denied'] } });
  await onlyA.nextOfType('live');
  await h.call('POST', `/api/requests/${b.id}/decide`, { body: { decision: 'denied' } });
  await h.call('POST', `/api/requests/${a.id}/decide`, { body: { decision: 'approved' } });
  await onlyA.next((m) => m.type === 'event' && m.eventType === 'request.approved');
  await decisions.count(2);
  t.same(onlyA.events.map((e) => e.eventType), ['request.created', 'request.approved']);
  t.ok(onlyA.events.every((e) => e.streamId === `request-${a.id}`));
  t.same(decisions.events.map((e) => [e.eventType, e.streamId]), [['request.denied', `request-${b.id}`], ['request.approved', `request-${a.id}`]]);
  t.equal(decisions.messages.filter((m) => m.type === 'subscribed')[0]!.from, null, 'no from: live only');

  const live = onlyA.messages.findIndex((m) => m.type === 'live');
  const firstLiveEvent = onlyA.messages.findIndex((m) => m.type === 'event' && m.eventType === 'request.approved');
  t.ok(live >= 0 && live < firstLiveEvent, 'the live marker separates replay from live events');

  const c = await connectStream(base, agent.key);
  await c.nextOfType('authenticated');
  c.send({ type: 'subscribe', from: 'yesterday' });
  t.match(await c.nextOfType('error'), { error: { code: 'VALIDATION_ERROR' } });
  c.send({ type: 'subscribe', from: 99_999_999 });
  t.match(await c.next((m) => m.type === 'error' && (m.error as { code: string }).code === 'INVALID_CURSOR'), { error: { details: { field: 'message.from' } } });
  c.ws.send('not json');
  await c.next(() => c.messages.filter((m) => m.type === 'error').length === 3);
  c.send({ type: 'ping' });
  await c.nextOfType('pong');
  c.send({ type: 'subscribe', from: 0 });
  await c.nextOfType('live');
  c.send({ type: 'subscribe', from: 0 });
  await c.next(() => c.messages.filter((m) => m.type === 'error').length === 4);
  c.send({ type: 'unsubscribe' });
  t.match(await c.nextOfType('unsubscribed'), { position: Number });
  for (const x of [onlyA, decisions, c]) await x.close();
});

t.test('reconnecting with from resumes exactly after the last event seen', async (t) => {
  const h = await testApp(t);
  const base = await listenOn(h.app);
  const agent = await h.key(['request:create', 'request:read']);
  for (let i = 0; i < 10; i++) await h.call('POST', '/api/requests', { key: agent.key, body: { action: `a${i}` } });
  const first = await subscribe(base, agent.key, { from: 0, filter: { streamTypes: ['request'] } });
  await first.count(7);
  await first.close();
  const seen = first.events.map((e) => e.position);
  const last = seen[seen.length - 1]!;
  // More events while disconnected.
  for (let i = 0; i < 5; i++) await h.call('POST', '/api/requests', { key: agent.key, body: { action: `b${i}` } });
  const second = await subscribe(base, agent.key, { from: last, filter: { streamTypes: ['request'] } });
  const expected = (await h.sql<{ position: number }[]>`
    select position from events where stream_type = 'request' order by tx_id, position`).map((r) => r.position);
  await second.count(expected.length - seen.length);
  t.same([...seen, ...second.events.map((e) => e.position)], expected, 'no gap, no duplicate');
  await second.close();
});

t.test('a subscriber that stops reading is closed with 4008, after an in-order prefix', async (t) => {
  const { sql } = await testDatabase(t);
  const live = new Live(sql, { maxBufferedEvents: 20, heartbeatMs: 60_000 });
  await live.start();
  const app = await buildApp({ sql, logLevel: 'silent', live });
  t.teardown(async () => { await app.close(); await live.stop(); });
  const { key } = await bootstrapAdminKey(sql);
  const base = await listenOn(app);
  const c = await subscribe(base, key!, { filter: { streamTypes: ['bench'] } });
  await c.nextOfType('live');
  const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  const attached = live.listenerCount;
  // 40 MB of events, far beyond socket buffers: the server must drop this reader, not buffer it all.
  for (let batch = 0; batch < 8 && live.listenerCount === attached; batch++) {
    await sql`
      insert into events (stream_id, stream_type, version, type, data, metadata)
      select 'bench-' || ${batch} || '-' || g, 'bench', 1, 'bench.padding',
             jsonb_build_object('pad', repeat('x', 10000)), '{}'::jsonb
      from generate_series(1, 500) g`;
  }
  await until(() => live.listenerCount < attached, 'the server to drop the slow subscriber');
  socket.resume();
  const closed = await c.closed;
  t.equal(closed.code, 4008);
  t.match(closed.reason, /slow consumer/);
  const got = c.events.map((e) => e.position);
  const bench = (await sql<{ position: number }[]>`
    select position from events where stream_type = 'bench' order by tx_id, position`).map((r) => r.position);
  t.same(got, bench.slice(0, got.length), 'what arrived is a prefix of the log: in order, no gap, no repeat');
  t.ok(got.length < 4000, `dropped early (${got.length} events delivered)`);
});

t.test('a connection that never authenticates is closed after the auth timeout', async (t) => {
  const { sql } = await testDatabase(t);
  const live = new Live(sql, { authTimeoutMs: 100 });
  await live.start();
  const app = await buildApp({ sql, logLevel: 'silent', live });
  t.teardown(async () => { await app.close(); await live.stop(); });
  const c = await connectStream(await listenOn(app), null, 'none');
  const closed = await c.closed;
  t.equal(closed.code, 4001);
  t.match(closed.reason, /authenticate within 100 ms/);
});

t.test('shutdown closes streams with 1001', async (t) => {
  const h = await testApp(t);
  const base = await listenOn(h.app);
  const c = await subscribe(base, h.adminKey, {});
  await c.nextOfType('live');
  await h.app.close();
  t.equal((await c.closed).code, 1001);
});
