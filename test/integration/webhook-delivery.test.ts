import t from 'tap';
import type { Sql } from '../../server/src/db/connect.ts';
import { append } from '../../server/src/events/store.ts';
import { isId } from '../../server/src/ids.ts';
import { verifySignature } from '../../server/src/webhooks/signing.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { testDatabase } from '../helpers/db.ts';
import { createWebhook, receiverFor } from '../helpers/webhook-receiver.ts';
import { eventually, FAST, inProcessWorker, jobCount, jobSchema } from '../helpers/worker.ts';

interface DeliveryRow { id: string; status: string; attempts: number; body: string | null; redelivery_of: string | null }
interface AttemptRow { attempt: number; ok: boolean; status_code: number | null; error: string | null; attempted_at: Date; next_attempt_at: Date | null }

async function createRequest(h: TestApp, body: Record<string, unknown> = { action: 'send_email', params: { to: 'a@b.c' } }) {
  const res = await h.call('POST', '/api/requests', { body });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json() as { id: string; expiresAt: string | null };
}

const deliveries = (sql: Sql, webhookId: string) =>
  sql<DeliveryRow[]>`select * from webhook_deliveries where webhook_id = ${webhookId} order by created_at, id`;
const attempts = (sql: Sql, deliveryId: string) =>
  sql<AttemptRow[]>`select * from webhook_delivery_attempts where delivery_id = ${deliveryId} order by attempt`;

