/**
 * Requests over HTTP: idempotent creation, racing decisions, listing and paging,
 * cancellation rights and the recorded decider.
 */
import t from 'tap';
import { testApp, type TestApp } from '../helpers/app.ts';

const countEvents = async (h: TestApp, type: string, streamId?: string) =>
  (await h.sql<{ n: number }[]>`
    select count(*)::int as n from events where type = ${type} ${streamId ? h.sql`and stream_id = ${streamId}` : h.sql``}`)[0]!.n;

t.test('Idempotency-Key', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read']);
  const other = await h.key(['request:create']);
  const body = { action: 'charge_card', params: { amount: 12, currency: 'EUR' }, urgency: 'high' };
  const send = (key: string, b: unknown, idem: string) => h.call('POST', '/api/requests', { key, body: b, headers: { 'idempotency-key': idem } });

  const first = await send(agent.key, body, 'order-1');
  t.equal(first.statusCode, 201, 'the first create is a 201');
  const retry = await send(agent.key, body, 'order-1');
  t.equal(retry.statusCode, 200, 'the retry is a 200');
  t.equal(retry.json().id, first.json().id, 'and returns the same request');
  const reordered = await send(agent.key, { urgency: 'high', params: { currency: 'EUR', amount: 12 }, action: 'charge_card' }, 'order-1');
  t.equal(reordered.statusCode, 200, 'key order in the body does not matter');
  t.equal(reordered.json().id, first.json().id);

  const changed = await send(agent.key, { ...body, params: { amount: 13, currency: 'EUR' } }, 'order-1');
  t.equal(changed.statusCode, 422, 'same key, different body');
  t.match(changed.json(), { error: { code: 'IDEMPOTENCY_KEY_REUSED', details: { requestId: first.json().id } } });

  const otherKey = await send(other.key, body, 'order-1');
  t.equal(otherKey.statusCode, 201, 'idempotency keys belong to the API key that sent them');
  t.not(otherKey.json().id, first.json().id);

  const plain = await h.call('POST', '/api/requests', { key: agent.key, body });
  t.equal(plain.statusCode, 201, 'without the header every create is new');
  t.not(plain.json().id, first.json().id);
  t.equal(await countEvents(h, 'request.created'), 3, 'three requests, not five');

  const racers = await Promise.all(Array.from({ length: 10 }, () => send(agent.key, { action: 'race', params: { n: 1 } }, 'race-1')));
  const statuses = racers.map((r) => r.statusCode).sort();
  t.same(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 201], `one 201 and nine 200 (${racers.filter((r) => r.statusCode >= 300).map((r) => r.body).join(' | ')})`);
  t.equal(new Set(racers.map((r) => r.json().id)).size, 1, 'every racer got the same request');
  t.equal(await countEvents(h, 'request.created'), 4, '10 concurrent creates with one key → exactly one request.created');
});

t.test('20 concurrent decisions on one request', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create']);
  const reviewers = await Promise.all([h.key(['request:decide', 'request:read']), h.key(['request:decide'])]);
  const created = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy' } });
  const id = created.json().id as string;

  const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    h.call('POST', `/api/requests/${id}/decide`, { key: reviewers[i % 2]!.key, body: { decision: i % 3 === 0 ? 'denied' : 'approved', reason: `vote ${i}` } })));
  const ok = results.filter((r) => r.statusCode === 200);
  const conflicts = results.filter((r) => r.statusCode === 409);
  t.equal(ok.length, 1, 'exactly one decision wins');
  t.equal(conflicts.length, 19, 'nineteen are refused');
  t.ok(conflicts.every((r) => r.json().error.code === 'ALREADY_DECIDED'), `each with ALREADY_DECIDED (${[...new Set(conflicts.map((r) => r.json().error.code))]})`);
  const winner = ok[0]!.json();
  t.ok(conflicts.every((r) => String(r.json().error.message).includes(winner.status)), 'the message names the status');
  const decisions = (await countEvents(h, 'request.approved', `request-${id}`)) + (await countEvents(h, 'request.denied', `request-${id}`));
  t.equal(decisions, 1, 'exactly one decision event in the log');
  const now = await h.call('GET', `/api/requests/${id}`);
  t.equal(now.json().status, winner.status, 'the stored status is the winner\'s');
  t.equal(now.json().decisionReason, winner.decisionReason);
});

