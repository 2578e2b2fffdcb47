import type { Sql } from '../db/connect.ts';
import { newId } from '../ids.ts';
import { SESSION_TTL_SECONDS, type SubjectType } from './tokens.ts';

export interface SessionRow {
  id: string;
  subjectType: SubjectType;
  subjectId: string;
  expiresAt: Date;
}

export async function openSession(sql: Sql, subject: { type: SubjectType; id: string }, userAgent: string | undefined): Promise<SessionRow> {
  const id = newId('session');
  const [row] = await sql<{ expires_at: Date }[]>`
    insert into dashboard_sessions (id, subject_type, subject_id, expires_at, user_agent)
    values (${id}, ${subject.type}, ${subject.id}, now() + make_interval(secs => ${SESSION_TTL_SECONDS}), ${userAgent?.slice(0, 300) ?? null})
    returning expires_at`;
  return { id, subjectType: subject.type, subjectId: subject.id, expiresAt: row!.expires_at };
}

export async function endSession(sql: Sql, id: string): Promise<void> {
  await sql`update dashboard_sessions set ended_at = now() where id = ${id} and ended_at is null`;
}

/** The key behind a live session, counted against its rate limit; null when the session or key is gone. */
export interface SessionKeyRow {
  session_id: string;
  expires_at: Date;
  id: string;
  name: string;
  scopes: string[];
  rate_limit: number | null;
  revoked_at: Date | null;
  allowed: boolean | null;
  remaining: number | null;
  reset_ms: number | null;
}

export async function authenticateSession(sql: Sql, sessionId: string, windowMs: number): Promise<SessionKeyRow | null> {
  const [row] = await sql<SessionKeyRow[]>`select * from authenticate_session(${sessionId}, ${windowMs})`;
  return row ?? null;
}
