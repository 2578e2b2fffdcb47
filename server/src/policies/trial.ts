/**
 * "Test this policy": evaluates a sample request against a draft without saving it,
 * alone and in place among the saved policies (what would really happen if it were saved).
 */
import { compilePolicies, type Evaluation, type Policy, type Subject } from './engine.ts';
import type { PolicyFields } from './decider.ts';

export const DRAFT_ID = 'draft';

export interface PolicyTrial {
  /** The draft alone (evaluated even when it is disabled). */
  draft: Evaluation & { matched: boolean };
  /** The saved enabled policies with the draft in place (replacing `replaces`, if given). */
  effective: Evaluation & { byDraft: boolean };
}

export function tryPolicy(draft: PolicyFields, saved: readonly Policy[], subject: Subject, replaces: string | null): PolicyTrial {
  const asPolicy: Policy = { id: replaces ?? DRAFT_ID, version: 0, ...draft };
  const alone = compilePolicies([{ ...asPolicy, enabled: true }]).evaluate(subject);
  const others = saved.filter((p) => p.id !== replaces);
  const effective = compilePolicies([...others, asPolicy]).evaluate(subject);
  const byDraft = effective.policyId === asPolicy.id;
  return {
    draft: { ...alone, matched: alone.policyId !== null, ...(alone.policyId !== null ? { policyId: replaces, policyVersion: null } : {}) },
    effective: { ...effective, byDraft, ...(byDraft ? { policyId: replaces, policyVersion: null } : {}) },
  };
}
