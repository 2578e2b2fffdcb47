import t from 'tap';
import type { Actor } from '../../server/src/events/types.ts';
import {
  decide, evolve, initialRequestState, isApprover, routedToHumans,
  type PolicyOutcome, type Principal, type RequestCommand, type RequestEvent, type RequestState,
} from '../../server/src/requests/decider.ts';
import { scenario } from '../helpers/decider.ts';

const request = scenario<RequestCommand, RequestState, RequestEvent>({ initialState: initialRequestState, decide, evolve });

const NOW = new Date('2026-06-01T12:00:00.000Z');
const LATER = new Date('2026-06-01T13:00:00.000Z');
const EXPIRES = '2026-06-01T12:30:00.000Z';
const ID = 'req_01jx0000000000000000000000';

const agent: Principal = { type: 'key', id: 'key_agent', name: 'mailer agent', admin: false };
const otherKey: Principal = { type: 'key', id: 'key_other', name: 'ops bot', admin: false };
const admin: Principal = { type: 'key', id: 'key_admin', name: 'root', admin: true };
const reviewer: Principal = { type: 'reviewer', id: 'alice@example.com', name: 'Alice', admin: false };
const actorOf = (p: Principal): Actor => ({ type: p.type, id: p.id, name: p.name });

function outcome(over: Partial<PolicyOutcome> = {}): PolicyOutcome {
  return {
    decision: 'route_to_human', policyId: null, policyVersion: null, policyName: null, ruleIndex: null,
    approvers: [], channels: [], requireReason: false, requireDistinctApprover: false,
    reason: 'no policy matched; routed to a human', ...over,
  };
}

const createCommand = (over: Partial<Extract<RequestCommand, { type: 'create' }>> = {}): RequestCommand => ({
  type: 'create', id: ID, action: 'send_email', params: { to: 'a@b.c' }, context: { agent: 'mailer' },
  urgency: 'normal', expiresAt: null, requester: { id: agent.id, name: agent.name }, outcome: outcome(), now: NOW, ...over,
});

// Events as the store would hand them back.
const created = (over: { expiresAt?: string | null; requester?: Principal } = {}): RequestEvent => ({
  type: 'request.created',
  data: {
    id: ID, action: 'send_email', params: { to: 'a@b.c' }, context: {}, urgency: 'normal',
    expiresAt: over.expiresAt ?? null,
    requester: { id: (over.requester ?? agent).id, name: (over.requester ?? agent).name },
  },
});
const evaluated = (over: Partial<PolicyOutcome> = {}): RequestEvent => ({ type: 'request.policy_evaluated', data: outcome(over) });
const approvedBy = (p: Principal, reason: string | null = null): RequestEvent =>
  ({ type: 'request.approved', data: { decider: actorOf(p), label: null, reason } });
const deniedBy = (p: Principal, reason: string | null = null): RequestEvent =>
  ({ type: 'request.denied', data: { decider: actorOf(p), label: null, reason } });
const expired: RequestEvent = { type: 'request.expired', data: { reason: `expired at ${EXPIRES}` } };
const cancelledBy = (p: Principal): RequestEvent => ({ type: 'request.cancelled', data: { cancelledBy: actorOf(p), reason: null } });

const approve = (principal: Principal, over: { reason?: string | null; label?: string | null; now?: Date } = {}): RequestCommand => ({
  type: 'decide', decision: 'approved', reason: over.reason ?? null, label: over.label ?? null, principal, now: over.now ?? NOW,
});
const deny = (principal: Principal, reason: string | null = null): RequestCommand =>
  ({ type: 'decide', decision: 'denied', reason, label: null, principal, now: NOW });
const cancel = (principal: Principal, now = NOW): RequestCommand => ({ type: 'cancel', reason: null, principal, now });
const expire = (now: Date): RequestCommand => ({ type: 'expire', now });

