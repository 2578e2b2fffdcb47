/**
 * A notification job reads only the event types in NOTIFICATION_EVENT_TYPES
 * (notification-store.ts): every event the notification decider makes that changes the
 * state `evolveNotification` folds must be among them, or a job would not see it.
 */
import t from 'tap';
import {
  decideNotification, evolveNotification, initialNotificationState, NOTIFICATION_EVENT_TYPES,
  type NotificationCommand, type NotificationState,
} from '../../server/src/channels/notification-decider.ts';
import type { Destination } from '../../server/src/channels/types.ts';

const destination: Destination = { key: 'slack:#approvals', channel: 'slack', target: '#approvals' };
const posted = { messageId: '1.1', ref: { channel: 'C1' } };

/** Every kind of command, each on a state where it makes its events. */
const commands: Array<[NotificationCommand, NotificationState]> = [];
const planned = evolveNotification(initialNotificationState(), { type: 'request.notifications_planned', data: { destinations: [destination], skipped: [] } });
const withMessage = evolveNotification(planned, { type: 'request.notified', data: { destination, ...posted } });
commands.push(
  [{ type: 'plan', plan: { destinations: [destination], skipped: [] } }, initialNotificationState()],
  [{ type: 'issue_recipient_link', link: { linkId: 'link_1', recipient: 'a@example.com', approveTokenHash: 'a', denyTokenHash: 'd', expiresAt: '2030-01-01T00:00:00.000Z' } }, planned],
  [{ type: 'record_attempt', destination, attempt: 1, startedAt: '2030-01-01T00:00:00.000Z' }, planned],
  [{ type: 'record_posted', destination, posted }, planned],
  [{ type: 'record_failure', destination, attempt: 1, error: 'boom', stage: 'post' }, planned],
  [{ type: 'record_updated', key: destination.key, status: 'approved' }, withMessage],
  [{ type: 'record_answered', channel: 'slack', messageId: posted.messageId, status: 'approved' }, withMessage],
);

/** Every kind of command: a new kind fails to compile here until it is added above too. */
const KINDS: Record<NotificationCommand['type'], true> = {
  plan: true, issue_recipient_link: true, record_attempt: true, record_posted: true, record_failure: true, record_updated: true, record_answered: true,
};

const withoutVersion = ({ version: _version, ...rest }: NotificationState) => rest;

t.test('every event that changes the folded state is read by the jobs', async (t) => {
  t.same(commands.map(([c]) => c.type).sort(), Object.keys(KINDS).sort(), 'every kind of command is tried');
  const seen = new Set<string>();
  for (const [command, state] of commands) {
    const events = decideNotification(command, state);
    t.ok(events.length > 0, `${command.type} makes an event here`);
    for (const e of events) {
      const after = evolveNotification(state, { type: e.type, data: e.data as unknown as Record<string, unknown> });
      if (JSON.stringify(withoutVersion(after)) !== JSON.stringify(withoutVersion(state))) seen.add(e.type);
    }
  }
  for (const type of seen) t.ok((NOTIFICATION_EVENT_TYPES as readonly string[]).includes(type), `${type} is read`);
  t.same([...seen].sort(), [...NOTIFICATION_EVENT_TYPES].sort(), 'and nothing else is');
});
