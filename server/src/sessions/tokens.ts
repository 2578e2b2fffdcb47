/**
 * Session tokens: short-lived HS256 JWTs (jose) naming a session row and its subject.
 * The subject is `key:<id>` for a session opened with an API key, `reviewer:<id>` for a
 * person signed in another way; the token itself grants nothing the row does not.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

export const SESSION_COOKIE = 'agentgate_session';
export const CSRF_HEADER = 'x-csrf-token';
/** A token lives an hour; any call in its second half renews it, up to the session's end. */
export const TOKEN_TTL_SECONDS = 60 * 60;
/** A session ends 12 hours after sign-in, whatever its activity. */
export const SESSION_TTL_SECONDS = 12 * 60 * 60;
const ISSUER = 'agentgate';
const AUDIENCE = 'agentgate-dashboard';

export type SubjectType = 'key' | 'reviewer';

export interface SessionClaims {
  sessionId: string;
  subjectType: SubjectType;
  subjectId: string;
  /** Unix seconds. */
  issuedAt: number;
  expiresAt: number;
}

export async function signSessionToken(
  secret: Uint8Array,
  session: { id: string; subjectType: SubjectType; subjectId: string; expiresAt: Date },
  nowMs = Date.now(),
): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  const exp = Math.min(now + TOKEN_TTL_SECONDS, Math.floor(session.expiresAt.getTime() / 1000));
  return new SignJWT({ sid: session.id })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(`${session.subjectType}:${session.subjectId}`)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(secret);
}

/** The claims of a valid, unexpired token; null for anything else (forged, expired, malformed). */
export async function verifySessionToken(secret: Uint8Array, token: string, nowMs = Date.now()): Promise<SessionClaims | null> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'], currentDate: new Date(nowMs),
    });
    const match = /^(key|reviewer):(.+)$/.exec(payload.sub ?? '');
    if (!match || typeof payload.sid !== 'string' || !payload.iat || !payload.exp) return null;
    return {
      sessionId: payload.sid,
      subjectType: match[1] as SubjectType,
      subjectId: match[2]!,
      issuedAt: payload.iat,
      expiresAt: payload.exp,
    };
  } catch (err) {
    if (err instanceof joseErrors.JOSEError) return null;
    throw err;
  }
}

/** Renew when past half of the token's life, so an active tab never meets an expired cookie. */
export function needsRenewal(claims: SessionClaims, nowMs = Date.now()): boolean {
  return nowMs / 1000 > claims.issuedAt + TOKEN_TTL_SECONDS / 2;
}

/**
 * The anti-CSRF token of a session: derived from its id, so nothing extra is stored.
 * The page reads it from the session answer (same-origin only) and sends it back in a
 * header on every write; a cross-site form or fetch cannot learn it.
 */
export function csrfToken(secret: Uint8Array, sessionId: string): string {
  return createHmac('sha256', secret).update(`csrf:${sessionId}`).digest('base64url');
}

export function csrfTokenMatches(secret: Uint8Array, sessionId: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const expected = Buffer.from(csrfToken(secret, sessionId));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
