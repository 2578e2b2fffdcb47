/**
 * `lastUsedAt` of API keys: a key's use is written at most once per minute per server
 * process (the row also keeps the latest of several processes), off the request's path —
 * a failed write costs a slightly older `lastUsedAt`, never a request.
 */
import type { Sql } from '../db/connect.ts';

export const USAGE_RESOLUTION_MS = 60_000;

export interface KeyUsageRecorder {
  /** Notes that the key authenticated a request now. */
  mark(keyId: string): void;
}

export function keyUsageRecorder(sql: Sql, onError: (err: unknown) => void = () => {}): KeyUsageRecorder {
  const lastWritten = new Map<string, number>();
  return {
    mark(keyId) {
      const now = Date.now();
      const last = lastWritten.get(keyId);
      if (last !== undefined && now - last < USAGE_RESOLUTION_MS) return;
      lastWritten.set(keyId, now);
      sql`
        insert into api_key_usage (key_id, last_used_at) values (${keyId}, now())
        on conflict (key_id) do update set last_used_at = greatest(api_key_usage.last_used_at, excluded.last_used_at)`
        .catch((err: unknown) => {
          lastWritten.delete(keyId);
          onError(err);
        });
    },
  };
}
