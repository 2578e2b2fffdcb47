import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { principalOf } from '../http/auth.ts';
import { eventMetadata } from '../http/context.ts';
import { errorResponses, IdParams } from '../http/schemas.ts';
import { isId } from '../ids.ts';
import { requestAudit } from '../audit/queries.ts';
import { AuditEntrySchema } from '../audit/routes.ts';
import { readableStreamTypes } from '../live/access.ts';
import { cancelRequest, decideRequest } from './commands.ts';
import type { RequestCreator } from './create.ts';
import { getRequest, listRequests } from './queries.ts';
import {
  ApprovalRequest, CancelBody, CreateRequestBody, DecideBody, ListRequestsQuery, RequestList,
  type DecideBody as DecideBodyT, type ListRequestsQuery as ListQueryT, type CreateRequestBody as CreateBodyT,
} from './schemas.ts';

const tags = ['requests'];

export function requestId(params: unknown): string {
  const id = (params as { id: string }).id;
  if (!isId('request', id)) throw new AppError('INVALID_ID', `"${id}" is not a request id (req_…)`, { field: 'params.id' });
  return id;
}

export async function requestRoutes(app: FastifyInstance, opts: { sql: Sql; creator: RequestCreator }) {
  const { sql } = opts;

  app.post('/api/requests', {
    config: { scope: 'request:create' },
    schema: {
      tags, summary: 'Ask for approval of an action; policies may decide at once',
      headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }),
      body: CreateRequestBody,
      response: { 200: ApprovalRequest, 201: ApprovalRequest, ...errorResponses(400, 401, 403, 413, 422, 429) },
    },
  }, async (request, reply) => {
    if (request.body === undefined) throw new AppError('VALIDATION_ERROR', 'A JSON body is required', [{ field: 'body', message: 'is required' }]);
    const key = request.headers['idempotency-key'] as string | undefined;
    const result = await opts.creator.create(request.body as CreateBodyT, principalOf(request), eventMetadata(request), key);
    return reply.code(result.created ? 201 : 200).send(result.request);
  });

  app.get('/api/requests', {
    config: { scope: 'request:read' },
    schema: { tags, summary: 'List requests', querystring: ListRequestsQuery, response: { 200: RequestList, ...errorResponses(400, 401, 403) } },
  }, async (request) => listRequests(sql, request.query as ListQueryT));

  app.get('/api/requests/:id', {
    config: { scope: 'request:read' },
    schema: { tags, summary: 'Get one request', params: IdParams, response: { 200: ApprovalRequest, ...errorResponses(400, 404) } },
  }, async (request) => getRequest(sql, requestId(request.params)));

  app.post('/api/requests/:id/decide', {
    config: { scope: 'request:decide' },
    schema: {
      tags, summary: 'Approve or deny a pending request as the authenticated principal',
      params: IdParams, body: DecideBody,
      response: { 200: ApprovalRequest, ...errorResponses(400, 403, 404, 409) },
    },
  }, async (request) => {
    const id = requestId(request.params);
    const body = request.body as DecideBodyT | undefined;
    if (!body) throw new AppError('VALIDATION_ERROR', 'A JSON body with "decision" is required', [{ field: 'body.decision', message: 'is required' }]);
    const reason = body.reason?.trim() ? body.reason : null;
    return decideRequest(sql, id, body.decision, reason, body.decidedBy ?? null, principalOf(request), eventMetadata(request));
  });

  app.post('/api/requests/:id/cancel', {
    config: { scope: 'request:create' },
    schema: {
      tags, summary: 'Cancel a pending request you created',
      params: IdParams, body: Type.Optional(CancelBody),
      response: { 200: ApprovalRequest, ...errorResponses(400, 403, 404, 409) },
    },
  }, async (request) => {
    const id = requestId(request.params);
    const reason = (request.body as { reason?: string | null } | null | undefined)?.reason ?? null;
    return cancelRequest(sql, id, reason, principalOf(request), eventMetadata(request));
  });

  app.get('/api/requests/:id/audit', {
    config: { scope: 'request:read' },
    schema: { tags, summary: "A request's audit trail, oldest first", params: IdParams, response: { 200: Type.Array(AuditEntrySchema), ...errorResponses(400, 404) } },
  }, async (request) => {
    const id = requestId(request.params);
    const entries = await requestAudit(sql, id);
    if (entries.length === 0) throw new AppError('NOT_FOUND', `request ${id} not found`);
    // Webhook deliveries of the request's events are shown to whoever may read webhook
    // events (the same rule as the live stream): their errors quote the receiver's answers.
    const readable = readableStreamTypes(principalOf(request).scopes);
    return readable === null ? entries : entries.filter((e) => readable.includes(e.streamId.slice(0, e.streamId.indexOf('-'))));
  });
}
