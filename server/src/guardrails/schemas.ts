import { Type, type Static } from '@sinclair/typebox';
import { JsonObject, Nullable } from '../http/schemas.ts';

export const AuthorizeBody = Type.Object(
  {
    toolName: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', description: 'The tool about to run; policies see it as the request\'s `action`' }),
    params: Type.Optional(JsonObject),
    context: Type.Optional(JsonObject),
  },
  { additionalProperties: false },
);
export type AuthorizeBody = Static<typeof AuthorizeBody>;

export const Verdict = Type.Object({
  decision: Type.Union([Type.Literal('allow'), Type.Literal('requires_approval'), Type.Literal('deny')], {
    description: 'allow: run the tool (a policy approved it); requires_approval: do not run it yet, a person decides requestId; deny: do not run it',
  }),
  requestId: Type.String({ description: 'The request recording this tool call' }),
  status: Type.Union([Type.Literal('approved'), Type.Literal('pending'), Type.Literal('denied')]),
  reason: Nullable(Type.String()),
});
export type Verdict = Static<typeof Verdict>;
