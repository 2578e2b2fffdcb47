/** API keys as a pure decider. The plaintext key never enters an event: only its hash. */
import { AppError } from '../errors.ts';
import type { NewEvent } from '../events/types.ts';

export interface KeyState {
  id: string | null;
  revoked: boolean;
  version: number;
}

export const initialKeyState = (): KeyState => ({ id: null, revoked: false, version: 0 });

export interface KeyFields {
  name: string;
  scopes: string[];
  rateLimit: number | null;
}

export type KeyCommand =
  | { type: 'create'; id: string; keyHash: string; keyPrefix: string; fields: KeyFields }
  | { type: 'update'; changes: Partial<KeyFields> }
  | { type: 'revoke' };

export type KeyEvent =
  | NewEvent<'apikey.created', { id: string; keyHash: string; keyPrefix: string } & KeyFields>
  | NewEvent<'apikey.updated', { id: string } & Partial<KeyFields>>
  | NewEvent<'apikey.revoked', { id: string }>;

export function decideKey(command: KeyCommand, state: KeyState): KeyEvent[] {
  if (command.type === 'create') {
    if (state.id !== null) throw new AppError('CONCURRENCY_CONFLICT', 'key already exists');
    return [{ type: 'apikey.created', data: { id: command.id, keyHash: command.keyHash, keyPrefix: command.keyPrefix, ...command.fields } }];
  }
  if (state.id === null) throw new AppError('NOT_FOUND', 'API key not found');
  if (state.revoked) throw new AppError('KEY_REVOKED', 'The key is revoked; create a new one');
  if (command.type === 'update') {
    if (Object.keys(command.changes).length === 0) return [];
    return [{ type: 'apikey.updated', data: { id: state.id, ...command.changes } }];
  }
  return [{ type: 'apikey.revoked', data: { id: state.id } }];
}

export function evolveKey(state: KeyState, event: { type: string; data: Record<string, unknown> }): KeyState {
  const next = { ...state, version: state.version + 1 };
  if (event.type === 'apikey.created') return { ...next, id: String(event.data.id) };
  if (event.type === 'apikey.revoked') return { ...next, revoked: true };
  return next;
}