t.test('create', async (t) => {
  t.test('routed to a human: one event with the facts and the policy outcome, nothing decided', async (t) => {
    const state = request.given().when(createCommand()).then(t, [
      {
        type: 'request.created',
        data: {
          id: ID, action: 'send_email', params: { to: 'a@b.c' }, context: { agent: 'mailer' }, urgency: 'normal',
          expiresAt: null, requester: { id: agent.id, name: agent.name }, policy: outcome(), autoDecision: null,
        },
      },
    ]);
    t.match(state, { id: ID, status: 'pending', version: 1, requester: { id: agent.id }, outcome: outcome() });
    t.ok(routedToHumans(request.given().when(createCommand()).events()[0]!), 'the log says it was routed to humans');
  });

  t.test('whether a routed request is to be announced travels in request.created when the caller knows', async (t) => {
    const [silent] = request.given().when(createCommand({ notify: false })).events();
    t.equal((silent?.data as { notify?: boolean }).notify, false);
    const [announced] = request.given().when(createCommand({ notify: true })).events();
    t.equal((announced?.data as { notify?: boolean }).notify, true);
    const auto = outcome({ decision: 'auto_approve', policyId: 'pol_1', policyVersion: 1, policyName: 'p', ruleIndex: 0 });
    const [decided] = request.given().when(createCommand({ outcome: auto, notify: false })).events();
    t.notOk('notify' in (decided?.data ?? {}), 'a request a policy decided is never announced: no field');
    t.same(request.fold([silent!]), request.fold([announced!]), 'the request itself is the same');
  });

  t.test('the idempotency key and body hash travel in request.created only when given', async (t) => {
    const [first] = request.given().when(createCommand({ idempotency: { key: 'k-1', bodyHash: 'abc' } })).events();
    t.match(first?.data, { idempotency: { key: 'k-1', bodyHash: 'abc' } });
    const [plain] = request.given().when(createCommand()).events();
    t.notOk('idempotency' in (plain?.data ?? {}), 'no idempotency field without a key');
  });

  t.test('auto_approve: approved at once inside request.created, the policy recorded as the decider', async (t) => {
    const auto = outcome({ decision: 'auto_approve', policyId: 'pol_1', policyVersion: 3, policyName: 'emails', ruleIndex: 0, reason: 'rule 0 of emails' });
    const [event, ...rest] = request.given().when(createCommand({ outcome: auto })).events();
    t.same(rest, [], 'one event');
    t.match(event, { type: 'request.created', data: {
      policy: auto,
      autoDecision: { status: 'approved', decider: { type: 'policy', id: 'pol_1', name: 'policy:emails' }, reason: 'rule 0 of emails' },
    } });
    const state = request.fold([event!]);
    t.equal(state.status, 'approved');
    t.equal(state.version, 1);
    t.notOk(routedToHumans(event!));
    request.given(event!).when(approve(admin)).thenError(t, 'ALREADY_DECIDED');
  });

  t.test('auto_deny: denied at once', async (t) => {
    const auto = outcome({ decision: 'auto_deny', policyId: 'pol_2', policyVersion: 1, policyName: 'no-deletes', ruleIndex: 1, reason: 'deletes are never allowed' });
    const events = request.given().when(createCommand({ outcome: auto })).events();
    t.same(events.map((e) => e.type), ['request.created']);
    t.same((events[0]!.data as { autoDecision: unknown }).autoDecision,
      { status: 'denied', decider: { type: 'policy', id: 'pol_2', name: 'policy:no-deletes' }, reason: 'deletes are never allowed' });
    t.equal(request.fold(events).status, 'denied');
  });

  t.test('older logs: created, policy_evaluated and the policy\'s decision event fold to the same state', async (t) => {
    const auto = outcome({ decision: 'auto_approve', policyId: 'pol_1', policyVersion: 3, policyName: 'emails', ruleIndex: 0, reason: 'rule 0 of emails' });
    const old = request.fold([created(), evaluated(auto), { type: 'request.approved', data: { decider: { type: 'policy', id: 'pol_1', name: 'policy:emails' }, label: null, reason: 'rule 0 of emails' } }]);
    const now = request.fold(request.given().when(createCommand({ outcome: auto, context: {} })).events());
    t.same({ ...old, version: 0 }, { ...now, version: 0 });
    t.ok(routedToHumans(evaluated()), 'an older log says it through request.policy_evaluated');
    t.notOk(routedToHumans(created()), 'an older request.created alone does not');
  });

  t.test('a stream that already exists is a conflict, not a second request', async (t) => {
    request.given(created(), evaluated()).when(createCommand()).thenError(t, 'CONCURRENCY_CONFLICT');
  });

  t.test('expiresAt must be in the future (now itself is too late)', async (t) => {
    request.given().when(createCommand({ expiresAt: '2026-06-01T11:59:59.999Z' })).thenError(t, 'VALIDATION_ERROR', [{ field: 'expiresAt' }]);
    request.given().when(createCommand({ expiresAt: NOW.toISOString() })).thenError(t, 'VALIDATION_ERROR');
    t.equal(request.given().when(createCommand({ expiresAt: EXPIRES })).events().length, 1);
  });
});

