import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Sql } from '../db/connect.ts';
import {
  SESSION_ENDED_CHANNEL, authenticateReviewerSession, authenticateSession, endSession, openSession, openSessionIds,
  type SessionKeyRow, type SessionRow,
} from './queries.ts';
import { keyCreators } from '../keys/queries.ts';
import type { Person } from '../requests/decider.ts';
import { sessionSigningKey } from './secret.ts';
import {
  CSRF_HEADER, SESSION_COOKIE, csrfToken, csrfTokenMatches, needsRenewal, signSessionToken, verifySessionToken,
  type SessionClaims, type SubjectType,
} from './tokens.ts';

/**
 * What a reviewer signed in by an emailed link may do in the dashboard: read requests and
 * decide them — where the rule names them as an approver, as for any channel.
 */
export const REVIEWER_SESSION_SCOPES = ['request:read', 'request:decide'];

/** Who a session acts as, in the shape of a key's row (the reviewer's when the subject is a reviewer). */
export type SessionSubjectRow = SessionKeyRow & {
  subject_type: SubjectType;
  /** The directory's reviewer, for a reviewer session. */
  person?: Person;
};

export interface ResolvedSession {
  claims: SessionClaims;
  key: SessionSubjectRow;
}

/** Dashboard sessions: opening, resolving and ending them, and their cookie. */
export class Sessions {
  private constructor(
    private readonly sql: Sql,
    private readonly signingKey: Uint8Array,
    private readonly rateLimitWindowMs: number,
  ) {}

  static async create(sql: Sql, opts: { jwtSecret?: string; rateLimitWindowMs: number }): Promise<Sessions> {
    return new Sessions(sql, await sessionSigningKey(sql, opts.jwtSecret), opts.rateLimitWindowMs);
  }

  /** The cookie's token for a session opened elsewhere (a sign-in link, in its own transaction). */
  token(session: SessionRow): Promise<string> {
    return signSessionToken(this.signingKey, session);
  }

  async open(subject: { type: SubjectType; id: string }, userAgent: string | undefined): Promise<{ session: SessionRow; token: string }> {
    const session = await openSession(this.sql, subject, userAgent);
    return { session, token: await signSessionToken(this.signingKey, session) };
  }

  /**
   * The session a cookie names and the key behind it, checked against the database on
   * every call: a revoked key, a removed scope or a sign-out takes effect at once.
   */
  async resolve(token: string): Promise<ResolvedSession | null> {
    const claims = await verifySessionToken(this.signingKey, token);
    if (!claims) return null;
    if (claims.subjectType === 'reviewer') return this.resolveReviewer(claims);
    const key = await authenticateSession(this.sql, claims.sessionId, this.rateLimitWindowMs);
    if (!key || key.id !== claims.subjectId) return null;
    return { claims, key: { ...key, subject_type: 'key' } };
  }

  /** A reviewer's session: ends at once when the reviewer is disabled or deleted. */
  private async resolveReviewer(claims: SessionClaims): Promise<ResolvedSession | null> {
    const row = await authenticateReviewerSession(this.sql, claims.sessionId);
    if (!row || row.id !== claims.subjectId) return null;
    const person: Person = {
      reviewerId: row.id, name: row.name, keyId: row.key_id, groups: row.groups, disabled: false,
      // Four-eyes counts the keys behind the reviewer's own key as theirs too.
      ...(row.key_id ? { keyCreators: await keyCreators(this.sql, row.key_id) } : {}),
    };
    return {
      claims,
      key: {
        session_id: row.session_id, expires_at: row.expires_at, id: row.id, name: row.name, scopes: REVIEWER_SESSION_SCOPES,
        rate_limit: null, revoked_at: null, allowed: null, remaining: null, reset_ms: null, subject_type: 'reviewer', person,
      },
    };
  }

  end(sessionId: string): Promise<void> {
    return endSession(this.sql, sessionId);
  }

  /** Which of these sessions are still open. */
  stillOpen(ids: readonly string[]): Promise<Set<string>> {
    return openSessionIds(this.sql, ids);
  }

  /**
   * Hears of every session ended on any server process. `onResync` runs each time the
   * LISTEN connection is back after a drop: an end announced meanwhile was not heard,
   * so whoever holds sessions checks them again.
   */
  async watchEnded(onEnded: (sessionId: string) => void, onResync: () => void): Promise<{ unlisten(): Promise<void> }> {
    let listens = 0;
    return this.sql.listen(SESSION_ENDED_CHANNEL, onEnded, () => {
      if (listens++ > 0) onResync();
    });
  }

  csrfToken(sessionId: string): string {
    return csrfToken(this.signingKey, sessionId);
  }

  csrfOk(sessionId: string, request: FastifyRequest): boolean {
    return csrfTokenMatches(this.signingKey, sessionId, request.headers[CSRF_HEADER]);
  }

  /** Sets the session cookie; Secure whenever the page was reached over https. */
  setCookie(request: FastifyRequest, reply: FastifyReply, token: string, expiresAt: Date): void {
    reply.setCookie(SESSION_COOKIE, token, {
      path: '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', expires: expiresAt,
    });
  }

  clearCookie(request: FastifyRequest, reply: FastifyReply): void {
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https' });
  }

  /** Issues a fresh token when the current one is past half its life. */
  async renewIfDue(request: FastifyRequest, reply: FastifyReply, resolved: ResolvedSession): Promise<void> {
    if (!needsRenewal(resolved.claims)) return;
    const token = await signSessionToken(this.signingKey, {
      id: resolved.claims.sessionId, subjectType: resolved.claims.subjectType, subjectId: resolved.claims.subjectId,
      expiresAt: resolved.key.expires_at,
    });
    this.setCookie(request, reply, token, resolved.key.expires_at);
  }

  cookieOf(request: FastifyRequest): string | null {
    return request.cookies?.[SESSION_COOKIE] ?? null;
  }
}
