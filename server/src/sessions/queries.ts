import type { Sql, TxSql } from '../db/connect.ts';
import type { AuthenticatedKeyRow } from '../keys/queries.ts';
import { newId } from '../ids.ts';
import { SESSION_TTL_SECONDS, type SubjectType } from './tokens.ts';

export interface SessionRow {
  id: string;
  subjectType: SubjectType;
  subjectId: string;
  expiresAt: Date;
}

export async function openSession(sql: Sql | TxSql, subject: { type: SubjectType; id: string }, userAgent: string | undefined, id = newId('session')): Promise<SessionRow> {
  const [row] = await sql<{ expires_at: Date }[]>`
    insert into dashboard_sessions (id, subject_type, subject_id, expires_at, user_agent)
    values (${id}, ${subject.type}, ${subject.id}, now() + make_interval(secs => ${SESSION_TTL_SECONDS}), ${userAgent?.slice(0, 300) ?? null})
    returning expires_at`;
  return { id, subjectType: subject.type, subjectId: subject.id, expiresAt: row!.expires_at };
}

/**
 * Where an ended session is announced (the payload is its id): every server process
 * closes the live streams it holds for that session, whichever process ended it.
 */
export const SESSION_ENDED_CHANNEL = 'agentgate_session_ended';

export async function endSession(sql: Sql, id: string): Promise<void> {
  // The notice is sent at commit, so no process hears of an end that did not happen.
  await sql`
    with ended as (update dashboard_sessions set ended_at = now() where id = ${id} and ended_at is null returning id)
    select pg_notify(${SESSION_ENDED_CHANNEL}, id) from ended`;
}

/** Which of these sessions are still open (not ended, not expired). */
export async function openSessionIds(sql: Sql, ids: readonly string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = await sql<{ id: string }[]>`
    select id from dashboard_sessions where id = any(${ids as string[]}) and ended_at is null and expires_at > now()`;
  return new Set(rows.map((r) => r.id));
}

/** The key behind a live session, counted against its rate limit; null when the session or key is gone. */
export interface SessionKeyRow extends AuthenticatedKeyRow {
  session_id: string;
  expires_at: Date;
}

export async function authenticateSession(sql: Sql, sessionId: string, windowMs: number): Promise<SessionKeyRow | null> {
  const [row] = await sql<SessionKeyRow[]>`select * from authenticate_session(${sessionId}, ${windowMs})`;
  return row ?? null;
}

/** The reviewer behind a live reviewer session; null when the session ended or the reviewer is disabled or deleted. */
export interface SessionReviewerRow {
  session_id: string;
  expires_at: Date;
  id: string;
  name: string;
  key_id: string | null;
  groups: string[];
}

export async function authenticateReviewerSession(sql: Sql, sessionId: string): Promise<SessionReviewerRow | null> {
  const [row] = await sql<SessionReviewerRow[]>`
    select d.id as session_id, d.expires_at, r.id, r.name, r.key_id, r.groups
    from dashboard_sessions d join reviewers r on r.id = d.subject_id
    where d.id = ${sessionId} and d.subject_type = 'reviewer' and d.ended_at is null and d.expires_at > now()
      and r.deleted_at is null and not r.disabled`;
  return row ?? null;
}
