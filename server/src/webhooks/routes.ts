import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { eventMetadata } from '../http/context.ts';
import { errorResponses, IdParams } from '../http/schemas.ts';
import { isId } from '../ids.ts';
import { createWebhook, deleteWebhook, updateWebhook, type UrlPolicy } from './commands.ts';
import { redeliver, sendTestPing, type SendOptions } from './delivery.ts';
import { getWebhook, listDeliveries, listWebhooks } from './queries.ts';
import {
  CreatedWebhook, CreateWebhookBody, DeletedWebhook, DeliveryList, SECRET_SHOWN_ONCE, DeliveryParams, ListDeliveriesQuery, RedeliveryAccepted, TestResult,
  UpdateWebhookBody, Webhook,
  type CreateWebhookBody as CreateT, type ListDeliveriesQuery as ListDeliveriesT, type UpdateWebhookBody as UpdateT,
} from './schemas.ts';

const tags = ['webhooks'];

function webhookId(params: unknown): string {
  const id = (params as { id: string }).id;
  if (!isId('webhook', id)) throw new AppError('INVALID_ID', `"${id}" is not a webhook id (whk_…)`, { field: 'params.id' });
  return id;
}

function deliveryId(params: unknown): string {
  const id = (params as { deliveryId: string }).deliveryId;
  if (!isId('delivery', id)) throw new AppError('INVALID_ID', `"${id}" is not a delivery id (dlv_…)`, { field: 'params.deliveryId' });
  return id;
}

function requireBody<T>(body: T | undefined): T {
  if (body === undefined || body === null) throw new AppError('VALIDATION_ERROR', 'A JSON body is required', [{ field: 'body', message: 'is required' }]);
  return body;
}

export interface WebhookRouteOptions {
  sql: Sql;
  allowPrivate: boolean;
  /** Timeout of a test ping (the worker's deliveries have their own). */
  timeoutMs?: number;
}

export async function webhookRoutes(app: FastifyInstance, opts: WebhookRouteOptions) {
  const { sql } = opts;
  const urlPolicy: UrlPolicy = { allowPrivate: opts.allowPrivate };
  const send: SendOptions = { allowPrivate: opts.allowPrivate, timeoutMs: opts.timeoutMs ?? 10_000 };

  app.post('/api/webhooks', {
    config: { scope: 'webhook:manage' },
    schema: { tags, summary: 'Subscribe a URL to events (the secret is shown once)', body: CreateWebhookBody, response: { 201: CreatedWebhook, ...errorResponses(400, 403) } },
  }, async (request, reply) => {
    const body = requireBody(request.body as CreateT | undefined);
    const { id, secret } = await createWebhook(sql, body, urlPolicy, eventMetadata(request));
    return reply.code(201).send({ ...(await getWebhook(sql, id)), secret, message: SECRET_SHOWN_ONCE });
  });

  app.get('/api/webhooks', {
    config: { scope: 'webhook:manage' },
    schema: { tags, summary: 'List webhooks (never their secrets)', response: { 200: Type.Object({ webhooks: Type.Array(Webhook) }), ...errorResponses(403) } },
  }, async () => ({ webhooks: await listWebhooks(sql) }));

  app.get('/api/webhooks/:id', {
    config: { scope: 'webhook:manage' },
    schema: { tags, summary: 'Get a webhook', params: IdParams, response: { 200: Webhook, ...errorResponses(400, 404) } },
  }, async (request) => getWebhook(sql, webhookId(request.params)));

  app.patch('/api/webhooks/:id', {
    config: { scope: 'webhook:manage' },
    schema: { tags, summary: 'Change a webhook (URL, events, secret, description, enabled, maxAttempts)', params: IdParams, body: UpdateWebhookBody, response: { 200: Webhook, ...errorResponses(400, 403, 404) } },
  }, async (request) => {
    const id = webhookId(request.params);
    await updateWebhook(sql, id, requireBody(request.body as UpdateT | undefined), urlPolicy, eventMetadata(request));
    return getWebhook(sql, id);
  });

  app.delete('/api/webhooks/:id', {
    config: { scope: 'webhook:manage' },
    schema: { tags, summary: 'Delete a webhook; deliveries not yet made are dropped', params: IdParams, response: { 200: DeletedWebhook, ...errorResponses(400, 403, 404) } },
  }, async (request) => {
    const id = webhookId(request.params);
    await deleteWebhook(sql, id, eventMetadata(request));
    return { id, deleted: true as const, success: true as const };
  });

  app.get('/api/webhooks/:id/deliveries', {
    config: { scope: 'webhook:manage' },
    schema: { tags, summary: 'Delivery history of a webhook, newest first, with every attempt', params: IdParams, querystring: ListDeliveriesQuery, response: { 200: DeliveryList, ...errorResponses(400, 403, 404) } },
  }, async (request) => {
    const id = webhookId(request.params);
    await getWebhook(sql, id);
    return listDeliveries(sql, id, request.query as ListDeliveriesT);
  });

  app.post('/api/webhooks/:id/deliveries/:deliveryId/redeliver', {
    config: { scope: 'webhook:manage' },
    schema: { tags, summary: 'Send a delivery again, as a new delivery (queued)', params: DeliveryParams, response: { 202: RedeliveryAccepted, ...errorResponses(400, 403, 404, 409) } },
  }, async (request, reply) => {
    const id = webhookId(request.params);
    const of = deliveryId(request.params);
    const created = await redeliver(sql, id, of, eventMetadata(request));
    return reply.code(202).send({ deliveryId: created, redeliveryOf: of, status: 'pending' as const });
  });

  app.post('/api/webhooks/:id/test', {
    config: { scope: 'webhook:manage' },
    schema: { tags, summary: 'Send a signed test event now and report what the receiver answered', params: IdParams, response: { 200: TestResult, ...errorResponses(400, 403, 404) } },
  }, async (request) => sendTestPing(sql, webhookId(request.params), send, eventMetadata(request)));
}
