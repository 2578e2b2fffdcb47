import http from 'node:http';
import t from 'tap';
import { AgentGateClient, AgentGateError, TimeoutError, type LiveEvent } from '@agentgate/sdk';
import { liveServer, portOf, recordingFetch, tcpProxy, until } from './_helpers.ts';

const isPending = (id: string) => (c: AgentGateClient) => c.getRequest(id).then((r) => r.status === 'pending');

t.test('requests: create, read, list, decide, cancel and the audit trail', async (t) => {
  const s = await liveServer(t);
  const agentKey = await s.key(['request:create', 'request:read']);
  const agent = s.client(agentKey.key);
  const reviewer = s.client((await s.key(['request:decide', 'request:read'])).key);

  const created = await agent.request({ action: 'send_email', params: { to: 'a@b.c' }, context: { why: 'test' }, urgency: 'high' });
  t.match(created, { action: 'send_email', status: 'pending', urgency: 'high', params: { to: 'a@b.c' }, context: { why: 'test' } });
  t.match(created.id, /^req_/);
  t.same(await agent.getRequest(created.id), created, 'getRequest returns the same request');

  await agent.request({ action: 'read_file', expiresAt: new Date(Date.now() + 3_600_000) });
  const page = await agent.listRequests({ action: 'send_email' });
  t.equal(page.pagination.total, 1, 'filters apply');
  t.equal(page.requests[0]!.id, created.id);
  t.equal((await agent.listRequests({ limit: 1 })).pagination.hasMore, true, 'paging is reported');

  const approved = await reviewer.decide(created.id, 'approved', { reason: 'fine', decidedBy: 'ops desk' });
  t.match(approved, { status: 'approved', decisionReason: 'fine', decidedByLabel: 'ops desk' });
  t.same((await agent.getAuditTrail(created.id)).map((e) => e.eventType), ['created', 'approved']);

  const other = await agent.request({ action: 'deploy' });
  const cancelled = await agent.cancel(other.id, { reason: 'changed my mind' });
  t.equal(cancelled.status, 'cancelled');
  const already = await agent.waitForDecision(other.id, { timeout: 5_000 });
  t.equal(already.status, 'cancelled', 'waiting on a finished request answers at once');
});

t.test('errors are typed: code, status, details, request id', async (t) => {
  const s = await liveServer(t);
  const agent = s.client((await s.key(['request:create', 'request:read'])).key);
  const { id } = await agent.request({ action: 'x' });
  await s.client().decide(id, 'denied');

  const again = await s.client().decide(id, 'approved').catch((e: unknown) => e);
  t.ok(again instanceof AgentGateError, 'AgentGateError');
  t.match(again, { code: 'ALREADY_DECIDED', status: 409, statusCode: 409 });
  t.match((again as AgentGateError).requestId, /\S/, 'carries the server request id');

  const missing = await agent.getRequest('req_00000000000000000000000000').catch((e: unknown) => e);
  t.match(missing, { code: 'NOT_FOUND', status: 404 });

  const invalid = await agent.request({ action: '' }).catch((e: unknown) => e);
  t.match(invalid, { code: 'VALIDATION_ERROR', status: 400 });
  t.ok(Array.isArray((invalid as AgentGateError).details), 'details list each bad field');

  const forbidden = await agent.decide(id, 'approved').catch((e: unknown) => e);
  t.match(forbidden, { code: 'FORBIDDEN', status: 403 });

  const anonymous = await new AgentGateClient({ baseUrl: s.baseUrl, apiKey: 'agk_not_a_real_key' }).listRequests().catch((e: unknown) => e);
  t.match(anonymous, { code: 'UNAUTHORIZED', status: 401 });

  const unreachable = await new AgentGateClient({ baseUrl: 'http://127.0.0.1:1', apiKey: s.adminKey, retries: 1, retryDelayMs: 1 })
    .listRequests().catch((e: unknown) => e);
  t.match(unreachable, { code: 'NETWORK_ERROR', status: 0 });
});

t.test('request() always sends an Idempotency-Key, so a retry after a lost answer creates nothing twice', async (t) => {
  const s = await liveServer(t);
  const rec = recordingFetch();
  let lose = true;
  rec.intercept(async (url, init) => {
    if (!url.endsWith('/api/requests') || init.method !== 'POST' || !lose) return undefined;
    lose = false;
    await fetch(url, init); // the server does the work…
    throw new TypeError('socket hang up'); // …and the answer is lost on the way back
  });
  const client = s.client(s.adminKey, { fetch: rec.fetch });
  const req = await client.request({ action: 'pay', params: { amount: 5 } });
  const posts = rec.calls.filter((c) => c.method === 'POST');
  t.equal(posts.length, 2, 'the lost call was sent again');
  t.ok(posts[0]!.headers['idempotency-key'], 'a key was generated');
  t.equal(posts[1]!.headers['idempotency-key'], posts[0]!.headers['idempotency-key'], 'the retry reuses it');
  t.equal(posts[1]!.status, 200, 'the server recognised the retry (200, not 201)');
  t.equal((await client.listRequests({ action: 'pay' })).pagination.total, 1, 'one request exists');

  const a = await client.request({ action: 'pay', params: { amount: 7 } }, { idempotencyKey: 'order-42' });
  const b = await client.request({ action: 'pay', params: { amount: 7 } }, { idempotencyKey: 'order-42' });
  t.equal(b.id, a.id, 'an explicit key makes separate calls one request');
  const c = await client.request({ action: 'pay', params: { amount: 7 } });
  t.not(c.id, a.id, 'without a key each call is a new request');
});

