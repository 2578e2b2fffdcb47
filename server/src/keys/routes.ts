import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { principalOf } from '../http/auth.ts';
import { eventMetadata } from '../http/context.ts';
import { errorResponses, IdParams } from '../http/schemas.ts';
import { isId } from '../ids.ts';
import { createKey, runKeyCommand } from './commands.ts';
import { getKey, listKeys } from './queries.ts';
import { ApiKey, CreatedKey, CreateKeyBody, UpdateKeyBody, type CreateKeyBody as CreateT, type UpdateKeyBody as UpdateT } from './schemas.ts';

function keyId(params: unknown): string {
  const id = (params as { id: string }).id;
  if (!isId('apikey', id)) throw new AppError('INVALID_ID', `"${id}" is not an API key id (key_…)`, { field: 'params.id' });
  return id;
}

function requireBody<T>(body: T | undefined): T {
  if (body === undefined || body === null) throw new AppError('VALIDATION_ERROR', 'A JSON body is required', [{ field: 'body', message: 'is required' }]);
  return body;
}

/** Served at /api/keys and, for clients of the original API, at /api/api-keys. */
export async function keyRoutes(app: FastifyInstance, opts: { sql: Sql }) {
  const { sql } = opts;
  for (const base of ['/api/keys', '/api/api-keys']) {
    const hide = base !== '/api/keys';
    const tags = ['keys'];

    app.post(base, {
      config: { scope: 'key:manage' },
      schema: { hide, tags, summary: 'Create an API key (the key is shown once)', body: CreateKeyBody, response: { 201: CreatedKey, ...errorResponses(400, 403) } },
    }, async (request, reply) => {
      const body = requireBody(request.body as CreateT | undefined);
      const actor = principalOf(request);
      // Only an admin may hand out admin: key:manage alone cannot escalate.
      if (body.scopes.includes('admin') && !actor.admin) {
        throw new AppError('FORBIDDEN', 'Only an admin key can create an admin key', { requiredScope: 'admin' });
      }
      const { id, key } = await createKey(sql, { name: body.name, scopes: body.scopes, rateLimit: body.rateLimit ?? null }, eventMetadata(request));
      const created = await getKey(sql, id);
      return reply.code(201).send({ id, key, name: created.name, scopes: created.scopes, rateLimit: created.rateLimit, createdAt: created.createdAt });
    });

    app.get(base, {
      config: { scope: 'key:manage' },
      schema: {
        hide, tags, summary: 'List API keys (never the keys themselves)',
        querystring: Type.Object({ includeRevoked: Type.Optional(Type.Boolean()) }),
        response: { 200: Type.Object({ keys: Type.Array(ApiKey) }), ...errorResponses(403) },
      },
    }, async (request) => ({ keys: await listKeys(sql, (request.query as { includeRevoked?: boolean }).includeRevoked ?? false) }));

    app.get(`${base}/:id`, {
      config: { scope: 'key:manage' },
      schema: { hide, tags, summary: 'Get an API key', params: IdParams, response: { 200: ApiKey, ...errorResponses(400, 404) } },
    }, async (request) => getKey(sql, keyId(request.params)));

    app.patch(`${base}/:id`, {
      config: { scope: 'key:manage' },
      schema: { hide, tags, summary: 'Rename a key, change its scopes or rate limit', params: IdParams, body: UpdateKeyBody, response: { 200: ApiKey, ...errorResponses(400, 403, 404, 409) } },
    }, async (request) => {
      const id = keyId(request.params);
      const body = requireBody(request.body as UpdateT | undefined);
      const actor = principalOf(request);
      if (!actor.admin) {
        const current = await getKey(sql, id);
        if (body.scopes?.includes('admin') || current.scopes.includes('admin')) {
          throw new AppError('FORBIDDEN', 'Only an admin key can change an admin key or grant admin', { requiredScope: 'admin' });
        }
      }
      await runKeyCommand(sql, id, { type: 'update', changes: body }, eventMetadata(request));
      return getKey(sql, id);
    });

    app.delete(`${base}/:id`, {
      config: { scope: 'key:manage' },
      schema: { hide, tags, summary: 'Revoke a key: it stops working at once, on every server', params: IdParams, response: { 200: ApiKey, ...errorResponses(400, 403, 404, 409) } },
    }, async (request) => {
      const id = keyId(request.params);
      const actor = principalOf(request);
      if (!actor.admin && (await getKey(sql, id)).scopes.includes('admin')) {
        throw new AppError('FORBIDDEN', 'Only an admin key can revoke an admin key', { requiredScope: 'admin' });
      }
      await runKeyCommand(sql, id, { type: 'revoke' }, eventMetadata(request));
      return getKey(sql, id);
    });
  }
}
