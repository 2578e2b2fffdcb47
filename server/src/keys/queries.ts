import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import type { ApiKey } from './schemas.ts';

interface KeyRow {
  id: string; name: string; key_prefix: string; scopes: string[]; rate_limit: number | null;
  created_at: Date; updated_at: Date; revoked_at: Date | null;
}

const toApiKey = (r: KeyRow): ApiKey => ({
  id: r.id, name: r.name, prefix: r.key_prefix, scopes: r.scopes, rateLimit: r.rate_limit,
  createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  revokedAt: r.revoked_at ? r.revoked_at.toISOString() : null, revoked: r.revoked_at !== null,
});

export async function listKeys(sql: Sql, includeRevoked: boolean): Promise<ApiKey[]> {
  const rows = await sql<KeyRow[]>`
    select * from api_keys ${includeRevoked ? sql`` : sql`where revoked_at is null`} order by created_at, id`;
  return rows.map(toApiKey);
}

export async function getKey(sql: Sql, id: string): Promise<ApiKey> {
  const [row] = await sql<KeyRow[]>`select * from api_keys where id = ${id}`;
  if (!row) throw new AppError('NOT_FOUND', `API key ${id} not found`);
  return toApiKey(row);
}
