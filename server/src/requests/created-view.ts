import type { AppendedCreate } from './append-creates.ts';
import type { RequestCreatedData } from './decider.ts';
import type { ApprovalRequest } from './schemas.ts';

/**
 * The request as the `requests` projection shows it right after its `request.created`
 * (projections/10_requests.sql), built from the appended event instead of read back.
 */
export function requestFromCreated(data: RequestCreatedData, appended: AppendedCreate): ApprovalRequest {
  const at = appended.recordedAt.toISOString();
  const auto = data.autoDecision ?? null;
  return {
    id: data.id,
    action: data.action,
    params: data.params,
    context: data.context,
    status: auto?.status ?? 'pending',
    urgency: data.urgency,
    createdAt: at,
    updatedAt: at,
    decidedAt: auto ? at : null,
    decidedBy: auto?.decider.name ?? null,
    decider: auto?.decider ?? null,
    decidedByLabel: null,
    decisionReason: auto?.reason ?? null,
    expiresAt: data.expiresAt,
    requester: data.requester,
    policyDecision: data.policy ?? null,
  };
}