t.test('the decider is the principal; decidedBy is only a label', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:decide', 'request:read'], { name: 'agent' });
  const reviewer = await h.key(['request:decide', 'request:read'], { name: 'reviewer key' });
  const id = (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'wire_money' } })).json().id as string;

  const own = await h.call('POST', `/api/requests/${id}/decide`, { key: agent.key, body: { decision: 'approved', decidedBy: 'reviewer key' } });
  t.equal(own.statusCode, 403, 'a non-admin key never decides its own request, whatever label it sends');
  t.equal(own.json().error.code, 'SELF_APPROVAL_FORBIDDEN');

  const res = await h.call('POST', `/api/requests/${id}/decide`, { key: reviewer.key, body: { decision: 'denied', reason: 'too much', decidedBy: 'admin@example.com' } });
  t.equal(res.statusCode, 200, res.body);
  const r = res.json();
  t.match(r, { status: 'denied', decisionReason: 'too much', decidedByLabel: 'admin@example.com', decider: { type: 'key', id: reviewer.id, name: 'reviewer key' } });
  t.equal(r.decidedBy, 'reviewer key', 'decidedBy names the principal, not the label');
  t.ok(r.decidedAt, 'decidedAt set');
  const [event] = await h.sql<{ data: { decider: { id: string }; label: string }; metadata: { actor: { id: string } } }[]>`
    select data, metadata from events where stream_id = ${`request-${id}`} and type = 'request.denied'`;
  t.equal(event?.data.decider.id, reviewer.id, 'the event records the key as decider');
  t.equal(event?.data.label, 'admin@example.com', 'and the label beside it');
  t.equal(event?.metadata.actor.id, reviewer.id, 'the actor is the key');
  const audit = await h.call('GET', `/api/requests/${id}/audit`, { key: reviewer.key });
  const denied = (audit.json() as { eventType: string; actorInfo: { id: string } }[]).find((e) => e.eventType === 'denied');
  t.equal(denied?.actorInfo.id, reviewer.id, 'the audit trail names the key');
});

t.test('cancel', async (t) => {
  const h = await testApp(t);
  const owner = await h.key(['request:create', 'request:read']);
  const stranger = await h.key(['request:create', 'request:read']);
  const make = async () => (await h.call('POST', '/api/requests', { key: owner.key, body: { action: 'cleanup' } })).json().id as string;

  const a = await make();
  const refused = await h.call('POST', `/api/requests/${a}/cancel`, { key: stranger.key });
  t.equal(refused.statusCode, 403, "another non-admin key cannot cancel someone's request");
  t.equal(refused.json().error.code, 'NOT_CANCELLABLE');
  t.equal(await countEvents(h, 'request.cancelled'), 0, 'nothing written');

  const cancelled = await h.call('POST', `/api/requests/${a}/cancel`, { key: owner.key, body: { reason: 'not needed' } });
  t.equal(cancelled.statusCode, 200, cancelled.body);
  t.equal(cancelled.json().status, 'cancelled');
  const twice = await h.call('POST', `/api/requests/${a}/cancel`, { key: owner.key });
  t.equal(twice.statusCode, 409, 'cancelling twice is a conflict');
  t.equal(twice.json().error.code, 'ALREADY_DECIDED');
  const decideCancelled = await h.call('POST', `/api/requests/${a}/decide`, { body: { decision: 'approved' } });
  t.equal(decideCancelled.statusCode, 409, 'a cancelled request cannot be decided');

  const b = await make();
  t.equal((await h.call('POST', `/api/requests/${b}/decide`, { body: { decision: 'approved' } })).statusCode, 200);
  const late = await h.call('POST', `/api/requests/${b}/cancel`, { key: owner.key });
  t.equal(late.statusCode, 409, 'a decided request cannot be cancelled');
  t.match(late.json(), { error: { code: 'ALREADY_DECIDED', message: /approved/ } });

  const c = await make();
  const byAdmin = await h.call('POST', `/api/requests/${c}/cancel`, { body: null });
  t.equal(byAdmin.statusCode, 200, 'an admin may cancel any request');
  t.equal(await countEvents(h, 'request.cancelled'), 2);
});

