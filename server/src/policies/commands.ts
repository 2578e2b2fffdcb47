import type { Sql } from '../db/connect.ts';
import { AppError, isAppError } from '../errors.ts';
import { executeCommand } from '../events/command.ts';
import { isUniqueViolation } from '../events/store.ts';
import { streamId, type EventMetadata } from '../events/types.ts';
import { newId } from '../ids.ts';
import type { Rule } from './engine.ts';
import { decidePolicy, evolvePolicy, initialPolicyState, type PolicyCommand, type PolicyFields } from './decider.ts';
import type { PolicyBody } from './schemas.ts';

/** The body after defaults: a missing optional field takes its default, on create and on replace alike. */
export function policyFields(body: PolicyBody): PolicyFields {
  return {
    name: body.name.trim(),
    description: body.description ?? null,
    priority: body.priority ?? 100,
    enabled: body.enabled ?? true,
    rules: body.rules as Rule[],
  };
}

/**
 * Names are unique through the projection's unique index, which is checked inside the
 * append transaction: a clash rolls the append back. Policy writes are serialised so that
 * they commit in position order and a rebuild, replaying by position, meets the same
 * names in the same order (a rename racing a create could otherwise replay as a clash).
 */
export async function runPolicyCommand(sql: Sql, id: string, command: PolicyCommand, metadata: EventMetadata) {
  try {
    return await executeCommand(sql, {
      streamId: streamId('policy', id),
      streamType: 'policy',
      serializeOn: 'policy-names',
      initial: initialPolicyState,
      evolve: evolvePolicy,
      decide: (s) => decidePolicy(command, s),
      metadata,
    });
  } catch (err) {
    if (isUniqueViolation(err, 'policies_name_idx') && command.type !== 'delete') {
      const name = command.fields.name;
      throw new AppError('DUPLICATE_NAME', `A policy named ${JSON.stringify(name)} already exists`, [{ field: 'body.name', message: 'is already taken' }]);
    }
    if (isAppError(err) && err.code === 'NOT_FOUND') throw new AppError('NOT_FOUND', `policy ${id} not found`);
    throw err;
  }
}

export async function createPolicy(sql: Sql, fields: PolicyFields, metadata: EventMetadata): Promise<string> {
  const id = newId('policy');
  await runPolicyCommand(sql, id, { type: 'create', id, fields }, metadata);
  return id;
}
