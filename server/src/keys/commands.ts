import type { Sql } from '../db/connect.ts';
import { executeCommand } from '../events/command.ts';
import { streamId, type EventMetadata } from '../events/types.ts';
import { newId } from '../ids.ts';
import { decideKey, evolveKey, initialKeyState, SYSTEM_GRANTOR, type KeyCommand, type KeyFields, type KeyGrantor } from './decider.ts';
import { displayPrefix, generateApiKey, hashApiKey } from './secrets.ts';

export function runKeyCommand(sql: Sql, id: string, command: KeyCommand, metadata: EventMetadata) {
  return executeCommand(sql, {
    streamId: streamId('apikey', id),
    streamType: 'apikey',
    initial: initialKeyState,
    evolve: evolveKey,
    decide: (s) => decideKey(command, s),
    metadata,
  });
}

/**
 * Creates a key; the plaintext is returned here once and never stored. `by` is who grants
 * it (the system unless given); the metadata's actor is recorded as its creator.
 */
export async function createKey(sql: Sql, fields: KeyFields, metadata: EventMetadata, plaintext = generateApiKey(), by: KeyGrantor = SYSTEM_GRANTOR) {
  const id = newId('apikey');
  await runKeyCommand(sql, id, { type: 'create', id, keyHash: hashApiKey(plaintext), keyPrefix: displayPrefix(plaintext), fields, by }, metadata);
  return { id, key: plaintext };
}

export const SYSTEM_METADATA: EventMetadata = { actor: { type: 'system', id: 'system', name: 'system' }, channel: 'system' };

/**
 * Thrown inside the bootstrap transaction when a key already exists: it rolls back the (empty)
 * transaction and tells the caller there is nothing to do.
 */
class AlreadyBootstrapped extends Error {
  constructor(readonly id?: string) { super('an admin key already exists'); }
}

/**
 * First start: with ADMIN_API_KEY, make sure that key exists (seeded once); without it,
 * create an admin key only if no key was ever created, and return its plaintext to print.
 * Processes starting together are serialised by a transaction-scoped lock, and the check and
 * the append share one transaction, so a pool of one connection is enough.
 */
export async function bootstrapAdminKey(sql: Sql, adminApiKey?: string): Promise<{ created: boolean; key?: string; id?: string }> {
  const plaintext = adminApiKey ?? generateApiKey();
  const id = newId('apikey');
  const fields: KeyFields = { name: adminApiKey ? 'admin (ADMIN_API_KEY)' : 'bootstrap admin', scopes: ['admin'], rateLimit: null };
  try {
    await executeCommand(sql, {
      streamId: streamId('apikey', id),
      streamType: 'apikey',
      newStream: true,
      serializeOn: 'agentgate:bootstrap-admin-key',
      prepare: async (tx) => {
        if (adminApiKey) {
          const [existing] = await tx<{ id: string }[]>`select id from api_keys where key_hash = ${hashApiKey(adminApiKey)}`;
          if (existing) throw new AlreadyBootstrapped(existing.id);
        } else {
          // api_keys keeps a row for every key ever created, revoked ones included.
          const [anyKey] = await tx`select 1 from api_keys limit 1`;
          if (anyKey) throw new AlreadyBootstrapped();
        }
      },
      initial: initialKeyState,
      evolve: evolveKey,
      decide: (s) => decideKey({ type: 'create', id, keyHash: hashApiKey(plaintext), keyPrefix: displayPrefix(plaintext), fields, by: SYSTEM_GRANTOR }, s),
      metadata: SYSTEM_METADATA,
    });
  } catch (err) {
    if (err instanceof AlreadyBootstrapped) return { created: false, ...(err.id ? { id: err.id } : {}) };
    throw err;
  }
  return adminApiKey ? { created: true, id } : { created: true, id, key: plaintext };
}
