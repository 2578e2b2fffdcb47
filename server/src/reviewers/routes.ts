import type { FastifyInstance } from 'fastify';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { eventMetadata } from '../http/context.ts';
import { errorResponses, IdParams } from '../http/schemas.ts';
import { isId } from '../ids.ts';
import { createReviewer, runReviewerCommand } from './commands.ts';
import type { ReviewerFields } from './decider.ts';
import { getReviewer, listReviewers } from './queries.ts';
import {
  CreateReviewerBody, ListReviewersQuery, Reviewer, ReviewerList, UpdateReviewerBody,
  type CreateReviewerBody as CreateT, type UpdateReviewerBody as UpdateT,
} from './schemas.ts';

const tags = ['reviewers'];

function reviewerId(params: unknown): string {
  const id = (params as { id: string }).id;
  if (!isId('reviewer', id)) throw new AppError('INVALID_ID', `"${id}" is not a reviewer id (rev_…)`, { field: 'params.id' });
  return id;
}

function requireBody<T>(body: T | undefined): T {
  if (body === undefined || body === null) throw new AppError('VALIDATION_ERROR', 'A JSON body is required', [{ field: 'body', message: 'is required' }]);
  return body;
}

/** Emails compare case-insensitively; names and ids are kept as given, trimmed. */
function normalise<T extends Partial<ReviewerFields>>(body: T): T {
  const out = { ...body };
  if (typeof out.name === 'string') out.name = out.name.trim();
  if (typeof out.email === 'string') out.email = out.email.trim().toLowerCase();
  return out;
}

export async function reviewerRoutes(app: FastifyInstance, opts: { sql: Sql }) {
  const { sql } = opts;

  app.post('/api/reviewers', {
    config: { scope: 'reviewer:manage' },
    schema: { tags, summary: 'Add a person to the reviewer directory', body: CreateReviewerBody, response: { 201: Reviewer, ...errorResponses(400, 403, 409) } },
  }, async (request, reply) => {
    const body = normalise(requireBody(request.body as CreateT | undefined));
    const id = await createReviewer(sql, {
      name: body.name, email: body.email ?? null, slackUserId: body.slackUserId ?? null, discordUserId: body.discordUserId ?? null,
      groups: body.groups ?? [], disabled: body.disabled ?? false, keyId: body.keyId ?? null, preferredChannel: body.preferredChannel ?? null,
    }, eventMetadata(request));
    return reply.code(201).send(await getReviewer(sql, id));
  });

  app.get('/api/reviewers', {
    config: { scope: 'reviewer:manage' },
    schema: { tags, summary: 'List the reviewer directory', querystring: ListReviewersQuery, response: { 200: ReviewerList, ...errorResponses(400, 403) } },
  }, async (request) => ({ reviewers: await listReviewers(sql, request.query as { group?: string; includeDisabled?: boolean }) }));

  app.get('/api/reviewers/:id', {
    config: { scope: 'reviewer:manage' },
    schema: { tags, summary: 'Get a reviewer', params: IdParams, response: { 200: Reviewer, ...errorResponses(400, 403, 404) } },
  }, async (request) => getReviewer(sql, reviewerId(request.params)));

  app.patch('/api/reviewers/:id', {
    config: { scope: 'reviewer:manage' },
    schema: {
      tags, summary: 'Change a reviewer: identities, groups, disable or enable, link an API key',
      params: IdParams, body: UpdateReviewerBody, response: { 200: Reviewer, ...errorResponses(400, 403, 404, 409) },
    },
  }, async (request) => {
    const id = reviewerId(request.params);
    const changes = normalise(requireBody(request.body as UpdateT | undefined));
    await runReviewerCommand(sql, id, { type: 'update', changes }, eventMetadata(request));
    return getReviewer(sql, id);
  });

  app.delete('/api/reviewers/:id', {
    config: { scope: 'reviewer:manage' },
    schema: {
      tags, summary: 'Remove a reviewer; past decisions keep their name',
      params: IdParams, response: { 200: Reviewer, ...errorResponses(400, 403, 404) },
    },
  }, async (request) => {
    const id = reviewerId(request.params);
    const before = await getReviewer(sql, id);
    await runReviewerCommand(sql, id, { type: 'delete' }, eventMetadata(request));
    return before;
  });
}
