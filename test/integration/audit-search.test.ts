/**
 * GET /api/audit as the original clients use it: printed actors (and the structured form
 * beside them), the request summary, `status` and `offset`, dates without a time;
 * GET /api/audit/actors and /api/audit/actions.
 */
import t from 'tap';
import { testApp } from '../helpers/app.ts';

interface Entry {
  position: number;
  eventType: string;
  event: string;
  requestId: string | null;
  actor: string;
  actorInfo: { type: string; id: string; name: string };
  request: { id: string; action: string; status: string; urgency: string } | null;
  createdAt: string;
}

t.test('audit search', async (t) => {
  const h = await testApp(t);
  const bot = await h.key(['request:create', 'request:read'], { name: 'ops-bot' });
  const approver = await h.key(['request:decide', 'request:read'], { name: 'approver' });
  const auditor = await h.key(['audit:read'], { name: 'auditor' });
  const policy = await h.call('POST', '/api/policies', { body: { name: 'small-payments', priority: 1, rules: [{ match: { action: 'pay' }, decision: 'auto_approve' }] } });
  t.equal(policy.statusCode, 201, policy.body);

  const paid = (await h.call('POST', '/api/requests', { key: bot.key, body: { action: 'pay', urgency: 'low' } })).json();
  const deploy = (await h.call('POST', '/api/requests', { key: bot.key, body: { action: 'deploy', urgency: 'high' } })).json();
  const waiting = (await h.call('POST', '/api/requests', { key: bot.key, body: { action: 'deploy', urgency: 'normal' } })).json();
  t.equal(paid.status, 'approved', 'the policy approved the payment');
  const decided = await h.call('POST', `/api/requests/${deploy.id}/decide`, { key: approver.key, body: { decision: 'approved' } });
  t.equal(decided.statusCode, 200, decided.body);

  const search = async (query: string) => {
    const res = await h.call('GET', `/api/audit${query}`, { key: auditor.key });
    t.equal(res.statusCode, 200, `${query}: ${res.body.slice(0, 300)}`);
    return res.json() as { entries: Entry[]; pagination: { total: number; limit: number; offset: number; hasMore: boolean; nextCursor: string | null } };
  };

  const all = await search('?limit=500');
  t.ok(all.entries.length >= 8, 'keys, policy, requests and the decision are all in the log');

  t.test('entries print their actor and carry the structured form beside it', async (t) => {
    const created = all.entries.find((e) => e.requestId === deploy.id && e.eventType === 'created')!;
    t.equal(created.actor, 'key:ops-bot');
    t.match(created.actorInfo, { type: 'key', id: bot.id, name: 'ops-bot' });
    const approved = all.entries.find((e) => e.requestId === deploy.id && e.eventType === 'approved')!;
    t.equal(approved.actor, 'key:approver');
    const keyMade = all.entries.find((e) => e.event === 'apikey.created' && e.actorInfo.type === 'system');
    t.equal(keyMade?.actor, 'system', 'the bootstrap key was made by the server itself');
    t.ok(all.entries.every((e) => typeof e.actor === 'string' && e.actor.length > 0), 'every actor is printable');
  });

  t.test('entries about a request carry its summary as it stands now', async (t) => {
    const created = all.entries.find((e) => e.requestId === deploy.id && e.eventType === 'created')!;
    t.same(created.request, { id: deploy.id, action: 'deploy', status: 'approved', urgency: 'high' });
    const policyEntry = all.entries.find((e) => e.event === 'policy.created')!;
    t.equal(policyEntry.request, null, 'other streams have none');
    const trail = (await h.call('GET', `/api/requests/${waiting.id}/audit`)).json() as Entry[];
    t.same(trail[0]!.request, { id: waiting.id, action: 'deploy', status: 'pending', urgency: 'normal' }, 'the request trail too');
    t.equal(trail[0]!.actor, 'key:ops-bot');
  });

  t.test('status filters on the request\'s current status', async (t) => {
    const pending = await search('?status=pending');
    t.ok(pending.entries.length >= 1);
    t.ok(pending.entries.every((e) => e.requestId === waiting.id), 'only the waiting request');
    t.equal(pending.pagination.total, pending.entries.length);
    const approved = await search('?status=approved&action=deploy');
    t.ok(approved.entries.every((e) => e.requestId === deploy.id));
    t.same(new Set(approved.entries.map((e) => e.eventType)), new Set(['created', 'approved']));
  });

  t.test('actor filters by the printed form, and still by a bare name or id', async (t) => {
    const byBot = await search('?actor=key:ops-bot');
    t.equal(byBot.entries.length, 3, 'the three creates');
    t.ok(byBot.entries.every((e) => e.actor === 'key:ops-bot'));
    t.equal((await search(`?actor=${encodeURIComponent('ops-bot')}`)).entries.length, 3, 'a bare name');
    t.equal((await search(`?actor=${bot.id}`)).entries.length, 3, 'an id');
    const system = await search('?actor=system');
    t.ok(system.entries.length >= 1);
    t.ok(system.entries.every((e) => e.actor === 'system'));
    t.equal((await search('?actor=key:nobody')).entries.length, 0);
    t.equal((await search('?actor=reviewer:ops-bot')).entries.length, 0, 'the type is part of the filter');
  });

  t.test('GET /api/audit/actors lists each printed actor once, sorted', async (t) => {
    const res = await h.call('GET', '/api/audit/actors', { key: auditor.key });
    t.equal(res.statusCode, 200);
    const { actors, truncated } = res.json() as { actors: string[]; truncated: boolean };
    t.equal(truncated, false);
    for (const a of ['key:ops-bot', 'key:approver', 'system']) t.ok(actors.includes(a), a);
    t.same(actors, [...new Set(actors)].sort(), 'distinct and sorted');
    for (const a of actors) {
      t.ok((await search(`?actor=${encodeURIComponent(a)}&limit=1`)).entries.length === 1, `${a} filters to its entries`);
    }
    t.equal((await h.call('GET', '/api/audit/actors', { key: bot.key })).statusCode, 403, 'audit:read is needed');
  });

  t.test('GET /api/audit/actions lists the requests\' actions', async (t) => {
    const res = await h.call('GET', '/api/audit/actions', { key: auditor.key });
    t.same(res.json(), { actions: ['deploy', 'pay'], truncated: false });
  });

  t.test('offset pages like the original; the cursor still works; limit is clamped', async (t) => {
    const page = await search('?limit=2&offset=1');
    t.same(page.entries.map((e) => e.position), all.entries.slice(1, 3).map((e) => e.position));
    t.equal(page.pagination.offset, 1);
    t.equal(page.pagination.limit, 2);
    t.equal(page.pagination.total, all.pagination.total);
    const first = await search('?limit=2');
    const next = await search(`?limit=2&cursor=${first.pagination.nextCursor}`);
    t.same(next.entries.map((e) => e.position), all.entries.slice(2, 4).map((e) => e.position));
    const big = await search('?limit=10000');
    t.equal(big.pagination.limit, 500, 'clamped to the maximum');
  });

  t.test('a date without a time covers that whole day (UTC)', async (t) => {
    const day = all.entries[0]!.createdAt.slice(0, 10);
    const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const prev = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const sameDay = all.entries.filter((e) => e.createdAt.startsWith(day)).length;
    t.equal((await search(`?to=${day}&limit=500`)).entries.length, all.entries.length - all.entries.filter((e) => e.createdAt.slice(0, 10) > day).length,
      'to=<today> includes everything until the end of today');
    t.equal((await search(`?from=${day}&to=${day}&limit=500`)).entries.length, sameDay, 'from and to the same day: that day');
    t.equal((await search(`?to=${prev}`)).entries.length, 0, 'to=<yesterday> ends before today');
    t.equal((await search(`?from=${next}`)).entries.length, 0, 'from=<tomorrow> starts after today');
    const newest = all.entries[0]!.createdAt;
    t.equal((await search(`?to=${encodeURIComponent(newest)}&limit=500`)).entries.length, all.entries.filter((e) => e.createdAt < newest).length,
      'a date-time stays an exclusive instant');
  });
});
