import { createHash } from 'node:crypto';
import {
  decideNotification, evolveNotification, initialNotificationState, type NotificationState,
} from '../channels/notification-decider.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { executeCommand } from '../events/command.ts';
import { streamId, type Actor, type EventMetadata } from '../events/types.ts';
import { keyCreators } from '../keys/queries.ts';
import { personByChannel, personByKey } from '../reviewers/queries.ts';
import {
  decide, evolve, initialRequestState,
  type DecisionRefused, type Person, type Principal, type RequestCommand, type RequestState, type ReviewerChannel,
} from './decider.ts';
import { getRequest } from './queries.ts';
import type { ApprovalRequest } from './schemas.ts';

/** Canonical JSON (sorted keys) so that the same body always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const bodyHash = (body: unknown) => createHash('sha256').update(canonical(body)).digest('hex');

function runRequestCommand(sql: Sql, id: string, command: RequestCommand, metadata: EventMetadata) {
  return executeCommand<RequestState>(sql, {
    streamId: streamId('request', id),
    streamType: 'request',
    newStream: command.type === 'create',
    initial: initialRequestState,
    evolve: (s, e) => evolve(s, e),
    decide: (s) => decide(command, s),
    metadata,
  });
}

/** The request an Idempotency-Key already made; IDEMPOTENCY_KEY_REUSED when it was made with another body. */
export async function findIdempotent(sql: Sql, requesterId: string, key: string, hash: string): Promise<ApprovalRequest | null> {
  const [row] = await sql<{ request_id: string; body_hash: string }[]>`
    select request_id, body_hash from idempotency_keys where requester_key_id = ${requesterId} and idempotency_key = ${key}`;
  if (!row) return null;
  if (row.body_hash !== hash) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different body', { requestId: row.request_id });
  }
  return getRequest(sql, row.request_id);
}

/** The principal with the keys that created it, which four-eyes judges. */
export async function withCreators(sql: Sql, principal: Principal): Promise<Principal> {
  return principal.type === 'key' ? { ...principal, creators: await keyCreators(sql, principal.id) } : principal;
}

export async function decideRequest(
  sql: Sql, id: string, decision: 'approved' | 'denied', reason: string | null, label: string | null,
  principal: Principal, metadata: EventMetadata, viaLink?: string,
): Promise<ApprovalRequest> {
  // A key linked to a reviewer decides as that person (their groups count, the audit log names them).
  const person = principal.type === 'key' && !principal.person ? await personByKey(sql, principal.id) : null;
  const acting = person && !person.disabled ? { ...principal, person } : principal;
  await runRequestCommand(sql, id, {
    type: 'decide', decision, reason, label, principal: await withCreators(sql, acting), now: new Date(),
    ...(viaLink !== undefined ? { viaLink } : {}),
  }, metadata);
  return getRequest(sql, id);
}

export type ChannelDecision =
  | { outcome: 'decided'; request: ApprovalRequest; decider: Actor; answered: boolean }
  | { outcome: 'refused'; refusal: DecisionRefused; request: ApprovalRequest };

/** The request's own state and its messages' (the click's message may be updated with the decision). */
interface DecisionWithMessages {
  request: RequestState;
  messages: NotificationState;
}

/**
 * A decision clicked in Slack or Discord, or made through an emailed link: the person is
 * looked up in the directory by the channel's own user id at this moment, and the request
 * decider judges them like any other principal. A refusal is recorded and returned (the
 * channel answers with its reason); a missing reason, a decided or expired request throw.
 *
 * `answersMessage` names the channel message that was clicked when the click's own answer
 * rewrites it with the outcome (Discord): that message's update is recorded in the same
 * transaction as the decision (`answered`), so the update job never sends it a second one.
 */