t.test('decide', async (t) => {
  t.test('approve and deny record the principal (not its admin flag), the label and the reason', async (t) => {
    const state = request.given(created(), evaluated()).when(approve(reviewer, { reason: 'looks fine', label: 'on call' })).then(t, [
      { type: 'request.approved', data: { decider: { type: 'reviewer', id: reviewer.id, name: 'Alice' }, label: 'on call', reason: 'looks fine' } },
    ]);
    t.match(state, { status: 'approved', version: 3 });
    request.given(created(), evaluated()).when(deny(otherKey, 'no')).then(t, [deniedBy(otherKey, 'no')]);
  });

  t.test('an unknown request is NOT_FOUND', async (t) => {
    request.given().when(approve(admin)).thenError(t, 'NOT_FOUND');
  });

  t.test('a decided request cannot be decided again: ALREADY_DECIDED names the status', async (t) => {
    request.given(created(), evaluated(), approvedBy(otherKey)).when(deny(admin)).thenError(t, 'ALREADY_DECIDED', { status: 'approved' });
    request.given(created(), evaluated(), deniedBy(otherKey)).when(approve(admin)).thenError(t, 'ALREADY_DECIDED', { status: 'denied' });
    request.given(created(), evaluated(), cancelledBy(agent)).when(approve(admin)).thenError(t, 'ALREADY_DECIDED', { status: 'cancelled' });
    request.given(created({ expiresAt: EXPIRES }), evaluated(), expired).when(approve(admin)).thenError(t, 'ALREADY_DECIDED', { status: 'expired' });
  });

  t.test('past expiresAt a pending request is REQUEST_EXPIRED even before the expiry event', async (t) => {
    const history = [created({ expiresAt: EXPIRES }), evaluated()];
    request.given(...history).when(approve(admin, { now: LATER })).thenError(t, 'REQUEST_EXPIRED', { expiresAt: EXPIRES });
    request.given(...history).when(approve(admin, { now: new Date(EXPIRES) })).thenError(t, 'REQUEST_EXPIRED');
    request.given(...history).when(approve(admin, { now: NOW })).then(t, [approvedBy(admin)]);
  });

  t.test("only the rule's approvers may decide: by id, type:id or *", async (t) => {
    const ruled = (approvers: string[]) => [created(), evaluated({ approvers })];
    request.given(...ruled(['alice@example.com'])).when(approve(otherKey)).thenError(t, 'NOT_AN_APPROVER', { approvers: ['alice@example.com'] });
    request.given(...ruled(['alice@example.com'])).when(approve(admin)).thenError(t, 'NOT_AN_APPROVER');
    request.given(...ruled(['alice@example.com'])).when(approve(reviewer)).then(t, [approvedBy(reviewer)]);
    request.given(...ruled(['key:key_other'])).when(approve(otherKey)).then(t, [approvedBy(otherKey)]);
    request.given(...ruled(['reviewer:alice@example.com'])).when(approve(reviewer)).then(t, [approvedBy(reviewer)]);
    request.given(...ruled(['reviewer:key_other'])).when(approve(otherKey)).thenError(t, 'NOT_AN_APPROVER');
    request.given(...ruled(['*'])).when(approve(otherKey)).then(t, [approvedBy(otherKey)]);
    t.ok(isApprover([], otherKey), 'no list: anyone with the scope');
  });

  t.test('requireReason refuses a missing or blank reason', async (t) => {
    const history = [created(), evaluated({ requireReason: true })];
    request.given(...history).when(approve(otherKey)).thenError(t, 'REASON_REQUIRED', [{ field: 'reason' }]);
    request.given(...history).when(approve(otherKey, { reason: '   ' })).thenError(t, 'REASON_REQUIRED');
    request.given(...history).when(deny(otherKey)).thenError(t, 'REASON_REQUIRED');
    request.given(...history).when(approve(otherKey, { reason: 'ticket 42' })).then(t, [approvedBy(otherKey, 'ticket 42')]);
  });

  t.test('four eyes: a non-admin key never decides its own request', async (t) => {
    request.given(created(), evaluated()).when(approve(agent)).thenError(t, 'SELF_APPROVAL_FORBIDDEN');
    request.given(created(), evaluated()).when(deny(agent)).thenError(t, 'SELF_APPROVAL_FORBIDDEN');
    request.given(created(), evaluated()).when(approve(otherKey)).then(t, [approvedBy(otherKey)]);
  });

  t.test('four eyes: nor does a key the requester minted, directly or transitively', async (t) => {
    const minted = { ...otherKey, creators: [agent.id] };
    const grandchild = { ...otherKey, creators: ['key_between', agent.id] };
    request.given(created(), evaluated()).when(approve(minted)).thenError(t, 'SELF_APPROVAL_FORBIDDEN');
    request.given(created(), evaluated()).when(deny(grandchild)).thenError(t, 'SELF_APPROVAL_FORBIDDEN');
    request.given(created(), evaluated()).when(approve({ ...otherKey, creators: ['key_someone_else'] })).then(t, [approvedBy(otherKey)]);
  });

  t.test('four eyes: an admin may decide its own request unless the rule requires a distinct approver', async (t) => {
    const own = created({ requester: admin });
    request.given(own, evaluated()).when(approve(admin)).then(t, [approvedBy(admin)]);
    request.given(own, evaluated({ requireDistinctApprover: true })).when(approve(admin)).thenError(t, 'SELF_APPROVAL_FORBIDDEN');
    request.given(own, evaluated({ requireDistinctApprover: true })).when(approve(otherKey)).then(t, [approvedBy(otherKey)]);
  });
});

