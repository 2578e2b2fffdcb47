/**
 * The approval request, as a pure decider: decide(command, state) → events and
 * evolve(state, event) → state. No I/O: the caller loads the stream, supplies the
 * clock and the policy evaluation, and appends what comes back.
 */
import { AppError } from '../errors.ts';
import type { Actor, NewEvent } from '../events/types.ts';
import type { Evaluation } from '../policies/engine.ts';

export const URGENCIES = ['low', 'normal', 'high', 'critical'] as const;
export type Urgency = (typeof URGENCIES)[number];
export type RequestStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';

/** What the policy engine concluded, as recorded on the request. */
export type PolicyOutcome = Evaluation;

/** The authenticated principal acting: an API key or a reviewer (signed in, or clicking in a channel). */
export interface Principal extends Actor {
  type: 'key' | 'reviewer';
  admin: boolean;
  /** For a key: the keys that created it, directly or transitively (see keyCreators). */
  creators?: readonly string[];
  /**
   * The person in the reviewer directory behind this principal: a key's linked reviewer,
   * or the reviewer itself (with the key linked to them). One person, one identity.
   */
  person?: Person;
}

/** A reviewer as the decider needs them: who, which key is theirs, their groups. */
export interface Person {
  reviewerId: string;
  name: string;
  keyId: string | null;
  groups: string[];
  disabled: boolean;
  /** The keys that created the linked key, directly or transitively (see keyCreators). */
  keyCreators?: readonly string[];
}

/** Channels where a person decides by clicking or following a link, with that channel's own user id. */
export type ReviewerChannel = 'slack' | 'discord' | 'email';

export interface RequestState {
  id: string | null;
  status: RequestStatus | null;
  version: number;
  requester: { id: string; name: string } | null;
  outcome: PolicyOutcome | null;
  expiresAt: string | null;
  /** Decision links issued for this request, by link id. */
  links: Record<string, DecisionLink>;
}

/** A pair of one-use links (approve, deny) a key handed to a reviewer; only token hashes are kept. */
export interface DecisionLink {
  approveTokenHash: string;
  denyTokenHash: string;
  expiresAt: string;
  reviewer: string | null;
  issuedBy: Actor;
  /**
   * Links emailed by a notification: they decide as the reviewer with this email address
   * (looked up when used), not as the issuer.
   */
  recipient?: string;
}

export const initialRequestState = (): RequestState => ({
  id: null, status: null, version: 0, requester: null, outcome: null, expiresAt: null, links: {},
});

/** A decision made by a policy as the request was created: the request starts decided. */
export interface AutoDecision {
  status: 'approved' | 'denied';
  /** The policy, as the decider (`{ type: 'policy', id, name: 'policy:<name>' }`), or the override that denied. */
  decider: Actor;
  reason: string;
}

/**
 * `request.created`: one event for everything that happened when the request was made —
 * the request, the policy outcome (`policy`), and the policy's own decision when it made
 * one (`autoDecision`; null when the request was routed to humans).
 *
 * Logs written before this shape hold `request.created` without `policy`/`autoDecision`,
 * followed by `request.policy_evaluated` and, for an automatic decision, `request.approved`
 * or `request.denied` (decider of type `policy`). `evolve` and the projections read both.
 */
export interface RequestCreatedData {
  id: string; action: string; params: Record<string, unknown>; context: Record<string, unknown>;
  urgency: Urgency; expiresAt: string | null; requester: { id: string; name: string };
  idempotency?: { key: string; bodyHash: string };
  /** Absent in events of the older shape (the outcome was then a separate request.policy_evaluated). */
  policy?: PolicyOutcome;
  autoDecision?: AutoDecision | null;
  /**
   * Routed requests only: whether the request's announcements are to be planned (the
   * `notify_request` job). False when the rule names no channel and the server that took the
   * request has no default destination: the plan would be empty. Absent in older events and
   * in events of writers that do not know: planned, as before.
   */
  notify?: boolean;
}

