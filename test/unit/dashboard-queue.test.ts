import t from 'tap';
import type { LiveEvent } from '../../clients/sdk/src/events.ts';
import { applyEvent, applyEvents, compareQueueItems, type QueueItem } from '../../web/src/lib/queue.ts';
import { deliveryStatus, forRequest, mergeTimeline, summary, type TimelineEntry } from '../../web/src/lib/timeline.ts';
import { csvCell } from '../../web/src/lib/export.ts';

let position = 0;
const event = (id: string, eventType: string, data: Record<string, unknown> = {}, at = '2026-01-01T00:00:00.000Z'): LiveEvent => ({
  type: 'event', position: ++position, streamId: `request-${id}`, streamType: 'request', version: 1, eventType, data,
  metadata: { actor: { type: 'key', id: 'key_x', name: 'agent' } }, recordedAt: at,
});
const created = (id: string, urgency: string, at: string) => event(id, 'request.created', { id, action: `act_${id}`, urgency, params: {}, context: {} }, at);
const ids = (items: QueueItem[]) => items.map((i) => i.id);

t.test('given an empty queue, when requests are created, they are ordered by urgency then age', async (t) => {
  const { items, delta } = applyEvents([], [
    created('a', 'low', '2026-01-01T00:00:01.000Z'),
    created('b', 'critical', '2026-01-01T00:00:03.000Z'),
    created('c', 'high', '2026-01-01T00:00:02.000Z'),
    created('d', 'critical', '2026-01-01T00:00:02.500Z'),
  ]);
  t.same(ids(items), ['d', 'b', 'c', 'a']);
  t.equal(delta, 4);
  t.ok([...items].sort(compareQueueItems).every((x, i) => x === items[i]), 'sorted by the comparator');
});

t.test('given a queued request, when it is decided elsewhere, it leaves with who decided', async (t) => {
  const start = applyEvents([], [created('a', 'normal', '2026-01-01T00:00:01.000Z')]).items;
  const r = applyEvent(start, event('a', 'request.denied', { decider: { type: 'key', id: 'key_b', name: 'bob' }, reason: 'too risky' }));
  t.same(r.items, []);
  t.same(r.departed, { id: 'a', action: 'act_a', status: 'denied', by: 'bob', reason: 'too risky', at: '2026-01-01T00:00:00.000Z' });
  const expired = applyEvent(start, event('a', 'request.expired', { reason: 'expiresAt passed' }));
  t.equal(expired.departed?.by, 'expiry');
});

t.test('the policy outcome is read from its own event or from the creation', async (t) => {
  const withOwn = applyEvents([], [created('a', 'normal', '2026-01-01T00:00:01.000Z'), event('a', 'request.policy_evaluated', { decision: 'route_to_human', requireReason: true })]).items;
  t.equal(withOwn[0]!.policy?.requireReason, true);
  const folded = applyEvent([], event('b', 'request.created', { action: 'x', urgency: 'high', policyDecision: { decision: 'route_to_human', requireReason: true } })).items;
  t.equal(folded[0]!.policy?.requireReason, true);
});

t.test('a request decided at creation by a policy never counts as pending', async (t) => {
  const r = applyEvents([], [created('a', 'normal', '2026-01-01T00:00:01.000Z'), event('a', 'request.approved', { decider: { name: 'policy:auto' } })]);
  t.same(r.items, []);
  t.equal(r.delta, 0);
});

t.test('a partly loaded queue keeps what sorts past its end for the next page, but counts it', async (t) => {
  const loaded = applyEvents([], [created('a', 'critical', '2026-01-01T00:00:01.000Z')]).items;
  const r = applyEvents(loaded, [created('z', 'low', '2026-01-01T00:00:09.000Z'), created('b', 'critical', '2026-01-01T00:00:00.500Z')], { complete: false });
  t.same(ids(r.items), ['b', 'a'], 'b sorts inside the loaded part; z belongs to a later page');
  t.equal(r.delta, 2, 'both are pending');
  const gone = applyEvents(r.items, [event('z', 'request.approved', { decider: { name: 'bob' } })], { complete: false });
  t.equal(gone.delta, -1, 'a request of a later page leaving lowers the count');
  t.same(ids(gone.items), ['b', 'a']);
});

t.test('events of other streams and repeated creations change nothing', async (t) => {
  const items = applyEvents([], [created('a', 'normal', '2026-01-01T00:00:01.000Z')]).items;
  t.equal(applyEvent(items, created('a', 'normal', '2026-01-01T00:00:01.000Z')).items, items);
  t.equal(applyEvent(items, { ...event('p', 'policy.updated'), streamId: 'policy-p', streamType: 'policy' }).items, items);
});