t.test('cancel', async (t) => {
  t.test('the requesting key cancels its own pending request', async (t) => {
    const state = request.given(created(), evaluated()).when(cancel(agent)).then(t, [cancelledBy(agent)]);
    t.equal(state.status, 'cancelled');
  });

  t.test("an admin may cancel anyone's request; another key may not", async (t) => {
    request.given(created(), evaluated()).when(cancel(admin)).then(t, [cancelledBy(admin)]);
    request.given(created(), evaluated()).when(cancel(otherKey)).thenError(t, 'NOT_CANCELLABLE');
    request.given(created(), evaluated()).when(cancel(reviewer)).thenError(t, 'NOT_CANCELLABLE');
  });

  t.test('only pending requests can be cancelled', async (t) => {
    request.given(created(), evaluated(), approvedBy(otherKey)).when(cancel(agent)).thenError(t, 'ALREADY_DECIDED', { status: 'approved' });
    request.given(created(), evaluated(), cancelledBy(agent)).when(cancel(agent)).thenError(t, 'ALREADY_DECIDED', { status: 'cancelled' });
    request.given().when(cancel(admin)).thenError(t, 'NOT_FOUND');
  });

  t.test('past expiresAt the request has expired: cancelling it is REQUEST_EXPIRED', async (t) => {
    const history = [created({ expiresAt: EXPIRES }), evaluated()];
    request.given(...history).when(cancel(agent, LATER)).thenError(t, 'REQUEST_EXPIRED', { expiresAt: EXPIRES });
    request.given(...history).when(cancel(agent, NOW)).then(t, [cancelledBy(agent)]);
  });
});

t.test('expire', async (t) => {
  t.test('a pending request past its expiresAt expires', async (t) => {
    const state = request.given(created({ expiresAt: EXPIRES }), evaluated()).when(expire(LATER)).then(t, [expired]);
    t.equal(state.status, 'expired');
  });

  t.test('is idempotent and never overrides a decision', async (t) => {
    request.given(created({ expiresAt: EXPIRES }), evaluated(), expired).when(expire(LATER)).then(t, [], 'already expired: nothing');
    request.given(created({ expiresAt: EXPIRES }), evaluated(), approvedBy(otherKey)).when(expire(LATER)).then(t, [], 'decided: nothing');
    request.given(created({ expiresAt: EXPIRES }), evaluated(), cancelledBy(agent)).when(expire(LATER)).then(t, [], 'cancelled: nothing');
    request.given(created({ expiresAt: EXPIRES }), evaluated()).when(expire(NOW)).then(t, [], 'too early: nothing');
    request.given(created(), evaluated()).when(expire(LATER)).then(t, [], 'no expiry: nothing');
    request.given().when(expire(LATER)).then(t, [], 'unknown request: nothing');
  });
});

t.test('evolve counts events it does not interpret, so the version matches the stream', async (t) => {
  const state = request.fold([created(), evaluated(), { type: 'request.notified', data: { channel: 'slack' } } as unknown as RequestEvent]);
  t.match(state, { status: 'pending', version: 3 });
  request.given(created(), evaluated()).when(approve(otherKey)).then(t, [approvedBy(otherKey)]);
});