t.test('listing: filters, offset and cursor pages, urgency sort', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read']);
  const urgencies = ['low', 'normal', 'high', 'critical'] as const;
  const ids: string[] = [];
  for (let i = 0; i < 23; i++) {
    const res = await h.call('POST', '/api/requests', {
      key: agent.key, body: { action: i % 2 ? 'send_email' : 'deploy', urgency: urgencies[i % 4], params: { i } },
    });
    ids.push(res.json().id);
  }
  for (const id of ids.slice(0, 3)) await h.call('POST', `/api/requests/${id}/decide`, { body: { decision: 'approved' } });
  const list = async (q: string) => {
    const res = await h.call('GET', `/api/requests?${q}`, { key: agent.key });
    t.equal(res.statusCode, 200, `GET /api/requests?${q}`);
    return res.json() as { requests: { id: string; action: string; status: string; urgency: string; createdAt: string }[]; pagination: { total: number; limit: number; offset: number; hasMore: boolean; nextCursor: string | null } };
  };

  const all = await list('');
  t.equal(all.pagination.total, 23);
  t.type(all.pagination.total, 'number', 'total is a number');
  t.equal(all.pagination.limit, 50, 'default limit 50');
  t.equal(all.pagination.hasMore, false);
  t.equal(all.pagination.nextCursor, null);
  t.same(all.requests.map((r) => r.id), [...ids].reverse(), 'newest first by default');

  const approved = await list('status=approved');
  t.same(approved.requests.map((r) => r.id).sort(), ids.slice(0, 3).sort(), 'status filter');
  t.equal(approved.pagination.total, 3);
  const emails = await list('action=send_email');
  t.ok(emails.requests.length === 11 && emails.requests.every((r) => r.action === 'send_email'), 'action filter');
  const critical = await list('urgency=critical&status=pending');
  t.ok(critical.requests.every((r) => r.urgency === 'critical' && r.status === 'pending'), 'filters combine');
  t.equal(critical.pagination.total, critical.requests.length);

  const offsetPage = await list('limit=5&offset=5');
  t.same(offsetPage.requests.map((r) => r.id), [...ids].reverse().slice(5, 10), 'offset paging');
  t.match(offsetPage.pagination, { total: 23, limit: 5, offset: 5, hasMore: true });
  const lastOffset = await list('limit=5&offset=20');
  t.equal(lastOffset.requests.length, 3);
  t.equal(lastOffset.pagination.hasMore, false);

  async function walk(base: string): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 30; page++) {
      const body = await list(`${base}&limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      t.equal(body.pagination.total, 23, 'total stays the filtered count on every page');
      seen.push(...body.requests.map((r) => r.id));
      cursor = body.pagination.nextCursor;
      t.equal(body.pagination.hasMore, cursor !== null, 'hasMore agrees with nextCursor');
      if (!cursor) return seen;
    }
    t.fail('the cursor walk did not end');
    return seen;
  }
  for (const base of ['sort=created_at', 'sort=created_at&order=asc', 'sort=urgency', 'sort=urgency&order=asc']) {
    const seen = await walk(base);
    t.equal(seen.length, 23, `${base}: 23 rows over all pages`);
    t.equal(new Set(seen).size, 23, `${base}: each request exactly once`);
  }

  // A request created mid-walk lands on neither side of the cursor twice.
  const firstPage = await list('limit=4');
  await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'late' } });
  const second = await list(`limit=4&cursor=${encodeURIComponent(firstPage.pagination.nextCursor!)}`);
  t.same(second.requests.map((r) => r.id), [...ids].reverse().slice(4, 8), 'a newer request does not shift a cursor page');

  const rank = { low: 0, normal: 1, high: 2, critical: 3 } as const;
  const byUrgency = (await list('sort=urgency&limit=100')).requests;
  const ranks = byUrgency.map((r) => rank[r.urgency as keyof typeof rank]);
  t.same(ranks, [...ranks].sort((x, y) => y - x), 'sort=urgency: most urgent first');
  const critFirst = byUrgency.filter((r) => r.urgency === 'critical').map((r) => r.createdAt);
  t.same(critFirst, [...critFirst].sort().reverse(), 'newest first within one urgency');
  const ascRanks = (await list('sort=urgency&order=asc&limit=100')).requests.map((r) => rank[r.urgency as keyof typeof rank]);
  t.same(ascRanks, [...ascRanks].sort((x, y) => x - y), 'order=asc reverses it');
});
