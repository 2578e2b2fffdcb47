/**
 * The request decider for people in the directory: approvers naming reviewers and groups,
 * a key linked to a reviewer, and decisions clicked in a channel, refused or not.
 */
import t from 'tap';
import {
  decide, evolve, initialRequestState, isApprover,
  type Person, type PolicyOutcome, type Principal, type RequestCommand, type RequestEvent, type RequestState,
} from '../../server/src/requests/decider.ts';
import { scenario } from '../helpers/decider.ts';

const request = scenario<RequestCommand, RequestState, RequestEvent>({ initialState: initialRequestState, decide, evolve });
const NOW = new Date('2026-06-01T12:00:00.000Z');
const ID = 'req_01jx0000000000000000000000';
const AGENT_KEY = 'key_01jx00000000000000000agent';
const ALICE_KEY = 'key_01jx00000000000000000alice';

const alice: Person = { reviewerId: 'rev_01jx0000000000000000000alice', name: 'Alice', keyId: ALICE_KEY, groups: ['oncall'], disabled: false };
const bob: Person = { reviewerId: 'rev_01jx00000000000000000000bob', name: 'Bob', keyId: null, groups: ['finance'], disabled: false };

const created: RequestEvent = {
  type: 'request.created',
  data: { id: ID, action: 'deploy', params: {}, context: {}, urgency: 'normal', expiresAt: null, requester: { id: AGENT_KEY, name: 'agent' } },
};
const routed = (over: Partial<PolicyOutcome> = {}): RequestEvent => ({
  type: 'request.policy_evaluated',
  data: {
    decision: 'route_to_human', policyId: 'pol_1', policyVersion: 1, policyName: 'p', ruleIndex: 0,
    approvers: [], channels: [], requireReason: false, requireDistinctApprover: false, reason: 'matched', ...over,
  },
});
const click = (person: Person | null, over: Partial<Extract<RequestCommand, { type: 'channel_decide' }>> = {}): RequestCommand => ({
  type: 'channel_decide', decision: 'approved', reason: null, channel: 'slack', externalId: 'U0ALICE', person, now: NOW, ...over,
});

t.test('an approver group admits its members, and only them', async (t) => {
  const approvers = ['group:oncall'];
  const asReviewer = (p: Person): Principal => ({ type: 'reviewer', id: p.reviewerId, name: p.name, admin: false, person: p });
  t.ok(isApprover(approvers, asReviewer(alice)));
  t.notOk(isApprover(approvers, asReviewer(bob)));
  t.ok(isApprover([bob.reviewerId], asReviewer(bob)), 'by reviewer id');
  t.ok(isApprover([`reviewer:${bob.reviewerId}`], asReviewer(bob)), 'by reviewer:<id>');
  const aliceKey: Principal = { type: 'key', id: ALICE_KEY, name: 'alice laptop', admin: false, person: alice };
  t.ok(isApprover([alice.reviewerId], aliceKey), 'a key linked to a reviewer is that reviewer');
  t.ok(isApprover(['group:oncall'], aliceKey), "and has the reviewer's groups");
  t.ok(isApprover([ALICE_KEY], asReviewer(alice)), 'a reviewer is named by their linked key too');
  t.notOk(isApprover(['group:oncall'], { type: 'key', id: 'key_x', name: 'x', admin: true }), 'a plain key is in no group');
});

t.test('a click by an approver decides, recorded as the reviewer with channel and user id', async (t) => {
  request.given(created, routed({ approvers: ['group:oncall'] })).when(click(alice)).then(t, [{
    type: 'request.approved',
    data: { decider: { type: 'reviewer', id: alice.reviewerId, name: 'Alice', channel: 'slack', externalId: 'U0ALICE' }, label: null, reason: null },
  }]);
});

t.test('a key linked to a reviewer is recorded as that reviewer, with the key', async (t) => {
  const key: Principal = { type: 'key', id: ALICE_KEY, name: 'alice laptop', admin: false, person: alice };
  request.given(created, routed({ approvers: [alice.reviewerId] }))
    .when({ type: 'decide', decision: 'denied', reason: 'no', label: null, principal: key, now: NOW })
    .then(t, [{ type: 'request.denied', data: { decider: { type: 'reviewer', id: alice.reviewerId, name: 'Alice', keyId: ALICE_KEY }, label: null, reason: 'no' } }]);
});