export async function decideFromChannel(
  sql: Sql, id: string,
  input: {
    decision: 'approved' | 'denied'; reason: string | null; channel: ReviewerChannel; externalId: string; viaLink?: string;
    answersMessage?: string;
  },
  metadata: Omit<EventMetadata, 'actor' | 'channel'>,
): Promise<ChannelDecision> {
  const { person, actor } = await channelIdentity(sql, input.channel, input.externalId);
  const command: RequestCommand = {
    type: 'channel_decide', decision: input.decision, reason: input.reason, channel: input.channel, externalId: input.externalId,
    person, now: new Date(), ...(input.viaLink !== undefined ? { viaLink: input.viaLink } : {}),
  };
  const { appended } = await executeCommand<DecisionWithMessages>(sql, {
    streamId: streamId('request', id),
    streamType: 'request',
    initial: () => ({ request: initialRequestState(), messages: initialNotificationState() }),
    evolve: (s, e) => ({ request: evolve(s.request, e), messages: evolveNotification(s.messages, e) }),
    decide: (s) => {
      const events = decide(command, s.request);
      const decided = events.find((e) => e.type === 'request.approved' || e.type === 'request.denied');
      if (!decided || input.answersMessage === undefined) return events;
      return [...events, ...decideNotification({
        type: 'record_answered', channel: input.channel, messageId: input.answersMessage,
        status: decided.type === 'request.approved' ? 'approved' : 'denied',
      }, s.messages)];
    },
    metadata: { ...metadata, actor, channel: input.channel },
  });
  const request = await getRequest(sql, id);
  const event = appended[0]!;
  if (event.type === 'request.decision_refused') return { outcome: 'refused', refusal: event.data as unknown as DecisionRefused, request };
  return {
    outcome: 'decided', request, decider: (event.data as { decider: Actor }).decider,
    answered: appended.some((e) => e.type === 'request.notification_updated'),
  };
}

/** The person behind a channel's user id at this moment (null when unknown), and the actor their attempts are recorded as. */
async function channelIdentity(sql: Sql, channel: ReviewerChannel, externalId: string): Promise<{ person: Person | null; actor: Actor }> {
  const found = await personByChannel(sql, channel, externalId);
  // Four eyes reaches the reviewer linked to a key the requester minted, too.
  const person = found?.keyId ? { ...found, keyCreators: await keyCreators(sql, found.keyId) } : found;
  const actor: Actor = person
    ? { type: 'reviewer', id: person.reviewerId, name: person.name, channel, externalId }
    : { type: 'system', id: `${channel}:${externalId}`, name: `${channel} user ${externalId}`, channel, externalId };
  return { person, actor };
}

export type ChannelCheck =
  | { outcome: 'may_decide' }
  | { outcome: 'refused'; refusal: DecisionRefused };

/**
 * Before a channel asks a clicker for their reason: may they decide this request now? The
 * request decider judges it (`channel_check`) by the rules of the decision itself; a refusal
 * is recorded exactly as a refused decision is, and nothing is written when they may. The
 * decision that follows the reason is judged again (the directory, the request, can change
 * in between). A decided or expired request throws, as a decision would.
 */
export async function checkFromChannel(
  sql: Sql, id: string,
  input: { decision: 'approved' | 'denied'; channel: ReviewerChannel; externalId: string },
  metadata: Omit<EventMetadata, 'actor' | 'channel'>,
): Promise<ChannelCheck> {
  const { person, actor } = await channelIdentity(sql, input.channel, input.externalId);
  const { appended } = await runRequestCommand(sql, id, {
    type: 'channel_check', decision: input.decision, channel: input.channel, externalId: input.externalId, person, now: new Date(),
  }, { ...metadata, actor, channel: input.channel });
  const refused = appended.find((e) => e.type === 'request.decision_refused');
  return refused ? { outcome: 'refused', refusal: refused.data as unknown as DecisionRefused } : { outcome: 'may_decide' };
}

export async function cancelRequest(sql: Sql, id: string, reason: string | null, principal: Principal, metadata: EventMetadata) {
  await runRequestCommand(sql, id, { type: 'cancel', reason, principal, now: new Date() }, metadata);
  return getRequest(sql, id);
}

/**
 * Expires a request whose time has come (the `expire_request` job). Idempotent: a
 * request decided or cancelled meanwhile is left as it is. `now` is the database's clock,
 * the one that made the job due.
 */
export async function expireRequest(sql: Sql, id: string, now: Date, metadata: EventMetadata) {
  const { state, appended } = await runRequestCommand(sql, id, { type: 'expire', now }, metadata);
  return { expired: appended.length > 0, status: state.status, expiresAt: state.expiresAt };
}
