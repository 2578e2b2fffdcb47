import { Type, type Static } from '@sinclair/typebox';
import { Nullable, PageLimit, Pagination, Timestamp } from '../http/schemas.ts';
import { MAX_ATTEMPTS_LIMIT, MIN_SECRET_LENGTH, WEBHOOK_EVENTS } from './decider.ts';

const url = Type.String({ minLength: 1, maxLength: 2048, pattern: '^[hH][tT][tT][pP][sS]?://', description: 'An http or https URL that receives POSTed events' });
const events = Type.Array(Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e))), {
  minItems: 1, description: `Events to receive: ${WEBHOOK_EVENTS.join(', ')}`,
});
const secret = Type.String({ minLength: MIN_SECRET_LENGTH, maxLength: 512, description: 'HMAC key for the signatures; generated when absent' });
const description = Nullable(Type.String({ maxLength: 500 }));
const maxAttempts = Type.Integer({ minimum: 1, maximum: MAX_ATTEMPTS_LIMIT, description: 'Attempts per delivery before it is given up' });

export const CreateWebhookBody = Type.Object(
  {
    url, events,
    secret: Type.Optional(secret),
    description: Type.Optional(description),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    maxAttempts: Type.Optional(maxAttempts),
  },
  { additionalProperties: false },
);
export type CreateWebhookBody = Static<typeof CreateWebhookBody>;

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(url),
    events: Type.Optional(events),
    secret: Type.Optional(secret),
    description: Type.Optional(description),
    enabled: Type.Optional(Type.Boolean()),
    maxAttempts: Type.Optional(maxAttempts),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateWebhookBody = Static<typeof UpdateWebhookBody>;

const webhookProperties = {
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Nullable(Type.String()),
  enabled: Type.Boolean(),
  maxAttempts: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};

/** A webhook as read back: never its secret. */
export const Webhook = Type.Object(webhookProperties);
export type Webhook = Static<typeof Webhook>;

/** The answer to a create: the only time the secret is shown. */
export const CreatedWebhook = Type.Object({
  ...webhookProperties,
  secret: Type.String({ description: 'Shown only in this response; keep it to verify signatures' }),
  message: Type.String({ description: 'A reminder that the secret is not shown again (as the original API said it)' }),
});

export const DeletedWebhook = Type.Object({ id: Type.String(), deleted: Type.Literal(true), success: Type.Literal(true) });

/** What a create says besides the object (the original API's wording, which its clients print). */
export const SECRET_SHOWN_ONCE = 'Save this secret - it will not be shown again';

export const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('success'), Type.Literal('failed')], {
  description: 'pending: not sent yet or waiting for a retry; success: a 2xx answer; failed: given up',
});

export const DeliveryAttempt = Type.Object({
  attempt: Type.Integer(),
  ok: Type.Boolean(),
  statusCode: Nullable(Type.Integer()),
  durationMs: Type.Integer(),
  error: Nullable(Type.String()),
  attemptedAt: Timestamp,
  nextAttemptAt: Nullable(Timestamp),
});

export const Delivery = Type.Object({
  id: Type.String(),
  webhookId: Type.String(),
  event: Type.String(),
  eventPosition: Nullable(Type.Integer({ description: 'Position in the event log of the event delivered' })),
  status: DeliveryStatus,
  attempts: Type.Integer(),
  lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  nextAttemptAt: Nullable(Timestamp),
  redeliveryOf: Nullable(Type.String()),
  payload: Nullable(Type.Unknown({ description: 'The JSON body sent (once the first attempt was made)' })),
  history: Type.Array(DeliveryAttempt),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Delivery = Static<typeof Delivery>;

/** The most deliveries one page holds; a larger `limit` is clamped to it. */
export const MAX_DELIVERY_PAGE = 100;

export const ListDeliveriesQuery = Type.Object({
  status: Type.Optional(DeliveryStatus),
  limit: Type.Optional(PageLimit(MAX_DELIVERY_PAGE, 20)),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
});
export type ListDeliveriesQuery = Static<typeof ListDeliveriesQuery>;

export const DeliveryList = Type.Object({ deliveries: Type.Array(Delivery), pagination: Pagination });

export const DeliveryParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  deliveryId: Type.String({ minLength: 1, maxLength: 64 }),
});

export const RedeliveryAccepted = Type.Object({
  deliveryId: Type.String({ description: 'The new delivery' }),
  redeliveryOf: Type.String(),
  status: Type.Literal('pending'),
});

export const TestResult = Type.Object({
  success: Type.Boolean(),
  deliveryId: Type.String(),
  status: Nullable(Type.Integer({ description: 'HTTP status of the receiver, null when none came back' })),
  durationMs: Type.Integer(),
  error: Nullable(Type.String()),
  message: Type.String(),
});