export type RequestEvent =
  | NewEvent<'request.created', RequestCreatedData>
  /** Older logs only: the outcome is now inside request.created. */
  | NewEvent<'request.policy_evaluated', PolicyOutcome>
  | NewEvent<'request.approved' | 'request.denied', { decider: Actor; label: string | null; reason: string | null }>
  | NewEvent<'request.expired', { reason: string }>
  | NewEvent<'request.cancelled', { cancelledBy: Actor; reason: string | null }>
  | NewEvent<'request.decision_link_issued', DecisionLink & { linkId: string }>
  | NewEvent<'request.decision_refused', DecisionRefused>;

/** Someone tried to decide from a channel and may not: nothing changes, but an auditor sees the attempt. */
export interface DecisionRefused {
  decision: 'approved' | 'denied';
  channel: ReviewerChannel;
  externalId: string;
  reviewer: { id: string; name: string } | null;
  code: 'UNKNOWN_REVIEWER' | 'REVIEWER_DISABLED' | 'NOT_AN_APPROVER' | 'SELF_APPROVAL_FORBIDDEN';
  message: string;
}

/** Who tries to decide from a channel, and which way. */
export interface ChannelAttempt {
  decision: 'approved' | 'denied';
  channel: ReviewerChannel;
  externalId: string;
  person: Person | null;
  now: Date;
}

export type RequestCommand =
  | {
      type: 'create'; id: string; action: string; params: Record<string, unknown>;
      context: Record<string, unknown>; urgency: Urgency; expiresAt: string | null;
      requester: { id: string; name: string }; idempotency?: { key: string; bodyHash: string };
      outcome: PolicyOutcome; now: Date;
      /** Whether a routed request's announcements are to be planned (channels/destinations.ts plansAnnouncements); unknown when absent. */
      notify?: boolean;
    }
  | {
      type: 'decide'; decision: 'approved' | 'denied'; reason: string | null; label: string | null; principal: Principal; now: Date;
      /** Decided through this decision link: it must exist on the request and not have expired. */
      viaLink?: string;
    }
  | {
      type: 'issue_links'; linkId: string; approveTokenHash: string; denyTokenHash: string;
      /** The expiry asked for; the request's own expiry caps it. */
      expiresAt: string; reviewer: string | null; principal: Principal; now: Date;
    }
  | {
      /**
       * A click in Slack or Discord, or an emailed link, by whoever the channel says it was:
       * `person` is the directory's reviewer for that channel identity, null when unknown.
       * A refusal (unknown, disabled, not an approver, four-eyes) is recorded, not thrown.
       */
      type: 'channel_decide'; decision: 'approved' | 'denied'; reason: string | null;
      channel: ReviewerChannel; externalId: string; person: Person | null; now: Date; viaLink?: string;
    }
  | ({
      /**
       * A click that asks for a reason before it decides (Deny; Approve under requireReason):
       * may this person decide this request now? Judged by the very checks `channel_decide`
       * makes (see channelRefusal), so whoever may not is refused, and recorded, at the click
       * rather than after typing a reason. Nothing is decided: when they may, no event.
       */
      type: 'channel_check';
    } & ChannelAttempt)
  | { type: 'cancel'; reason: string | null; principal: Principal; now: Date }
  | { type: 'expire'; now: Date };

const isDecided = (s: RequestState) => s.status !== null && s.status !== 'pending';

function mustBePending(state: RequestState, now: Date): void {
  if (state.status === null) throw new AppError('NOT_FOUND', `request not found`);
  if (isDecided(state)) {
    throw new AppError('ALREADY_DECIDED', `request is already ${state.status}`, { status: state.status });
  }
  if (state.expiresAt !== null && Date.parse(state.expiresAt) <= now.getTime()) {
    throw new AppError('REQUEST_EXPIRED', `request expired at ${state.expiresAt}`, { expiresAt: state.expiresAt });
  }
}

/** Every name under which a rule's approvers list may mention this principal. */
function identitiesOf(p: Principal): Set<string> {
  const ids = new Set([p.id, `${p.type}:${p.id}`]);
  if (p.person) {
    ids.add(p.person.reviewerId).add(`reviewer:${p.person.reviewerId}`);
    if (p.person.keyId) ids.add(p.person.keyId).add(`key:${p.person.keyId}`);
    for (const g of p.person.groups) ids.add(`group:${g}`);
  }
  return ids;
}

