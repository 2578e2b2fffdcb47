/**
 * The attempts recorded before a post (where a channel can look for a message whose id never
 * got recorded), as the notification decider keeps them, and Slack's `ts` for a time.
 */
import t from 'tap';
import { decideNotification, evolveNotification, initialNotificationState, type NotificationState } from '../../server/src/channels/notification-decider.ts';
import { slackTs } from '../../server/src/channels/slack-lookup.ts';
import type { Destination } from '../../server/src/channels/types.ts';

const destination: Destination = { key: 'slack:#approvals', channel: 'slack', target: '#approvals' };
const apply = (s: NotificationState, events: ReturnType<typeof decideNotification>) => events.reduce(evolveNotification, s);

t.test('each attempt is recorded with when it began, oldest first; none once the message is recorded', async (t) => {
  let s = initialNotificationState();
  const first = decideNotification({ type: 'record_attempt', destination, attempt: 1, startedAt: '2026-06-01T12:00:00.000Z' }, s);
  t.same(first, [{ type: 'request.notification_attempted', data: { destination, attempt: 1, startedAt: '2026-06-01T12:00:00.000Z' } }]);
  s = apply(s, first);
  s = apply(s, decideNotification({ type: 'record_attempt', destination, attempt: 2, startedAt: '2026-06-01T12:00:05.000Z' }, s));
  t.same(s.messages[destination.key]?.attempts, ['2026-06-01T12:00:00.000Z', '2026-06-01T12:00:05.000Z']);
  t.equal(s.messages[destination.key]?.posted, null);

  const adopted = decideNotification({ type: 'record_posted', destination, posted: { messageId: '1780315200.000100', ref: { channel: 'C0A' } }, adopted: true }, s);
  t.same(adopted, [{ type: 'request.notified', data: { destination, messageId: '1780315200.000100', ref: { channel: 'C0A' }, adopted: true } }], 'an adopted message says so');
  s = apply(s, adopted);
  t.same(decideNotification({ type: 'record_attempt', destination, attempt: 3, startedAt: '2026-06-01T12:01:00.000Z' }, s), [], 'posted: no further attempt');
  const plain = decideNotification({ type: 'record_posted', destination: { ...destination, key: 'slack:#ops', target: '#ops' }, posted: { messageId: 'x', ref: {} } }, s);
  t.notOk('adopted' in plain[0]!.data, 'a message posted by this attempt is not marked');
});

t.test("Slack's ts for a time: seconds and six digits of microseconds", async (t) => {
  t.equal(slackTs(Date.parse('2026-06-01T12:00:00.000Z')), '1780315200.000000');
  t.equal(slackTs(1_780_315_200_123), '1780315200.123000');
  t.equal(slackTs(1_780_315_200_007), '1780315200.007000');
});
