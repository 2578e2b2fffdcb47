/**
 * Shapes the original project's clients rely on: webhook filters by outcome, key lists
 * with revoked keys, `active` and `lastUsedAt`, the create messages and revoke's `success`.
 */
import t from 'tap';
import { testApp } from '../helpers/app.ts';
import { createWebhook, receiverFor } from '../helpers/webhook-receiver.ts';
import { inProcessWorker } from '../helpers/worker.ts';

t.test('request.approved and request.denied filter request.decided by outcome, under the original names', async (t) => {
  const h = await testApp(t);
  const approvedOnly = await receiverFor(t);
  const both = await receiverFor(t);
  const decided = await receiverFor(t);
  await createWebhook(h, { url: approvedOnly.url, events: ['request.approved'] });
  await createWebhook(h, { url: both.url, events: ['request.approved', 'request.denied'] });
  await createWebhook(h, { url: decided.url, events: ['request.decided', 'request.approved'] });
  await inProcessWorker(t, h.sql, h.dbUrl);

  const ids: string[] = [];
  for (const decision of ['approved', 'denied'] as const) {
    const req = (await h.call('POST', '/api/requests', { body: { action: 'deploy' } })).json() as { id: string };
    ids.push(req.id);
    t.equal((await h.call('POST', `/api/requests/${req.id}/decide`, { body: { decision } })).statusCode, 200);
  }
  const gotBoth = await both.waitFor(2);
  t.same(gotBoth.map((g) => [g.json.event, g.json.data.id, g.json.data.status]),
    [['request.approved', ids[0], 'approved'], ['request.denied', ids[1], 'denied']], 'each outcome under its own name');
  t.same(gotBoth.map((g) => g.headers['x-agentgate-event']), ['request.approved', 'request.denied']);
  const gotDecided = await decided.waitFor(2);
  t.same(gotDecided.map((g) => g.json.event), ['request.decided', 'request.decided'], 'a request.decided subscriber gets one delivery per decision, under our name');
  const [onlyApproved] = await approvedOnly.waitFor(1);
  t.match(onlyApproved!.json, { event: 'request.approved', data: { id: ids[0], request: { status: 'approved' } } });
  // The denial reached the other webhooks, so it would have reached this one by now.
  t.equal(approvedOnly.received.length, 1, 'no denial for a request.approved subscriber');

  const bad = await h.call('POST', '/api/webhooks', { body: { url: both.url, events: ['request.approve'] } });
  t.equal(bad.statusCode, 400, 'an unknown name is still refused');
});

t.test('key lists include revoked keys (active: false) and lastUsedAt; creates carry a message, revokes success', async (t) => {
  const h = await testApp(t);
  const created = await h.call('POST', '/api/keys', { body: { name: 'ops-bot', scopes: ['request:read'] } });
  t.equal(created.statusCode, 201);
  t.match(created.json(), { id: /^key_/, key: /^agk_/, name: 'ops-bot', message: 'Save this key - it will not be shown again' });
  const { id, key } = created.json() as { id: string; key: string };

  const fresh = (await h.call('GET', `/api/keys/${id}`)).json();
  t.match(fresh, { active: true, revoked: false, lastUsedAt: null }, 'never used yet');
  const before = Date.now();
  t.equal((await h.call('GET', '/api/requests', { key })).statusCode, 200);
  const used = await (async () => {
    for (let i = 0; i < 100; i++) {
      const k = (await h.call('GET', `/api/keys/${id}`)).json() as { lastUsedAt: string | null };
      if (k.lastUsedAt) return k;
      await new Promise((r) => setTimeout(r, 20));
    }
    return null;
  })();
  t.ok(used && Date.parse(used.lastUsedAt!) >= before - 1000, 'lastUsedAt is set by the key\'s use');

  const revoked = await h.call('DELETE', `/api/keys/${id}`);
  t.equal(revoked.statusCode, 200);
  t.match(revoked.json(), { id, success: true, message: 'API key revoked', active: false, revoked: true });

  const list = (await h.call('GET', '/api/keys')).json() as { keys: Array<{ id: string; active: boolean; lastUsedAt: string | null }> };
  const listed = list.keys.find((k) => k.id === id);
  t.match(listed, { active: false, lastUsedAt: used!.lastUsedAt }, 'the revoked key is listed, inactive, with its last use');
  t.ok(list.keys.some((k) => k.active), 'beside the active ones');
  const activeOnly = (await h.call('GET', '/api/keys?includeRevoked=false')).json() as { keys: Array<{ id: string }> };
  t.notOk(activeOnly.keys.some((k) => k.id === id), 'includeRevoked=false leaves revoked keys out');
  const original = (await h.call('GET', '/api/api-keys')).json() as { keys: Array<{ id: string }> };
  t.ok(original.keys.some((k) => k.id === id), 'the original path lists them too');
});

t.test('a webhook create carries the message; a delete answers success', async (t) => {
  const h = await testApp(t);
  const r = await receiverFor(t);
  const res = await h.call('POST', '/api/webhooks', { body: { url: r.url, events: ['request.approved'] } });
  t.equal(res.statusCode, 201);
  t.match(res.json(), { id: /^whk_/, secret: /.{32,}/, enabled: true, events: ['request.approved'], message: 'Save this secret - it will not be shown again' });
  const del = await h.call('DELETE', `/api/webhooks/${res.json().id}`);
  t.same(del.json(), { id: res.json().id, deleted: true, success: true });
});
