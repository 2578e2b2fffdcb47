/**
 * Notifications as a pure decider over the request's own stream: which destinations were
 * planned, which message each got (its id, so a retry or a restart never posts twice),
 * when each attempt began (where a channel can be searched for a message whose id never got
 * recorded), every failed attempt, and the one update each message gets when the request is over.
 */
import type { NewEvent } from '../events/types.ts';
import type { DecisionLink } from '../requests/decider.ts';
import type { Plan } from './destinations.ts';
import type { Destination, PostedMessage } from './types.ts';

export interface MessageState {
  destination: Destination;
  posted: PostedMessage | null;
  /** When each attempt recorded before posting began (ISO), oldest first. */
  attempts: string[];
  failures: number;
  updated: boolean;
}

export interface NotificationState {
  planned: boolean;
  messages: Record<string, MessageState>;
  version: number;
}

export const initialNotificationState = (): NotificationState => ({ planned: false, messages: {}, version: 0 });

/** Links sent in an email, recorded with the message (only their hashes). */
export type RecipientLink = Pick<DecisionLink, 'approveTokenHash' | 'denyTokenHash' | 'expiresAt'> & { linkId: string; recipient: string };

export type NotificationCommand =
  | { type: 'plan'; plan: Plan }
  | { type: 'issue_recipient_link'; link: RecipientLink }
  /**
   * An attempt to post is about to begin (channels whose messages can be looked up, Slack):
   * recorded first, so that if the channel takes the message and the attempt dies before its
   * id is recorded, a retry knows when to look for it.
   */
  | { type: 'record_attempt'; destination: Destination; attempt: number; startedAt: string }
  /** `adopted`: the message an earlier attempt posted, found by a retry instead of posting again. */
  | { type: 'record_posted'; destination: Destination; posted: PostedMessage; adopted?: boolean }
  | { type: 'record_failure'; destination: Destination; attempt: number; error: string; stage: 'post' | 'update' }
  | { type: 'record_updated'; key: string; status: string }
  /**
   * The decision was clicked on one of the request's own messages and the click's answer
   * rewrites that message (Discord's UPDATE_MESSAGE): its one update, recorded with the
   * decision in one transaction so the update job finds it done and never sends a second.
   */
  | { type: 'record_answered'; channel: Destination['channel']; messageId: string; status: string };

export type NotificationEvent =
  | NewEvent<'request.notifications_planned', Plan>
  | NewEvent<'request.notification_attempted', { destination: Destination; attempt: number; startedAt: string }>
  | NewEvent<'request.notified', { destination: Destination; messageId: string; ref: Record<string, string>; adopted?: true }>
  | NewEvent<'request.notification_failed', { destination: Destination; attempt: number; error: string; stage: 'post' | 'update' }>
  | NewEvent<'request.notification_updated', { key: string; messageId: string; status: string; via?: 'interaction' }>
  | NewEvent<'request.decision_link_issued', DecisionLink & { linkId: string }>;

export function decideNotification(command: NotificationCommand, state: NotificationState): NotificationEvent[] {
  switch (command.type) {
    case 'plan':
      // Nothing to announce and nothing skipped (no channel named, none configured): no event.
      if (state.planned || (command.plan.destinations.length === 0 && command.plan.skipped.length === 0)) return [];
      return [{ type: 'request.notifications_planned', data: command.plan }];
    case 'issue_recipient_link': {
      // Recorded before the email is sent, so the links work the moment it arrives.
      const { linkId, recipient, approveTokenHash, denyTokenHash, expiresAt } = command.link;
      return [{
        type: 'request.decision_link_issued',
        data: {
          linkId, approveTokenHash, denyTokenHash, expiresAt, reviewer: recipient, recipient,
          issuedBy: { type: 'system', id: 'notifications', name: 'email notification' },
        },
      }];
    }
    case 'record_attempt':
      // Posted meanwhile (another run of the job): nothing left to attempt.
      if (state.messages[command.destination.key]?.posted) return [];
      return [{ type: 'request.notification_attempted', data: { destination: command.destination, attempt: command.attempt, startedAt: command.startedAt } }];
    case 'record_posted':
      // A second post of the same destination (two jobs racing) keeps the first message id.
      if (state.messages[command.destination.key]?.posted) return [];
      return [{
        type: 'request.notified',
        data: { destination: command.destination, ...command.posted, ...(command.adopted ? { adopted: true as const } : {}) },
      }];
    case 'record_failure':
      return [{ type: 'request.notification_failed', data: { destination: command.destination, attempt: command.attempt, error: command.error, stage: command.stage } }];
    case 'record_updated': {
      const m = state.messages[command.key];
      if (!m?.posted || m.updated) return [];
      return [{ type: 'request.notification_updated', data: { key: command.key, messageId: m.posted.messageId, status: command.status } }];
    }
    case 'record_answered': {
      const m = Object.values(state.messages).find((x) =>
        x.destination.channel === command.channel && x.posted?.messageId === command.messageId && !x.updated);
      if (!m) return [];
      return [{ type: 'request.notification_updated', data: { key: m.destination.key, messageId: command.messageId, status: command.status, via: 'interaction' } }];
    }
  }
}

/**
 * The event types `evolveNotification` folds (every other event of the stream only counts
 * towards its version): a job may read just these, with the stream's version beside them.
 */
export const NOTIFICATION_EVENT_TYPES = [
  'request.notifications_planned', 'request.notification_attempted', 'request.notified', 'request.notification_failed',
  'request.notification_updated',
] as const satisfies readonly NotificationEvent['type'][];

export function evolveNotification(state: NotificationState, event: { type: string; data: Record<string, unknown> } | NotificationEvent): NotificationState {
  const next = { ...state, version: state.version + 1 };
  const e = event as NotificationEvent;
  const message = (d: Destination): MessageState => state.messages[d.key] ?? { destination: d, posted: null, attempts: [], failures: 0, updated: false };
  switch (e.type) {
    case 'request.notifications_planned':
      return { ...next, planned: true };
    case 'request.notification_attempted': {
      const m = message(e.data.destination);
      return { ...next, messages: { ...state.messages, [m.destination.key]: { ...m, attempts: [...m.attempts, e.data.startedAt] } } };
    }
    case 'request.notified': {
      const m = message(e.data.destination);
      return { ...next, messages: { ...state.messages, [m.destination.key]: { ...m, posted: { messageId: e.data.messageId, ref: e.data.ref } } } };
    }
    case 'request.notification_failed': {
      const m = message(e.data.destination);
      return { ...next, messages: { ...state.messages, [m.destination.key]: { ...m, failures: m.failures + 1 } } };
    }
    case 'request.notification_updated': {
      const m = state.messages[e.data.key];
      return m ? { ...next, messages: { ...state.messages, [e.data.key]: { ...m, updated: true } } } : next;
    }
    default:
      return next;
  }
}