t.test('retries: 5xx and 429 (honouring Retry-After) are retried; an unsafe POST after a network failure is not', async (t) => {
  const s = await liveServer(t);
  // One synthetic 429, so the retry does not depend on a real window running out in time.
  const rec = recordingFetch();
  const sentAt: number[] = [];
  let limit = true;
  rec.intercept(() => {
    sentAt.push(performance.now());
    if (!limit) return undefined;
    limit = false;
    return new Response('{"error":{"code":"RATE_LIMITED","message":"slow down"}}',
      { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '0.05' } });
  });
  await s.client(s.adminKey, { fetch: rec.fetch }).listRequests();
  t.same(rec.calls.map((c) => c.status), [429, 200], 'the 429 was retried and then succeeded');
  // A lower bound only: the client's own backoff (retryDelayMs 20) would have gone again sooner.
  t.ok(sentAt[1]! - sentAt[0]! >= 45, `the retry waited for Retry-After (${Math.round(sentAt[1]! - sentAt[0]!)} ms)`);

  // A real 429: one call per (default, 60 s) window, so the second call is refused.
  const limited = await s.key(['request:read'], { rateLimit: 1 });
  const noRetry = s.client(limited.key, { retries: 0 });
  await noRetry.listRequests();
  const refused = await noRetry.listRequests().catch((e: unknown) => e);
  t.match(refused, { code: 'RATE_LIMITED', status: 429 });
  t.ok((refused as AgentGateError).retryAfterMs! > 0, 'Retry-After is exposed');

  const flaky = recordingFetch();
  let failures = 2;
  flaky.intercept(() => (failures-- > 0 ? new Response('{"error":{"code":"INTERNAL_ERROR","message":"boom"}}', { status: 502, headers: { 'content-type': 'application/json' } }) : undefined));
  const r = await s.client(s.adminKey, { fetch: flaky.fetch }).listRequests();
  t.equal(r.pagination.total, 0);
  t.same(flaky.calls.map((c) => c.status), [502, 502, 200], 'a GET is retried after 5xx');

  const { id } = await s.client().request({ action: 'x' });
  const broken = recordingFetch();
  broken.intercept(() => { throw new TypeError('connection reset'); });
  const decided = await s.client(s.adminKey, { fetch: broken.fetch }).decide(id, 'approved').catch((e: unknown) => e);
  t.match(decided, { code: 'NETWORK_ERROR' });
  t.equal(broken.calls.length, 1, 'a decision is not sent twice blindly');
});

t.test('waitForDecision is woken by a decision made by another client', async (t) => {
  const s = await liveServer(t);
  const rec = recordingFetch();
  const agent = s.client((await s.key(['request:create', 'request:read'])).key, { fetch: rec.fetch });
  const reviewer = s.client((await s.key(['request:decide'])).key);
  const { id } = await agent.request({ action: 'send_email' });

  const waiting = agent.waitForDecision(id, { timeout: 60_000 });
  await rec.sent('/wait');
  const decideSent = Date.now();
  await reviewer.decide(id, 'approved', { reason: 'go' });
  const decideAnswered = Date.now();
  const decided = await waiting;
  t.comment(`waitForDecision resolved ${Date.now() - decideAnswered} ms after the decision was answered (${Date.now() - decideSent} ms after it was sent)`);
  t.match(decided, { id, status: 'approved', decisionReason: 'go' });
  t.equal(rec.count('/wait'), 1, 'one held long-poll, no polling loop');
});

t.test('waitForDecision throws TimeoutError at the overall deadline, after several bounded polls', async (t) => {
  const s = await liveServer(t);
  const rec = recordingFetch();
  const client = s.client(s.adminKey, { fetch: rec.fetch });
  const { id } = await client.request({ action: 'x' });
  const err = await client.waitForDecision(id, { timeout: 2_500, pollSeconds: 1 }).catch((e: unknown) => e);
  t.ok(err instanceof TimeoutError, 'TimeoutError');
  t.ok(err instanceof AgentGateError, 'and an AgentGateError');
  t.match(err, { code: 'TIMEOUT' });
  t.ok(rec.count('/wait') >= 2, `polls were repeated (${rec.count('/wait')})`);
  t.ok(rec.calls.filter((c) => c.url.includes('/wait')).every((c) => c.url.includes('timeout=1')), 'each poll is bounded by pollSeconds');
  t.ok(await isPending(id)(client), 'the request is still pending');
});

