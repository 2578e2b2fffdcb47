import { createHash } from 'node:crypto';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { MAX_REQUEST_PAGE, type ApprovalRequest, type ListRequestsQuery } from './schemas.ts';
import { clampLimit, type Pagination } from '../http/schemas.ts';

export interface RequestRow {
  id: string;
  action: string;
  params: Record<string, unknown>;
  context: Record<string, unknown>;
  status: ApprovalRequest['status'];
  urgency: ApprovalRequest['urgency'];
  urgency_rank: number;
  requester_key_id: string | null;
  requester_name: string | null;
  policy_decision: ApprovalRequest['policyDecision'];
  decided_at: Date | null;
  decided_by: string | null;
  decider: ApprovalRequest['decider'];
  decided_by_label: string | null;
  decision_reason: string | null;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toApprovalRequest(r: RequestRow): ApprovalRequest {
  return {
    id: r.id,
    action: r.action,
    params: r.params,
    context: r.context,
    status: r.status,
    urgency: r.urgency,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    decidedAt: iso(r.decided_at),
    decidedBy: r.decided_by,
    decider: r.decider,
    decidedByLabel: r.decided_by_label,
    decisionReason: r.decision_reason,
    expiresAt: iso(r.expires_at),
    requester: r.requester_key_id ? { id: r.requester_key_id, name: r.requester_name ?? '' } : null,
    policyDecision: r.policy_decision,
  };
}

export async function findRequest(sql: Sql, id: string): Promise<ApprovalRequest | null> {
  const [row] = await sql<RequestRow[]>`select * from requests where id = ${id}`;
  return row ? toApprovalRequest(row) : null;
}

export async function getRequest(sql: Sql, id: string): Promise<ApprovalRequest> {
  const found = await findRequest(sql, id);
  if (!found) throw new AppError('NOT_FOUND', `request ${id} not found`);
  return found;
}

/** Keyset cursor: the sort key of the last row of a page, opaque to clients. */
/**
 * A page's place: the last row's sort keys (c, i, u, x), and the filtered set's total with a
 * fingerprint of the filters it was counted for (t, f), so that later pages of the same query
 * need not count the whole set again.
 */
interface Cursor { c: string; i: string; u?: number; x?: string; t?: number; f?: string }

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

const isIso = (v: string) => !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v;

function decodeCursor(s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Cursor;
    // Exactly what encodeCursor writes: anything else is forged or corrupted.
    if (typeof c.c !== 'string' || !isIso(c.c) || typeof c.i !== 'string') throw new Error('shape');
    if (c.u !== undefined && !(Number.isInteger(c.u) && c.u >= 0 && c.u <= 3)) throw new Error('shape');
    if (c.x !== undefined && !(typeof c.x === 'string' && (c.x === 'infinity' || isIso(c.x)))) throw new Error('shape');
    if (c.t !== undefined && !(Number.isInteger(c.t) && c.t >= 0)) throw new Error('shape');
    if (c.f !== undefined && typeof c.f !== 'string') throw new Error('shape');
    return c;
  } catch {
    throw new AppError('INVALID_CURSOR', 'The cursor is not valid; use the nextCursor of a previous page');
  }
}

type SortKind = 'newest' | 'created_at' | 'urgency' | 'sla_remaining' | 'queue';

/** The direction each sort implies when `order` is not given (the original API's). */
const DEFAULT_ASC: Record<SortKind, boolean> = { newest: false, created_at: true, urgency: false, sla_remaining: true, queue: false };

