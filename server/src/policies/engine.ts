/**
 * Policy engine: decides whether a request is approved, denied, or routed to
 * people. Pure and I/O-free; compile once with `compilePolicies`, then call
 * `evaluate` per request.
 *
 * Contract:
 * - Enabled policies are evaluated by ascending `priority`, ties broken by
 *   ascending `id` (code-unit order); disabled policies are skipped.
 * - Within a policy, rules are tried in order and the first matching rule wins.
 * - No match anywhere → `route_to_human` with a null policy.
 * - Match keys are dot paths over { action, urgency, params, context, requester };
 *   a key whose first segment is none of those is looked up under `params`.
 *   All keys of a `match` are ANDed and `{}` matches everything.
 */
import {
  compileMatch,
  isPlainObject,
  type CompiledMatch,
  type Matcher,
  type ValidationIssue,
} from './match.ts';

export type {
  JsonValue,
  Literal,
  Matcher,
  OperatorMatcher,
  ValidationIssue,
} from './match.ts';
export { MAX_PATTERN_LENGTH } from './match.ts';

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export type Decision = 'auto_approve' | 'auto_deny' | 'route_to_human';

export const DECISIONS: readonly Decision[] = ['auto_approve', 'auto_deny', 'route_to_human'];

export interface Rule {
  match: Record<string, Matcher>;
  decision: Decision;
  approvers?: readonly string[];
  channels?: readonly string[];
  requireReason?: boolean;
  requireDistinctApprover?: boolean;
}

export interface Policy {
  id: string;
  version: number;
  name: string;
  priority: number;
  enabled: boolean;
  rules: readonly Rule[];
}

export interface Subject {
  action: string;
  urgency: string;
  params: object;
  context: object;
  requester: { keyId: string; keyName: string };
}

export interface Evaluation {
  decision: Decision;
  policyId: string | null;
  policyVersion: number | null;
  policyName: string | null;
  ruleIndex: number | null;
  approvers: string[];
  channels: string[];
  requireReason: boolean;
  requireDistinctApprover: boolean;
  reason: string;
  /** The override (overrides/) that tightened the policies' conclusion, if one did. */
  overrideId?: string;
}

export type ValidationResult = { ok: true } | { ok: false; errors: ValidationIssue[] };

export interface CompiledPolicies {
  /** Ids of the enabled policies, in evaluation order. */
  readonly policyIds: readonly string[];
  evaluate(subject: Subject): Evaluation;
}

/** Thrown by `compilePolicies` when a policy fails validation. */
export class PolicyCompileError extends Error {
  readonly policyId: string;
  readonly errors: ValidationIssue[];

  constructor(policyId: string, errors: ValidationIssue[]) {
    const first = errors[0];
    const summary = first === undefined ? 'invalid policy' : `${first.path}: ${first.message}`;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    super(`policy ${JSON.stringify(policyId)} is invalid: ${summary}${more}`);
    this.name = 'PolicyCompileError';
    this.policyId = policyId;
    this.errors = errors;
  }
}

// ---------------------------------------------------------------------------
// Validation + compilation of rules (one code path for both)
// ---------------------------------------------------------------------------

export const MAX_RULES = 100;

const RULE_KEYS: ReadonlySet<string> = new Set([
  'match',
  'decision',
  'approvers',
  'channels',
  'requireReason',
  'requireDistinctApprover',
]);

interface CompiledRule {
  test: CompiledMatch;
  decision: Decision;
  approvers: readonly string[];
  channels: readonly string[];
  requireReason: boolean;
  requireDistinctApprover: boolean;
}

function isDecision(value: unknown): value is Decision {
  return typeof value === 'string' && (DECISIONS as readonly string[]).includes(value);
}

function checkStringList(
  value: unknown,
  path: string,
  issues: ValidationIssue[],
): readonly string[] | null {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    issues.push({ path, message: 'must be an array of strings' });
    return null;
  }
  let ok = true;
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string' || item.length === 0) {
      issues.push({ path: `${path}[${i}]`, message: 'must be a non-empty string' });
      ok = false;
    }
  });
  return ok ? [...(value as string[])] : null;
}

function checkOptionalBoolean(value: unknown, path: string, issues: ValidationIssue[]): boolean | null {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    issues.push({ path, message: 'must be a boolean' });
    return null;
  }
  return value;
}