t.test('waitForDecision honours an AbortSignal', async (t) => {
  const s = await liveServer(t);
  const rec = recordingFetch();
  const client = s.client(s.adminKey, { fetch: rec.fetch });
  const { id } = await client.request({ action: 'x' });

  const controller = new AbortController();
  const waiting = client.waitForDecision(id, { timeout: 60_000, signal: controller.signal });
  await rec.sent('/wait');
  const reason = new Error('user gave up');
  controller.abort(reason);
  t.equal(await waiting.catch((e: unknown) => e), reason, 'rejects with the signal\'s reason');

  const pre = AbortSignal.abort();
  const early = await client.waitForDecision(id, { signal: pre }).catch((e: unknown) => e);
  t.match(early, { name: 'AbortError' }, 'an aborted signal rejects at once');
  t.equal(rec.count('/wait'), 1, 'and sends nothing');
});

t.test('waitForDecision resumes after a dropped connection', async (t) => {
  const s = await liveServer(t);
  const proxy = await tcpProxy(t, portOf(s.baseUrl));
  const rec = recordingFetch();
  const agent = s.client(s.adminKey, { baseUrl: proxy.baseUrl, fetch: rec.fetch });
  const { id } = await agent.request({ action: 'x' });

  const waiting = agent.waitForDecision(id, { timeout: 60_000 });
  // Cut the connection only once the server holds the poll, so it is a real mid-call drop.
  await until(() => s.app.live.watchCount > 0, 'the server to hold the poll');
  proxy.dropAll();
  await rec.sent('/wait', 2);
  t.ok(rec.calls.some((c) => c.url.includes('/wait') && c.error), 'the first poll failed with the connection');
  await s.client().decide(id, 'denied', { reason: 'no' });
  t.match(await waiting, { id, status: 'denied' });
});

