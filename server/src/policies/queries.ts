import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import type { Policy } from './schemas.ts';

interface PolicyRow {
  id: string; name: string; description: string | null; priority: number; enabled: boolean;
  rules: Policy['rules']; version: number; created_at: Date; updated_at: Date;
}

const toPolicy = (r: PolicyRow): Policy => ({
  id: r.id, name: r.name, description: r.description, priority: r.priority, enabled: r.enabled,
  rules: r.rules, version: r.version, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
});

/** In evaluation order: the order in which the engine tries them. */
export async function listPolicies(sql: Sql): Promise<Policy[]> {
  const rows = await sql<PolicyRow[]>`
    select id, name, description, priority, enabled, rules, version, created_at, updated_at
    from policies order by priority, id`;
  return rows.map(toPolicy);
}

export async function getPolicy(sql: Sql, id: string): Promise<Policy> {
  const [row] = await sql<PolicyRow[]>`
    select id, name, description, priority, enabled, rules, version, created_at, updated_at
    from policies where id = ${id}`;
  if (!row) throw new AppError('NOT_FOUND', `policy ${id} not found`);
  return toPolicy(row);
}