/**
 * Whether a principal is named in a rule's approvers list: by key id (`key_…` or `key:key_…`),
 * by reviewer id (`rev_…`, `reviewer:rev_…`), by a group of the reviewer (`group:oncall`),
 * or `*`. A key linked to a reviewer is that reviewer, and the other way round. Never by
 * display name: names are not unique, and anyone allowed to mint keys could otherwise
 * name one after an approver.
 */
export function isApprover(approvers: string[], p: Principal): boolean {
  if (approvers.length === 0) return true;
  const ids = identitiesOf(p);
  return approvers.some((a) => a === '*' || ids.has(a));
}

/**
 * Whether the principal is the requester's own hand: the requesting key, or a key it minted
 * (directly or through other keys), or a reviewer linked to either.
 */
function requestersOwnHand(state: RequestState, p: Principal): 'requester' | 'minted' | null {
  const requesterId = state.requester?.id;
  if (requesterId === undefined) return null;
  const keyId = p.type === 'key' ? p.id : p.person?.keyId ?? null;
  if (keyId === requesterId) return 'requester';
  const creators = p.type === 'key' ? p.creators ?? p.person?.keyCreators : p.person?.keyCreators;
  return keyId !== null && (creators ?? []).includes(requesterId) ? 'minted' : null;
}

/** Who is recorded as having decided: the person when there is one, with the channel or key they used. */
function deciderOf(p: Principal): Actor {
  if (!p.person) return { type: p.type, id: p.id, name: p.name };
  return {
    type: 'reviewer', id: p.person.reviewerId, name: p.person.name,
    ...(p.channel ? { channel: p.channel } : {}),
    ...(p.externalId ? { externalId: p.externalId } : {}),
    ...(p.type === 'key' ? { keyId: p.id } : {}),
  };
}

/**
 * Whether this principal may decide this request at all: named among the rule's approvers,
 * and not the requester's own hand (four eyes). Null when they may. The one place these rules
 * are written; every decision, and every channel's check before a reason is asked, comes here.
 */
function authorityError(state: RequestState, p: Principal): AppError | null {
  const outcome = state.outcome;
  if (outcome && !isApprover(outcome.approvers, p)) {
    return new AppError('NOT_AN_APPROVER', `${p.name} is not among this request's approvers`, { approvers: outcome.approvers });
  }
  const own = requestersOwnHand(state, p);
  if (own && (!p.admin || outcome?.requireDistinctApprover)) {
    return new AppError('SELF_APPROVAL_FORBIDDEN', own === 'requester'
      ? 'a request cannot be decided by the key that created it'
      : 'a request cannot be decided by a key that its requesting key created (directly or through other keys)');
  }
  return null;
}

function mustBeLiveLink(state: RequestState, linkId: string, now: Date): void {
  const link = state.links[linkId];
  if (!link) throw new AppError('NOT_FOUND', 'decision link not found');
  if (Date.parse(link.expiresAt) <= now.getTime()) {
    throw new AppError('LINK_GONE', `the decision link expired at ${link.expiresAt}`, { reason: 'expired', expiresAt: link.expiresAt });
  }
}

/**
 * Why this person, trying from a channel, may not decide this pending request now — unknown
 * to the directory, disabled, or refused by authorityError — or null when they may. The
 * reason they owe is not judged here: a click asks for it next, and the decision checks it.
 */
export function channelRefusal(attempt: ChannelAttempt, state: RequestState): DecisionRefused | null {
  const { decision, channel, externalId, person } = attempt;
  const refusal = (code: DecisionRefused['code'], message: string): DecisionRefused => ({
    decision, channel, externalId, reviewer: person ? { id: person.reviewerId, name: person.name } : null, code, message,
  });
  if (!person) return refusal('UNKNOWN_REVIEWER', `${externalId} is not in the reviewer directory`);
  if (person.disabled) return refusal('REVIEWER_DISABLED', `${person.name} is disabled in the reviewer directory`);
  const unauthorised = authorityError(state, channelPrincipal(person, channel, externalId));
  return unauthorised ? refusal(unauthorised.code as DecisionRefused['code'], unauthorised.message) : null;
}