t.test('policies, webhooks, keys and audit', async (t) => {
  const s = await liveServer(t);
  const admin = s.client();

  const policy = await admin.createPolicy({ name: 'reads', priority: 10, rules: [{ match: { action: 'read_file' }, decision: 'auto_approve' }] });
  t.match(policy, { name: 'reads', priority: 10, enabled: true, version: 1 });
  t.same((await admin.listPolicies()).map((p) => p.id), [policy.id]);
  t.equal((await admin.getPolicy(policy.id)).name, 'reads');
  t.equal((await admin.request({ action: 'read_file' })).status, 'approved', 'the policy applies');
  // A policy as read back can be edited and sent again: read-only fields are left out.
  const updated = await admin.updatePolicy(policy.id, { ...policy, rules: [{ match: { action: 'read_file' }, decision: 'auto_deny' }] });
  t.equal(updated.version, 2);
  t.equal((await admin.request({ action: 'read_file' })).status, 'denied', 'the change applies');
  t.match(await admin.deletePolicy(policy.id), { id: policy.id });
  t.match(await admin.getPolicy(policy.id).catch((e: unknown) => e), { code: 'NOT_FOUND' });
  t.match(await admin.createPolicy({ name: 'bad', rules: [{ match: { amount: { $lt: 'ten' } }, decision: 'auto_deny' }] }).catch((e: unknown) => e),
    { code: 'INVALID_POLICY', status: 400 }, 'the server checks rules');

  const received: string[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.teardown(() => receiver.close());
  const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const hook = await admin.createWebhook({ url: hookUrl, events: ['request.decided'], description: 'test' });
  t.ok(hook.secret.length >= 32, 'the secret is shown on create');
  t.same((await admin.listWebhooks()).map((w) => w.id), [hook.id]);
  t.notOk('secret' in (await admin.getWebhook(hook.id)), 'and never again');
  t.equal((await admin.updateWebhook(hook.id, { enabled: false })).enabled, false);
  const tested = await admin.testWebhook(hook.id);
  t.match(tested, { success: true, status: 200 });
  t.equal(received.length, 1, 'the receiver got the test event');
  const deliveries = await admin.listDeliveries(hook.id);
  t.ok(deliveries.deliveries.some((d) => d.id === tested.deliveryId), 'the test is in the delivery history');
  t.match(await admin.redeliver(hook.id, tested.deliveryId), { redeliveryOf: tested.deliveryId, status: 'pending' });
  t.match(await admin.deleteWebhook(hook.id), { id: hook.id, deleted: true });

  const created = await admin.createKey({ name: 'bot', scopes: ['request:read'], rateLimit: 100 });
  t.match(created.key, /^agk_/);
  t.ok((await admin.listKeys()).some((k) => k.id === created.id));
  t.same((await admin.updateKey(created.id, { scopes: ['request:read', 'request:create'] })).scopes, ['request:read', 'request:create']);
  await s.client(created.key).listRequests();
  t.equal((await admin.revokeKey(created.id)).revoked, true);
  t.match(await s.client(created.key).listRequests().catch((e: unknown) => e), { code: 'UNAUTHORIZED' }, 'a revoked key stops working');
  t.ok((await admin.listKeys({ includeRevoked: true })).some((k) => k.id === created.id && k.revoked));

  const audit = await admin.audit({ eventType: 'policy.created', limit: 10 });
  t.equal(audit.entries.length, 1);
  t.equal(audit.entries[0]!.eventType, 'policy.created');
  t.equal(typeof audit.pagination.total, 'number');
});

t.test('events(): live, replayed from a position, resumed after a dropped connection', async (t) => {
  const s = await liveServer(t);
  const admin = s.client();
  const first = await admin.request({ action: 'before' });

  // Everything from the start of the log, through a proxy that will drop the socket.
  const proxy = await tcpProxy(t, portOf(s.baseUrl));
  const viaProxy = s.client(s.adminKey, { baseUrl: proxy.baseUrl });
  const controller = new AbortController();
  const statuses: string[] = [];
  const seen: LiveEvent[] = [];
  const stream = viaProxy.events({ from: 0, signal: controller.signal, onStatus: (st) => statuses.push(st) });
  const consumed = (async () => {
    try {
      for await (const e of stream) seen.push(e);
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    }
  })();
  await until(() => seen.some((e) => e.data.id === first.id && e.eventType === 'request.created'), 'the replayed event');
  t.match(seen.find((e) => e.data.id === first.id), { type: 'event', streamType: 'request', eventType: 'request.created', data: { action: 'before' } });
  t.equal(seen[0]!.eventType, 'apikey.created', 'from 0 means from the very first event (the admin key)');

  const live = await admin.request({ action: 'during' });
  await until(() => seen.some((e) => e.data.id === live.id), 'a live event');

  proxy.dropAll();
  await until(() => statuses.includes('reconnecting'), 'the drop to be noticed');
  const after = await admin.request({ action: 'after' });
  await admin.decide(after.id, 'approved');
  await until(() => seen.some((e) => e.eventType === 'request.approved' && e.streamId === `request-${after.id}`), 'events after the reconnect');
  t.ok(proxy.accepted >= 2, 'it reconnected');

  // The stream must equal the log: every event once, in log order.
  const log: LiveEvent[] = [];
  for await (const e of admin.exportEvents({ from: 0 })) log.push(e);
  t.same(seen.map((e) => e.position), log.map((e) => e.position), 'nothing skipped or repeated across the reconnect');

  controller.abort();
  await consumed;

  // A filtered stream that starts now sees only what matches.
  const filtered: LiveEvent[] = [];
  const stop = new AbortController();
  let opened = false;
  const stream2 = admin.events({ filter: { types: ['request.approved'] }, signal: stop.signal, onStatus: (st) => { if (st === 'live') opened = true; } });
  const reading = (async () => {
    try {
      for await (const e of stream2) filtered.push(e);
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    }
  })();
  await until(() => opened, 'the filtered stream to be live');
  const x = await admin.request({ action: 'x' });
  const y = await admin.request({ action: 'y' });
  await admin.decide(x.id, 'denied');
  await admin.decide(y.id, 'approved');
  await until(() => filtered.length > 0, 'the approval');
  t.same(filtered.map((e) => [e.eventType, e.streamId]), [['request.approved', `request-${y.id}`]]);
  stop.abort();
  await reading;
});

t.test('events(): refusals are typed errors, not endless reconnects', async (t) => {
  const s = await liveServer(t);
  const badKey = new AgentGateClient({ baseUrl: s.baseUrl, apiKey: 'agk_nope' });
  const unauthorized = await (async () => {
    for await (const _ of badKey.events()) return null;
    return null;
  })().catch((e: unknown) => e);
  t.match(unauthorized, { code: 'UNAUTHORIZED', status: 401 });

  const writer = s.client((await s.key(['request:create'])).key);
  const forbidden = await (async () => {
    for await (const _ of writer.events()) return null;
    return null;
  })().catch((e: unknown) => e);
  t.match(forbidden, { code: 'FORBIDDEN', status: 403 });

  const reader = s.client((await s.key(['request:read'])).key);
  const narrowed = await (async () => {
    for await (const _ of reader.events({ filter: { streamTypes: ['apikey'] } })) return null;
    return null;
  })().catch((e: unknown) => e);
  t.match(narrowed, { code: 'FORBIDDEN' }, 'asking for events the key may not read');
});
