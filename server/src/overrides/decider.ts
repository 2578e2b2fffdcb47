/**
 * Overrides as a pure decider: temporary rules an operator puts in front of every policy
 * ("hold every deploy now"), each on its own stream `override-<id>`. They can only
 * tighten: deny a matching request, or send it to a person.
 */
import { AppError } from '../errors.ts';
import type { NewEvent } from '../events/types.ts';

export const OVERRIDE_DECISIONS = ['auto_deny', 'route_to_human'] as const;
export type OverrideDecision = (typeof OVERRIDE_DECISIONS)[number];

export const MAX_ACTION_GLOB = 200;

export interface OverrideFields {
  /** A glob on the request's action (`*` any run, `?` one character). */
  action: string;
  /** Only requests made by this key; null for every key. */
  agentKeyId: string | null;
  decision: OverrideDecision;
  reason: string;
  /** After this, the override no longer applies; null: until removed. */
  expiresAt: string | null;
}

export interface OverrideState {
  id: string | null;
  removed: boolean;
  version: number;
}

export const initialOverrideState = (): OverrideState => ({ id: null, removed: false, version: 0 });

export type OverrideCommand =
  | { type: 'create'; id: string; fields: OverrideFields; now: Date }
  | { type: 'remove' };

export type OverrideEvent =
  | NewEvent<'override.created', { id: string } & OverrideFields>
  | NewEvent<'override.removed', { id: string }>;

function problem(field: string, message: string): never {
  throw new AppError('VALIDATION_ERROR', `${field} ${message}`, [{ field: `body.${field}`, message }]);
}

export function decideOverride(command: OverrideCommand, state: OverrideState): OverrideEvent[] {
  switch (command.type) {
    case 'create': {
      if (state.id !== null) throw new AppError('CONCURRENCY_CONFLICT', `override ${command.id} already exists`);
      const f = command.fields;
      if (!f.action.trim()) problem('action', 'must not be empty');
      if (f.action.length > MAX_ACTION_GLOB) problem('action', `must be at most ${MAX_ACTION_GLOB} characters`);
      if (!(OVERRIDE_DECISIONS as readonly string[]).includes(f.decision)) problem('decision', `must be one of ${OVERRIDE_DECISIONS.join(', ')}`);
      if (!f.reason.trim()) problem('reason', 'must say why');
      if (f.expiresAt !== null) {
        const at = Date.parse(f.expiresAt);
        if (Number.isNaN(at)) problem('expiresAt', 'is not a parsable time');
        if (at <= command.now.getTime()) problem('expiresAt', 'must be in the future');
      }
      return [{ type: 'override.created', data: { id: command.id, ...f, action: f.action.trim() } }];
    }
    case 'remove':
      if (state.id === null || state.removed) throw new AppError('NOT_FOUND', 'override not found');
      return [{ type: 'override.removed', data: { id: state.id } }];
  }
}

export function evolveOverride(state: OverrideState, event: { type: string; data: Record<string, unknown> }): OverrideState {
  const next = { ...state, version: state.version + 1 };
  switch (event.type) {
    case 'override.created':
      return { ...next, id: String(event.data.id) };
    case 'override.removed':
      return { ...next, removed: true };
    default:
      return next;
  }
}
