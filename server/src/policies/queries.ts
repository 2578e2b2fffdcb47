import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { clampLimit, type Pagination } from '../http/schemas.ts';
import type { Policy as EnginePolicy } from './engine.ts';
import { MAX_POLICY_PAGE, type ListPoliciesQuery, type Policy } from './schemas.ts';

interface PolicyRow {
  id: string; name: string; description: string | null; priority: number; enabled: boolean;
  rules: Policy['rules']; version: number; created_at: Date; updated_at: Date;
}

const toPolicy = (r: PolicyRow): Policy => ({
  id: r.id, name: r.name, description: r.description, priority: r.priority, enabled: r.enabled,
  rules: r.rules, version: r.version, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
});

/** A page of policies in evaluation order: the order in which the engine tries them. */
export async function listPolicies(sql: Sql, q: ListPoliciesQuery = {}): Promise<{ policies: Policy[]; pagination: Pagination }> {
  const limit = clampLimit(q.limit, MAX_POLICY_PAGE, 50);
  const offset = q.offset ?? 0;
  const [rows, [{ total }]] = await Promise.all([
    sql<PolicyRow[]>`
      select id, name, description, priority, enabled, rules, version, created_at, updated_at
      from policies order by priority, id limit ${limit} offset ${offset}`,
    sql<[{ total: number }]>`select count(*)::int as total from policies`,
  ]) as [PolicyRow[], [{ total: number }]];
  return {
    policies: rows.map(toPolicy),
    pagination: { total, limit, offset, hasMore: offset + rows.length < total, nextCursor: null },
  };
}

export async function getPolicy(sql: Sql, id: string): Promise<Policy> {
  const [row] = await sql<PolicyRow[]>`
    select id, name, description, priority, enabled, rules, version, created_at, updated_at
    from policies where id = ${id}`;
  if (!row) throw new AppError('NOT_FOUND', `policy ${id} not found`);
  return toPolicy(row);
}

/** Every enabled policy as the engine takes it (for evaluating a draft beside them). */
export async function enabledPolicies(sql: Sql): Promise<EnginePolicy[]> {
  return sql<EnginePolicy[]>`
    select id, name, priority, enabled, rules, version from policies where enabled order by priority, id`;
}
