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

/** The authenticated principal acting: an API key or a signed-in reviewer. */
export interface Principal extends Actor {
  type: 'key' | 'reviewer';
  admin: boolean;
  /** For a key: the keys that created it, directly or transitively (see keyCreators). */
  creators?: readonly string[];
}

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
}

export const initialRequestState = (): RequestState => ({
  id: null, status: null, version: 0, requester: null, outcome: null, expiresAt: null, links: {},
});

export type RequestEvent =
  | NewEvent<'request.created', {
      id: string; action: string; params: Record<string, unknown>; context: Record<string, unknown>;
      urgency: Urgency; expiresAt: string | null; requester: { id: string; name: string };
      idempotency?: { key: string; bodyHash: string };
    }>
  | NewEvent<'request.policy_evaluated', PolicyOutcome>
  | NewEvent<'request.approved' | 'request.denied', { decider: Actor; label: string | null; reason: string | null }>
  | NewEvent<'request.expired', { reason: string }>
  | NewEvent<'request.cancelled', { cancelledBy: Actor; reason: string | null }>
  | NewEvent<'request.decision_link_issued', DecisionLink & { linkId: string }>;

export type RequestCommand =
  | {
      type: 'create'; id: string; action: string; params: Record<string, unknown>;
      context: Record<string, unknown>; urgency: Urgency; expiresAt: string | null;
      requester: { id: string; name: string }; idempotency?: { key: string; bodyHash: string };
      outcome: PolicyOutcome; now: Date;
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

/**
 * Whether a principal is named in a rule's approvers list: by key id (`key_…` or `key:key_…`),
 * by reviewer identity (`reviewer:<id>`), or `*`. Never by display name: names are not
 * unique, and anyone allowed to mint keys could otherwise name one after an approver.
 */
export function isApprover(approvers: string[], p: Principal): boolean {
  if (approvers.length === 0) return true;
  return approvers.some((a) => a === '*' || a === p.id || a === `${p.type}:${p.id}`);
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
      const events: RequestEvent[] = [
        {
          type: 'request.created',
          data: {
            id: command.id, action: command.action, params: command.params, context: command.context,
            urgency: command.urgency, expiresAt: command.expiresAt, requester: command.requester,
            ...(command.idempotency ? { idempotency: command.idempotency } : {}),
          },
        },
        { type: 'request.policy_evaluated', data: outcome },
      ];
      if (outcome.decision !== 'route_to_human') {
        const decider: Actor = { type: 'policy', id: outcome.policyId ?? 'policy', name: `policy:${outcome.policyName ?? outcome.policyId}` };
        events.push({
          type: outcome.decision === 'auto_approve' ? 'request.approved' : 'request.denied',
          data: { decider, label: null, reason: outcome.reason },
        });
      }
      return events;
    }
    case 'decide': {
      mustBePending(state, command.now);
      if (command.viaLink !== undefined) {
        const link = state.links[command.viaLink];
        if (!link) throw new AppError('NOT_FOUND', 'decision link not found');
        if (Date.parse(link.expiresAt) <= command.now.getTime()) {
          throw new AppError('LINK_GONE', `the decision link expired at ${link.expiresAt}`, { reason: 'expired', expiresAt: link.expiresAt });
        }
      }
      const p = command.principal;
      const outcome = state.outcome;
      if (outcome && !isApprover(outcome.approvers, p)) {
        throw new AppError('NOT_AN_APPROVER', `${p.name} is not among this request's approvers`, { approvers: outcome.approvers });
      }
      if (outcome?.requireReason && !command.reason?.trim()) {
        throw new AppError('REASON_REQUIRED', undefined, [{ field: 'reason', message: 'required by policy' }]);
      }
      const requesterId = state.requester?.id;
      const ownRequest = p.type === 'key' && requesterId === p.id;
      // A key minted by the requester (or by a key it minted) is the requester's own hand.
      const ownKey = p.type === 'key' && requesterId !== undefined && (p.creators ?? []).includes(requesterId);
      if ((ownRequest || ownKey) && (!p.admin || outcome?.requireDistinctApprover)) {
        throw new AppError('SELF_APPROVAL_FORBIDDEN', ownRequest
          ? 'a request cannot be decided by the key that created it'
          : 'a request cannot be decided by a key that its requesting key created (directly or through other keys)');
      }
      const decider: Actor = { type: p.type, id: p.id, name: p.name };
      return [{
        type: command.decision === 'approved' ? 'request.approved' : 'request.denied',
        data: { decider, label: command.label, reason: command.reason },
      }];
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
      return { ...next, id: e.data.id, status: 'pending', requester: e.data.requester, expiresAt: e.data.expiresAt };
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
