/**
 * The process's compiled policies, kept in memory: a create evaluates its subject without
 * reading a single policy row.
 *
 * Freshness comes from two places:
 * - the live hub (a LiveListener): any `policy.*` or `override.*` event it reads, and every re-established
 *   LISTEN connection (notifications may have been lost meanwhile), start a reload in the
 *   background;
 * - a guard on the write: the `policy_set` projection counts policy events, each loaded
 *   snapshot carries the count it was loaded at, and a create is appended only while the
 *   counter still has that value (requests/append-creates.ts). A create that loses that
 *   check reloads and is evaluated again, so a change committed through any process is in
 *   force for the next create everywhere, even before its notification arrives.
 *
 * Everything `evaluate` consults — the enabled policies and the overrides evaluated before
 * them — is loaded by `load()` in one statement (one snapshot); both projections bump
 * `policy_set`. Another source of rules joins the same statement and does the same.
 */
import type { Sql } from '../db/connect.ts';
import type { LiveEvent } from '../live/log.ts';
import type { LiveListener } from '../live/live.ts';
import type { PolicyOutcome } from '../requests/decider.ts';
import { applyOverride, compileOverrides, type ActiveOverride, type CompiledOverrides } from '../overrides/engine.ts';
import { compilePolicies, type CompiledPolicies, type Policy, type Subject } from './engine.ts';

/** One compiled state of the policies, tagged with the `policy_set` counter it was loaded at. */
export interface PolicySnapshot {
  readonly version: number;
  evaluate(subject: Subject): PolicyOutcome;
}

interface PolicySetRow {
  version: string;
  policies: Policy[];
  overrides: (Omit<ActiveOverride, 'expiresAt'> & { expiresAt: string | null })[];
}

function snapshotOf(version: number, policies: CompiledPolicies, overrides: CompiledOverrides): PolicySnapshot {
  return {
    version,
    evaluate(subject) {
      // Overrides come first: the one that matches (if any) tightens what the policies
      // concluded. They expire by the clock, so the match is judged now.
      const override = overrides.match({ action: subject.action, keyId: subject.requester.keyId }, new Date());
      const e = applyOverride(policies.evaluate(subject), override);
      return {
        decision: e.decision, policyId: e.policyId, policyVersion: e.policyVersion, policyName: e.policyName,
        ruleIndex: e.ruleIndex, approvers: e.approvers, channels: e.channels, requireReason: e.requireReason,
        requireDistinctApprover: e.requireDistinctApprover, reason: e.reason,
        ...(e.overrideId ? { overrideId: e.overrideId } : {}),
      };
    },
  };
}

export class PolicySet implements LiveListener {
  readonly stats = { loads: 0 };
  private snapshot: PolicySnapshot | null = null;
  private loading: Promise<PolicySnapshot> | null = null;
  /** A reload was asked for while one was running: run another after it. */
  private again = false;

  constructor(private readonly sql: Sql) {}

  /** The current snapshot, loading it first when there is none yet or a reload is under way. */
  async current(): Promise<PolicySnapshot> {
    if (this.loading) return this.loading;
    return this.snapshot ?? this.reload();
  }

  /** Evaluates with the current snapshot: the outcome and the counter it answers for. */
  async evaluate(subject: Subject): Promise<{ outcome: PolicyOutcome; version: number }> {
    const s = await this.current();
    return { outcome: s.evaluate(subject), version: s.version };
  }

  /**
   * Loads the policies again, unless a newer snapshot than `staleVersion` is already in
   * memory (many creates that lost the guard at once reload once).
   */
  async refresh(staleVersion?: number): Promise<PolicySnapshot> {
    if (this.loading) return this.loading;
    if (staleVersion !== undefined && this.snapshot && this.snapshot.version !== staleVersion) return this.snapshot;
    return this.reload();
  }

  /** Starts a reload in the background (a failure leaves the last snapshot; the guard still holds). */
  invalidate(): void {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.reload().catch(() => {});
  }

  onEvents(events: readonly LiveEvent[]): void {
    if (events.some((e) => e.streamType === 'policy' || e.streamType === 'override')) this.invalidate();
  }

  onResync(): void {
    this.invalidate();
  }

  private reload(): Promise<PolicySnapshot> {
    const loading = this.load().finally(() => {
      this.loading = null;
      if (this.again) {
        this.again = false;
        this.invalidate();
      }
    });
    this.loading = loading;
    return loading;
  }

  private async load(): Promise<PolicySnapshot> {
    this.stats.loads++;
    const [row] = await this.sql<PolicySetRow[]>`
      select s.version::text,
        coalesce((select jsonb_agg(jsonb_build_object('id', p.id, 'name', p.name, 'priority', p.priority,
          'enabled', p.enabled, 'rules', p.rules, 'version', p.version) order by p.priority, p.id)
          from policies p where p.enabled), '[]') as policies,
        coalesce((select jsonb_agg(jsonb_build_object('id', o.id, 'action', o.action, 'agentKeyId', o.agent_key_id,
          'decision', o.decision, 'reason', o.reason, 'expiresAt', o.expires_at) order by o.id)
          from overrides o where o.expires_at is null or o.expires_at > now()), '[]') as overrides
      from policy_set s`;
    if (!row) throw new Error('the policy_set projection has no row; rebuild the projections');
    const overrides = row.overrides.map((o) => ({ ...o, expiresAt: o.expiresAt === null ? null : new Date(o.expiresAt) }));
    const snapshot = snapshotOf(Number(row.version), compilePolicies(row.policies), compileOverrides(overrides));
    // A slower, older load never replaces a newer snapshot (the counter only grows).
    if (!this.snapshot || this.snapshot.version <= snapshot.version) this.snapshot = snapshot;
    return this.snapshot;
  }
}
