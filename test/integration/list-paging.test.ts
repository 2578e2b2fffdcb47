/**
 * Lists as the original API pages them: `limit` above the maximum is clamped (and said so
 * in `pagination.limit`), policies page with limit/offset, and the original's sort
 * directions (sort=created_at oldest first, sort=sla_remaining soonest expiry first).
 */
import t from 'tap';
import { testApp, type TestApp } from '../helpers/app.ts';
import { createWebhook, receiverFor } from '../helpers/webhook-receiver.ts';

interface Page<T> { pagination: { total: number; limit: number; offset: number; hasMore: boolean; nextCursor: string | null } ; requests: T[]; policies: T[]; deliveries: T[] }
type Req = { id: string; expiresAt: string | null; createdAt: string };

const get = async <T>(h: TestApp, url: string): Promise<Page<T>> => {
  const res = await h.call('GET', url);
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  return res.json();
};

t.test('limit above the maximum is clamped, not refused', async (t) => {
  const h = await testApp(t);
  for (let i = 0; i < 3; i++) await h.call('POST', '/api/requests', { body: { action: `a${i}` } });
  const requests = await get<Req>(h, '/api/requests?limit=200');
  t.equal(requests.pagination.limit, 100, 'requests: pagination.limit says 100');
  t.equal(requests.requests.length, 3);
  const policies = await get(h, '/api/policies?limit=1000');
  t.equal(policies.pagination.limit, 100, 'policies: clamped to 100');
  const r = await receiverFor(t);
  const w = await createWebhook(h, { url: r.url, events: ['*'] });
  const deliveries = await get(h, `/api/webhooks/${w.id}/deliveries?limit=5000`);
  t.equal(deliveries.pagination.limit, 100, 'deliveries: clamped to 100');
  t.equal((await h.call('GET', '/api/requests?limit=0')).statusCode, 400, 'a limit below 1 is still refused');
});

t.test('policies page with limit and offset, in evaluation order', async (t) => {
  const h = await testApp(t);
  const names: string[] = [];
  for (const [i, priority] of [30, 10, 20].entries()) {
    const res = await h.call('POST', '/api/policies', { body: { name: `p${i}`, priority, rules: [{ match: { action: `x${i}` }, decision: 'auto_deny' }] } });
    t.equal(res.statusCode, 201);
    names.push(`p${i}`);
  }
  const first = await get<{ name: string }>(h, '/api/policies?limit=2');
  t.same(first.policies.map((p) => p.name), ['p1', 'p2']);
  t.match(first.pagination, { total: 3, limit: 2, offset: 0, hasMore: true });
  const second = await get<{ name: string }>(h, '/api/policies?limit=2&offset=2');
  t.same(second.policies.map((p) => p.name), ['p0']);
  t.match(second.pagination, { total: 3, limit: 2, offset: 2, hasMore: false });
  const all = await get<{ name: string }>(h, '/api/policies');
  t.match(all.pagination, { total: 3, limit: 50, offset: 0, hasMore: false });
});

t.test('sort directions of the original API; sla_remaining pages by cursor too', async (t) => {
  const h = await testApp(t);
  const ids: string[] = [];
  const hour = 3_600_000;
  // expiresAt: +3h, none, +1h, none, +2h
  for (const offset of [3, null, 1, null, 2]) {
    const body: Record<string, unknown> = { action: 'sla' };
    if (offset !== null) body.expiresAt = new Date(Date.now() + offset * hour).toISOString();
    const res = await h.call('POST', '/api/requests', { body });
    ids.push(res.json().id);
  }
  const newest = await get<Req>(h, '/api/requests');
  t.same(newest.requests.map((r) => r.id), [...ids].reverse(), 'no sort: newest first');
  const byCreated = await get<Req>(h, '/api/requests?sort=created_at');
  t.same(byCreated.requests.map((r) => r.id), ids, 'sort=created_at: oldest first, as the original');
  const byCreatedDesc = await get<Req>(h, '/api/requests?sort=created_at&order=desc');
  t.same(byCreatedDesc.requests.map((r) => r.id), [...ids].reverse(), 'order=desc reverses it');

  const expected = [ids[2], ids[4], ids[0], ids[1], ids[3]];
  const bySla = await get<Req>(h, '/api/requests?sort=sla_remaining');
  t.same(bySla.requests.map((r) => r.id), expected, 'sort=sla_remaining: soonest expiry first, none last');
  const walked: string[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<Req> = await get<Req>(h, `/api/requests?sort=sla_remaining&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    walked.push(...page.requests.map((r) => r.id));
    cursor = page.pagination.nextCursor;
  } while (cursor && walked.length < 10);
  t.same(walked, expected, 'the cursor walk gives the same order, each once');
  const mixed = await h.call('GET', `/api/requests?sort=urgency&cursor=${(await get<Req>(h, '/api/requests?sort=sla_remaining&limit=1')).pagination.nextCursor}`);
  t.equal(mixed.json().error.code, 'INVALID_CURSOR', 'a cursor of another sort is refused');
});
