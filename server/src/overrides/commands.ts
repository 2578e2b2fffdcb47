import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { executeCommand } from '../events/command.ts';
import { streamId, type EventMetadata } from '../events/types.ts';
import { isId, newId } from '../ids.ts';
import { decideOverride, evolveOverride, initialOverrideState, type OverrideCommand, type OverrideFields } from './decider.ts';
import type { CreateOverrideBody, OriginalOverrideBody } from './schemas.ts';

/** The original API called its override decisions by other names. */
const ORIGINAL_DECISION = { deny: 'auto_deny', require_approval: 'route_to_human' } as const;

/** Either body shape, as the fields of an override; `now` turns a ttlSeconds into an expiry. */
export function overrideFields(body: CreateOverrideBody | OriginalOverrideBody, now: Date): OverrideFields {
  if ('toolPattern' in body) {
    const agent = body.agentId.trim();
    if (agent !== '*' && !isId('apikey', agent)) {
      throw new AppError('VALIDATION_ERROR', 'agentId must be an API key id (key_…) or *', [{ field: 'body.agentId', message: 'is not a key id' }]);
    }
    return {
      action: body.toolPattern, agentKeyId: agent === '*' ? null : agent,
      decision: ORIGINAL_DECISION[body.action], reason: body.reason?.trim() || 'no reason given',
      expiresAt: body.ttlSeconds !== undefined ? new Date(now.getTime() + Math.round(body.ttlSeconds * 1000)).toISOString() : null,
    };
  }
  if (body.agentKeyId != null && !isId('apikey', body.agentKeyId)) {
    throw new AppError('VALIDATION_ERROR', 'agentKeyId must be an API key id (key_…)', [{ field: 'body.agentKeyId', message: 'is not a key id' }]);
  }
  return {
    action: body.action, agentKeyId: body.agentKeyId ?? null, decision: body.decision, reason: body.reason,
    expiresAt: body.expiresAt ? new Date(body.expiresAt).toISOString() : null,
  };
}

export async function runOverrideCommand(sql: Sql, id: string, command: OverrideCommand, metadata: EventMetadata) {
  try {
    return await executeCommand(sql, {
      streamId: streamId('override', id),
      streamType: 'override',
      newStream: command.type === 'create',
      initial: initialOverrideState,
      evolve: evolveOverride,
      decide: (s) => decideOverride(command, s),
      metadata,
    });
  } catch (err) {
    if (err instanceof AppError && err.code === 'NOT_FOUND') throw new AppError('NOT_FOUND', `override ${id} not found`);
    throw err;
  }
}

export async function createOverride(sql: Sql, fields: OverrideFields, now: Date, metadata: EventMetadata): Promise<string> {
  const id = newId('override');
  await runOverrideCommand(sql, id, { type: 'create', id, fields, now }, metadata);
  return id;
}
