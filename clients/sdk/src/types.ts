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
} from '../../../server/src/requests/schemas.ts';
import type {
  ApiKey as ApiKeySchema,
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
} from '../../../server/src/policies/schemas.ts';
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
export type Pagination = Static<typeof PaginationSchema>;

/** What `request()` takes: the create body, with `expiresAt` also accepted as a Date. */
export type RequestInput = Omit<Static<typeof CreateRequestBodySchema>, 'expiresAt'> & { expiresAt?: string | Date | null };

export type ApiKey = Static<typeof ApiKeySchema>;
export type CreateKeyInput = Static<typeof CreateKeyBodySchema>;
export type UpdateKeyInput = Static<typeof UpdateKeyBodySchema>;
export type CreatedKey = Static<typeof CreatedKeySchema>;
export type RevokedKey = Static<typeof RevokedKeySchema>;

export type Policy = Static<typeof PolicySchema>;
export type PolicyRule = Static<typeof PolicyRuleSchema>;
/** Create and replace take the same body; `rules` are checked by the server's policy engine. */
export type PolicyInput = Omit<Static<typeof PolicyBodySchema>, 'rules'> & { rules: PolicyRule[] };
export type DeletedPolicy = Static<typeof DeletedPolicySchema>;

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
