import type { Sql, TxSql } from '../db/connect.ts';
import { compilePolicies, type Policy, type Subject } from './engine.ts';
import type { PolicyOutcome } from '../requests/decider.ts';
import { activeOverrides } from '../overrides/queries.ts';
import { applyOverride, compileOverrides, type CompiledOverrides } from '../overrides/engine.ts';

type Compiled = ReturnType<typeof compilePolicies>;

/**
 * Evaluates the current enabled policies. Compiled rule sets are cached per process
 * and keyed by the (id, version) of every enabled policy, so any change made by any
 * server process is seen on the next request without an invalidation message.
 */
let cache: { fingerprint: string; compiled: Compiled } | null = null;
/** Overrides never change once made (only appear and disappear), so their ids say which set is in force. */
let overrideCache: { fingerprint: string; compiled: CompiledOverrides } | null = null;

export async function evaluatePolicies(db: Sql | TxSql, subject: Subject): Promise<PolicyOutcome> {
  const rows = await db<{ id: string; name: string; priority: number; enabled: boolean; rules: Policy['rules']; version: number }[]>`
    select id, name, priority, enabled, rules, version from policies where enabled order by priority, id`;
  const fingerprint = rows.map((r) => `${r.id}:${r.version}`).join(',');
  if (cache?.fingerprint !== fingerprint) {
    cache = { fingerprint, compiled: compilePolicies(rows.map((r) => ({ ...r }))) };
  }
  const overrides = await activeOverrides(db);
  const overrideFingerprint = overrides.map((o) => o.id).join(',');
  if (overrideCache?.fingerprint !== overrideFingerprint) {
    overrideCache = { fingerprint: overrideFingerprint, compiled: compileOverrides(overrides) };
  }
  // Overrides come first: the one that matches (if any) tightens what the policies concluded.
  const override = overrideCache.compiled.match({ action: subject.action, keyId: subject.requester.keyId }, new Date());
  const e = applyOverride(cache.compiled.evaluate(subject), override);
  return {
    decision: e.decision,
    policyId: e.policyId,
    policyVersion: e.policyVersion,
    policyName: e.policyName,
    ruleIndex: e.ruleIndex,
    approvers: e.approvers,
    channels: e.channels,
    requireReason: e.requireReason,
    requireDistinctApprover: e.requireDistinctApprover,
    reason: e.reason,
    ...(e.overrideId ? { overrideId: e.overrideId } : {}),
  };
}
