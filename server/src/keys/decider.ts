/** API keys as a pure decider. The plaintext key never enters an event: only its hash. */
import { AppError } from '../errors.ts';
import type { NewEvent } from '../events/types.ts';
import { hasScope, type Scope } from './scopes.ts';

export interface KeyFields {
  name: string;
  scopes: string[];
  rateLimit: number | null;
}

export interface KeyState {
  id: string | null;
  revoked: boolean;
  version: number;
  /** The key's current scopes and rate limit, to judge who may change it. */
  scopes: string[];
  rateLimit: number | null;
}

export const initialKeyState = (): KeyState => ({ id: null, revoked: false, version: 0, scopes: [], rateLimit: null });

/**
 * Who asks: an admin may do anything; any other key may hand out only what it holds
 * itself. `id` is the acting key (null for the system).
 */
export interface KeyGrantor {
  id: string | null;
  admin: boolean;
  scopes: readonly string[];
  rateLimit: number | null;
}

export const SYSTEM_GRANTOR: KeyGrantor = { id: null, admin: true, scopes: ['admin'], rateLimit: null };

export type KeyCommand =
  | { type: 'create'; id: string; keyHash: string; keyPrefix: string; fields: KeyFields; by: KeyGrantor }
  | { type: 'update'; changes: Partial<KeyFields>; by: KeyGrantor }
  | { type: 'revoke'; by: KeyGrantor };

export type KeyEvent =
  | NewEvent<'apikey.created', { id: string; keyHash: string; keyPrefix: string } & KeyFields>
  | NewEvent<'apikey.updated', { id: string } & Partial<KeyFields>>
  | NewEvent<'apikey.revoked', { id: string }>;

/**
 * A key that is not admin may give a key only scopes it holds itself and a rate limit no
 * looser than its own (an unlimited key may set any). Otherwise `key:manage` alone would
 * mint `request:decide` and approve its holder's own requests through a second key.
 */
export function checkGrant(by: KeyGrantor, fields: Pick<KeyFields, 'scopes' | 'rateLimit'>): void {
  if (by.admin) return;
  if (fields.scopes.includes('admin')) {
    throw new AppError('FORBIDDEN', 'Only an admin key can grant admin', { requiredScope: 'admin' });
  }
  const beyond = fields.scopes.filter((s) => !hasScope(by.scopes, s as Scope));
  if (beyond.length > 0) {
    throw new AppError('KEY_ESCALATION', `A key can grant only scopes it holds itself; this key lacks ${beyond.join(', ')}`, { scopes: beyond });
  }
  if (by.rateLimit !== null && (fields.rateLimit === null || fields.rateLimit > by.rateLimit)) {
    throw new AppError('KEY_ESCALATION', `A key can grant at most its own rate limit (${by.rateLimit} requests per minute)`, {
      field: 'rateLimit', maximum: by.rateLimit,
    });
  }
}

export function decideKey(command: KeyCommand, state: KeyState): KeyEvent[] {
  const { by } = command;
  if (command.type === 'create') {
    if (state.id !== null) throw new AppError('CONCURRENCY_CONFLICT', 'key already exists');
    checkGrant(by, command.fields);
    return [{ type: 'apikey.created', data: { id: command.id, keyHash: command.keyHash, keyPrefix: command.keyPrefix, ...command.fields } }];
  }
  if (state.id === null) throw new AppError('NOT_FOUND', 'API key not found');
  if (!by.admin && state.scopes.includes('admin')) {
    throw new AppError('FORBIDDEN', `Only an admin key can ${command.type === 'revoke' ? 'revoke' : 'change'} an admin key`, { requiredScope: 'admin' });
  }
  if (state.revoked) throw new AppError('KEY_REVOKED', 'The key is revoked; create a new one');
  if (command.type === 'update') {
    if (!by.admin && by.id === state.id) {
      throw new AppError('FORBIDDEN', 'A key cannot change its own name, scopes or rate limit; ask an admin or the key that manages it');
    }
    if (Object.keys(command.changes).length === 0) return [];
    checkGrant(by, {
      scopes: command.changes.scopes ?? state.scopes,
      rateLimit: command.changes.rateLimit !== undefined ? command.changes.rateLimit : state.rateLimit,
    });
    return [{ type: 'apikey.updated', data: { id: state.id, ...command.changes } }];
  }
  return [{ type: 'apikey.revoked', data: { id: state.id } }];
}

export function evolveKey(state: KeyState, event: { type: string; data: Record<string, unknown> }): KeyState {
  const next = { ...state, version: state.version + 1 };
  const d = event.data;
  if (event.type === 'apikey.created') {
    return { ...next, id: String(d.id), scopes: d.scopes as string[], rateLimit: (d.rateLimit as number | null) ?? null };
  }
  if (event.type === 'apikey.updated') {
    return {
      ...next,
      ...(d.scopes !== undefined ? { scopes: d.scopes as string[] } : {}),
      ...(d.rateLimit !== undefined ? { rateLimit: d.rateLimit as number | null } : {}),
    };
  }
  if (event.type === 'apikey.revoked') return { ...next, revoked: true };
  return next;
}
