import type { Sql, TxSql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import type { ActiveOverride } from './engine.ts';
import type { Override } from './schemas.ts';

interface OverrideRow {
  id: string; action: string; agent_key_id: string | null; decision: ActiveOverride['decision']; reason: string;
  expires_at: Date | null; created_by: Override['createdBy']; created_at: Date;
}

/** Our shape, with the original API's names beside it (toolPattern = action, agentId = agentKeyId). */
const toOverride = (r: OverrideRow): Override => ({
  id: r.id, action: r.action, agentKeyId: r.agent_key_id, decision: r.decision, reason: r.reason,
  expiresAt: r.expires_at ? r.expires_at.toISOString() : null, createdAt: r.created_at.toISOString(), createdBy: r.created_by,
  toolPattern: r.action, agentId: r.agent_key_id ?? '*',
});

/** The overrides in force now (an expired one is simply no longer read), oldest first. */
export async function activeOverrides(db: Sql | TxSql): Promise<ActiveOverride[]> {
  const rows = await db<OverrideRow[]>`
    select * from overrides where expires_at is null or expires_at > now() order by id`;
  return rows.map((r) => ({
    id: r.id, action: r.action, agentKeyId: r.agent_key_id, decision: r.decision, reason: r.reason, expiresAt: r.expires_at,
  }));
}

export async function listOverrides(sql: Sql): Promise<Override[]> {
  const rows = await sql<OverrideRow[]>`select * from overrides where expires_at is null or expires_at > now() order by id`;
  return rows.map(toOverride);
}

export async function getOverride(sql: Sql, id: string): Promise<Override> {
  const [row] = await sql<OverrideRow[]>`select * from overrides where id = ${id}`;
  if (!row) throw new AppError('NOT_FOUND', `override ${id} not found`);
  return toOverride(row);
}
