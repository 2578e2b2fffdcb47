import t from 'tap';
import { verdictOf } from '../../server/src/guardrails/verdict.ts';

const outcome = (decision: 'auto_approve' | 'auto_deny' | 'route_to_human', reason = 'because') => ({
  decision, policyId: 'pol_x', ruleIndex: 0, approvers: [], channels: [], reason,
});

t.test('given the request recording a tool call, the guardrail answers', async (t) => {
  t.same(verdictOf({ id: 'req_1', status: 'approved', decisionReason: null, policyDecision: outcome('auto_approve', 'reads are fine') }),
    { decision: 'allow', requestId: 'req_1', status: 'approved', reason: 'reads are fine' }, 'approved at once → allow');
  t.same(verdictOf({ id: 'req_2', status: 'pending', decisionReason: null, policyDecision: outcome('route_to_human', 'a person decides') }),
    { decision: 'requires_approval', requestId: 'req_2', status: 'pending', reason: 'a person decides' }, 'pending → requires_approval');
  t.same(verdictOf({ id: 'req_3', status: 'denied', decisionReason: 'never in prod', policyDecision: outcome('auto_deny') }),
    { decision: 'deny', requestId: 'req_3', status: 'denied', reason: 'never in prod' }, 'denied → deny, with the recorded reason');
  t.equal(verdictOf({ id: 'req_4', status: 'expired', decisionReason: null, policyDecision: null }).decision, 'deny', 'anything else fails closed');
});