const APPROVER = /^(\*|(key:)?key_[0-9a-z]{26}|rev_[0-9a-z]{26}|reviewer:\S.*|group:[a-z0-9][a-z0-9._-]{0,63})$/;
/** Where a routed request is announced (see channels/destinations.ts). */
const CHANNEL = /^(slack|discord|email|slack:(#[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{2,20})|discord:[0-9]{15,21}|email:[^\s@]+@[^\s@]+\.[^\s@]+|group:[a-z0-9][a-z0-9._-]{0,63})$/;

function compileRule(rule: unknown, path: string, issues: ValidationIssue[]): CompiledRule | null {
  if (!isPlainObject(rule)) {
    issues.push({ path, message: 'rule must be an object' });
    return null;
  }
  const before = issues.length;
  for (const key of Object.keys(rule)) {
    if (!RULE_KEYS.has(key)) issues.push({ path: `${path}.${key}`, message: `unknown rule field "${key}"` });
  }
  if (!Object.hasOwn(rule, 'match')) {
    issues.push({ path: `${path}.match`, message: 'is required' });
  }
  const test = Object.hasOwn(rule, 'match') ? compileMatch(rule['match'], `${path}.match`, issues) : null;

  const decision = rule['decision'];
  if (!isDecision(decision)) {
    issues.push({ path: `${path}.decision`, message: `must be one of ${DECISIONS.join(', ')}` });
  }
  const approvers = checkStringList(rule['approvers'], `${path}.approvers`, issues);
  // Approvers are identities, never display names (names are not unique): a name could
  // never match, leaving every matching request undecidable.
  approvers?.forEach((a, i) => {
    if (!APPROVER.test(a)) {
      issues.push({ path: `${path}.approvers[${i}]`, message: 'must be "*", a key id (key_…, key:key_…), a reviewer id (rev_…) or "group:<name>"' });
    }
  });
  const channels = checkStringList(rule['channels'], `${path}.channels`, issues);
  channels?.forEach((c, i) => {
    if (!CHANNEL.test(c)) {
      issues.push({ path: `${path}.channels[${i}]`, message: 'must be "slack", "discord", "email" (the configured default), "slack:#channel", "slack:C…", "discord:<channel id>", "email:<address>" or "group:<name>"' });
    }
  });
  const requireReason = checkOptionalBoolean(rule['requireReason'], `${path}.requireReason`, issues);
  const requireDistinctApprover = checkOptionalBoolean(
    rule['requireDistinctApprover'],
    `${path}.requireDistinctApprover`,
    issues,
  );

  if (
    issues.length !== before ||
    test === null ||
    !isDecision(decision) ||
    approvers === null ||
    channels === null ||
    requireReason === null ||
    requireDistinctApprover === null
  ) {
    return null;
  }
  return { test, decision, approvers, channels, requireReason, requireDistinctApprover };
}

function compileRules(rules: unknown, issues: ValidationIssue[]): CompiledRule[] | null {
  if (!Array.isArray(rules)) {
    issues.push({ path: 'rules', message: 'must be an array' });
    return null;
  }
  const before = issues.length;
  if (rules.length > MAX_RULES) {
    issues.push({ path: 'rules', message: `at most ${MAX_RULES} rules are allowed, got ${rules.length}` });
  }
  const compiled: CompiledRule[] = [];
  rules.forEach((rule: unknown, i) => {
    const c = compileRule(rule, `rules[${i}]`, issues);
    if (c !== null) compiled.push(c);
  });
  return issues.length === before ? compiled : null;
}

/**
 * Checks a policy's rules (typically untrusted input from an API request).
 * Error paths look like `rules[0].match.params.to.$regex`.
 */
export function validatePolicyRules(rules: unknown): ValidationResult {
  const errors: ValidationIssue[] = [];
  compileRules(rules, errors);
  return errors.length === 0 ? { ok: true } : { ok: false, errors };
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

interface CompiledPolicy {
  id: string;
  version: number;
  name: string;
  priority: number;
  rules: CompiledRule[];
}

function comparePolicies(a: CompiledPolicy, b: CompiledPolicy): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.id < b.id) return -1;
  if (a.id > b.id) return 1;
  return 0;
}

/**
 * Validates and compiles enabled policies (disabled ones are ignored).
 * Throws `PolicyCompileError` if any enabled policy is invalid.
 */
export function compilePolicies(policies: readonly Policy[]): CompiledPolicies {
  const compiled: CompiledPolicy[] = [];
  for (const policy of policies) {
    if (!policy.enabled) continue;
    const issues: ValidationIssue[] = [];
    if (typeof policy.priority !== 'number' || !Number.isFinite(policy.priority)) {
      issues.push({ path: 'priority', message: 'must be a finite number' });
    }
    const rules = compileRules(policy.rules, issues);
    if (rules === null || issues.length > 0) throw new PolicyCompileError(policy.id, issues);
    compiled.push({
      id: policy.id,
      version: policy.version,
      name: policy.name,
      priority: policy.priority,
      rules,
    });
  }
  compiled.sort(comparePolicies);
  const policyIds = Object.freeze(compiled.map((p) => p.id));

  return {
    policyIds,
    evaluate(subject: Subject): Evaluation {
      for (const policy of compiled) {
        for (let ruleIndex = 0; ruleIndex < policy.rules.length; ruleIndex++) {
          const rule = policy.rules[ruleIndex];
          if (rule === undefined || !rule.test(subject)) continue;
          return {
            decision: rule.decision,
            policyId: policy.id,
            policyVersion: policy.version,
            policyName: policy.name,
            ruleIndex,
            approvers: [...rule.approvers],
            channels: [...rule.channels],
            requireReason: rule.requireReason,
            requireDistinctApprover: rule.requireDistinctApprover,
            reason: `matched rule ${ruleIndex} of policy ${JSON.stringify(policy.name)} (priority ${policy.priority})`,
          };
        }
      }
      return {
        decision: 'route_to_human',
        policyId: null,
        policyVersion: null,
        policyName: null,
        ruleIndex: null,
        approvers: [],
        channels: [],
        requireReason: false,
        requireDistinctApprover: false,
        reason: 'no policy matched; routed to a human',
      };
    },
  };
}

/** Convenience for one-off checks; prefer `compilePolicies` on hot paths. */
export function evaluatePolicies(policies: readonly Policy[], subject: Subject): Evaluation {
  return compilePolicies(policies).evaluate(subject);
}
