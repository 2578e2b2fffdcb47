import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import type { ApiKey } from './schemas.ts';

/**
 * A key as authenticated in SQL (authenticate_key, authenticate_key_id): who it is, its
 * scopes and limit, and the rate-limit hit this call counted (null fields when unlimited).
 */
export interface AuthenticatedKeyRow {
  id: string;
  name: string;
  scopes: string[];
  rate_limit: number | null;
  revoked_at: Date | null;
  allowed: boolean | null;
  remaining: number | null;
  reset_ms: number | null;
}

interface KeyRow {
  id: string; name: string; key_prefix: string; scopes: string[]; rate_limit: number | null;
  created_at: Date; updated_at: Date; revoked_at: Date | null; last_used_at: Date | null;
}

const toApiKey = (r: KeyRow): ApiKey => ({
  id: r.id, name: r.name, prefix: r.key_prefix, scopes: r.scopes, rateLimit: r.rate_limit,
  createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  revokedAt: r.revoked_at ? r.revoked_at.toISOString() : null, revoked: r.revoked_at !== null,
  active: r.revoked_at === null, lastUsedAt: r.last_used_at ? r.last_used_at.toISOString() : null,
});

const keyRows = (sql: Sql) => sql`
  select k.*, u.last_used_at from api_keys k left join api_key_usage u on u.key_id = k.id`;

export async function listKeys(sql: Sql, includeRevoked: boolean): Promise<ApiKey[]> {
  const rows = await sql<KeyRow[]>`
    select * from (${keyRows(sql)}) k ${includeRevoked ? sql`` : sql`where revoked_at is null`} order by created_at, id`;
  return rows.map(toApiKey);
}

export async function getKey(sql: Sql, id: string): Promise<ApiKey> {
  const [row] = await sql<KeyRow[]>`select * from (${keyRows(sql)}) k where id = ${id}`;
  if (!row) throw new AppError('NOT_FOUND', `API key ${id} not found`);
  return toApiKey(row);
}

/**
 * The keys that created `keyId`, directly or through keys they created in turn (nearest
 * first). Four-eyes uses it: a key minted by the requester, or by a key it minted, is
 * the requester's own hand. The walk ends at an admin key: handing out identities is
 * what an admin is for, so the keys it mints are the people it issued them to.
 */
export async function keyCreators(sql: Sql, keyId: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    with recursive lineage (id, depth) as (
      select c.id, 1 from api_keys k join api_keys c on c.id = k.created_by->>'id'
      where k.id = ${keyId} and k.created_by->>'type' = 'key' and not ('admin' = any(c.scopes))
      union
      select c.id, l.depth + 1 from lineage l join api_keys k on k.id = l.id join api_keys c on c.id = k.created_by->>'id'
      where k.created_by->>'type' = 'key' and not ('admin' = any(c.scopes)) and l.depth < 1000
    )
    select id from lineage order by depth`;
  return rows.map((r) => r.id);
}

/** Whether the key has been revoked since it was authenticated (for connections that outlive that check). */
export async function keyRevoked(sql: Sql, keyId: string): Promise<boolean> {
  const [row] = await sql<{ revoked: boolean }[]>`select revoked_at is not null as revoked from api_keys where id = ${keyId}`;
  return row?.revoked ?? true;
}
