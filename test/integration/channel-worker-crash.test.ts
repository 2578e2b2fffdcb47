/**
 * A worker process killed in the middle of a notification: the retry, in another worker
 * process, posts the message that was cut off and leaves alone the one whose id is already
 * recorded — exactly one message per destination, and exactly one update each.
 *
 * The window that remains (docs/operations.md): Slack takes the post, and the worker dies
 * before it records the message id. Slack's chat.postMessage has no idempotency key, so
 * the retry then posts a second message. Here the fake Slack holds the post *before*
 * taking it, as when the request never reached Slack.
 */
import t from 'tap';
import { testApp } from '../helpers/app.ts';
import { fakeSlack } from '../helpers/fake-slack.ts';
import { childWorker, eventually, jobSchema } from '../helpers/worker.ts';

t.test('killed mid-send, restarted: one message per destination, one update each', async (t) => {
  const slack = await fakeSlack(t);
  const h = await testApp(t, { publicUrl: 'https://gate.example.com' });
  await jobSchema(h.sql, h.dbUrl);
  const env = { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: slack.apiUrl, PUBLIC_URL: 'https://gate.example.com', CHANNEL_TIMEOUT_MS: '60000' };
  await h.call('POST', '/api/policies', {
    body: { name: 'two channels', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', channels: ['slack:#approvals', 'slack:#ops'] }] },
  });
  const hold = slack.holdPostsTo('#ops');
  const first = childWorker(t, h.dbUrl, env);
  const request = (await h.call('POST', '/api/requests', { body: { action: 'deploy', params: { service: 'billing' } } })).json() as { id: string };
  const notified = async () => (await h.sql<{ key: string }[]>`
    select data#>>'{destination,key}' as key from events where stream_id = ${`request-${request.id}`} and type = 'request.notified' order by position`).map((r) => r.key);

  await eventually(async () => (await notified()).includes('slack:#approvals'), '#approvals posted and its id recorded', 60_000);
  await eventually(async () => hold.waiting() === 1, 'the #ops post in flight', 60_000);
  await first.kill9();
  await eventually(async () => hold.abandoned() === 1, 'the cut-off post abandoned');
  hold.release();
  t.same(slack.posted().map((c) => c.args.channel), ['#approvals'], 'only #approvals reached Slack before the kill');

  const second = childWorker(t, h.dbUrl, env);
  await eventually(async () => (await notified()).includes('slack:#ops'), 'the #ops post retried by the new worker', 60_000);
  t.same((await notified()).sort(), ['slack:#approvals', 'slack:#ops'], 'one recorded message per destination');
  t.same(slack.posted().map((c) => c.args.channel).sort(), ['#approvals', '#ops'], 'exactly one Slack message per destination');

  // A job that runs again after its message was recorded (the worker died after the
  // record, before graphile-worker marked the job done) finds the id and posts nothing.
  const [planned] = await h.sql`select data from events where stream_id = ${`request-${request.id}`} and type = 'request.notifications_planned'`;
  const approvals = (planned!.data.destinations as Array<{ key: string }>).find((d) => d.key === 'slack:#approvals');
  await h.sql`select graphile_worker.add_job('post_notification', ${h.sql.json({ requestId: request.id, destination: approvals! })}::json, job_key => 'rerun')`;
  await eventually(async () => (await h.sql`select 1 from graphile_worker.jobs where key = 'rerun'`).length === 0, 'the re-run done', 60_000);
  t.equal(slack.posted().length, 2, 'the re-run posted nothing');

  const decided = await h.call('POST', `/api/requests/${request.id}/decide`, { body: { decision: 'approved', reason: 'ok' } });
  t.equal(decided.statusCode, 200);
  await eventually(async () => slack.updates().length === 2 && (await h.sql`
    select 1 from events where stream_id = ${`request-${request.id}`} and type = 'request.notification_updated'`).length === 2, 'both messages updated', 60_000);
  const [failed] = await h.sql<{ n: number }[]>`select count(*)::int as n from events where stream_id = ${`request-${request.id}`} and type = 'request.notification_failed'`;
  t.equal(failed!.n, 0, 'a killed attempt records no failure: it did not get to');
  t.same(slack.updates().map((c) => c.args.channel).sort(), ['C0APPROVALS', 'C0OPS'], 'each message updated once');
  t.equal(slack.posted().length, 2, 'still two messages');
  await second.kill9();
});
