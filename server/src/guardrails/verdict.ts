/**
 * The answer of the MCP guardrail (POST /api/mcp/authorize), from the request that records
 * the tool call: the policy engine decided it like any request whose action is the tool.
 */
import type { ApprovalRequest } from '../requests/schemas.ts';
import type { Verdict } from './schemas.ts';

/** Marks the request as a tool call checked by the guardrail, unless the caller said otherwise. */
export const MCP_SOURCE = 'mcp';

export function verdictOf(request: Pick<ApprovalRequest, 'id' | 'status' | 'decisionReason' | 'policyDecision'>): Verdict {
  const policyReason = request.policyDecision?.reason ?? null;
  switch (request.status) {
    case 'approved':
      return { decision: 'allow', requestId: request.id, status: 'approved', reason: request.decisionReason ?? policyReason };
    case 'pending':
      return { decision: 'requires_approval', requestId: request.id, status: 'pending', reason: policyReason };
    default:
      // denied at once by a policy (expired or cancelled cannot happen to a request just made; fail closed).
      return { decision: 'deny', requestId: request.id, status: 'denied', reason: request.decisionReason ?? policyReason };
  }
}
