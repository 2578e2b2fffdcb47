import t from 'tap';
import { executeCommand } from '../../server/src/events/command.ts';
import { streamId } from '../../server/src/events/types.ts';
import { decide, evolve, initialRequestState, type RequestState } from '../../server/src/requests/decider.ts';
import { testApp } from '../helpers/app.ts';
import { until } from '../helpers/live.ts';

t.test('long-poll on a request', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read']);
  const create = async (body: object = {}) => {
    const res = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy', ...body } });
    t.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string; status: string };
  };

  t.test('wakes up when the request is decided', async (t) => {
    const req = await create();
    const waiting = h.call('GET', `/api/requests/${req.id}/wait?timeout=60`, { key: agent.key });
    let answered = false;
    void waiting.then(() => { answered = true; });
    // Decide only once the waiter is registered, so this really is a wake-up.
    await until(() => h.app.live.watchCount === 1, 'the waiter');
    t.notOk(answered, 'still waiting while pending');
    const decided = await h.call('POST', `/api/requests/${req.id}/decide`, { body: { decision: 'approved', reason: 'fine' } });
    t.equal(decided.statusCode, 200, decided.body);
    const res = await waiting;
    t.ok(answered);
    t.equal(res.statusCode, 200);
    t.equal(res.headers['x-agentgate-wait'], 'complete');
    t.match(res.json(), { id: req.id, status: 'approved', decisionReason: 'fine' });
  });

  t.test('answers at once when already decided, with the request shape unchanged', async (t) => {
    const req = await create();
    await h.call('POST', `/api/requests/${req.id}/decide`, { body: { decision: 'denied' } });
    const res = await h.call('GET', `/api/requests/${req.id}/wait?timeout=300`, { key: agent.key });
    t.equal(res.statusCode, 200);
    t.equal(res.headers['x-agentgate-wait'], 'complete');
    const plain = await h.call('GET', `/api/requests/${req.id}`, { key: agent.key });
    t.same(res.json(), plain.json());
  });

  t.test('a timeout answers 200 with the pending request and the timeout marker', async (t) => {
    const req = await create();
    const res = await h.call('GET', `/api/requests/${req.id}/wait?timeout=0.2`, { key: agent.key });
    t.equal(res.statusCode, 200);
    t.equal(res.headers['x-agentgate-wait'], 'timeout');
    t.match(res.json(), { id: req.id, status: 'pending' });
    const zero = await h.call('GET', `/api/requests/${req.id}/wait?timeout=0`, { key: agent.key });
    t.equal(zero.headers['x-agentgate-wait'], 'timeout');
  });

  t.test('cancel and expiry wake the waiter too', async (t) => {
    const a = await create();
    const waitA = h.call('GET', `/api/requests/${a.id}/wait`, { key: agent.key });
    await until(() => h.app.live.watchCount === 1, 'the waiter');
    const cancelled = await h.call('POST', `/api/requests/${a.id}/cancel`, { key: agent.key, body: { reason: 'no longer needed' } });
    t.equal(cancelled.statusCode, 200, cancelled.body);
    t.match((await waitA).json(), { status: 'cancelled' });

    // An hour out, so creating it can never be too late; the expiry below runs on a clock past it.
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const b = await create({ expiresAt });
    const waitB = h.call('GET', `/api/requests/${b.id}/wait?timeout=120`, { key: agent.key });
    await until(() => h.app.live.watchCount === 1, 'the waiter');
    // What the expiry job does at expiresAt: the same command, through the one write path.
    const expired = await executeCommand<RequestState>(h.sql, {
      streamId: streamId('request', b.id), streamType: 'request', initial: initialRequestState, evolve,
      decide: (s) => decide({ type: 'expire', now: new Date(Date.parse(expiresAt) + 1) }, s),
      metadata: { actor: { type: 'system', id: 'expiry', name: 'system' }, channel: 'worker' },
    });
    t.same(expired.appended.map((e) => e.type), ['request.expired'], 'the expiry was recorded');
    const res = await waitB;
    t.equal(res.headers['x-agentgate-wait'], 'complete');
    t.match(res.json(), { status: 'expired' });
  });

  t.test('many waiters on one request and on many requests', async (t) => {
    const reqs = await Promise.all(Array.from({ length: 20 }, () => create()));
    const waits = reqs.flatMap((r) => [1, 2, 3].map(() => h.call('GET', `/api/requests/${r.id}/wait?timeout=120`, { key: agent.key })));
    await until(() => h.app.live.watchCount === 60, 'the waiters');
    await Promise.all(reqs.map((r, i) =>
      h.call('POST', `/api/requests/${r.id}/decide`, { body: { decision: i % 2 ? 'approved' : 'denied' } })));
    const answers = await Promise.all(waits);
    t.equal(h.app.live.watchCount, 0, 'every waiter released');
    answers.forEach((res, i) => {
      const r = reqs[Math.floor(i / 3)]!;
      t.equal(res.json().id, r.id);
      t.equal(res.json().status, Math.floor(i / 3) % 2 ? 'approved' : 'denied');
      t.equal(res.headers['x-agentgate-wait'], 'complete');
    });
  });

  t.test('bad input and scopes', async (t) => {
    const req = await create();
    const tooLong = await h.call('GET', `/api/requests/${req.id}/wait?timeout=301`, { key: agent.key });
    t.equal(tooLong.statusCode, 400);
    t.equal(tooLong.json().error.code, 'VALIDATION_ERROR');
    t.match(tooLong.json().error.message, /timeout/);
    const negative = await h.call('GET', `/api/requests/${req.id}/wait?timeout=-1`, { key: agent.key });
    t.equal(negative.statusCode, 400);
    const word = await h.call('GET', `/api/requests/${req.id}/wait?timeout=soon`, { key: agent.key });
    t.equal(word.statusCode, 400);
    const unknown = await h.call('GET', '/api/requests/req_01aaaaaaaaaaaaaaaaaaaaaaaa/wait?timeout=1', { key: agent.key });
    t.equal(unknown.statusCode, 404);
    t.equal(unknown.json().error.code, 'NOT_FOUND');
    const badId = await h.call('GET', '/api/requests/nope/wait', { key: agent.key });
    t.equal(badId.statusCode, 400);
    const writer = await h.key(['request:create']);
    const forbidden = await h.call('GET', `/api/requests/${req.id}/wait?timeout=1`, { key: writer.key });
    t.equal(forbidden.statusCode, 403);
    t.equal(forbidden.json().error.details.requiredScope, 'request:read');
    const anonymous = await h.call('GET', `/api/requests/${req.id}/wait?timeout=1`, { key: null });
    t.equal(anonymous.statusCode, 401);
  });
});

t.test('app.close() answers open long-polls instead of waiting for them', async (t) => {
  const h = await testApp(t);
  const res = await h.call('POST', '/api/requests', { body: { action: 'x' } });
  const id = res.json().id;
  const waiting = h.call('GET', `/api/requests/${id}/wait?timeout=300`);
  await until(() => h.app.live.watchCount === 1, 'the waiter');
  await h.app.close();
  const answer = await waiting;
  t.equal(answer.statusCode, 200);
  t.equal(answer.headers['x-agentgate-wait'], 'timeout');
  t.equal(answer.json().status, 'pending');
});