/** The principal a directory reviewer acts as in a channel. */
export const channelPrincipal = (person: Person, channel: ReviewerChannel, externalId: string): Principal => ({
  type: 'reviewer', id: person.reviewerId, name: person.name, admin: false, channel, externalId, person,
});

/**
 * The decision a policy outcome makes by itself: null when it routes the request to humans.
 * An override's denial is the override's own (no policy took part): its decider is the
 * override, printed `override:<id>`.
 */
export function autoDecisionOf(outcome: PolicyOutcome): AutoDecision | null {
  if (outcome.decision === 'route_to_human') return null;
  const decider: Actor = outcome.policyId === null && outcome.overrideId
    ? { type: 'override', id: outcome.overrideId, name: `override:${outcome.overrideId}` }
    : { type: 'policy', id: outcome.policyId ?? 'policy', name: `policy:${outcome.policyName ?? outcome.policyId}` };
  return { status: outcome.decision === 'auto_approve' ? 'approved' : 'denied', decider, reason: outcome.reason };
}

export function decide(command: RequestCommand, state: RequestState): RequestEvent[] {
  switch (command.type) {
    case 'create': {
      if (state.status !== null) throw new AppError('CONCURRENCY_CONFLICT', `request ${command.id} already exists`);
      if (command.expiresAt !== null && Date.parse(command.expiresAt) <= command.now.getTime()) {
        throw new AppError('VALIDATION_ERROR', 'expiresAt must be in the future', [
          { field: 'expiresAt', message: 'must be in the future' },
        ]);
      }
      const { outcome } = command;
      const autoDecision = autoDecisionOf(outcome);
      return [{
        type: 'request.created',
        data: {
          id: command.id, action: command.action, params: command.params, context: command.context,
          urgency: command.urgency, expiresAt: command.expiresAt, requester: command.requester,
          ...(command.idempotency ? { idempotency: command.idempotency } : {}),
          policy: outcome,
          autoDecision,
          // Only a request routed to humans is ever announced.
          ...(autoDecision === null && command.notify !== undefined ? { notify: command.notify } : {}),
        },
      }];
    }
    case 'decide': {
      mustBePending(state, command.now);
      if (command.viaLink !== undefined) mustBeLiveLink(state, command.viaLink, command.now);
      // Every decision path ends here (API, CLI, dashboard, Slack, Discord, email links):
      // who may decide, four eyes, then whether a reason is owed.
      const p = command.principal;
      const unauthorised = authorityError(state, p);
      if (unauthorised) throw unauthorised;
      if (state.outcome?.requireReason && !command.reason?.trim()) {
        throw new AppError('REASON_REQUIRED', undefined, [{ field: 'reason', message: 'required by policy' }]);
      }
      const decider = deciderOf(p);
      return [{
        type: command.decision === 'approved' ? 'request.approved' : 'request.denied',
        data: { decider, label: command.label, reason: command.reason },
      }];
    }
    case 'channel_decide': {
      mustBePending(state, command.now);
      if (command.viaLink !== undefined) mustBeLiveLink(state, command.viaLink, command.now);
      const refusal = channelRefusal(command, state);
      if (refusal) return [{ type: 'request.decision_refused', data: refusal }];
      const { decision, channel, externalId, person } = command;
      return decide({
        type: 'decide', decision, reason: command.reason, label: null, principal: channelPrincipal(person!, channel, externalId), now: command.now,
        ...(command.viaLink !== undefined ? { viaLink: command.viaLink } : {}),
      }, state);
    }
    case 'channel_check': {
      mustBePending(state, command.now);
      const refusal = channelRefusal(command, state);
      return refusal ? [{ type: 'request.decision_refused', data: refusal }] : [];
    }
    case 'issue_links': {
      mustBePending(state, command.now);
      if (Date.parse(command.expiresAt) <= command.now.getTime()) {
        throw new AppError('VALIDATION_ERROR', 'a decision link must expire in the future', [{ field: 'expiresInSeconds', message: 'must be positive' }]);
      }
      if (state.links[command.linkId]) throw new AppError('CONCURRENCY_CONFLICT', `decision link ${command.linkId} already exists`);
      // A link decides as the issuing key: the key must be able to make both decisions
      // itself now (approvers, four eyes), or a link would hand out a power it lacks.
      // The reason is the reviewer's to give later, so a policy's requireReason is not judged here.
      for (const decision of ['approved', 'denied'] as const) {
        decide({ type: 'decide', decision, reason: 'decision link', label: command.reviewer, principal: command.principal, now: command.now }, state);
      }
      const expiresAt = state.expiresAt !== null && Date.parse(state.expiresAt) < Date.parse(command.expiresAt)
        ? state.expiresAt : command.expiresAt;
      const p = command.principal;
      return [{
        type: 'request.decision_link_issued',
        data: {
          linkId: command.linkId, approveTokenHash: command.approveTokenHash, denyTokenHash: command.denyTokenHash,
          expiresAt, reviewer: command.reviewer, issuedBy: { type: p.type, id: p.id, name: p.name },
        },
      }];
    }
    case 'cancel': {
      if (state.status === null) throw new AppError('NOT_FOUND', 'request not found');
      const p = command.principal;
      if (!p.admin && !(p.type === 'key' && state.requester?.id === p.id)) throw new AppError('NOT_CANCELLABLE');
      // Past expiresAt the request has expired, whether or not request.expired is recorded yet.
      mustBePending(state, command.now);
      return [{ type: 'request.cancelled', data: { cancelledBy: { type: p.type, id: p.id, name: p.name }, reason: command.reason } }];
    }
    case 'expire': {
      // Idempotent: a request decided a moment earlier stays decided.
      if (state.status !== 'pending' || state.expiresAt === null) return [];
      if (Date.parse(state.expiresAt) > command.now.getTime()) return [];
      return [{ type: 'request.expired', data: { reason: `expired at ${state.expiresAt}` } }];
    }
  }
}