export async function listRequests(sql: Sql, q: ListRequestsQuery): Promise<{ requests: ApprovalRequest[]; pagination: Pagination }> {
  const limit = clampLimit(q.limit, MAX_REQUEST_PAGE, 50);
  const kind: SortKind = q.sort ?? 'newest';
  // `queue`: the reviewers' order — most urgent first, then the longest waiting (`order` ignored).
  const byQueue = kind === 'queue';
  const byUrgency = kind === 'urgency' || byQueue;
  const bySla = kind === 'sla_remaining';
  const asc = q.order ? q.order === 'asc' : DEFAULT_ASC[kind];
  if (q.cursor !== undefined && q.offset !== undefined) {
    throw new AppError('VALIDATION_ERROR', 'Use either offset or cursor, not both', [{ field: 'querystring.cursor', message: 'cannot be combined with offset' }]);
  }
  const cursor = q.cursor !== undefined ? decodeCursor(q.cursor) : null;
  if (cursor && (byUrgency !== (cursor.u !== undefined) || bySla !== (cursor.x !== undefined))) {
    throw new AppError('INVALID_CURSOR', 'The cursor belongs to another sort order');
  }
  const offset = q.offset ?? 0;

  // The leading sort key, if any, before (created_at, id).
  const lead = byUrgency ? sql`urgency_rank` : bySla ? sql`coalesce(expires_at, 'infinity'::timestamptz)` : null;
  const dir = asc ? sql`asc` : sql`desc`;
  const order = byQueue ? sql`urgency_rank desc, created_at asc, id asc`
    : lead ? sql`${lead} ${dir}, created_at ${dir}, id ${dir}` : sql`created_at ${dir}, id ${dir}`;
  const cmp = asc ? sql`>` : sql`<`;
  const keyset = !cursor ? sql``
    : byQueue ? sql`and (urgency_rank < ${cursor.u!} or (urgency_rank = ${cursor.u!} and (created_at, id) > (${cursor.c}::timestamptz, ${cursor.i})))`
    : byUrgency ? sql`and (urgency_rank, created_at, id) ${cmp} (${cursor.u!}, ${cursor.c}::timestamptz, ${cursor.i})`
    : bySla ? sql`and (coalesce(expires_at, 'infinity'::timestamptz), created_at, id) ${cmp} (${cursor.x!}::text::timestamptz, ${cursor.c}::timestamptz, ${cursor.i})`
    : sql`and (created_at, id) ${cmp} (${cursor.c}::timestamptz, ${cursor.i})`;

  const filters = sql`
    ${q.status ? sql`and status = ${q.status}` : sql``}
    ${q.action ? sql`and action = ${q.action}` : sql``}
    ${q.urgency ? sql`and urgency_rank = urgency_rank(${q.urgency})` : sql``}
    ${q.from ? sql`and created_at >= ${q.from}::timestamptz` : sql``}
    ${q.to ? sql`and created_at < ${q.to}::timestamptz` : sql``}`;

  // Counting a large filtered set costs far more than a page; later pages of one query carry
  // the total counted for its first page (rows created since then show up in the next query).
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([q.status ?? null, q.action ?? null, q.urgency ?? null, q.from ?? null, q.to ?? null]))
    .digest('base64url').slice(0, 16);
  const knownTotal = cursor?.t !== undefined && cursor.f === fingerprint ? cursor.t : undefined;
  const [rows, total] = await Promise.all([
    sql<RequestRow[]>`
      select * from requests where true ${filters} ${keyset}
      order by ${order} limit ${limit + 1} ${cursor ? sql`` : sql`offset ${offset}`}`,
    knownTotal !== undefined ? knownTotal
      : sql<[{ total: number }]>`select count(*)::int as total from requests where true ${filters}`.then(([r]) => r.total),
  ]);

  const page = rows.slice(0, limit);
  const hasMore = rows.length > limit;
  const last = page[page.length - 1];
  return {
    requests: page.map(toApprovalRequest),
    pagination: {
      total,
      limit,
      offset: cursor ? 0 : offset,
      hasMore,
      nextCursor: hasMore && last
        ? encodeCursor({
          c: last.created_at.toISOString(), i: last.id,
          ...(byUrgency ? { u: last.urgency_rank } : {}),
          ...(bySla ? { x: last.expires_at ? last.expires_at.toISOString() : 'infinity' } : {}),
          t: total, f: fingerprint,
        })
        : null,
    },
  };
}
