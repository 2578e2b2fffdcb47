import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from '../http/schemas.ts';
import { SCOPES } from './scopes.ts';

export const ScopeSchema = Type.Union(SCOPES.map((s) => Type.Literal(s)));

const name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const scopes = Type.Array(ScopeSchema, { minItems: 1, uniqueItems: true });
const rateLimit = Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Requests per minute; null = unlimited' }));

export const CreateKeyBody = Type.Object({ name, scopes, rateLimit: Type.Optional(rateLimit) }, { additionalProperties: false });
export type CreateKeyBody = Static<typeof CreateKeyBody>;

export const UpdateKeyBody = Type.Object(
  { name: Type.Optional(name), scopes: Type.Optional(scopes), rateLimit: Type.Optional(rateLimit) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateKeyBody = Static<typeof UpdateKeyBody>;

export const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to recognise it' }),
  scopes: Type.Array(Type.String()),
  rateLimit: Nullable(Type.Integer()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  revokedAt: Nullable(Timestamp),
  revoked: Type.Boolean(),
  active: Type.Boolean({ description: 'Not revoked (the original API\'s name for it)' }),
  lastUsedAt: Nullable(Timestamp, { description: 'When the key last authenticated a request, to the minute; null if never' }),
});
export type ApiKey = Static<typeof ApiKey>;

/** A revoke answers with the key as it now stands and the original API's confirmation. */
export const RevokedKey = Type.Object({ ...ApiKey.properties, success: Type.Literal(true), message: Type.String() });

export const CreatedKey = Type.Object({
  id: Type.String(),
  key: Type.String({ description: 'The API key (agk_…); shown only in this response' }),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  rateLimit: Nullable(Type.Integer()),
  createdAt: Timestamp,
  message: Type.String({ description: 'A reminder that the key is not shown again (as the original API said it)' }),
});

export const KEY_SHOWN_ONCE = 'Save this key - it will not be shown again';

/** GET /api/keys/me: the caller as the server authenticated it (from the one key lookup, nothing more). */
export const CurrentKey = Type.Object({
  type: Type.Union([Type.Literal('key'), Type.Literal('reviewer')], { description: 'key: an API key (bearer or dashboard session); reviewer: a reviewer signed in by an emailed link' }),
  id: Type.String({ description: 'The key id (key_…); for a reviewer\'s session, the reviewer id (rev_…)' }),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  admin: Type.Boolean({ description: 'Holds the admin scope (every other scope with it)' }),
  rateLimit: Nullable(Type.Integer({ description: 'Requests per minute; null = unlimited. The X-RateLimit-* headers carry what is left' })),
});
