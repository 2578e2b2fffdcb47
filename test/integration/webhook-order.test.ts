/**
 * One webhook receives its events in order, retries included, and a backlog drains at
 * the receiver's speed: the webhook's line (webhook_outbox) served by one job.
 */
import t from 'tap';
import { testApp, type TestApp } from '../helpers/app.ts';
import { createWebhook, receiverFor } from '../helpers/webhook-receiver.ts';
import { eventually, inProcessWorker, jobSchema } from '../helpers/worker.ts';

async function createRequest(h: TestApp, action = 'deploy') {
  const res = await h.call('POST', '/api/requests', { body: { action } });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json() as { id: string };
}

t.test('a delivery waiting for its retry holds back later deliveries to the same webhook, not to others', async (t) => {
  const h = await testApp(t);
  const slow = await receiverFor(t);
  const other = await receiverFor(t);
  slow.respond = (n) => (n === 1 ? 500 : 200); // request.created fails once
  await createWebhook(h, { url: slow.url, events: ['request.created', 'request.decided'] });
  await createWebhook(h, { url: other.url, events: ['request.created', 'request.decided'] });
  // The retry comes 2 s after the failure: ample time for request.decided to overtake it.
  await inProcessWorker(t, h.sql, h.dbUrl, { delivery: { allowPrivate: true, timeoutMs: 5000, retry: { baseMs: 1000, maxMs: 60_000 } } });

  const req = await createRequest(h);
  await slow.waitFor(1);
  const decided = await h.call('POST', `/api/requests/${req.id}/decide`, { body: { decision: 'approved' } });
  t.equal(decided.statusCode, 200);

  const [, otherDecided] = await other.waitFor(2);
  t.equal(otherDecided!.json.event, 'request.decided', 'another webhook is not held back');
  t.equal(slow.received.length, 1, 'while the failed delivery waits for its retry, nothing overtakes it');

  const got = await slow.waitFor(3);
  t.same(got.map((g) => g.json.event), ['request.created', 'request.created', 'request.decided'], 'the retry first, then the later event');
  t.equal(got[0]!.json.deliveryId, got[1]!.json.deliveryId, 'attempt 2 of the same delivery');
  t.ok(otherDecided!.at < got[1]!.at, 'the other webhook had its decision before the retry was due');
});

t.test('a line changed by two transactions at once leaves its job due when its head is', async (t) => {
  const h = await testApp(t);
  const r = await receiverFor(t);
  const w = await createWebhook(h, { url: r.url, events: ['request.created'] });
  await jobSchema(h.sql, h.dbUrl); // no worker: the job stays as the line's changes leave it
  await createRequest(h); // the head of the line, due now, and the line's job

  // A failed attempt puts the head's retry an hour ahead; before it commits, a later event
  // joins the line. The later event's transaction must not set the job due by the head as
  // it was before the attempt.
  let commitAttempt!: () => void;
  const attemptMayCommit = new Promise<void>((resolve) => (commitAttempt = resolve));
  let attemptWritten!: () => void;
  const written = new Promise<void>((resolve) => (attemptWritten = resolve));
  const attempt = h.sql.begin(async (tx) => {
    await tx`update webhook_outbox set attempt = 2, due_at = now() + interval '1 hour' where webhook_id = ${w.id}`;
    await tx`select wake_webhook_line(${w.id})`;
    attemptWritten();
    await attemptMayCommit;
  });
  await written;
  const later = h.sql.begin(async (tx) => {
    await tx`insert into webhook_outbox (webhook_id, delivery_id, payload) values (${w.id}, 'dlv_later', '{}')`;
    await tx`select wake_webhook_line(${w.id})`;
  });
  await eventually(async () => {
    const [row] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
    return row!.n > 0;
  }, 'the later event waiting for the attempt');
  commitAttempt();
  await Promise.all([attempt, later]);

  const [job] = await h.sql<{ run_at: Date; head_due: Date }[]>`
    select j.run_at, (select due_at from webhook_outbox where webhook_id = ${w.id} order by seq limit 1) as head_due
    from graphile_worker.jobs j where j.key = ${'webhook:' + w.id}`;
  t.ok(job, 'the line has its job');
  t.equal(job!.run_at.toISOString(), job!.head_due.toISOString(), 'due when the retry of its head is, not before');
});

t.test('a delivery that gives up lets the next one go', async (t) => {
  const h = await testApp(t);
  const r = await receiverFor(t);
  r.respond = (_n, got) => (got.json.event === 'request.created' ? 503 : 200);
  const w = await createWebhook(h, { url: r.url, events: ['request.created', 'request.decided'], maxAttempts: 2 });
  await inProcessWorker(t, h.sql, h.dbUrl);
  const req = await createRequest(h);
  await h.call('POST', `/api/requests/${req.id}/decide`, { body: { decision: 'denied' } });
  const got = await r.waitFor(3);
  t.same(got.map((g) => g.json.event), ['request.created', 'request.created', 'request.decided']);
  const rows = await eventually(async () => {
    const list = await h.sql<{ event: string; status: string }[]>`
      select event, status from webhook_deliveries where webhook_id = ${w.id} order by event_position`;
    return list.length === 2 && list[1]!.status === 'success' && list;
  }, 'both deliveries settled');
  t.same(rows, [{ event: 'request.created', status: 'failed' }, { event: 'request.decided', status: 'success' }]);
  t.equal((await h.sql`select 1 from webhook_outbox`).length, 0, 'the line is empty');
});

t.test('a backlog of due deliveries drains back to back, not one per poll interval', async (t) => {
  const h = await testApp(t);
  const r = await receiverFor(t);
  await createWebhook(h, { url: r.url, events: ['request.created'] });
  await jobSchema(h.sql, h.dbUrl);
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push((await createRequest(h, `backlog_${i}`)).id); // no worker yet: 20 due deliveries

  // A worker that polls once a minute: only back-to-back pick-up delivers 20 in the time allowed.
  await inProcessWorker(t, h.sql, h.dbUrl, { pollIntervalMs: 60_000 });
  const got = await r.waitFor(20, undefined, 30_000);
  t.same(got.map((g) => g.json.data.id), ids, 'all 20, in event order');
});
