import { createHash, randomBytes } from 'node:crypto';

/** API keys: `agk_` + 32 random bytes (base64url). Only the SHA-256 is stored; a fast
 * hash is right here because the key has 256 bits of entropy (no dictionary to guess). */
export const KEY_PREFIX = 'agk_';

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** What may be shown to identify a key without revealing it. */
export const displayPrefix = (key: string) => key.slice(0, KEY_PREFIX.length + 6);
