import { Type, type Static } from '@sinclair/typebox';
import { JsonObject, Nullable, PageLimit, Pagination, Timestamp } from '../http/schemas.ts';
import { URGENCIES } from './decider.ts';

export const Urgency = Type.Union(URGENCIES.map((u) => Type.Literal(u)), { description: 'How urgent the decision is' });
export const RequestStatus = Type.Union(
  ['pending', 'approved', 'denied', 'expired', 'cancelled'].map((s) => Type.Literal(s)),
);

export const CreateRequestBody = Type.Object(
  {
    action: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', description: 'What the agent wants to do, e.g. send_email' }),
    params: Type.Optional(JsonObject),
    context: Type.Optional(JsonObject),
    urgency: Type.Optional(Urgency),
    expiresAt: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
  },
  { additionalProperties: false },
);
export type CreateRequestBody = Static<typeof CreateRequestBody>;

export const PolicyDecision = Type.Object({
  decision: Type.Union([Type.Literal('auto_approve'), Type.Literal('auto_deny'), Type.Literal('route_to_human')]),
  policyId: Nullable(Type.String()),
  policyVersion: Type.Optional(Nullable(Type.Integer())),
  policyName: Type.Optional(Nullable(Type.String())),
  ruleIndex: Nullable(Type.Integer()),
  approvers: Type.Array(Type.String()),
  channels: Type.Array(Type.String()),
  requireReason: Type.Optional(Type.Boolean()),
  requireDistinctApprover: Type.Optional(Type.Boolean()),
  reason: Type.Optional(Type.String()),
  overrideId: Type.Optional(Type.String({ description: 'The override that tightened what the policies concluded (ovr_…)' })),
});

const ActorSchema = Type.Object({
    type: Type.String(), id: Type.String(), name: Type.String(),
    channel: Type.Optional(Type.String({ description: 'A reviewer deciding from a channel: which one' })),
    externalId: Type.Optional(Type.String({ description: "The channel's own user id (Slack U…, Discord id, email)" })),
    keyId: Type.Optional(Type.String({ description: 'A reviewer deciding with their linked API key: that key' })),
  });

export const ApprovalRequest = Type.Object(
  {
    id: Type.String(),
    action: Type.String(),
    params: JsonObject,
    context: JsonObject,
    status: RequestStatus,
    urgency: Urgency,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    decidedAt: Nullable(Timestamp),
    decidedBy: Nullable(Type.String({ description: 'Name of the principal that decided (a key, a reviewer, a policy, or system)' })),
    decider: Nullable(ActorSchema),
    decidedByLabel: Nullable(Type.String({ description: 'The free-text label the decider sent, kept beside the principal' })),
    decisionReason: Nullable(Type.String()),
    expiresAt: Nullable(Timestamp),
    requester: Nullable(Type.Object({ id: Type.String(), name: Type.String() })),
    policyDecision: Nullable(PolicyDecision),
  },
  { $id: 'ApprovalRequest' },
);
export type ApprovalRequest = Static<typeof ApprovalRequest>;

/** The most requests one page holds; a larger `limit` is clamped to it. */
export const MAX_REQUEST_PAGE = 100;

export const ListRequestsQuery = Type.Object({
  status: Type.Optional(RequestStatus),
  action: Type.Optional(Type.String({ maxLength: 200 })),
  urgency: Type.Optional(Urgency),
  sort: Type.Optional(Type.Union([Type.Literal('created_at'), Type.Literal('urgency'), Type.Literal('sla_remaining'), Type.Literal('queue')], {
    description: 'Unset: newest first. created_at: oldest first; urgency: most urgent first (then newest); '
      + 'sla_remaining: soonest expiresAt first, requests without one last (the original API\'s directions); queue: most urgent first, then oldest (the reviewers\' order). `order` reverses any of them but queue.',
  })),
  order: Type.Optional(Type.Union([Type.Literal('desc'), Type.Literal('asc')], { description: 'Overrides the direction the sort implies' })),
  limit: Type.Optional(PageLimit(MAX_REQUEST_PAGE, 50)),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Created at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Created before' })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
});
export type ListRequestsQuery = Static<typeof ListRequestsQuery>;

export const RequestList = Type.Object({ requests: Type.Array(ApprovalRequest), pagination: Pagination });

export const DecideBody = Type.Object(
  {
    decision: Type.Union([Type.Literal('approved'), Type.Literal('denied')]),
    reason: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    decidedBy: Type.Optional(Nullable(Type.String({ maxLength: 200, description: 'A label kept beside the authenticated decider, never instead of it' }))),
  },
  { additionalProperties: false },
);
export type DecideBody = Static<typeof DecideBody>;

export const CancelBody = Type.Union([
  Type.Object({ reason: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))) }, { additionalProperties: false }),
  Type.Null(),
]);

/** How long decision links work unless asked otherwise (a day). */
export const DEFAULT_LINK_TTL_SECONDS = 86_400;

export const IssueLinksBody = Type.Union([
  Type.Object({
    reviewer: Type.Optional(Nullable(Type.String({ maxLength: 200, description: 'Who the links are for, e.g. an email address; recorded as the decision label' }))),
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 604_800, description: `Link lifetime (default ${DEFAULT_LINK_TTL_SECONDS}); capped at the request's expiresAt` })),
  }, { additionalProperties: false }),
  Type.Null(),
]);
export type IssueLinksBody = Static<typeof IssueLinksBody>;

const Link = Type.Object({ token: Type.String(), url: Type.String() });
export const DecisionLinks = Type.Object({
  requestId: Type.String(),
  tokens: Type.Object({ approve: Link, deny: Link }),
  expiresAt: Timestamp,
});
