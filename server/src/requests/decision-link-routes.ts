import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';
import { AppError, isAppError } from '../errors.ts';
import { principalOf } from '../http/auth.ts';
import { eventMetadata } from '../http/context.ts';
import { errorResponses, IdParams } from '../http/schemas.ts';
import { DecisionLinks, DEFAULT_LINK_TTL_SECONDS, IssueLinksBody } from './schemas.ts';
import { confirmationPage, messagePage, PAGE_HEADERS, resultPage } from './decision-link-pages.ts';
import { decideByLink, goneReason, issueDecisionLinks, resolveLink } from './decision-links.ts';
import { requestId } from './routes.ts';

const MAX_REASON = 2000;

/** `baseUrl` gives the links' origin: PUBLIC_URL, or the listen address (never the Host header). */
export async function decisionLinkRoutes(app: FastifyInstance, opts: { sql: Sql; baseUrl: () => string }) {
  const { sql } = opts;

  app.post('/api/requests/:id/tokens', {
    config: { scope: 'request:decide' },
    schema: {
      tags: ['requests'], summary: 'Issue a pair of one-use links (approve, deny) that decide as this key, for a reviewer without a key',
      params: IdParams, body: Type.Optional(IssueLinksBody),
      response: { 201: DecisionLinks, ...errorResponses(400, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const id = requestId(request.params);
    const body = (request.body ?? {}) as NonNullable<IssueLinksBody>;
    const baseUrl = opts.baseUrl().replace(/\/+$/, '');
    const issued = await issueDecisionLinks(sql, id, {
      reviewer: body.reviewer?.trim() ? body.reviewer.trim() : null,
      expiresInSeconds: body.expiresInSeconds ?? DEFAULT_LINK_TTL_SECONDS,
      baseUrl,
    }, principalOf(request), eventMetadata(request));
    return reply.code(201).send(issued);
  });

  // The pages a reviewer opens: public (the token is the credential), form posts allowed here only.
  await app.register(async (pages) => {
    pages.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });

    const html = (reply: FastifyReply, status: number, content: string) => reply.code(status).headers(PAGE_HEADERS).send(content);

    pages.get('/decide', { config: { scope: null }, schema: { hide: true } }, async (request, reply) => {
      const token = (request.query as { token?: unknown }).token;
      const link = await resolveLink(sql, token);
      if (!link) return html(reply, 404, messagePage('Link not found', 'This decision link is not valid. Check that the whole link was copied.'));
      const gone = goneReason(link);
      if (gone) return html(reply, 410, messagePage('Link no longer valid', gone));
      return html(reply, 200, confirmationPage(link.request, link.decision, token as string, link.reviewer));
    });

    pages.post('/decide', { config: { scope: null }, schema: { hide: true }, bodyLimit: 16 * 1024 }, async (request, reply) => {
      const isForm = String(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
      try {
        const result = await decideThroughLink(sql, request);
        return isForm ? html(reply, 200, resultPage(result)) : result;
      } catch (err) {
        if (!isForm || !isAppError(err)) throw err;
        const title = err.status === 404 ? 'Link not found' : err.status === 410 ? 'Link no longer valid' : 'Not decided';
        return html(reply, err.status, messagePage(title, err.message));
      }
    });
  });
}

async function decideThroughLink(sql: Sql, request: FastifyRequest) {
  const body = (request.body ?? {}) as { token?: unknown; reason?: unknown };
  if (body.reason !== undefined && body.reason !== null && (typeof body.reason !== 'string' || body.reason.length > MAX_REASON)) {
    throw new AppError('VALIDATION_ERROR', `reason must be text of at most ${MAX_REASON} characters`, [{ field: 'body.reason', message: 'is invalid' }]);
  }
  const link = await resolveLink(sql, body.token);
  if (!link) throw new AppError('NOT_FOUND', 'This decision link is not valid');
  const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason : null;
  return decideByLink(sql, link, reason, { requestId: request.id, ip: request.ip });
}
