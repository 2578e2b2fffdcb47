import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.ts';
import { principalOf } from '../http/auth.ts';
import { eventMetadata } from '../http/context.ts';
import { errorResponses } from '../http/schemas.ts';
import type { RequestCreator } from '../requests/create.ts';
import { AuthorizeBody, Verdict, type AuthorizeBody as AuthorizeBodyT } from './schemas.ts';
import { MCP_SOURCE, verdictOf } from './verdict.ts';

/**
 * The original project's MCP guardrail: its MCP server asks before every tool call and
 * blocks the call unless it hears `allow`. The call is recorded as a request (action =
 * tool name, context.source = "mcp") and judged by overrides and policies like any other,
 * so every guarded tool call is on the record, and one that needs a person waits in the
 * queue under the returned requestId.
 */
export async function guardrailRoutes(app: FastifyInstance, opts: { creator: RequestCreator }) {
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
    const { request: recorded } = await opts.creator.create({
      action: body.toolName.trim(),
      params: body.params ?? {},
      context: { source: MCP_SOURCE, ...body.context },
    }, principalOf(request), { ...metadata, channel: 'mcp' });
    return verdictOf(recorded);
  });
}
