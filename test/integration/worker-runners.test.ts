/**
 * A worker's two runners: notifications go out while every slot of the general runner is
 * held by a webhook delivery to a receiver that does not answer, and each runner's pool
 * beats in worker_heartbeats under its own id (and leaves when the worker stops).
 */
import t from 'tap';
import type { Channels } from '../../server/src/channels/registry.ts';
import { slackChannel } from '../../server/src/channels/slack.ts';
import { testApp } from '../helpers/app.ts';
import { fakeSlack } from '../helpers/fake-slack.ts';
import { createWebhook, receiverFor } from '../helpers/webhook-receiver.ts';
import { eventually, inProcessWorker } from '../helpers/worker.ts';

const BASE = 'https://gate.example.com';

t.test('notifications do not wait behind webhook deliveries', async (t) => {
  const slack = await fakeSlack(t);
  const h = await testApp(t, { publicUrl: BASE });
  const receiver = await receiverFor(t);
  receiver.respond = () => null; // never answers: each delivery holds its worker until the timeout
  await createWebhook(h, { url: receiver.url, events: ['*'] });
  const channels: Channels = {
    adapters: { slack: slackChannel({ botToken: 'xoxb-test', apiUrl: slack.apiUrl, timeoutMs: 5000 }) },
    defaults: { email: [] }, baseUrl: BASE,
  };
  const worker = await inProcessWorker(t, h.sql, h.dbUrl, {
    channels, concurrency: 1, channelConcurrency: 2,
    delivery: { allowPrivate: true, timeoutMs: 15_000, retry: { baseMs: 50, maxMs: 60_000 } },
  });
  await h.call('POST', '/api/policies', {
    body: { name: 'slack', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', channels: ['slack:#approvals'] }] },
  });

  const request = (await h.call('POST', '/api/requests', { body: { action: 'deploy' } })).json() as { id: string };
  await receiver.waitFor(1);
  await eventually(async () => slack.posted().length === 1, 'the Slack message', 10_000);
  const [attempts] = await h.sql<{ n: number }[]>`select count(*)::int as n from events where type = 'webhook.delivery_attempted'`;
  t.equal(attempts!.n, 0, 'posted while the webhook delivery still hangs in the only general slot');
  await eventually(async () => (await h.sql`select 1 from events where stream_id = ${`request-${request.id}`} and type = 'request.notified'`).length === 1, 'the message id recorded');

  const pools = worker.poolIds();
  t.equal(pools.length, 2, 'two pools');
  const beating = await h.sql<{ pool_id: string }[]>`select pool_id from worker_heartbeats order by pool_id`;
  t.same(beating.map((b) => b.pool_id), [...pools].sort(), 'each beats under its own id');
  await receiver.close(); // ends the hanging delivery, so that stopping need not wait for its timeout
  await worker.stop();
  t.same(await h.sql`select pool_id from worker_heartbeats`, [], 'and both leave when the worker stops');
});
