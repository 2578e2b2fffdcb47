/**
 * A policy's stream (`policy-<id>`) as a pure decider. The rules are checked here with
 * the engine's own validator, so whatever path a command comes from, the log can only
 * hold policies that the engine is able to compile at request time.
 */
import { AppError } from '../errors.ts';
import type { NewEvent } from '../events/types.ts';
import { validatePolicyRules, type Rule } from './engine.ts';
import { deepEqual } from './match.ts';

export interface PolicyFields {
  name: string;
  description: string | null;
  priority: number;
  enabled: boolean;
  rules: Rule[];
}

export interface PolicyState {
  id: string | null;
  deleted: boolean;
  version: number;
  fields: PolicyFields | null;
}

export const initialPolicyState = (): PolicyState => ({ id: null, deleted: false, version: 0, fields: null });

export type PolicyCommand =
  | { type: 'create'; id: string; fields: PolicyFields }
  | { type: 'update'; fields: PolicyFields }
  | { type: 'delete' };

export type PolicyEvent =
  | NewEvent<'policy.created', { id: string } & PolicyFields>
  | NewEvent<'policy.updated', { id: string } & PolicyFields>
  | NewEvent<'policy.deleted', { id: string }>;

/** Priorities are stored in a Postgres integer column. */
export const PRIORITY_MIN = -1_000_000_000;
export const PRIORITY_MAX = 1_000_000_000;

/** Problems are reported with body paths (`body.rules[0].match…`), like schema errors. */
export function checkFields(fields: PolicyFields): void {
  const problems: { field: string; message: string }[] = [];
  if (fields.name.trim() === '') problems.push({ field: 'body.name', message: 'must not be blank' });
  if (!Number.isInteger(fields.priority) || fields.priority < PRIORITY_MIN || fields.priority > PRIORITY_MAX) {
    problems.push({ field: 'body.priority', message: `must be an integer between ${PRIORITY_MIN} and ${PRIORITY_MAX}` });
  }
  const rules = validatePolicyRules(fields.rules);
  if (!rules.ok) {
    for (const issue of rules.errors) problems.push({ field: `body.${issue.path}`, message: issue.message });
  }
  if (problems.length > 0) {
    const summary = problems.map((p) => `${p.field} ${p.message}`).join('; ');
    throw new AppError('INVALID_POLICY', `The policy is not valid: ${summary}`, problems);
  }
}

const sameFields = (a: PolicyFields, b: PolicyFields) =>
  a.name === b.name && a.description === b.description && a.priority === b.priority &&
  a.enabled === b.enabled && deepEqual(a.rules, b.rules);

export function decidePolicy(command: PolicyCommand, state: PolicyState): PolicyEvent[] {
  if (command.type === 'create') {
    if (state.id !== null) throw new AppError('CONCURRENCY_CONFLICT', `policy ${command.id} already exists`);
    checkFields(command.fields);
    return [{ type: 'policy.created', data: { id: command.id, ...command.fields } }];
  }
  if (state.id === null || state.deleted) throw new AppError('NOT_FOUND', 'policy not found');
  if (command.type === 'update') {
    checkFields(command.fields);
    // Replaying the same PUT is not a change: no event, and the version stays.
    if (state.fields !== null && sameFields(state.fields, command.fields)) return [];
    return [{ type: 'policy.updated', data: { id: state.id, ...command.fields } }];
  }
  return [{ type: 'policy.deleted', data: { id: state.id } }];
}

function fieldsOf(data: Record<string, unknown>): PolicyFields {
  return {
    name: data.name as string,
    description: (data.description as string | null | undefined) ?? null,
    priority: data.priority as number,
    enabled: data.enabled as boolean,
    rules: data.rules as Rule[],
  };
}

export function evolvePolicy(state: PolicyState, event: { type: string; data: Record<string, unknown> }): PolicyState {
  const next = { ...state, version: state.version + 1 };
  switch (event.type) {
    case 'policy.created':
      return { ...next, id: String(event.data.id), fields: fieldsOf(event.data) };
    case 'policy.updated':
      return { ...next, fields: fieldsOf(event.data) };
    case 'policy.deleted':
      return { ...next, deleted: true, fields: null };
    default:
      return next;
  }
}
