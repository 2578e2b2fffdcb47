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
});
export type ApiKey = Static<typeof ApiKey>;

export const CreatedKey = Type.Object({
  id: Type.String(),
  key: Type.String({ description: 'The API key (agk_…); shown only in this response' }),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  rateLimit: Nullable(Type.Integer()),
  createdAt: Timestamp,
});
