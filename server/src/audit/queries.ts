import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';

interface AuditRow {
  id: number;
  request_id: string | null;
  stream_id: string;
  event_type: string;
  event_name: string;
  action: string | null;
  actor: { type: string; id: string; name: string };
  channel: string | null;
  details: Record<string, unknown>;
  created_at: Date;
}

export interface AuditEntry {
  id: string;
  position: number;
  requestId: string | null;
  streamId: string;
  eventType: string;
  event: string;
  action: string | null;
  actor: { type: string; id: string; name: string };
  channel: string | null;
  details: Record<string, unknown>;
  createdAt: string;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  id: String(r.id),
  position: r.id,
  requestId: r.request_id,
  streamId: r.stream_id,
  eventType: r.event_type,
  event: r.event_name,
  action: r.action,
  actor: r.actor,
  channel: r.channel,
  details: r.details,
  createdAt: r.created_at.toISOString(),
});

export async function requestAudit(sql: Sql, requestId: string): Promise<AuditEntry[]> {
  const rows = await sql<AuditRow[]>`select * from audit_log where request_id = ${requestId} order by id`;
  return rows.map(toEntry);
}

export interface AuditSearch {
  eventType?: string;
  action?: string;
  actor?: string;
  requestId?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

/** Newest first; the cursor is the position of the last entry of the previous page. */
export async function searchAudit(sql: Sql, q: AuditSearch) {
  const limit = q.limit ?? 50;
  let before: number | null = null;
  if (q.cursor !== undefined) {
    before = Number(Buffer.from(q.cursor, 'base64url').toString('utf8'));
    if (!Number.isSafeInteger(before) || before <= 0) throw new AppError('INVALID_CURSOR');
  }
  const filters = sql`
    ${q.eventType ? sql`and (event_type = ${q.eventType} or event_name = ${q.eventType})` : sql``}
    ${q.action ? sql`and action = ${q.action}` : sql``}
    ${q.actor ? sql`and (actor->>'name' = ${q.actor} or actor->>'id' = ${q.actor})` : sql``}
    ${q.requestId ? sql`and request_id = ${q.requestId}` : sql``}
    ${q.from ? sql`and created_at >= ${q.from}::timestamptz` : sql``}
    ${q.to ? sql`and created_at < ${q.to}::timestamptz` : sql``}`;
  const [rows, [count]] = await Promise.all([
    sql<AuditRow[]>`select * from audit_log where true ${filters} ${before !== null ? sql`and id < ${before}` : sql``}
      order by id desc limit ${limit + 1}`,
    sql<[{ total: number }]>`select count(*)::int as total from audit_log where true ${filters}`,
  ]) as [AuditRow[], [{ total: number }]];
  const page = rows.slice(0, limit);
  const hasMore = rows.length > limit;
  const last = page[page.length - 1];
  return {
    entries: page.map(toEntry),
    pagination: {
      total: count.total,
      limit,
      offset: 0,
      hasMore,
      nextCursor: hasMore && last ? Buffer.from(String(last.id)).toString('base64url') : null,
    },
  };
}
