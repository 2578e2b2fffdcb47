import type { FastifyInstance } from 'fastify';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { eventMetadata } from '../http/context.ts';
import { errorResponses, IdParams } from '../http/schemas.ts';
import { isId } from '../ids.ts';
import { createOverride, overrideFields, runOverrideCommand } from './commands.ts';
import { getOverride, listOverrides } from './queries.ts';
import {
  Override, OverrideBody, OverrideList, RemovedOverride, type CreateOverrideBody, type OriginalOverrideBody,
} from './schemas.ts';

const tags = ['policies'];

function overrideId(params: unknown): string {
  const id = (params as { id: string }).id;
  if (!isId('override', id)) throw new AppError('INVALID_ID', `"${id}" is not an override id (ovr_…)`, { field: 'params.id' });
  return id;
}

export async function overrideRoutes(app: FastifyInstance, opts: { sql: Sql }) {
  const { sql } = opts;

  app.post('/api/overrides', {
    config: { scope: 'policy:write' },
    schema: {
      tags, summary: 'Put a temporary rule in front of every policy (deny, or send to a person, what matches)',
      body: OverrideBody, response: { 201: Override, ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => {
    const body = request.body as CreateOverrideBody | OriginalOverrideBody | undefined;
    if (!body) throw new AppError('VALIDATION_ERROR', 'A JSON body is required', [{ field: 'body', message: 'is required' }]);
    const now = new Date();
    const id = await createOverride(sql, overrideFields(body, now), now, eventMetadata(request));
    return reply.code(201).send(await getOverride(sql, id));
  });

  app.get('/api/overrides', {
    config: { scope: 'policy:read' },
    schema: { tags, summary: 'The overrides in force (not removed, not expired), oldest first', response: { 200: OverrideList, ...errorResponses(401, 403) } },
  }, async () => ({ overrides: await listOverrides(sql) }));

  app.delete('/api/overrides/:id', {
    config: { scope: 'policy:write' },
    schema: { tags, summary: 'Remove an override: it stops applying at once', params: IdParams, response: { 200: RemovedOverride, ...errorResponses(400, 401, 403, 404) } },
  }, async (request) => {
    const id = overrideId(request.params);
    await runOverrideCommand(sql, id, { type: 'remove' }, eventMetadata(request));
    return { success: true as const, id };
  });
}