t.test('decision links', async (t) => {
  const LINK = 'lnk_1';
  const DAY_LATER = '2026-06-02T12:00:00.000Z';
  const issue = (principal: Principal, over: { expiresAt?: string; reviewer?: string | null; linkId?: string; now?: Date } = {}): RequestCommand => ({
    type: 'issue_links', linkId: over.linkId ?? LINK, approveTokenHash: 'a'.repeat(64), denyTokenHash: 'd'.repeat(64),
    expiresAt: over.expiresAt ?? DAY_LATER, reviewer: over.reviewer === undefined ? 'bob@example.com' : over.reviewer, principal, now: over.now ?? NOW,
  });
  const issued = (p: Principal, expiresAt = DAY_LATER, linkId = LINK): RequestEvent => ({
    type: 'request.decision_link_issued',
    data: {
      linkId, approveTokenHash: 'a'.repeat(64), denyTokenHash: 'd'.repeat(64), expiresAt,
      reviewer: 'bob@example.com', issuedBy: actorOf(p),
    },
  });
  const viaLink = (p: Principal, over: { now?: Date; link?: string } = {}): RequestCommand =>
    ({ ...approve(p, { now: over.now, label: 'bob@example.com' }), viaLink: over.link ?? LINK } as RequestCommand);

  t.test('a pending request gets a pair of links: hashes, expiry, reviewer and issuer recorded; evolve keeps them', async (t) => {
    const state = request.given(created(), evaluated()).when(issue(otherKey)).then(t, [issued(otherKey)]);
    t.strictSame(state.links, { [LINK]: { approveTokenHash: 'a'.repeat(64), denyTokenHash: 'd'.repeat(64), expiresAt: DAY_LATER, reviewer: 'bob@example.com', issuedBy: actorOf(otherKey) } });
    t.equal(state.status, 'pending', 'issuing decides nothing');
    t.equal(state.version, 3);
  });

  t.test("the request's own expiry caps the link's", async (t) => {
    request.given(created({ expiresAt: EXPIRES }), evaluated()).when(issue(otherKey)).then(t, [issued(otherKey, EXPIRES)]);
    const sooner = '2026-06-01T12:10:00.000Z';
    request.given(created({ expiresAt: EXPIRES }), evaluated()).when(issue(otherKey, { expiresAt: sooner })).then(t, [issued(otherKey, sooner)]);
  });

  t.test('only for a pending request', async (t) => {
    request.given().when(issue(otherKey)).thenError(t, 'NOT_FOUND');
    request.given(created(), evaluated(), approvedBy(admin)).when(issue(otherKey)).thenError(t, 'ALREADY_DECIDED', { status: 'approved' });
    request.given(created({ expiresAt: EXPIRES }), evaluated()).when(issue(otherKey, { now: LATER })).thenError(t, 'REQUEST_EXPIRED');
  });

  t.test('a key cannot hand out a power it lacks: approvers and four eyes are judged at issue', async (t) => {
    request.given(created(), evaluated({ approvers: ['key_admin'] })).when(issue(otherKey)).thenError(t, 'NOT_AN_APPROVER');
    request.given(created(), evaluated({ approvers: ['key_admin'] })).when(issue(admin)).then(t, [issued(admin)]);
    request.given(created(), evaluated()).when(issue(agent)).thenError(t, 'SELF_APPROVAL_FORBIDDEN');
    request.given(created(), evaluated()).when(issue({ ...otherKey, creators: [agent.id] })).thenError(t, 'SELF_APPROVAL_FORBIDDEN');
    request.given(created({ requester: admin }), evaluated({ requireDistinctApprover: true })).when(issue(admin)).thenError(t, 'SELF_APPROVAL_FORBIDDEN');
  });

  t.test("a policy's requireReason does not block issuing: the reviewer gives the reason", async (t) => {
    request.given(created(), evaluated({ requireReason: true })).when(issue(otherKey)).then(t, [issued(otherKey)]);
  });

  t.test('a link that would be born expired is refused', async (t) => {
    request.given(created(), evaluated()).when(issue(otherKey, { expiresAt: NOW.toISOString() })).thenError(t, 'VALIDATION_ERROR');
  });

  t.test('a link id is used once', async (t) => {
    request.given(created(), evaluated(), issued(otherKey)).when(issue(otherKey)).thenError(t, 'CONCURRENCY_CONFLICT');
  });

  t.test('deciding through a link: the link must exist and not have expired', async (t) => {
    const history = [created(), evaluated(), issued(otherKey, '2026-06-01T12:20:00.000Z')];
    request.given(...history).when(viaLink(otherKey)).then(t, [{ type: 'request.approved', data: { decider: actorOf(otherKey), label: 'bob@example.com', reason: null } }]);
    request.given(...history).when(viaLink(otherKey, { now: new Date('2026-06-01T12:20:00.000Z') })).thenError(t, 'LINK_GONE', { reason: 'expired' });
    request.given(...history).when(viaLink(otherKey, { link: 'lnk_other' })).thenError(t, 'NOT_FOUND');
    request.given(...history, deniedBy(otherKey)).when(viaLink(otherKey)).thenError(t, 'ALREADY_DECIDED');
  });
});
