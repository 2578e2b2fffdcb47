/**
 * A policy's decision at creation is an audit entry of its own: the log records it inside the
 * one `request.created`, and an auditor reads "created by key:X" then "approved by policy:Y",
 * as for a request someone decided. Its id, its place in the order and in cursor pages, the
 * eventType and actor filters, the actors list and the totals.
 */
import t from 'tap';
import { testApp } from '../helpers/app.ts';

interface Entry {
  id: string;
  position: number;
  eventType: string;
  event: string;
  requestId: string | null;
  actor: string;
  actorInfo: { type: string; id: string; name: string };
  details: Record<string, unknown>;
  request: { id: string; action: string; status: string; urgency: string } | null;
}
interface Page { entries: Entry[]; pagination: { total: number; limit: number; offset: number; hasMore: boolean; nextCursor: string | null } }

t.test("a policy's decision at creation", async (t) => {
  const h = await testApp(t);
  const bot = await h.key(['request:create', 'request:read'], { name: 'ops-bot' });
  const auditor = await h.key(['audit:read'], { name: 'auditor' });
  const approving = (await h.call('POST', '/api/policies', { body: { name: 'small-payments', priority: 1, rules: [{ match: { action: 'pay' }, decision: 'auto_approve' }] } })).json();
  const denying = (await h.call('POST', '/api/policies', { body: { name: 'no-drops', priority: 2, rules: [{ match: { action: 'drop_table' }, decision: 'auto_deny' }] } })).json();

  const paid = (await h.call('POST', '/api/requests', { key: bot.key, body: { action: 'pay', params: { amount: 5 } } })).json();
  const dropped = (await h.call('POST', '/api/requests', { key: bot.key, body: { action: 'drop_table' } })).json();
  const deploy = (await h.call('POST', '/api/requests', { key: bot.key, body: { action: 'deploy' } })).json();
  t.equal(paid.status, 'approved');
  t.equal(dropped.status, 'denied');
  t.equal((await h.call('POST', `/api/requests/${deploy.id}/decide`, { body: { decision: 'approved', reason: 'release window' } })).statusCode, 200);

  const search = async (query: string): Promise<Page> => {
    const res = await h.call('GET', `/api/audit${query}`, { key: auditor.key });
    t.equal(res.statusCode, 200, `${query}: ${res.body.slice(0, 300)}`);
    return res.json() as Page;
  };
  const trail = async (id: string) => (await h.call('GET', `/api/requests/${id}/audit`)).json() as Entry[];
  const [paidCreated] = await h.sql<{ position: number }[]>`select position from events where stream_id = ${`request-${paid.id}`} and version = 1`;
  const position = paidCreated!.position;

  t.test("the request's trail reads created by the key, then decided by the policy", async (t) => {
    const entries = await trail(paid.id);
    t.same(entries.map((e) => [e.eventType, e.actor]), [['created', 'key:ops-bot'], ['approved', 'policy:small-payments']]);
    const [created, approved] = entries as [Entry, Entry];
    t.equal(created.id, String(position), "the event's own entry keeps the position as its id");
    t.equal(approved.id, `${position}.1`, 'the decision it carries has an id of its own');
    t.equal(approved.position, position, 'at the position of the request.created that records it');
    t.equal(approved.event, 'request.approved', 'read like the decision event of a decided request');
    t.match(approved.actorInfo, { type: 'policy', id: approving.id, name: 'policy:small-payments' });
    t.match(approved.details, { decider: { type: 'policy', id: approving.id }, label: null, reason: String });
    t.same(approved.request, { id: paid.id, action: 'pay', status: 'approved', urgency: 'normal' });
    t.same((await trail(dropped.id)).map((e) => [e.eventType, e.actor]), [['created', 'key:ops-bot'], ['denied', 'policy:no-drops']]);
    const decided = await trail(deploy.id);
    t.same(decided.map((e) => e.eventType), ['created', 'approved'], 'a request someone decided reads the same way');
    t.match(decided.map((e) => e.actor), ['key:ops-bot', /^key:/]);
  });

  t.test('actor=policy:<name> finds the decisions that policy made', async (t) => {
    const byPolicy = await search('?actor=policy:small-payments');
    t.same(byPolicy.entries.map((e) => [e.id, e.requestId, e.eventType]), [[`${position}.1`, paid.id, 'approved']]);
    t.equal(byPolicy.pagination.total, 1);
    const denials = await search('?actor=policy:no-drops');
    t.same(denials.entries.map((e) => [e.requestId, e.eventType, e.actor]), [[dropped.id, 'denied', 'policy:no-drops']]);
    t.same((await search(`?actor=${approving.id}`)).entries.map((e) => e.id), [`${position}.1`], 'a bare policy id too');
    t.equal((await search('?actor=key:ops-bot')).entries.length, 3, 'the key made the three requests, and decided none of them');
    t.notOk((await search('?actor=system')).entries.some((e) => e.actorInfo.type === 'policy'));
  });

  t.test('eventType filters find the decision', async (t) => {
    for (const type of ['approved', 'request.approved']) {
      const approved = await search(`?eventType=${type}`);
      t.same(approved.entries.map((e) => e.requestId), [deploy.id, paid.id], `${type}: the person's decision and the policy's, newest first`);
      t.equal(approved.pagination.total, 2);
    }
    t.same((await search('?eventType=denied')).entries.map((e) => [e.requestId, e.actor]), [[dropped.id, 'policy:no-drops']]);
    const created = await search('?eventType=created');
    t.equal(created.entries.length, 3, 'created: the creations only');
    t.ok(created.entries.every((e) => e.actor === 'key:ops-bot'));
    t.same((await search('?eventType=approved&actor=policy:small-payments')).entries.map((e) => e.requestId), [paid.id]);
    t.equal((await search('?eventType=denied&actor=policy:small-payments')).entries.length, 0);
  });

  t.test('GET /api/audit/actors lists the policies that decided', async (t) => {
    const { actors } = (await h.call('GET', '/api/audit/actors', { key: auditor.key })).json() as { actors: string[] };
    t.ok(actors.includes('policy:small-payments'), actors.join(', '));
    t.ok(actors.includes('policy:no-drops'));
    t.same(actors, [...new Set(actors)].sort(), 'distinct and sorted');
  });

  t.test('totals count both entries', async (t) => {
    const all = await search('?limit=500');
    const [{ n: events }] = await h.sql<[{ n: number }]>`select count(*)::int as n from events`;
    t.equal(all.pagination.total, events + 2, 'one entry per event, one more per decision made at creation');
    t.equal(all.entries.length, all.pagination.total);
    t.equal(new Set(all.entries.map((e) => e.id)).size, all.entries.length, 'ids are unique');
    const ids = all.entries.map((e) => e.id);
    t.ok(ids.indexOf(`${position}.1`) === ids.indexOf(String(position)) - 1, 'newest first: the decision reads above its creation');
    t.equal((await search(`?requestId=${paid.id}`)).pagination.total, 2);
    t.equal((await search('?action=pay')).pagination.total, 2);
    t.same((await search('?action=pay&status=approved')).entries.map((e) => e.eventType), ['approved', 'created']);
    t.equal((await search('?status=denied')).pagination.total, 2);
  });

  t.test('cursor pages neither skip nor repeat an entry, whatever the page size', async (t) => {
    const all = (await search('?limit=500')).entries.map((e) => e.id);
    for (const limit of [1, 2, 3, 5]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Page = await search(`?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.entries.map((e) => e.id));
        t.equal(page.pagination.total, all.length, `limit ${limit}: every page reports the total`);
        cursor = page.pagination.nextCursor;
      } while (cursor);
      t.same(seen, all, `limit ${limit}: every entry once, in order`);
    }
    // A page ending between the two entries of one event.
    const at = all.indexOf(`${position}.1`);
    const first = await search(`?limit=${at + 1}`);
    t.equal(first.entries.at(-1)!.id, `${position}.1`, 'the page ends on the decision');
    const next = await search(`?limit=2&cursor=${first.pagination.nextCursor}`);
    t.equal(next.entries[0]!.id, String(position), 'the next page starts with its creation');
    // Offsets agree with the cursor.
    t.same((await search(`?limit=2&offset=${at}`)).entries.map((e) => e.id), [`${position}.1`, String(position)]);
  });

  t.test('a cursor of the older form (a position) still pages: entries before that position', async (t) => {
    const old = Buffer.from(String(position + 1)).toString('base64url');
    const page = await search(`?limit=2&cursor=${old}`);
    t.same(page.entries.map((e) => e.id), [`${position}.1`, String(position)]);
    const bad = await h.call('GET', `/api/audit?cursor=${Buffer.from('{"p":1,"e":7}').toString('base64url')}`, { key: auditor.key });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().error.code, 'INVALID_CURSOR');
  });
});