t.test('clicks that may not decide are recorded as refusals and change nothing', async (t) => {
  const refused = (person: Person | null, code: string) => request.given(created, routed({ approvers: ['group:oncall'] }))
    .when(click(person, { externalId: 'U0SOMEONE' })).events().map((e) => [e.type, (e.data as { code?: string }).code]);
  t.same(refused(null, 'UNKNOWN_REVIEWER'), [['request.decision_refused', 'UNKNOWN_REVIEWER']], 'unknown user');
  t.same(refused({ ...alice, disabled: true }, ''), [['request.decision_refused', 'REVIEWER_DISABLED']], 'disabled');
  t.same(refused(bob, ''), [['request.decision_refused', 'NOT_AN_APPROVER']], 'not an approver');
  const [event] = request.given(created, routed({ approvers: ['group:oncall'] })).when(click(bob)).events();
  t.same(event!.data, {
    decision: 'approved', channel: 'slack', externalId: 'U0ALICE', reviewer: { id: bob.reviewerId, name: 'Bob' },
    code: 'NOT_AN_APPROVER', message: "Bob is not among this request's approvers",
  });
  const state = request.fold([created, routed(), event!]);
  t.equal(state.status, 'pending', 'still pending after a refusal');
});

t.test('four eyes: the reviewer linked to the requesting key is refused', async (t) => {
  const requesterPerson: Person = { ...alice, keyId: AGENT_KEY };
  const [event] = request.given(created, routed()).when(click(requesterPerson)).events();
  t.equal(event!.type, 'request.decision_refused');
  t.equal((event!.data as { code: string }).code, 'SELF_APPROVAL_FORBIDDEN');
});

t.test('a missing reason is asked for, not refused; a decided request is not refused either', async (t) => {
  request.given(created, routed({ requireReason: true })).when(click(alice)).thenError(t, 'REASON_REQUIRED');
  request.given(created, routed({ requireReason: true })).when(click(bob, { reason: 'fine' })).then(t, [{
    type: 'request.approved',
    data: { decider: { type: 'reviewer', id: bob.reviewerId, name: 'Bob', channel: 'slack', externalId: 'U0ALICE' }, label: null, reason: 'fine' },
  }]);
  const approved: RequestEvent = { type: 'request.approved', data: { decider: { type: 'key', id: 'k', name: 'k' }, label: null, reason: null } };
  request.given(created, routed(), approved).when(click(alice)).thenError(t, 'ALREADY_DECIDED');
});

t.test('the check before a reason is asked: the same refusals as a decision, nothing when the person may decide', async (t) => {
  const check = (person: Person | null, over: Partial<Extract<RequestCommand, { type: 'channel_check' }>> = {}): RequestCommand => ({
    type: 'channel_check', decision: 'denied', channel: 'discord', externalId: '1300', person, now: NOW, ...over,
  });
  const history = [created, routed({ approvers: ['group:oncall'], requireReason: true })];
  request.given(...history).when(check(alice)).then(t, [], 'an approver may go on to give a reason: nothing recorded');
  for (const [person, code] of [[null, 'UNKNOWN_REVIEWER'], [{ ...alice, disabled: true }, 'REVIEWER_DISABLED'], [bob, 'NOT_AN_APPROVER'], [{ ...alice, keyId: AGENT_KEY }, 'SELF_APPROVAL_FORBIDDEN']] as const) {
    const checked = request.given(...history).when(check(person)).events();
    const decided = request.given(...history).when(click(person, { decision: 'denied', channel: 'discord', externalId: '1300', reason: 'because' })).events();
    t.equal(checked[0]?.type, 'request.decision_refused', `${code}: refused at the check`);
    t.same(checked, decided, `${code}: exactly the refusal the decision records`);
    t.equal((checked[0]!.data as { code: string }).code, code);
  }
  const approved: RequestEvent = { type: 'request.approved', data: { decider: { type: 'key', id: 'k', name: 'k' }, label: null, reason: null } };
  request.given(...history, approved).when(check(bob)).thenError(t, 'ALREADY_DECIDED');
  const expiring: RequestEvent = { ...created, data: { ...(created.data as object), expiresAt: '2026-06-01T11:00:00.000Z' } } as RequestEvent;
  request.given(expiring, routed()).when(check(alice)).thenError(t, 'REQUEST_EXPIRED');
});
