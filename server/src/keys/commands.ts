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

/** Serialises bootstrap between processes starting together. */
const BOOTSTRAP_LOCK = 727_011_002;

/**
 * First start: with ADMIN_API_KEY, make sure that key exists (seeded once); without it,
 * create an admin key only if no key was ever created, and return its plaintext to print.
 */
export async function bootstrapAdminKey(sql: Sql, adminApiKey?: string): Promise<{ created: boolean; key?: string; id?: string }> {
  const conn = await sql.reserve();
  try {
    await conn`select pg_advisory_lock(${BOOTSTRAP_LOCK})`;
    if (adminApiKey) {
      const [existing] = await conn<{ id: string }[]>`select id from api_keys where key_hash = ${hashApiKey(adminApiKey)}`;
      if (existing) return { created: false, id: existing.id };
      const { id } = await createKey(sql, { name: 'admin (ADMIN_API_KEY)', scopes: ['admin'], rateLimit: null }, SYSTEM_METADATA, adminApiKey);
      return { created: true, id };
    }
    const [anyKey] = await conn`select 1 from events where stream_type = 'apikey' limit 1`;
    if (anyKey) return { created: false };
    const { id, key } = await createKey(sql, { name: 'bootstrap admin', scopes: ['admin'], rateLimit: null }, SYSTEM_METADATA);
    return { created: true, id, key };
  } finally {
    await conn`select pg_advisory_unlock(${BOOTSTRAP_LOCK})`;
    conn.release();
  }
}
