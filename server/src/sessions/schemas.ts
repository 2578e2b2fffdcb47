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

export const SignInMethods = Type.Object({
  apiKey: Type.Boolean({ description: 'Sign in by pasting an API key (always)' }),
  emailLink: Type.Boolean({ description: 'Reviewers with an email can ask for a one-time sign-in link (email is configured)' }),
}, { $id: 'SignInMethods' });

export const EmailLinkBody = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 320, description: 'The reviewer\'s address in the directory' }) },
  { additionalProperties: false },
);
export type EmailLinkBody = Static<typeof EmailLinkBody>;

export const EmailLinkAccepted = Type.Object({
  message: Type.String({ description: 'The same answer whether or not the address belongs to a reviewer' }),
}, { $id: 'EmailLinkAccepted' });

export const UseEmailLinkBody = Type.Object(
  { token: Type.String({ minLength: 20, maxLength: 200, description: 'The token of the emailed link (after "#token=")' }) },
  { additionalProperties: false },
);
export type UseEmailLinkBody = Static<typeof UseEmailLinkBody>;
