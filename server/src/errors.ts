/**
 * Every error the API can answer with, in one place: a stable machine-readable code,
 * its HTTP status and a default message. Domain code throws these; the HTTP layer
 * renders them as `{ error: { code, message, details } }`.
 */
export const ERRORS = {
  VALIDATION_ERROR: { status: 400, message: 'The request is not valid' },
  MALFORMED_REQUEST: { status: 400, message: 'The HTTP request could not be parsed' },
  INVALID_URL: { status: 400, message: 'The URL is not valid' },
  INVALID_JSON: { status: 400, message: 'The body is not valid JSON' },
  INVALID_ID: { status: 400, message: 'The id is not valid' },
  INVALID_CURSOR: { status: 400, message: 'The cursor is not valid' },
  INVALID_POLICY: { status: 400, message: 'The policy is not valid' },
  REASON_REQUIRED: { status: 400, message: 'A reason is required to decide this request' },
  UNSAFE_WEBHOOK_URL: { status: 400, message: 'The webhook URL is not allowed' },
  UNAUTHORIZED: { status: 401, message: 'A valid API key is required' },
  FORBIDDEN: { status: 403, message: 'This key lacks the required scope' },
  KEY_ESCALATION: { status: 403, message: 'A key can grant only scopes and a rate limit within its own' },
  CSRF_REJECTED: { status: 403, message: 'A write made with the session cookie must carry the session\'s X-CSRF-Token header' },
  NOT_AN_APPROVER: { status: 403, message: 'This principal is not an approver for this request' },
  UNKNOWN_REVIEWER: { status: 403, message: 'This person is not in the reviewer directory' },
  REVIEWER_DISABLED: { status: 403, message: 'This reviewer is disabled' },
  SELF_APPROVAL_FORBIDDEN: { status: 403, message: 'A request cannot be decided by the key that created it' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  ALREADY_DECIDED: { status: 409, message: 'The request has already been decided' },
  REQUEST_EXPIRED: { status: 409, message: 'The request has expired' },
  NOT_CANCELLABLE: { status: 403, message: 'Only the key that created a request (or an admin) may cancel it' },
  CONCURRENCY_CONFLICT: { status: 409, message: 'The resource was changed concurrently; retry' },
  DUPLICATE_IDENTITY: { status: 409, message: 'An identity (email, Slack or Discord user, key) already belongs to another reviewer' },
  DUPLICATE_NAME: { status: 409, message: 'The name is already taken' },
  DELIVERY_NOT_ATTEMPTED: { status: 409, message: 'The delivery has not been attempted yet' },
  KEY_REVOKED: { status: 409, message: 'The key is already revoked' },
  LINK_GONE: { status: 410, message: 'The decision link no longer works: the request was decided, or the link expired' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: 'The Idempotency-Key was already used with a different body' },
  BODY_TOO_LARGE: { status: 413, message: 'The body is too large' },
  URL_TOO_LONG: { status: 414, message: 'A path parameter is too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The body must be application/json' },
  UPGRADE_REQUIRED: { status: 426, message: 'This endpoint speaks WebSocket only' },
  RATE_LIMITED: { status: 429, message: 'Rate limit exceeded' },
  TOO_MANY_CONNECTIONS: { status: 429, message: 'Too many open live connections' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  INTERNAL_ERROR: { status: 500, message: 'Internal server error' },
  CHANNEL_NOT_CONFIGURED: { status: 409, message: 'The channel is not configured' },
  CHANNEL_FAILED: { status: 502, message: 'The channel\'s API refused or failed' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is unavailable' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown,
  ) {
    super(message ?? ERRORS[code].message);
    this.name = 'AppError';
    this.status = ERRORS[code].status;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