export function evolve(state: RequestState, event: { type: string; data: Record<string, unknown> } | RequestEvent): RequestState {
  const e = event as RequestEvent;
  const next = { ...state, version: state.version + 1 };
  switch (e.type) {
    case 'request.created':
      return {
        ...next, id: e.data.id, status: e.data.autoDecision?.status ?? 'pending', requester: e.data.requester,
        expiresAt: e.data.expiresAt, outcome: e.data.policy ?? null,
      };
    case 'request.policy_evaluated':
      return { ...next, outcome: e.data };
    case 'request.approved':
      return { ...next, status: 'approved' };
    case 'request.denied':
      return { ...next, status: 'denied' };
    case 'request.expired':
      return { ...next, status: 'expired' };
    case 'request.cancelled':
      return { ...next, status: 'cancelled' };
    case 'request.decision_link_issued': {
      const { linkId, ...link } = e.data;
      return { ...next, links: { ...state.links, [linkId]: link } };
    }
    default:
      return next; // events this decider does not interpret (e.g. request.notified) still count for the version
  }
}

export const fold = (events: Iterable<{ type: string; data: Record<string, unknown> }>): RequestState => {
  let s = initialRequestState();
  for (const e of events) s = evolve(s, e);
  return s;
};

/**
 * Whether this event is the moment a request was routed to humans (no policy decided it),
 * in either shape of the log: a `request.created` whose `policy.decision` is
 * `route_to_human`, or, in older logs, the `request.policy_evaluated` that followed it.
 * Notifications to reviewers start from this event.
 */
export function routedToHumans(event: { type: string; data: object }): boolean {
  if (event.type === 'request.created') {
    const policy = (event.data as Partial<RequestCreatedData>).policy;
    return policy !== undefined && policy.decision === 'route_to_human';
  }
  return event.type === 'request.policy_evaluated' && (event.data as Partial<PolicyOutcome>).decision === 'route_to_human';
}
