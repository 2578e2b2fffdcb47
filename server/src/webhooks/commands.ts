import { randomBytes } from 'node:crypto';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { executeCommand } from '../events/command.ts';
import { streamId, type EventMetadata } from '../events/types.ts';
import { newId } from '../ids.ts';
import { DEFAULT_MAX_ATTEMPTS, decideWebhook, evolveWebhook, initialWebhookState, type WebhookCommand, type WebhookFields, type WebhookState } from './decider.ts';
import { findWebhookRow } from './queries.ts';
import type { CreateWebhookBody, UpdateWebhookBody } from './schemas.ts';
import { checkWebhookUrl, type Lookup } from './ssrf.ts';

export interface UrlPolicy {
  allowPrivate: boolean;
  lookup?: Lookup;
}

/**
 * Runs a command on a webhook's stream. The state comes from the `webhooks` row (kept at
 * the stream's version by its projection) rather than from replaying every delivery
 * attempt; a deleted webhook has no row, and replaying its stream tells so.
 */
export function runWebhookCommand(sql: Sql, id: string, command: WebhookCommand, metadata: EventMetadata) {
  return executeCommand<WebhookState>(sql, {
    streamId: streamId('webhook', id),
    streamType: 'webhook',
    initial: initialWebhookState,
    evolve: evolveWebhook,
    load: async (tx) => {
      const row = await findWebhookRow(tx, id);
      if (!row) return null;
      return { version: row.version, state: { id: row.id, deleted: false, enabled: row.enabled, maxAttempts: row.max_attempts, version: row.version } };
    },
    decide: (s) => decideWebhook(command, s),
    metadata,
  });
}

export const generateSecret = () => randomBytes(32).toString('hex');

async function assertSafeUrl(url: string, policy: UrlPolicy): Promise<void> {
  const verdict = await checkWebhookUrl(url, policy);
  if (!verdict.ok) {
    throw new AppError('UNSAFE_WEBHOOK_URL', `The webhook URL is not allowed: ${verdict.reason}`, [{ field: 'body.url', message: verdict.reason }]);
  }
}

/** Creates a webhook; the secret is returned here, the only time it is shown. */
export async function createWebhook(sql: Sql, body: CreateWebhookBody, policy: UrlPolicy, metadata: EventMetadata) {
  await assertSafeUrl(body.url, policy);
  const id = newId('webhook');
  const fields: WebhookFields = {
    url: body.url,
    events: body.events,
    secret: body.secret ?? generateSecret(),
    description: body.description ?? null,
    enabled: body.enabled ?? true,
    maxAttempts: body.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
  };
  await runWebhookCommand(sql, id, { type: 'create', id, fields }, metadata);
  return { id, secret: fields.secret };
}

export async function updateWebhook(sql: Sql, id: string, body: UpdateWebhookBody, policy: UrlPolicy, metadata: EventMetadata) {
  if (body.url !== undefined) await assertSafeUrl(body.url, policy);
  await runWebhookCommand(sql, id, { type: 'update', changes: body }, metadata);
}

export async function deleteWebhook(sql: Sql, id: string, metadata: EventMetadata) {
  await runWebhookCommand(sql, id, { type: 'delete' }, metadata);
}
