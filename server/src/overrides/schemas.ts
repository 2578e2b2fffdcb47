import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from '../http/schemas.ts';
import { MAX_ACTION_GLOB, OVERRIDE_DECISIONS } from './decider.ts';

const decision = Type.Union(OVERRIDE_DECISIONS.map((d) => Type.Literal(d)), {
  description: 'auto_deny: deny matching requests; route_to_human: a person decides them even where a policy would approve',
});

/** Our body. */
export const CreateOverrideBody = Type.Object(
  {
    action: Type.String({ minLength: 1, maxLength: MAX_ACTION_GLOB, description: 'Glob on the request\'s action (`*` any run, `?` one character)' }),
    agentKeyId: Type.Optional(Nullable(Type.String({ maxLength: 64, description: 'Only requests made with this key (key_…); every key when absent' }))),
    decision,
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
    expiresAt: Type.Optional(Nullable(Type.String({ format: 'date-time', description: 'When it stops applying; never when absent' }))),
  },
  { additionalProperties: false },
);
export type CreateOverrideBody = Static<typeof CreateOverrideBody>;

/** The original API's body, as its CLI (`agentgate override create`) sends it. */
export const OriginalOverrideBody = Type.Object(
  {
    agentId: Type.String({ minLength: 1, maxLength: 64, description: 'The key (key_…), or * for every key' }),
    toolPattern: Type.String({ minLength: 1, maxLength: MAX_ACTION_GLOB }),
    action: Type.Union([Type.Literal('require_approval'), Type.Literal('deny')]),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    ttlSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10 * 365 * 86_400 })),
  },
  { additionalProperties: false },
);
export type OriginalOverrideBody = Static<typeof OriginalOverrideBody>;

export const OverrideBody = Type.Union([CreateOverrideBody, OriginalOverrideBody], {
  description: 'Either our shape ({ action, agentKeyId?, decision, reason, expiresAt? }) or the original API\'s ({ agentId, toolPattern, action, reason?, ttlSeconds? })',
});

export const Override = Type.Object({
  id: Type.String(),
  action: Type.String({ description: 'The glob on the request\'s action' }),
  agentKeyId: Nullable(Type.String()),
  decision,
  reason: Type.String(),
  expiresAt: Nullable(Timestamp),
  createdAt: Timestamp,
  createdBy: Nullable(Type.Object({ type: Type.String(), id: Type.String(), name: Type.String() })),
  toolPattern: Type.String({ description: 'The original API\'s name for `action`' }),
  agentId: Type.String({ description: 'The original API\'s name for `agentKeyId` (* for every key)' }),
});
export type Override = Static<typeof Override>;

export const OverrideList = Type.Object({ overrides: Type.Array(Override) });
export const RemovedOverride = Type.Object({ success: Type.Literal(true), id: Type.String() });
