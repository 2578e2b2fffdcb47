import { Type, type Static } from '@sinclair/typebox';
import { Nullable, PageLimit, Pagination, Timestamp } from '../http/schemas.ts';
import { Urgency } from '../requests/schemas.ts';
import { DECISIONS, MAX_RULES } from './engine.ts';
import { PRIORITY_MAX, PRIORITY_MIN } from './decider.ts';

export const PolicyDecisionKind = Type.Union(DECISIONS.map((d) => Type.Literal(d)), {
  description: 'auto_approve and auto_deny decide at once; route_to_human leaves the request pending',
});

export const PolicyRule = Type.Object(
  {
    match: Type.Record(Type.String(), Type.Unknown(), {
      description: 'Dot paths over { action, urgency, params, context, requester.keyId } (a bare key looks in params), all ANDed. '
        + 'requester.keyName is refused: key names are not unique. '
        + 'A value is a literal (equality; "*" globs on action) or an object of operators: '
        + '$eq $ne $in $nin $lt $lte $gt $gte $regex (RE2, with $flags "i") $exists $startsWith $endsWith $contains.',
    }),
    decision: PolicyDecisionKind,
    approvers: Type.Optional(Type.Array(Type.String(), { description: 'Who may decide: key ids ("key_…" or "key:key_…"), reviewers ("rev_…"), groups of reviewers ("group:oncall"), or "*"; empty = any key with request:decide and any enabled reviewer. Display names are refused: they are not unique.' })),
    channels: Type.Optional(Type.Array(Type.String(), { description: 'Where to announce a routed request: "slack:#channel" or "slack:C…", "discord:<channel id>", "email:<address>", "group:<name>" (each member on their preferred channel); the configured defaults are added' })),
    requireReason: Type.Optional(Type.Boolean({ description: 'A decision must carry a reason' })),
    requireDistinctApprover: Type.Optional(Type.Boolean({ description: 'Not even an admin key may decide a request it created' })),
  },
);

/**
 * Create and replace share one body. `rules` is only required to be an array here: the
 * policy engine checks each rule (one validator for the API and for evaluation) and
 * answers INVALID_POLICY with the path of every problem.
 */
export const PolicyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    priority: Type.Optional(Type.Integer({ minimum: PRIORITY_MIN, maximum: PRIORITY_MAX, default: 100, description: 'Lower is evaluated first' })),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    rules: Type.Array(Type.Unknown(), { description: `Up to ${MAX_RULES} rules (see PolicyRule), tried in order; the first match wins` }),
  },
  { additionalProperties: false },
);
export type PolicyBody = Static<typeof PolicyBody>;

export const Policy = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    priority: Type.Integer(),
    enabled: Type.Boolean(),
    rules: Type.Array(PolicyRule),
    version: Type.Integer({ description: 'Grows with every change; requests record the version that decided them' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Policy' },
);
export type Policy = Static<typeof Policy>;

export const PolicyList = Type.Object({ policies: Type.Array(Policy), pagination: Pagination });

/** The most policies one page holds; a larger `limit` is clamped to it. */
export const MAX_POLICY_PAGE = 100;

export const ListPoliciesQuery = Type.Object({
  limit: Type.Optional(PageLimit(MAX_POLICY_PAGE, 50)),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
});
export type ListPoliciesQuery = Static<typeof ListPoliciesQuery>;

export const DeletedPolicy = Type.Object({ success: Type.Literal(true), id: Type.String() });

const TrialOutcome = Type.Object({
  decision: PolicyDecisionKind,
  policyId: Nullable(Type.String()),
  policyName: Nullable(Type.String()),
  ruleIndex: Nullable(Type.Integer()),
  approvers: Type.Array(Type.String()),
  channels: Type.Array(Type.String()),
  requireReason: Type.Boolean(),
  requireDistinctApprover: Type.Boolean(),
  reason: Type.String(),
});

export const PolicyTrialBody = Type.Object(
  {
    policy: PolicyBody,
    request: Type.Object({
      action: Type.String({ minLength: 1, maxLength: 200 }),
      urgency: Type.Optional(Urgency),
      params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      context: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }, { additionalProperties: false, description: 'A sample request, as an agent would send it' }),
    replaces: Type.Optional(Type.String({ description: 'The saved policy the draft would replace (when editing), pol_…' })),
  },
  { additionalProperties: false },
);
export type PolicyTrialBody = Static<typeof PolicyTrialBody>;

export const PolicyTrialResult = Type.Object({
  draft: Type.Intersect([TrialOutcome, Type.Object({ matched: Type.Boolean({ description: 'A rule of the draft matched' }) })]),
  effective: Type.Intersect([TrialOutcome, Type.Object({ byDraft: Type.Boolean({ description: 'The draft decided, once placed among the saved policies' }) })]),
});
