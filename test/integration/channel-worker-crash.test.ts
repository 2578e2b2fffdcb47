/**
 * A worker process killed in the middle of a notification: the retry, in another worker
 * process, posts the message that was cut off, leaves alone the one whose id is already
 * recorded, and adopts the one Slack took whose id the killed worker never recorded —
 * exactly one message per destination, and exactly one update each.
 *
 * The three places a kill can land, one destination each:
 *   #approvals  after the message id is recorded: nothing to do again;
 *   #ops        before Slack takes the post (the stand-in holds it unread): posted again;
 *   #sec        after Slack takes it, before its ts is recorded (the stand-in keeps the
 *               message and holds the answer): the retry finds it in conversations.history
 *               by its metadata, after the attempt recorded before the post, and adopts it.
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
    body: { name: 'three channels', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', channels: ['slack:#approvals', 'slack:#ops', 'slack:#sec'] }] },
  });
  const unread = slack.holdPostsTo('#ops');
  const unanswered = slack.holdAnswersTo('#sec');
  const first = childWorker(t, h.dbUrl, env);
  const request = (await h.call('POST', '/api/requests', { body: { action: 'deploy', params: { service: 'billing' } } })).json() as { id: string };
  const stream = `request-${request.id}`;
  const notified = async () => (await h.sql<{ key: string }[]>`
    select data#>>'{destination,key}' as key from events where stream_id = ${stream} and type = 'request.notified' order by position`).map((r) => r.key);

  await eventually(async () => (await notified()).includes('slack:#approvals'), '#approvals posted and its id recorded', 60_000);
  await eventually(async () => unread.waiting() === 1, 'the #ops post in flight, not yet taken', 60_000);
  await eventually(async () => unanswered.waiting() === 1, 'the #sec post taken, its answer in flight', 60_000);
  await first.kill9();
  await eventually(async () => unread.abandoned() === 1, 'the cut-off post abandoned');
  unread.release();
  unanswered.release();
  t.same(slack.posted().map((c) => c.args.channel).sort(), ['#approvals', '#sec'], '#approvals and #sec reached Slack before the kill');
  t.same(await notified(), ['slack:#approvals'], 'only #approvals recorded: the #sec message is in Slack, its ts nowhere');
  const [secMessage] = slack.history('C0SEC');

  const second = childWorker(t, h.dbUrl, env);
  await eventually(async () => (await notified()).length === 3, 'the #ops and #sec posts retried by the new worker', 60_000);
  t.same((await notified()).sort(), ['slack:#approvals', 'slack:#ops', 'slack:#sec'], 'one recorded message per destination');
  t.same(slack.posted().map((c) => c.args.channel).sort(), ['#approvals', '#ops', '#sec'], 'exactly one Slack message per destination');
  t.equal(slack.history('C0SEC').length, 1, 'one message in #sec');
  const [sec] = await h.sql`select data from events where stream_id = ${stream} and type = 'request.notified' and data#>>'{destination,key}' = 'slack:#sec'`;
  t.match(sec!.data, { messageId: secMessage!.ts, ref: { channel: 'C0SEC' }, adopted: true }, 'the message Slack took, adopted');
  const lookups = slack.calls.filter((c) => c.method === 'conversations.history');
  t.same(lookups.map((c) => c.args.channel).sort(), ['C0OPS', 'C0SEC'], 'looked up where an attempt had begun, and only there');
  t.ok(lookups.every((c) => c.args.include_all_metadata === 'true' && c.args.oldest && c.args.latest), 'with metadata, between bounds');
  const attempts = await h.sql<{ key: string; n: number }[]>`
    select data#>>'{destination,key}' as key, count(*)::int as n from events
    where stream_id = ${stream} and type = 'request.notification_attempted' group by 1 order by 1`;
  t.same(attempts.map((a) => [a.key, a.n]), [['slack:#approvals', 1], ['slack:#ops', 2], ['slack:#sec', 1]], 'each attempt recorded before it posted');

  // A job that runs again after its message was recorded (the worker died after the
  // record, before graphile-worker marked the job done) finds the id and posts nothing.
  const [planned] = await h.sql`select data from events where stream_id = ${stream} and type = 'request.notifications_planned'`;
  const approvals = (planned!.data.destinations as Array<{ key: string }>).find((d) => d.key === 'slack:#approvals');
  await h.sql`select graphile_worker.add_job('post_notification', ${h.sql.json({ requestId: request.id, destination: approvals! })}::json, job_key => 'rerun')`;
  await eventually(async () => (await h.sql`select 1 from graphile_worker.jobs where key = 'rerun'`).length === 0, 'the re-run done', 60_000);
  t.equal(slack.posted().length, 3, 'the re-run posted nothing');

  const decided = await h.call('POST', `/api/requests/${request.id}/decide`, { body: { decision: 'approved', reason: 'ok' } });
  t.equal(decided.statusCode, 200);
  await eventually(async () => slack.updates().length === 3 && (await h.sql`
    select 1 from events where stream_id = ${stream} and type = 'request.notification_updated'`).length === 3, 'every message updated', 60_000);
  const failed = await h.sql`select data from events where stream_id = ${stream} and type = 'request.notification_failed'`;
  t.same(failed.map((e) => e.data), [], 'a killed attempt records no failure: it did not get to');
  t.same(slack.updates().map((c) => c.args.channel).sort(), ['C0APPROVALS', 'C0OPS', 'C0SEC'], 'each message updated once');
  t.equal(slack.updates().find((c) => c.args.channel === 'C0SEC')?.args.ts, secMessage!.ts, 'the adopted message is the one updated');
  t.equal(slack.posted().length, 3, 'still three messages');
  await second.kill9();
});
