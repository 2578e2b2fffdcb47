import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { principalOf } from '../http/auth.ts';
import { eventMetadata } from '../http/context.ts';
import { errorResponses, IdParams } from '../http/schemas.ts';
import { isId } from '../ids.ts';
import { createKey, runKeyCommand } from './commands.ts';
import type { KeyGrantor } from './decider.ts';
import { getKey, listKeys } from './queries.ts';
import { ApiKey, CreatedKey, CurrentKey, CreateKeyBody, KEY_SHOWN_ONCE, RevokedKey, UpdateKeyBody, type CreateKeyBody as CreateT, type UpdateKeyBody as UpdateT } from './schemas.ts';

function keyId(params: unknown): string {
  const id = (params as { id: string }).id;
  if (!isId('apikey', id)) throw new AppError('INVALID_ID', `"${id}" is not an API key id (key_…)`, { field: 'params.id' });
  return id;
}

/** The acting key, as the key decider judges what it may grant. */
function grantorOf(request: FastifyRequest): KeyGrantor {
  const p = principalOf(request);
  return { id: p.id, admin: p.admin, scopes: p.scopes, rateLimit: p.rateLimit };
}

function requireBody<T>(body: T | undefined): T {
  if (body === undefined || body === null) throw new AppError('VALIDATION_ERROR', 'A JSON body is required', [{ field: 'body', message: 'is required' }]);
  return body;
}

/** Served at /api/keys and, for clients of the original API, at /api/api-keys. */
export async function keyRoutes(app: FastifyInstance, opts: { sql: Sql }) {
  const { sql } = opts;

  // Static segments win over `/:id` in the router, so this never reads as a key id.
  app.get('/api/keys/me', {
    config: { scope: 'authenticated' },
    schema: {
      tags: ['keys'], summary: 'The key this request authenticated with: its name, scopes and rate limit',
      description: 'Any valid key may ask, whatever its scopes: a client checks its configuration with it. '
        + 'The answer comes from the authentication itself (one key lookup, which also counts against the rate limit), with no other read.',
      response: { 200: CurrentKey, ...errorResponses(401, 429) },
    },
  }, async (request) => {
    const p = principalOf(request);
    return { type: p.type === 'reviewer' ? 'reviewer' as const : 'key' as const, id: p.id, name: p.name, scopes: p.scopes, admin: p.admin, rateLimit: p.rateLimit };
  });

  for (const base of ['/api/keys', '/api/api-keys']) {
    const hide = base !== '/api/keys';
    const tags = ['keys'];

    app.post(base, {
      config: { scope: 'key:manage' },
      schema: { hide, tags, summary: 'Create an API key (the key is shown once)',
        description: 'A key that is not admin may grant only scopes it holds itself and a rate limit no looser than its own (403 KEY_ESCALATION). The acting key is recorded as the new key\'s creator.',
        body: CreateKeyBody, response: { 201: CreatedKey, ...errorResponses(400, 403) } },
    }, async (request, reply) => {
      const body = requireBody(request.body as CreateT | undefined);
      const { id, key } = await createKey(sql, { name: body.name, scopes: body.scopes, rateLimit: body.rateLimit ?? null }, eventMetadata(request), undefined, grantorOf(request));
      const created = await getKey(sql, id);
      return reply.code(201).send({ id, key, name: created.name, scopes: created.scopes, rateLimit: created.rateLimit, createdAt: created.createdAt, message: KEY_SHOWN_ONCE });
    });

    app.get(base, {
      config: { scope: 'key:manage' },
      schema: {
        hide, tags, summary: 'List API keys (never the keys themselves), revoked ones included unless includeRevoked=false',
        querystring: Type.Object({ includeRevoked: Type.Optional(Type.Boolean({ default: true })) }),
        response: { 200: Type.Object({ keys: Type.Array(ApiKey) }), ...errorResponses(403) },
      },
    }, async (request) => ({ keys: await listKeys(sql, (request.query as { includeRevoked?: boolean }).includeRevoked ?? true) }));

    app.get(`${base}/:id`, {
      config: { scope: 'key:manage' },
      schema: { hide, tags, summary: 'Get an API key', params: IdParams, response: { 200: ApiKey, ...errorResponses(400, 404) } },
    }, async (request) => getKey(sql, keyId(request.params)));

    app.patch(`${base}/:id`, {
      config: { scope: 'key:manage' },
      schema: { hide, tags, summary: 'Rename a key, change its scopes or rate limit',
        description: 'A key that is not admin cannot change itself, and the key it changes must end within its own scopes and rate limit (403 KEY_ESCALATION).',
        params: IdParams, body: UpdateKeyBody, response: { 200: ApiKey, ...errorResponses(400, 403, 404, 409) } },
    }, async (request) => {
      const id = keyId(request.params);
      const body = requireBody(request.body as UpdateT | undefined);
      await runKeyCommand(sql, id, { type: 'update', changes: body, by: grantorOf(request) }, eventMetadata(request));
      return getKey(sql, id);
    });

    app.delete(`${base}/:id`, {
      config: { scope: 'key:manage' },
      schema: { hide, tags, summary: 'Revoke a key: it stops working at once, on every server', params: IdParams, response: { 200: RevokedKey, ...errorResponses(400, 403, 404, 409) } },
    }, async (request) => {
      const id = keyId(request.params);
      await runKeyCommand(sql, id, { type: 'revoke', by: grantorOf(request) }, eventMetadata(request));
      return { ...(await getKey(sql, id)), success: true as const, message: 'API key revoked' };
    });
  }
}