t.test('the timeline merges live events into the trail once each, in log order', async (t) => {
  const e = (position: number, event: string, id = String(position)): TimelineEntry => ({ id, position, streamId: 'request-r', event, actor: 'a', channel: null, at: '', details: {} });
  const merged = mergeTimeline([e(1, 'request.created'), e(2, 'request.policy_evaluated')], [e(2, 'request.policy_evaluated'), e(5, 'request.approved'), e(4, 'request.decision_link_issued')]);
  t.same(merged.map((x) => x.position), [1, 2, 4, 5]);
  const withDecision = mergeTimeline([e(1, 'request.created')], [e(1, 'request.approved', '1.1'), e(1, 'request.created')]);
  t.same(withDecision.map((x) => x.id), ['1', '1.1'], 'the decision a creation carries is an entry of its own, after it');
});

t.test("a policy's decision at creation reads as its own timeline entry, live as from the trail", async (t) => {
  const decider = { type: 'policy', id: 'pol_1', name: 'policy:small-payments' };
  const live = { ...event('r', 'request.created'), position: 7, metadata: { actor: { type: 'key', id: 'key_1', name: 'ops-bot' }, channel: 'api' },
    data: { id: 'r', action: 'pay', autoDecision: { status: 'approved', decider, reason: 'small amount' } } };
  const got = forRequest([live] as never, 'r', new Set());
  t.same(got.map((x) => [x.id, x.event, x.actor]), [['7', 'request.created', 'ops-bot'], ['7.1', 'request.approved', 'policy:small-payments']]);
  t.equal(summary(got[1]!), 'by policy:small-payments: “small amount”');
  const routed = forRequest([{ ...live, data: { id: 'r', action: 'pay', autoDecision: null } }] as never, 'r', new Set());
  t.same(routed.map((x) => x.id), ['7'], 'a request routed to people: its creation only');
});

t.test('a decision reads "by <who> (<label>): “<reason>”", without a space before the colon', async (t) => {
  const decided = (details: Record<string, unknown>): TimelineEntry => ({ id: '1', position: 1, streamId: 'request-r', event: 'request.approved', actor: 'a', channel: null, at: '', details });
  t.equal(summary(decided({ decider: { name: 'bootstrap admin' }, reason: 'release window' })), 'by bootstrap admin: “release window”');
  t.equal(summary(decided({ decider: { name: 'Alice' }, label: 'on call', reason: 'ok' })), 'by Alice (on call): “ok”');
  t.equal(summary(decided({ decider: { name: 'Alice' } })), 'by Alice');
  t.equal(summary(decided({ reason: 'ok' })), '“ok”');
});

t.test('CSV cells are quoted and cannot run as spreadsheet formulas', async (t) => {
  t.equal(csvCell('plain'), 'plain');
  t.equal(csvCell('a,b'), '"a,b"');
  t.equal(csvCell('say "hi"'), '"say ""hi"""');
  t.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  t.equal(csvCell({ to: 'a@b' }), '"{""to"":""a@b""}"');
  t.equal(csvCell(null), '');
});

t.test('a request\'s timeline takes its own events and the webhook deliveries of them, with their status', async (t) => {
  const own = (position: number, type: string) => ({ ...event('r', type), position });
  const delivery = (position: number, of: number, data: object) => ({
    ...event('w', 'webhook.delivery_attempted'), streamId: 'webhook-wh_1', streamType: 'webhook', position,
    data: { deliveryId: `dl_${position}`, event: 'request.created', eventPosition: of, attempt: 1, ...data },
  });
  const known = new Set([10]);
  const got = forRequest([
    own(11, 'request.policy_evaluated'),
    delivery(12, 10, { ok: false, statusCode: 500, nextAttemptAt: '2026-01-01T00:00:05.000Z' }),
    delivery(13, 11, { ok: true, statusCode: 204, nextAttemptAt: null }),
    delivery(14, 99, { ok: true, statusCode: 200 }),
    { ...own(15, 'request.approved'), streamId: 'request-other' },
  ] as never, 'r', known);
  t.same(got.map((x) => x.position), [11, 12, 13], 'deliveries of another request\'s events are left out');
  t.same(got.map(deliveryStatus), [null, 'retrying', 'delivered']);
  t.match(summary(got[1]!), /request\.created to wh_1, attempt 1: HTTP 500; next attempt/);
  t.equal(deliveryStatus({ ...got[1]!, details: { ok: false, nextAttemptAt: null } }), 'failed');
});
