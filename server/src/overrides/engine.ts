/**
 * Applying overrides before the policies (pure). An override only tightens what the
 * policies concluded: `auto_deny` denies; `route_to_human` turns an automatic approval
 * into a person's decision and leaves a denial, or a policy's own routing (its approvers
 * and channels), as it was. Of several matching overrides a denial wins, then the oldest.
 */
import { RE2JS } from 're2js';
import { globToRegexSource } from '../policies/match.ts';
import type { Evaluation } from '../policies/engine.ts';
import type { OverrideDecision } from './decider.ts';

export interface ActiveOverride {
  id: string;
  action: string;
  agentKeyId: string | null;
  decision: OverrideDecision;
  reason: string;
  expiresAt: Date | null;
}

export interface OverrideSubject {
  action: string;
  keyId: string;
}

export interface CompiledOverrides {
  /** The override that applies to the subject at `now`, if any. */
  match(subject: OverrideSubject, now: Date): ActiveOverride | null;
}

/** Overrides in creation order (ids are time-sortable). */
export function compileOverrides(overrides: readonly ActiveOverride[]): CompiledOverrides {
  const compiled = [...overrides]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((o) => ({ o, re: RE2JS.compile(globToRegexSource(o.action)) }));
  return {
    match(subject, now) {
      let found: ActiveOverride | null = null;
      for (const { o, re } of compiled) {
        if (o.expiresAt !== null && o.expiresAt.getTime() <= now.getTime()) continue;
        if (o.agentKeyId !== null && o.agentKeyId !== subject.keyId) continue;
        if (!re.matches(subject.action)) continue;
        if (o.decision === 'auto_deny') return o;
        found ??= o;
      }
      return found;
    },
  };
}

const overrideReason = (o: ActiveOverride) => `override ${o.id}: ${o.reason}`;

/** The policies' evaluation, tightened by the override that matched (if any). */
export function applyOverride(evaluation: Evaluation, o: ActiveOverride | null): Evaluation {
  if (!o) return evaluation;
  if (o.decision === 'auto_deny') {
    return {
      decision: 'auto_deny', policyId: null, policyVersion: null, policyName: null, ruleIndex: null,
      approvers: [], channels: [], requireReason: false, requireDistinctApprover: false,
      reason: overrideReason(o), overrideId: o.id,
    };
  }
  if (evaluation.decision === 'auto_approve') {
    return {
      ...evaluation, decision: 'route_to_human', approvers: [], channels: [],
      reason: `${overrideReason(o)} (instead of ${evaluation.reason})`, overrideId: o.id,
    };
  }
  return evaluation;
}
