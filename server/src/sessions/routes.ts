/**
 * Dashboard sign-in: an API key is exchanged once for a session cookie (HttpOnly,
 * SameSite=Strict, Secure over https) holding a short-lived signed token. The browser
 * never keeps the key. See tokens.ts for the token and the anti-CSRF header.
 */
import type { FastifyInstance } from 'fastify';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { authenticateKey } from '../http/auth.ts';
import { errorResponses } from '../http/schemas.ts';
import {
  EmailLinkAccepted, EmailLinkBody, SessionInfo, SignInBody, SignInMethods, UseEmailLinkBody,
  type EmailLinkBody as EmailLinkBodyT, type UseEmailLinkBody as UseEmailLinkBodyT,
} from './schemas.ts';
import { REVIEWER_SESSION_SCOPES } from './sessions.ts';
import { requestSignInLink, useSignInLink } from './sign-in-links.ts';
import type { Sessions } from './sessions.ts';

const tags = ['sessions'];

export async function sessionRoutes(app: FastifyInstance, opts: {
  sql: Sql; sessions: Sessions; rateLimitWindowMs: number;
  /** Email is configured: reviewers may ask for a sign-in link. */
  emailSignIn?: boolean;
}) {
  const { sql, sessions } = opts;

  app.post('/api/session', {
    // Public: the key in the body is what authenticates.
    config: { scope: null },
    schema: {
      tags, summary: 'Sign in to the dashboard: exchange an API key for a session cookie',
      security: [], body: SignInBody, response: { 201: SessionInfo, ...errorResponses(400, 401, 429) },
    },
  }, async (request, reply) => {
    const { apiKey } = request.body as SignInBody;
    const key = await authenticateKey(sql, apiKey.trim(), opts.rateLimitWindowMs);
    if (!key) throw new AppError('UNAUTHORIZED', 'The API key is not valid');
    if (key.revoked_at) throw new AppError('UNAUTHORIZED', 'The API key has been revoked');
    if (key.rate_limit !== null && !key.allowed) throw new AppError('RATE_LIMITED', 'Rate limit exceeded; retry in a minute');
    const { session, token } = await sessions.open({ type: 'key', id: key.id }, request.headers['user-agent']);
    sessions.setCookie(request, reply, token, session.expiresAt);
    request.log.info({ sessionId: session.id, keyId: key.id }, 'dashboard session opened');
    return reply.code(201).send({
      subject: { type: 'key', id: key.id, name: key.name },
      scopes: key.scopes,
      csrfToken: sessions.csrfToken(session.id),
      expiresAt: session.expiresAt.toISOString(),
    });
  });

  app.get('/api/session', {
    config: { scope: null },
    schema: {
      tags, summary: 'The current dashboard session (from its cookie), renewing its token when due',
      security: [], response: { 200: SessionInfo, ...errorResponses(401) },
    },
  }, async (request, reply) => {
    const cookie = sessions.cookieOf(request);
    const resolved = cookie ? await sessions.resolve(cookie) : null;
    if (!resolved || resolved.key.revoked_at) {
      if (cookie) sessions.clearCookie(request, reply);
      throw new AppError('UNAUTHORIZED', cookie ? 'The session has ended; sign in again' : 'Not signed in');
    }
    await sessions.renewIfDue(request, reply, resolved);
    return {
      subject: { type: resolved.claims.subjectType, id: resolved.key.id, name: resolved.key.name },
      scopes: resolved.key.scopes,
      csrfToken: sessions.csrfToken(resolved.claims.sessionId),
      expiresAt: resolved.key.expires_at.toISOString(),
    };
  });

  app.delete('/api/session', {
    config: { scope: null },
    schema: { tags, summary: 'Sign out: the session ends on every tab and server', security: [], response: { 204: { type: 'null' }, ...errorResponses(403) } },
  }, async (request, reply) => {
    const cookie = sessions.cookieOf(request);
    const resolved = cookie ? await sessions.resolve(cookie) : null;
    if (resolved) {
      if (!sessions.csrfOk(resolved.claims.sessionId, request)) throw new AppError('CSRF_REJECTED');
      await sessions.end(resolved.claims.sessionId);
    }
    sessions.clearCookie(request, reply);
    return reply.code(204).send();
  });

  app.get('/api/session/methods', {
    config: { scope: null },
    schema: { tags, summary: 'How one may sign in to the dashboard here', security: [], response: { 200: SignInMethods } },
  }, async () => ({ apiKey: true, emailLink: Boolean(opts.emailSignIn) }));

  const LINK_SENT = 'If the address belongs to a reviewer, a sign-in link is on its way. It works once, for 15 minutes.';

  app.post('/api/session/email-link', {
    config: { scope: null },
    schema: {
      tags, summary: 'Email a one-time sign-in link to a reviewer',
      description: 'Answers the same whether or not the address is a reviewer\'s. Rate-limited per client and per address.',
      security: [], body: EmailLinkBody, response: { 202: EmailLinkAccepted, ...errorResponses(400, 409, 429) },
    },
  }, async (request, reply) => {
    if (!opts.emailSignIn) throw new AppError('CHANNEL_NOT_CONFIGURED', 'Sign-in links need email (SMTP_URL or SMTP_HOST), which is not configured');
    const { email } = request.body as EmailLinkBodyT;
    try {
      const { queued } = await requestSignInLink(sql, email, request.ip);
      request.log.info({ queued }, 'sign-in link asked for');
    } catch (err) {
      if (err instanceof AppError && err.code === 'RATE_LIMITED') reply.header('Retry-After', (err.details as { retryAfterSeconds: number }).retryAfterSeconds);
      throw err;
    }
    return reply.code(202).send({ message: LINK_SENT });
  });

  app.post('/api/session/email-link/use', {
    config: { scope: null },
    schema: {
      tags, summary: 'Sign in with an emailed link: once, within 15 minutes; the session is the reviewer\'s',
      security: [], body: UseEmailLinkBody, response: { 201: SessionInfo, ...errorResponses(400, 410) },
    },
  }, async (request, reply) => {
    const { token } = request.body as UseEmailLinkBodyT;
    const { session, reviewer } = await useSignInLink(sql, token.trim(), { ip: request.ip, userAgent: request.headers['user-agent'], requestId: request.id });
    sessions.setCookie(request, reply, await sessions.token(session), session.expiresAt);
    request.log.info({ sessionId: session.id, reviewerId: reviewer.id }, 'dashboard session opened by a sign-in link');
    return reply.code(201).send({
      subject: { type: 'reviewer', id: reviewer.id, name: reviewer.name },
      scopes: REVIEWER_SESSION_SCOPES,
      csrfToken: sessions.csrfToken(session.id),
      expiresAt: session.expiresAt.toISOString(),
    });
  });
}
