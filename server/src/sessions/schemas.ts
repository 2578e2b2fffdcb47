import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.ts';

export const SignInBody = Type.Object(
  { apiKey: Type.String({ minLength: 1, maxLength: 200, description: 'The key to exchange for a session; it is not kept in the browser' }) },
  { additionalProperties: false },
);
export type SignInBody = Static<typeof SignInBody>;

export const SessionInfo = Type.Object(
  {
    subject: Type.Object({
      type: Type.Union([Type.Literal('key'), Type.Literal('reviewer')]),
      id: Type.String(),
      name: Type.String(),
    }),
    scopes: Type.Array(Type.String(), { description: 'What the session may do: the scopes of the key behind it, read afresh on every call' }),
    csrfToken: Type.String({ description: 'Send back as X-CSRF-Token on every write made with the session cookie' }),
    expiresAt: Timestamp,
  },
  { $id: 'Session' },
);
export type SessionInfo = Static<typeof SessionInfo>;
