/**
 * The API's shapes, taken from the server's own typebox schemas as types only: the
 * compiled SDK carries no server code, yet a change to a schema breaks the SDK's build
 * instead of its users.
 */
import type { Static } from '@sinclair/typebox';
import type {
  ApprovalRequest as ApprovalRequestSchema,
  CreateRequestBody as CreateRequestBodySchema,
  DecideBody as DecideBodySchema,
  ListRequestsQuery as ListRequestsQuerySchema,
  RequestList as RequestListSchema,
  PolicyDecision as PolicyDecisionSchema,
  DecisionLinks as DecisionLinksSchema,
  IssueLinksBody as IssueLinksBodySchema,
} from '../../../server/src/requests/schemas.ts';
import type {
  ApiKey as ApiKeySchema,
  CurrentKey as CurrentKeySchema,
  CreateKeyBody as CreateKeyBodySchema,
  CreatedKey as CreatedKeySchema,
  RevokedKey as RevokedKeySchema,
  UpdateKeyBody as UpdateKeyBodySchema,
} from '../../../server/src/keys/schemas.ts';
import type {
  Policy as PolicySchema,
  PolicyBody as PolicyBodySchema,
  PolicyRule as PolicyRuleSchema,
  DeletedPolicy as DeletedPolicySchema,
  PolicyTrialBody as PolicyTrialBodySchema,
  PolicyTrialResult as PolicyTrialResultSchema,
} from '../../../server/src/policies/schemas.ts';
import type { SessionInfo as SessionSchema } from '../../../server/src/sessions/schemas.ts';
import type {
  CreateWebhookBody as CreateWebhookBodySchema,
  CreatedWebhook as CreatedWebhookSchema,
  DeletedWebhook as DeletedWebhookSchema,
  Delivery as DeliverySchema,
  DeliveryList as DeliveryListSchema,
  ListDeliveriesQuery as ListDeliveriesQuerySchema,
  RedeliveryAccepted as RedeliveryAcceptedSchema,
  TestResult as TestResultSchema,
  UpdateWebhookBody as UpdateWebhookBodySchema,
  Webhook as WebhookSchema,
} from '../../../server/src/webhooks/schemas.ts';
import type {
  CreateOverrideBody as CreateOverrideBodySchema,
  Override as OverrideSchema,
  RemovedOverride as RemovedOverrideSchema,
} from '../../../server/src/overrides/schemas.ts';
import type {
  ChannelInfo as ChannelInfoSchema,
  ChannelTest as ChannelTestSchema,
} from '../../../server/src/channels/schemas.ts';
import type {
  CreateReviewerBody as CreateReviewerBodySchema,
  ListReviewersQuery as ListReviewersQuerySchema,
  Reviewer as ReviewerSchema,
  UpdateReviewerBody as UpdateReviewerBodySchema,
} from '../../../server/src/reviewers/schemas.ts';
import type { AuditEntrySchema } from '../../../server/src/audit/routes.ts';
import type { AuditSearch } from '../../../server/src/audit/queries.ts';
import type { Pagination as PaginationSchema } from '../../../server/src/http/schemas.ts';

export type ApprovalRequest = Static<typeof ApprovalRequestSchema>;
export type RequestStatus = ApprovalRequest['status'];
export type Urgency = ApprovalRequest['urgency'];
export type PolicyDecision = Static<typeof PolicyDecisionSchema>;
export type RequestList = Static<typeof RequestListSchema>;
export type ListRequestsQuery = Static<typeof ListRequestsQuerySchema>;
export type DecideBody = Static<typeof DecideBodySchema>;
/** One-use approve and deny links for a reviewer without a key. */
export type DecisionLinks = Static<typeof DecisionLinksSchema>;
export type IssueLinksInput = NonNullable<Static<typeof IssueLinksBodySchema>>;
export type Pagination = Static<typeof PaginationSchema>;

/** What `request()` takes: the create body, with `expiresAt` also accepted as a Date. */
export type RequestInput = Omit<Static<typeof CreateRequestBodySchema>, 'expiresAt'> & { expiresAt?: string | Date | null };

export type ApiKey = Static<typeof ApiKeySchema>;
export type CurrentKey = Static<typeof CurrentKeySchema>;
export type CreateKeyInput = Static<typeof CreateKeyBodySchema>;
export type UpdateKeyInput = Static<typeof UpdateKeyBodySchema>;
export type CreatedKey = Static<typeof CreatedKeySchema>;
export type RevokedKey = Static<typeof RevokedKeySchema>;

export type Policy = Static<typeof PolicySchema>;
export type PolicyRule = Static<typeof PolicyRuleSchema>;
/** Create and replace take the same body; `rules` are checked by the server's policy engine. */
export type PolicyInput = Omit<Static<typeof PolicyBodySchema>, 'rules'> & { rules: PolicyRule[] };
export type DeletedPolicy = Static<typeof DeletedPolicySchema>;
export type PolicyTrialInput = Omit<Static<typeof PolicyTrialBodySchema>, 'policy'> & { policy: PolicyInput };
export type PolicyTrial = Static<typeof PolicyTrialResultSchema>;

/** A dashboard session: who it is, what it may do, and the token its writes carry. */
export type Session = Static<typeof SessionSchema>;

export type AuditEntry = Static<typeof AuditEntrySchema>;
export type AuditQuery = AuditSearch;
export interface AuditPage {
  entries: AuditEntry[];
  pagination: Pagination;
}

export type Webhook = Static<typeof WebhookSchema>;
/** The create answer is the only one that shows the signing secret. */
export type CreatedWebhook = Static<typeof CreatedWebhookSchema>;
export type WebhookInput = Static<typeof CreateWebhookBodySchema>;
export type WebhookUpdate = Static<typeof UpdateWebhookBodySchema>;
export type WebhookEvent = WebhookInput['events'][number];
export type WebhookDelivery = Static<typeof DeliverySchema>;
export type DeliveryList = Static<typeof DeliveryListSchema>;
export type ListDeliveriesQuery = Static<typeof ListDeliveriesQuerySchema>;
export type RedeliveryAccepted = Static<typeof RedeliveryAcceptedSchema>;
export type WebhookTestResult = Static<typeof TestResultSchema>;
export type DeletedWebhook = Static<typeof DeletedWebhookSchema>;

export type Override = Static<typeof OverrideSchema>;
export type OverrideInput = Static<typeof CreateOverrideBodySchema>;
export type RemovedOverride = Static<typeof RemovedOverrideSchema>;

/** A notification channel (Slack, Discord, email): on or off as configured, its last delivery and last test. */
export type Channel = Static<typeof ChannelInfoSchema>;
export type ChannelType = Channel['type'];
/** A test message sent through a channel by the worker: queued, then sent or failed. */
export type ChannelTest = Static<typeof ChannelTestSchema>;

/** A person in the reviewer directory: where they are reached, their groups, the key they decide with. */
export type Reviewer = Static<typeof ReviewerSchema>;
export type ReviewerInput = Static<typeof CreateReviewerBodySchema>;
/** Only the fields given change; `null` clears one. */
export type ReviewerUpdate = Static<typeof UpdateReviewerBodySchema>;
export type ListReviewersQuery = Static<typeof ListReviewersQuerySchema>;
