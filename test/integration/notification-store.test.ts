/**
 * A notification job's reads and records (channels/notification-store.ts): one statement
 * reads the request with its notification state and the stream's version; a record is one
 * append at that version; a record made on a stale read (a sibling destination recorded in
 * between) is decided again on the fresh stream: recorded once, never twice.
 */
import t from 'tap';
import { loadNotification, recordNotification } from '../../server/src/channels/notification-store.ts';
import type { Destination } from '../../server/src/channels/types.ts';
import { testApp } from '../helpers/app.ts';

const slackApprovals: Destination = { key: 'slack:#approvals', channel: 'slack', target: '#approvals' };
const slackOps: Destination = { key: 'slack:#ops', channel: 'slack', target: '#ops' };

t.test('load, record, and records made on a stale read', async (t) => {
  const h = await testApp(t);
  await h.call('POST', '/api/policies', {
    body: { name: 'two', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', channels: ['slack:#approvals', 'slack:#ops'] }] },
  });
  const request = (await h.call('POST', '/api/requests', { body: { action: 'deploy', params: { service: 'billing' } } })).json() as { id: string };
  const stream = `request-${request.id}`;
  const types = async () => (await h.sql<{ type: string; version: number }[]>`
    select type, version from events where stream_id = ${stream} order by version`).map((e) => `${e.version}:${e.type}`);

  t.equal(await loadNotification(h.sql, 'req_01jx0000000000000000000000'), null, 'no such request');
  const fresh = (await loadNotification(h.sql, request.id))!;
  t.match(fresh.request, { id: request.id, status: 'pending', params: { service: 'billing' } });
  t.same(fresh.state.messages, {});
  t.equal(fresh.version, 1, "the stream's version: its request.created, which the state does not fold");

  const planned = await recordNotification(h.sql, fresh, { type: 'plan', plan: { destinations: [slackApprovals, slackOps], skipped: [] } });
  t.equal(planned.version, 2);
  t.ok(planned.state.planned);
  const loaded = (await loadNotification(h.sql, request.id))!;
  t.equal(loaded.version, 2);
  t.ok(loaded.state.planned, 'read back planned');

  // Both destinations read version 2, post, and record: the second finds version 3 taken.
  const approvals = await recordNotification(h.sql, loaded, { type: 'record_posted', destination: slackApprovals, posted: { messageId: '1.1', ref: { channel: 'C1' } } });
  t.equal(approvals.version, 3);
  const ops = await recordNotification(h.sql, loaded, { type: 'record_posted', destination: slackOps, posted: { messageId: '2.2', ref: { channel: 'C2' } } });
  t.equal(ops.version, 4, 'recorded after the sibling, on the fresh stream');
  t.ok(ops.state.messages['slack:#approvals']?.posted && ops.state.messages['slack:#ops']?.posted, 'its state has both messages');

  // A second job for #approvals that read before its message was recorded records nothing.
  const again = await recordNotification(h.sql, loaded, { type: 'record_posted', destination: slackApprovals, posted: { messageId: '9.9', ref: { channel: 'C1' } } });
  t.equal(again.version, 4);
  t.same(await types(), ['1:request.created', '2:request.notifications_planned', '3:request.notified', '4:request.notified']);
  const rows = await h.sql<{ destination_key: string; message_id: string; status: string }[]>`
    select destination_key, message_id, status from notification_messages where request_id = ${request.id} order by destination_key`;
  t.same(rows, [
    { destination_key: 'slack:#approvals', message_id: '1.1', status: 'posted' },
    { destination_key: 'slack:#ops', message_id: '2.2', status: 'posted' },
  ], 'the first message id of each destination is the one kept');
});
