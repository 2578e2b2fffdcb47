import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { eventMetadata } from '../http/context.ts';
import { errorResponses, IdParams } from '../http/schemas.ts';
import { isId } from '../ids.ts';
import { createPolicy, policyFields, runPolicyCommand } from './commands.ts';
import { enabledPolicies, getPolicy, listPolicies } from './queries.ts';
import {
  DeletedPolicy, ListPoliciesQuery, Policy, PolicyBody, PolicyList, PolicyTrialBody, PolicyTrialResult, type ListPoliciesQuery as ListPoliciesQueryT, type PolicyBody as PolicyBodyT,
} from './schemas.ts';
import { checkFields } from './decider.ts';
import { tryPolicy } from './trial.ts';
import { principalOf } from '../http/auth.ts';

const tags = ['policies'];

function policyId(params: unknown): string {
  const id = (params as { id: string }).id;
  if (!isId('policy', id)) throw new AppError('INVALID_ID', `"${id}" is not a policy id (pol_…)`, { field: 'params.id' });
  return id;
}

function requireBody(body: unknown): PolicyBodyT {
  if (body === undefined || body === null) {
    throw new AppError('VALIDATION_ERROR', 'A JSON body is required', [{ field: 'body', message: 'is required' }]);
  }
  return body as PolicyBodyT;
}

export async function policyRoutes(app: FastifyInstance, opts: { sql: Sql }) {
  const { sql } = opts;

  app.get('/api/policies', {
    config: { scope: 'policy:read' },
    schema: {
      tags, summary: 'List policies in evaluation order (priority, then id), a page at a time',
      querystring: ListPoliciesQuery, response: { 200: PolicyList, ...errorResponses(400, 401, 403) },
    },
  }, async (request) => listPolicies(sql, request.query as ListPoliciesQueryT));

  app.post('/api/policies', {
    config: { scope: 'policy:write' },
    schema: {
      tags, summary: 'Create a policy; its rules are checked by the policy engine',
      body: PolicyBody, response: { 201: Policy, ...errorResponses(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    const fields = policyFields(requireBody(request.body));
    const id = await createPolicy(sql, fields, eventMetadata(request));
    return reply.code(201).send(await getPolicy(sql, id));
  });

  app.get('/api/policies/:id', {
    config: { scope: 'policy:read' },
    schema: { tags, summary: 'Get one policy', params: IdParams, response: { 200: Policy, ...errorResponses(400, 401, 403, 404) } },
  }, async (request) => getPolicy(sql, policyId(request.params)));

  app.put('/api/policies/:id', {
    config: { scope: 'policy:write' },
    schema: {
      tags, summary: 'Replace a policy (omitted optional fields take their defaults); the version grows on change',
      params: IdParams, body: PolicyBody, response: { 200: Policy, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => {
    const id = policyId(request.params);
    const fields = policyFields(requireBody(request.body));
    await runPolicyCommand(sql, id, { type: 'update', fields }, eventMetadata(request));
    return getPolicy(sql, id);
  });

  app.delete('/api/policies/:id', {
    config: { scope: 'policy:write' },
    schema: {
      tags, summary: 'Delete a policy (its history stays in the event log)',
      params: IdParams, response: { 200: DeletedPolicy, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => {
    const id = policyId(request.params);
    await runPolicyCommand(sql, id, { type: 'delete' }, eventMetadata(request));
    return { success: true as const, id };
  });

  app.post('/api/policies/test', {
    config: { scope: 'policy:read' },
    schema: {
      tags, summary: 'Evaluate a sample request against a draft policy without saving it',
      body: PolicyTrialBody, response: { 200: PolicyTrialResult, ...errorResponses(400, 401, 403) },
    },
  }, async (request) => {
    const body = request.body as Static<typeof PolicyTrialBody>;
    const fields = policyFields(body.policy);
    try {
      checkFields(fields);
    } catch (err) {
      // Same problems as a save, pointed at the draft inside this body.
      if (err instanceof AppError && Array.isArray(err.details)) {
        const details = (err.details as { field: string; message: string }[]).map((d) => ({ ...d, field: d.field.replace(/^body\./, 'body.policy.') }));
        throw new AppError(err.code, err.message.replaceAll('body.', 'body.policy.'), details);
      }
      throw err;
    }
    const saved = await enabledPolicies(sql);
    const principal = principalOf(request);
    const sample = body.request;
    const result = tryPolicy(fields, saved, {
      action: sample.action, urgency: sample.urgency ?? 'normal', params: sample.params ?? {}, context: sample.context ?? {},
      requester: { keyId: principal.id, keyName: principal.name },
    }, body.replaces ?? null);
    return result;
  });
}