t.test('every subscribed event is delivered once per webhook, signed, in order', async (t) => {
  const h = await testApp(t);
  const r = await receiverFor(t);
  const other = await receiverFor(t);
  const w = await createWebhook(h, { url: r.url, events: ['request.created', 'request.decided'] });
  await createWebhook(h, { url: other.url, events: ['request.expired'] });
  await createWebhook(h, { url: other.url, events: ['*'], enabled: false });
  await inProcessWorker(t, h.sql, h.dbUrl);

  const req = await createRequest(h);
  const decided = await h.call('POST', `/api/requests/${req.id}/decide`, { body: { decision: 'approved', reason: 'fine' } });
  t.equal(decided.statusCode, 200);
  const got = await r.waitFor(2);
  t.same(got.map((g) => g.json.event), ['request.created', 'request.decided'], 'in event order');
  const [created, decision] = got as [typeof got[0], typeof got[0]];
  t.match(created.json.data, { id: req.id, action: 'send_email', status: 'pending', request: { id: req.id, params: { to: 'a@b.c' }, policyDecision: { decision: 'route_to_human' } } });
  t.match(decision.json.data, { id: req.id, status: 'approved', decidedBy: 'bootstrap admin', decisionReason: 'fine', request: { status: 'approved' } });
  for (const g of got) {
    t.equal(g.headers['content-type'], 'application/json');
    t.equal(g.headers['x-agentgate-event'], g.json.event);
    t.equal(g.headers['x-agentgate-delivery'], g.json.deliveryId);
    t.ok(isId('delivery', g.json.deliveryId), `${g.json.deliveryId} is a delivery id`);
    t.match(g.headers['x-agentgate-timestamp'], /^\d{10}$/, 'unix seconds');
    t.match(g.json.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    t.ok(verifySignature(w.secret, g.body, g.headers['x-agentgate-signature'] as string), 'X-AgentGate-Signature verifies');
    t.ok(verifySignature(w.secret, g.body, g.headers['x-agentgate-signature-v2'] as string, g.headers['x-agentgate-timestamp'] as string),
      'X-AgentGate-Signature-V2 verifies over timestamp.body');
  }
  t.not(created.json.deliveryId, decision.json.deliveryId);

  const list = await eventually(async () => {
    const res = (await h.call('GET', `/api/webhooks/${w.id}/deliveries`)).json();
    return res.deliveries.filter((d: { status: string }) => d.status === 'success').length === 2 && res;
  }, 'both deliveries recorded');
  t.equal(list.pagination.total, 2);
  t.match(list.deliveries[0], { event: 'request.decided', attempts: 1, lastStatusCode: 200, history: [{ attempt: 1, ok: true }] });
  t.equal(other.received.length, 0, 'no delivery to a webhook not subscribed, nor to a disabled one');
});

t.test('a receiver that fails twice then succeeds gets exactly three attempts, further and further apart', async (t) => {
  const h = await testApp(t);
  const r = await receiverFor(t);
  r.respond = (n) => (n <= 2 ? 500 : 200);
  const w = await createWebhook(h, { url: r.url, events: ['request.created'] });
  await inProcessWorker(t, h.sql, h.dbUrl);
  await createRequest(h);

  const [d] = await eventually(async () => {
    const rows = await deliveries(h.sql, w.id);
    return rows[0]?.status === 'success' && rows;
  }, 'the delivery to succeed');
  t.equal(d!.attempts, 3);
  const history = await attempts(h.sql, d!.id);
  t.same(history.map((a) => [a.attempt, a.ok, a.status_code]), [[1, false, 500], [2, false, 500], [3, true, 200]]);
  const delays = history.slice(0, 2).map((a) => a.next_attempt_at!.getTime() - a.attempted_at.getTime());
  t.same(delays, [2 * FAST.retryBaseMs, 4 * FAST.retryBaseMs], 'scheduled 2^attempt × base after each failure');
  t.equal(history[2]!.next_attempt_at, null, 'nothing after the success');

  // The last attempt's job row goes when the job completes, a moment after its event.
  await eventually(async () => (await jobCount(h.sql)) === 0, 'the last attempt\'s job to complete');
  t.equal(r.received.length, 3, 'exactly three calls: no job was left to make a fourth');
  t.same(new Set(r.received.map((g) => g.json.deliveryId)).size, 1, 'one delivery id for every attempt');
  t.same(new Set(r.received.map((g) => g.body)).size, 1, 'the same body every time');
  const gaps = [r.received[1]!.at - r.received[0]!.at, r.received[2]!.at - r.received[1]!.at];
  t.ok(gaps[0]! >= delays[0]! && gaps[1]! >= delays[1]!, `each retry waited at least its delay (${gaps.join(', ')} ms)`);
});

t.test('a delivery that keeps failing stops at the webhook maximum and is marked failed', async (t) => {
  const h = await testApp(t);
  const r = await receiverFor(t);
  r.respond = () => 503;
  const w = await createWebhook(h, { url: r.url, events: ['request.created'], maxAttempts: 3 });
  await inProcessWorker(t, h.sql, h.dbUrl);
  await createRequest(h);
  const [d] = await eventually(async () => {
    const rows = await deliveries(h.sql, w.id);
    return rows[0]?.status === 'failed' && rows;
  }, 'the delivery to be given up');
  t.equal(d!.attempts, 3);
  const history = await attempts(h.sql, d!.id);
  t.same(history.map((a) => a.next_attempt_at === null), [false, false, true], 'the last attempt schedules nothing');
  t.match(history[2]!.error, /HTTP 503/);
  await eventually(async () => (await jobCount(h.sql)) === 0, 'the last attempt\'s job to complete');
  t.equal(r.received.length, 3, 'no job was left to make a fourth attempt');
});

t.test('the worker refuses a URL that points inside at send time (SSRF), without retrying', async (t) => {
  const h = await testApp(t); // the API allows private URLs here; the worker below does not
  const r = await receiverFor(t);
  const w = await createWebhook(h, { url: r.url, events: ['request.created'] });
  await inProcessWorker(t, h.sql, h.dbUrl, { delivery: { allowPrivate: false, timeoutMs: 5000, retry: { baseMs: FAST.retryBaseMs, maxMs: 1000 } } });
  await createRequest(h);
  const [d] = await eventually(async () => {
    const rows = await deliveries(h.sql, w.id);
    return rows[0]?.status === 'failed' && rows;
  }, 'the refused delivery to be recorded');
  const history = await attempts(h.sql, d!.id);
  t.equal(history.length, 1, 'one attempt, no retry');
  t.match(history[0]!.error, /refused: .*127\.0\.0\.1.*loopback/);
  t.equal(r.received.length, 0, 'nothing reached the receiver');
});

t.test('deliveries list and redeliver', async (t) => {
  const h = await testApp(t);
  const r = await receiverFor(t);
  const w = await createWebhook(h, { url: r.url, events: ['request.created'] });
  await inProcessWorker(t, h.sql, h.dbUrl);
  const req = await createRequest(h);
  const [first] = await r.waitFor(1);
  const original = await eventually(async () => {
    const list = (await h.call('GET', `/api/webhooks/${w.id}/deliveries`)).json();
    return list.deliveries[0]?.status === 'success' && list.deliveries[0];
  }, 'the first delivery');
  t.match(original, { id: first!.json.deliveryId, event: 'request.created', redeliveryOf: null, payload: { data: { id: req.id } } });

  const again = await h.call('POST', `/api/webhooks/${w.id}/deliveries/${original.id}/redeliver`);
  t.equal(again.statusCode, 202, again.body);
  t.match(again.json(), { deliveryId: /^dlv_/, redeliveryOf: original.id, status: 'pending' });
  const [, second] = await r.waitFor(2);
  t.equal(second!.json.deliveryId, again.json().deliveryId, 'a new delivery id');
  t.same({ ...second!.json, deliveryId: null }, { ...first!.json, deliveryId: null }, 'the same event, timestamp and data');
  t.ok(verifySignature(w.secret, second!.body, second!.headers['x-agentgate-signature-v2'] as string, second!.headers['x-agentgate-timestamp'] as string));

  const list = await eventually(async () => {
    const l = (await h.call('GET', `/api/webhooks/${w.id}/deliveries`)).json();
    return l.deliveries.every((d: { status: string }) => d.status === 'success') && l.deliveries.length === 2 && l;
  }, 'the redelivery recorded');
  t.match(list.deliveries[0], { id: again.json().deliveryId, redeliveryOf: original.id, attempts: 1 });

  const unknown = await h.call('POST', `/api/webhooks/${w.id}/deliveries/dlv_01jx0000000000000000000000/redeliver`);
  t.equal(unknown.statusCode, 404);
  const badId = await h.call('POST', `/api/webhooks/${w.id}/deliveries/nope/redeliver`);
  t.equal(badId.statusCode, 400);
});

t.test('a redelivery not yet attempted cannot be redelivered (409)', async (t) => {
  const h = await testApp(t);
  const r = await receiverFor(t);
  const w = await createWebhook(h, { url: r.url, events: ['request.created'] });
  const ping = (await h.call('POST', `/api/webhooks/${w.id}/test`)).json();
  // No worker runs: the redelivery stays pending, without a body yet.
  await jobSchema(h.sql, h.dbUrl);
  const queued = (await h.call('POST', `/api/webhooks/${w.id}/deliveries/${ping.deliveryId}/redeliver`)).json();
  const res = await h.call('POST', `/api/webhooks/${w.id}/deliveries/${queued.deliveryId}/redeliver`);
  t.equal(res.statusCode, 409);
  t.equal(res.json().error.code, 'DELIVERY_NOT_ATTEMPTED');
  t.equal(await jobCount(h.sql, 'deliver_webhook'), 1, 'the queued redelivery came with its job');
});

t.test('policy changes are delivered as policy.changed', async (t) => {
  const h = await testApp(t);
  const r = await receiverFor(t);
  await createWebhook(h, { url: r.url, events: ['policy.changed'] });
  await inProcessWorker(t, h.sql, h.dbUrl);
  const createPolicy = (id: string, name: string) => h.sql.begin((tx) => append(tx, {
    streamId: `policy-${id}`, streamType: 'policy', expectedVersion: 0,
    events: [{ type: 'policy.created', data: { id, name, description: null, priority: 10, enabled: true, rules: [] } }],
    metadata: { actor: { type: 'system', id: 'test', name: 'test' }, channel: 'system' },
  }));
  const id = 'pol_01jx0000000000000000000000';
  const later = 'pol_01jx0000000000000000000002';
  await createPolicy(id, 'p');
  await createRequest(h); // not subscribed
  await createPolicy(later, 'q');
  // One queue per webhook, in event order: a delivery of the request would come before the second policy.
  const got = await r.waitFor(2);
  t.match(got[0]!.json, { event: 'policy.changed', data: { id, change: 'created', policy: { id, name: 'p', priority: 10 } } });
  t.match(got[1]!.json, { event: 'policy.changed', data: { id: later, change: 'created', policy: { id: later, name: 'q' } } },
    'request events are not sent to a policy.changed webhook');
});

t.test('the event → public name mapping, in one SQL function', async (t) => {
  const { sql } = await testDatabase(t);
  const routed = { policy: { decision: 'route_to_human' }, autoDecision: null };
  const decided = { policy: { decision: 'auto_approve' }, autoDecision: { status: 'approved' } };
  const cases: Array<[string, object, string[]]> = [
    ['request.created', routed, ['request.created']],
    ['request.created', decided, ['request.created', 'request.decided']],
    // Older writers: the outcome and the automatic decision were events of their own.
    ['request.created', {}, []], ['request.policy_evaluated', {}, ['request.created']],
    ['request.approved', {}, ['request.decided']],
    ['request.denied', {}, ['request.decided']], ['request.expired', {}, ['request.expired']], ['request.cancelled', {}, ['request.cancelled']],
    ['request.notified', {}, []], ['policy.created', {}, ['policy.changed']], ['policy.updated', {}, ['policy.changed']],
    ['policy.deleted', {}, ['policy.changed']], ['apikey.created', {}, []], ['webhook.delivery_attempted', {}, []],
  ];
  for (const [internal, data, external] of cases) {
    const [row] = await sql<{ names: string[] }[]>`
      select webhook_event_names(row(1, '1', 's', 'request', 1, ${internal}, ${sql.json(data as never)}, '{}', now())::events) as names`;
    t.same(row!.names, external, `${internal} ${JSON.stringify(data)} → ${external.join(', ') || 'nothing'}`);
  }
  const [id] = await sql<{ id: string }[]>`select new_prefixed_id('dlv') as id`;
  t.ok(isId('delivery', id!.id), `${id!.id} has the shape of our ids`);
});

t.test('a request a policy approves at once: created (pending, with the decision) then decided', async (t) => {
  const h = await testApp(t);
  const r = await receiverFor(t);
  await createWebhook(h, { url: r.url, events: ['request.created', 'request.decided'] });
  await inProcessWorker(t, h.sql, h.dbUrl);
  const id = 'pol_01jx0000000000000000000001';
  await h.sql.begin((tx) => append(tx, {
    streamId: `policy-${id}`, streamType: 'policy', expectedVersion: 0,
    events: [{ type: 'policy.created', data: { id, name: 'auto', description: null, priority: 1, enabled: true,
      rules: [{ match: { action: 'read_file' }, decision: 'auto_approve', approvers: [], channels: [], requireReason: false }] } }],
    metadata: { actor: { type: 'system', id: 'test', name: 'test' }, channel: 'system' },
  }));
  const req = await createRequest(h, { action: 'read_file' });
  t.equal((req as unknown as { status: string }).status, 'approved', 'the policy decided at once');
  const [created, decided] = await r.waitFor(2);
  t.match(created!.json, { event: 'request.created', data: { id: req.id, status: 'pending', request: { policyDecision: { decision: 'auto_approve', policyId: id } } } });
  t.match(decided!.json, { event: 'request.decided', data: { id: req.id, status: 'approved' } });
});
