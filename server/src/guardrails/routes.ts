import type { FastifyInstance } from 'fastify';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { principalOf } from '../http/auth.ts';
import { eventMetadata } from '../http/context.ts';
import { errorResponses } from '../http/schemas.ts';
import { createRequest } from '../requests/commands.ts';
import { AuthorizeBody, Verdict, type AuthorizeBody as AuthorizeBodyT } from './schemas.ts';
import { MCP_SOURCE, verdictOf } from './verdict.ts';

/**
 * The original project's MCP guardrail: its MCP server asks before every tool call and
 * blocks the call unless it hears `allow`. The call is recorded as a request (action =
 * tool name, context.source = "mcp") and judged by overrides and policies like any other,
 * so every guarded tool call is on the record, and one that needs a person waits in the
 * queue under the returned requestId.
 */
export async function guardrailRoutes(app: FastifyInstance, opts: { sql: Sql; defaultTtlSeconds?: number | undefined }) {
  app.post('/api/mcp/authorize', {
    config: { scope: 'request:create' },
    schema: {
      tags: ['requests'], summary: 'May this MCP tool call run? (allow, requires_approval with a request id, or deny)',
      body: AuthorizeBody, response: { 200: Verdict, ...errorResponses(400, 401, 403, 429) },
    },
  }, async (request) => {
    const body = request.body as AuthorizeBodyT | undefined;
    if (!body) throw new AppError('VALIDATION_ERROR', 'A JSON body is required', [{ field: 'body', message: 'is required' }]);
    const metadata = eventMetadata(request);
    const { request: recorded } = await createRequest(opts.sql, {
      action: body.toolName.trim(),
      params: body.params ?? {},
      context: { source: MCP_SOURCE, ...body.context },
    }, principalOf(request), { ...metadata, channel: 'mcp' }, undefined, { defaultTtlSeconds: opts.defaultTtlSeconds });
    return verdictOf(recorded);
  });
}
