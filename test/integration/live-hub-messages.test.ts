/**
 * The live hub reads request events without their wire messages while no listener needs
 * them, and with them as soon as one does — including one that attaches while a read
 * without them is under way.
 */
import t from 'tap';
import { connect } from '../../server/src/db/connect.ts';
import { LOG_START } from '../../server/src/events/store.ts';
import { Live, type LiveListener } from '../../server/src/live/live.ts';
import type { LiveEvent } from '../../server/src/live/log.ts';
import { testApp } from '../helpers/app.ts';
import { settled, until } from '../helpers/live.ts';

function recorder(needsRequestMessages: boolean): LiveListener & { events: LiveEvent[] } {
  const events: LiveEvent[] = [];
  return { needsRequestMessages, events, onEvents: (page) => { events.push(...page); } };
}

t.test('request events come without messages while no listener needs them; other events always with', async (t) => {
  const h = await testApp(t);
  const plain = recorder(false);
  h.app.live.attach(plain);
  t.teardown(() => h.app.live.detach(plain));
  const created = await h.call('POST', '/api/requests', { body: { action: 'deploy' } });
  const policy = await h.call('POST', '/api/policies', { body: { name: 'p', priority: 1, rules: [{ match: { action: 'x' }, decision: 'auto_approve' }] } });
  await until(() => plain.events.some((e) => e.type === 'policy.created'), 'the hub to read the policy');
  const request = plain.events.find((e) => e.streamId === `request-${created.json().id}`);
  t.ok(request, 'the request event is read (routing fields for waiters, metrics, the policy set)');
  t.equal(request!.msg, null, 'without its message');
  const policyEvent = plain.events.find((e) => e.streamId === `policy-${policy.json().id}`);
  t.match(JSON.parse(policyEvent!.msg!), { type: 'event', eventType: 'policy.created' }, 'a policy event with its message');

  const subscriber = recorder(true);
  h.app.live.attach(subscriber);
  t.teardown(() => h.app.live.detach(subscriber));
  const next = await h.call('POST', '/api/requests', { body: { action: 'deploy' } });
  await until(() => subscriber.events.some((e) => e.streamId === `request-${next.json().id}`), 'the hub to read the second request');
  for (const who of [subscriber, plain]) {
    const e = who.events.find((x) => x.streamId === `request-${next.json().id}`)!;
    t.match(JSON.parse(e.msg!), { type: 'event', eventType: 'request.created', data: { id: next.json().id } }, 'with a subscriber attached, request events carry their messages');
  }
});

t.test('a listener needing messages that attaches during a read without them gets the page read again, with them', async (t) => {
  const h = await testApp(t);
  const created = await h.call('POST', '/api/requests', { body: { action: 'deploy' } });
  t.equal(created.statusCode, 201);
  await settled(h.sql);

  // A hub of its own, rewound to the start of the log, whose next read waits on a lock.
  const sql = connect(h.appUrl, { max: 2 });
  const hub = new Live(sql);
  await hub.start();
  t.teardown(async () => { await hub.stop(); await sql.end({ timeout: 1 }); });
  hub.cursor = LOG_START;
  const plain = recorder(false);
  hub.attach(plain);

  let locked!: () => void;
  let release!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const released = new Promise<void>((r) => (release = r));
  const holder = h.sql.begin(async (tx) => {
    await tx`lock table events in access exclusive mode`;
    locked();
    await released;
  });
  await isLocked;
  hub.wake();
  for (let i = 0; ; i++) {
    const blocked = await h.sql`select 1 from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query like '%pg_snapshot_xmin%'`;
    if (blocked.length > 0) break;
    if (i > 2_000) throw new Error('the hub\'s read never waited on the lock');
    await new Promise((r) => setTimeout(r, 5));
  }
  const subscriber = recorder(true);
  hub.attach(subscriber);
  release();
  await holder;
  await until(() => subscriber.events.some((e) => e.streamId === `request-${created.json().id}`), 'the hub to deliver the request');
  t.ok(hub.stats.rereads >= 1, 'the page read without messages was read again');
  for (const who of [subscriber, plain]) {
    const mine = who.events.filter((e) => e.streamId === `request-${created.json().id}`);
    t.equal(mine.length, 1, 'delivered once');
    t.match(JSON.parse(mine[0]!.msg!), { eventType: 'request.created' }, 'with its message');
  }
});
