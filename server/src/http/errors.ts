import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERRORS, type ErrorCode } from '../errors.ts';

interface FieldProblem {
  field: string;
  message: string;
}

/** Turns ajv's errors into one entry per bad field, with dot paths. */
export function fieldProblems(err: FastifyError): FieldProblem[] {
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
    return { field: `${where}${path ? '.' + path : ''}`, message };
  });
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_ERROR',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

export function sendError(reply: FastifyReply, code: ErrorCode, message?: string, details?: unknown) {
  return reply.code(ERRORS[code].status).send({
    error: { code, message: message ?? ERRORS[code].message, ...(details === undefined ? {} : { details }) },
  });
}

export function errorHandler(err: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) {
  if (err instanceof AppError) {
    if (err.status >= 500) request.log.error({ err }, err.message);
    return sendError(reply, err.code, err.message, err.details);
  }
  if (err.validation) {
    const details = fieldProblems(err);
    const summary = details.map((d) => `${d.field} ${d.message}`).join('; ');
    return sendError(reply, 'VALIDATION_ERROR', `Invalid request: ${summary}`, details);
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
