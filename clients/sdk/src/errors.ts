/**
 * Errors the SDK throws. Every failure the server reports keeps its stable `code`,
 * so callers branch on codes (ALREADY_DECIDED, RATE_LIMITED, …), never on messages.
 */
export class AgentGateError extends Error {
  /** HTTP status; 0 when no response arrived (network failure). */
  readonly status: number;
  /** Stable machine-readable code, e.g. NOT_FOUND, ALREADY_DECIDED, NETWORK_ERROR. */
  readonly code: string;
  readonly details: unknown;
  /** The server's X-Request-Id, to find the call in its logs. */
  readonly requestId: string | null;
  /** How long the server asked to wait before trying again (Retry-After), in ms. */
  readonly retryAfterMs: number | null;

  constructor(init: {
    message: string; code: string; status: number; details?: unknown; requestId?: string | null; retryAfterMs?: number | null; cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'AgentGateError';
    this.code = init.code;
    this.status = init.status;
    this.details = init.details;
    this.requestId = init.requestId ?? null;
    this.retryAfterMs = init.retryAfterMs ?? null;
  }

  /** The contract's older clients read `statusCode`. */
  get statusCode(): number {
    return this.status;
  }
}

/** The overall deadline of a wait passed before anything decided the request. */
export class TimeoutError extends AgentGateError {
  constructor(message: string, details?: unknown) {
    super({ message, code: 'TIMEOUT', status: 0, details });
    this.name = 'TimeoutError';
  }
}

/** What an aborted call rejects with: the signal's own reason, as fetch does. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

