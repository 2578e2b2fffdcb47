/**
 * The create path: the answer is built from the appended event (and equals what a read
 * returns), creates are group-committed, and one create's failure stays its own.
 */
import t from 'tap';
import type { EventMetadata } from '../../server/src/events/types.ts';
import { appendCreates, type NewRequest } from '../../server/src/requests/append-creates.ts';
import type { RequestCreatedData } from '../../server/src/requests/decider.ts';
import { CreateAppender } from '../../server/src/requests/group-commit.ts';
import { testApp } from '../helpers/app.ts';

const metadata: EventMetadata = { actor: { type: 'key', id: 'key_test', name: 'test' }, channel: 'api' };

function newRequest(n: number, over: Partial<RequestCreatedData> = {}): NewRequest {
  const id = `req_01jx00000000000000000${String(n).padStart(5, '0')}`;
  return {
    metadata,
    data: {
      id, action: 'deploy', params: { n }, context: {}, urgency: 'normal', expiresAt: null,
      requester: { id: 'key_test', name: 'test' }, autoDecision: null,
      policy: { decision: 'route_to_human', policyId: null, policyVersion: null, policyName: null, ruleIndex: null, approvers: [],
        channels: [], requireReason: false, requireDistinctApprover: false, reason: 'no policy matched' },
      ...over,
    },
  };
}

t.test('the answer to a create is what a read of the request returns', async (t) => {
  const h = await testApp(t, { requestDefaultTtlSeconds: 600 });
  await h.call('POST', '/api/policies', { body: { name: 'p', priority: 1, rules: [
    { match: { action: 'read_file' }, decision: 'auto_approve' }, { match: { action: 'drop_table' }, decision: 'auto_deny' },
  ] } });
  const agent = await h.key(['request:create', 'request:read'], { name: 'agent' });
  const bodies = [
    { action: 'send_email', params: { to: 'a@b.c', nested: { b: 1, a: [1, 'x', null] } }, context: { why: 'test' }, urgency: 'high' },
    { action: 'read_file', params: { path: '/etc/motd' } },
    { action: 'drop_table' },
    { action: 'deploy', expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
  ];
  for (const body of bodies) {
    const created = await h.call('POST', '/api/requests', { key: agent.key, body });
    t.equal(created.statusCode, 201, created.body);
    const read = await h.call('GET', `/api/requests/${created.json().id}`, { key: agent.key });
    t.same(created.json(), read.json(), `${body.action}: the answer equals the read model`);
  }
});

t.test('group commit: a lone create goes at once; creates arriving meanwhile share the next statement, each with its own result', async (t) => {
  const h = await testApp(t);
  const appender = new CreateAppender(h.sql, { windowMs: 2 });
  const lone = appender.append(newRequest(50), 0);
  t.equal(appender.stats.statements, 1, 'a create with nothing in flight is sent without waiting for the window');
  t.ok((await lone)?.position, 'and appended');
  await new Promise((r) => setImmediate(r)); // as the next request would arrive: on a later turn

  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => appender.append(newRequest(i), 0)));
  t.ok(results.every((r) => r && r.position > 0), 'all appended');
  t.equal(appender.stats.statements - 1, 2, 'the first at once, the seven that came while it ran by one more statement');
  t.equal(appender.stats.largestBatch, 7);
  t.equal(new Set(results.slice(1).map((r) => r!.recordedAt.getTime())).size, 1, 'the seven in one transaction');
  const positions = results.map((r) => r!.position);
  t.same(positions, [...positions].sort((a, b) => a - b), 'in arrival order');

  t.test('a create that fails in the database fails alone', async (t) => {
    const idem = { key: 'k-1', bodyHash: 'h' };
    const taken = await appendCreates(h.sql, [newRequest(100, { idempotency: idem })], 0);
    t.ok(taken, 'the key is taken once');
    const before = appender.stats.statements;
    const inFlight = appender.append(newRequest(99), 0); // the four below gather behind it
    const outcomes = await Promise.allSettled([
      appender.append(newRequest(101), 0),
      appender.append(newRequest(102, { idempotency: idem }), 0), // a racing retry with the same Idempotency-Key
      appender.append(newRequest(103, { expiresAt: 'not a time' }), 0), // refused by the projection
      appender.append(newRequest(104), 0),
    ]);
    t.ok(await inFlight, 'the create in flight is unaffected');
    t.same(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    t.match((outcomes[1] as PromiseRejectedResult).reason, { code: '23505', constraint_name: 'idempotency_keys_pkey' });
    t.equal(appender.stats.split, 1, 'the shared statement failed once, then each went alone');
    t.equal(appender.stats.statements - before, 1 + 1 + 4);
    const asked = [99, 100, 101, 102, 103, 104].map((n) => newRequest(n).data.id);
    const ids = (await h.sql<{ id: string }[]>`select id from requests where id = any(${asked}) order by id`).map((r) => r.id);
    t.same(ids, [asked[0], asked[1], asked[2], asked[5]]);
  });

  t.test('a changed policy set appends nothing and says so', async (t) => {
    const stale = await Promise.all([appender.append(newRequest(200), 41), appender.append(newRequest(201), 41)]);
    t.same(stale, [null, null]);
    const streams = [200, 201].map((n) => `request-${newRequest(n).data.id}`);
    t.equal((await h.sql`select 1 from events where stream_id = any(${streams})`).length, 0);
  });
});

t.test('group commit: creates gathered behind a slow statement wait no longer than the window, and no more than maxBatch gather', async (t) => {
  const h = await testApp(t);
  const appender = new CreateAppender(h.sql, { windowMs: 2, maxBatch: 3 });
  // Another session holds the events table, so the first statement stays in flight until released.
  let locked!: () => void;
  let release!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const released = new Promise<void>((r) => (release = r));
  const holder = h.sql.begin(async (tx) => {
    await tx`lock table events in share mode`;
    locked();
    await released;
  });
  await isLocked;
  const first = appender.append(newRequest(300), 0);
  const full = [301, 302, 303].map((n) => appender.append(newRequest(n), 0));
  t.equal(appender.stats.statements, 2, 'three gathered (maxBatch) are sent at once');
  const late = appender.append(newRequest(304), 0);
  t.equal(appender.stats.statements, 2, 'a fourth waits for a statement to return');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(appender.stats.statements, 3, 'once the window has passed it is sent, though none has returned');
  release();
  await holder;
  const results = await Promise.all([first, ...full, late]);
  t.ok(results.every((r) => r && r.position > 0), 'all appended');
  t.same([appender.stats.batches, appender.stats.largestBatch], [3, 3]);
});

t.test('concurrent creates through HTTP, one invalid among them, each answered on its own', async (t) => {
  const h = await testApp(t, { createGroupCommitMs: 2 });
  const agent = await h.key(['request:create', 'request:read'], { name: 'agent' });
  const bodies = Array.from({ length: 12 }, (_, i) => (i === 5 ? { action: 'x', expiresAt: '2000-01-01T00:00:00Z' } : { action: 'deploy', params: { i } }));
  const answers = await Promise.all(bodies.map((body) => h.call('POST', '/api/requests', { key: agent.key, body })));
  t.same(answers.map((a) => a.statusCode), bodies.map((_, i) => (i === 5 ? 400 : 201)));
  t.same(answers.filter((a) => a.statusCode === 201).map((a) => (a.json() as { params: { i: number } }).params.i), [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
});
