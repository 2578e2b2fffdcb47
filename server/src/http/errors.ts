import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERRORS, type ErrorCode } from '../errors.ts';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../db/unavailable.ts';

interface FieldProblem {
  field: string;
  message: string;
}

interface RawProblem extends FieldProblem {
  keyword: string;
  /** Values a `const`/`enum` branch would have accepted. */
  allowed?: unknown[];
  /** The `null` branch of a nullable field. */
  isNull: boolean;
}

function rawProblems(err: FastifyError): RawProblem[] {
  const where = err.validationContext ?? 'body';
  return (err.validation ?? []).map((v) => {
    const params = v.params as Record<string, unknown>;
    let path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    if (v.keyword === 'required') path = [path, String(params.missingProperty)].filter(Boolean).join('.');
    if (v.keyword === 'additionalProperties') path = [path, String(params.additionalProperty)].filter(Boolean).join('.');
    const message =
      v.keyword === 'additionalProperties' ? 'is not a known field'
      : v.keyword === 'required' ? 'is required'
      : v.keyword === 'enum' ? `must be one of: ${(params.allowedValues as unknown[]).join(', ')}`
      : v.message ?? 'is invalid';
    const allowed = v.keyword === 'const' ? [params.allowedValue] : v.keyword === 'enum' ? (params.allowedValues as unknown[]) : undefined;
    return {
      field: `${where}${path ? '.' + path : ''}`, message, keyword: v.keyword,
      ...(allowed ? { allowed } : {}), isNull: v.keyword === 'type' && params.type === 'null',
    };
  });
}

/**
 * Turns ajv's errors into one entry per bad field, with dot paths. A union (typebox
 * literals, nullable fields) fails once per branch; those are merged into one sentence
 * ("must be one of: low, normal, high, critical") instead of "must be equal to constant" × 4.
 */
export function fieldProblems(err: FastifyError): FieldProblem[] {
  const byField = new Map<string, RawProblem[]>();
  for (const p of rawProblems(err)) {
    const list = byField.get(p.field);
    if (list) list.push(p);
    else byField.set(p.field, [p]);
  }
  const out: FieldProblem[] = [];
  for (const [field, list] of byField) {
    const allowed = [...new Set(list.flatMap((p) => p.allowed ?? []).map(String))];
    const orNull = list.some((p) => p.isNull);
    const rest = [...new Set(list.filter((p) => !p.allowed && !p.isNull && p.keyword !== 'anyOf' && p.keyword !== 'oneOf').map((p) => p.message))];
    const parts = [...(allowed.length ? [`must be one of: ${allowed.join(', ')}`] : []), ...rest];
    if (parts.length === 0) {
      // Only a union's summary: the real problem is reported on a field inside it.
      if ([...byField.keys()].some((f) => f.startsWith(`${field}.`))) continue;
      out.push({ field, message: list[0]!.message });
      continue;
    }
    out.push({ field, message: parts.join('; ') + (orNull ? ' (or null)' : '') });
  }
  return out;
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_ERROR',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

const POSTGRES_INPUT_ERRORS = new Set(['22P05', '22021', '22P02', '22007', '22008', '22003', '54000']);

export function sendError(reply: FastifyReply, code: ErrorCode, message?: string, details?: unknown) {
  return reply.code(ERRORS[code].status).send({
    error: { code, message: message ?? ERRORS[code].message, ...(details === undefined ? {} : { details }) },
  });
}

/**
 * The database cannot be reached (refused, shut down, full, or past DB_QUERY_TIMEOUT_MS):
 * a 503 the client may retry, never a 500. The driver's text (addresses, user names) goes
 * to the log only.
 */
export function sendDatabaseUnavailable(reply: FastifyReply) {
  reply.header('Retry-After', DATABASE_RETRY_AFTER_SECONDS);
  return sendError(reply, 'SERVICE_UNAVAILABLE', 'The database is unavailable; retry shortly', { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS });
}

export function errorHandler(err: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) {
  if (isDatabaseUnavailable(err)) {
    request.log.warn({ err: { message: err.message, code: err.code } }, 'database unavailable');
    return sendDatabaseUnavailable(reply);
  }
  if (err instanceof AppError) {
    if (err.code === 'SERVICE_UNAVAILABLE' && !reply.hasHeader('Retry-After')) reply.header('Retry-After', DATABASE_RETRY_AFTER_SECONDS);
    if (err.status >= 500) request.log.error({ err }, err.message);
    return sendError(reply, err.code, err.message, err.details);
  }
  if (err.validation) {
    const details = fieldProblems(err);
    const summary = details.map((d) => `${d.field} ${d.message}`).join('; ');
    return sendError(reply, 'VALIDATION_ERROR', `Invalid request: ${summary}`, details);
  }
  // Values PostgreSQL refuses to store or cast (NUL bytes, invalid text, unparsable
  // dates or numbers in query strings) are the caller's input, not a server fault.
  if (err.code && POSTGRES_INPUT_ERRORS.has(err.code) && (err as { severity?: string }).severity) {
    return sendError(reply, 'VALIDATION_ERROR', `A value was not accepted: ${err.message}`);
  }
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped) return sendError(reply, mapped, err.message);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    const code: ErrorCode = err.statusCode === 404 ? 'NOT_FOUND' : err.statusCode === 405 ? 'METHOD_NOT_ALLOWED' : 'VALIDATION_ERROR';
    return reply.code(err.statusCode).send({ error: { code, message: err.message } });
  }
  request.log.error({ err }, 'unhandled error');
  return sendError(reply, 'INTERNAL_ERROR');
}
