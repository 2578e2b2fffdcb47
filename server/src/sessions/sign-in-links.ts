/**
 * Dashboard sign-in by a one-time emailed link, for reviewers with an email address.
 *
 *  - asking: answered the same whether or not the address is a reviewer's (no account
 *    enumeration), rate-limited per client address and per email address; for a reviewer,
 *    a job is queued (one per reviewer at a time).
 *  - the worker makes the token, records `reviewer.sign_in_link_issued` with its hash only,
 *    then emails the link: the token exists nowhere but in the mail.
 *  - using: `reviewer.signed_in` on the reviewer's stream, appended at the stream's version
 *    in the transaction that opens the session, so two uses of one link cannot both win.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Task } from 'graphile-worker';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { executeCommand } from '../events/command.ts';
import { streamId, type EventMetadata } from '../events/types.ts';
import { newId } from '../ids.ts';
import { escapeHtml } from '../requests/decision-link-pages.ts';
import type { Channels } from '../channels/registry.ts';
import { openSession, type SessionRow } from './queries.ts';
import {
  decideSignIn, evolveSignIn, initialSignInState, SIGN_IN_LINK_TTL_MS, type SignInCommand, type SignInState,
} from './sign-in-link-decider.ts';

/** Asking for links: per client address and per email address, in a 15-minute window. */
export const SIGN_IN_LIMITS = { windowMs: 15 * 60 * 1000, perIp: 10, perEmail: 3 };

const ISSUER_METADATA: EventMetadata = { actor: { type: 'system', id: 'sign-in', name: 'sign-in links' }, channel: 'worker' };

export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

function runSignInCommand(sql: Sql, reviewerId: string, command: SignInCommand, metadata: EventMetadata, afterAppend?: Parameters<typeof executeCommand>[1]['afterAppend']) {
  return executeCommand<SignInState>(sql, {
    streamId: streamId('reviewer', reviewerId),
    streamType: 'reviewer',
    initial: initialSignInState,
    evolve: evolveSignIn,
    decide: (s) => decideSignIn(command, s),
    metadata,
    ...(afterAppend ? { afterAppend } : {}),
  });
}

async function hit(sql: Sql, bucket: string, max: number): Promise<{ allowed: boolean; resetMs: number }> {
  const [row] = await sql<{ allowed: boolean; reset_ms: number }[]>`select * from rate_limit_hit(${bucket}, ${max}, ${SIGN_IN_LIMITS.windowMs})`;
  return { allowed: row!.allowed, resetMs: row!.reset_ms };
}

/**
 * Queues a link for the reviewer with this address, if there is one. The caller answers
 * the same either way; only a rate limit (counted for unknown addresses too) differs.
 */
export async function requestSignInLink(sql: Sql, email: string, clientIp: string): Promise<{ queued: boolean }> {
  const address = email.trim().toLowerCase();
  for (const [bucket, max] of [[`sign-in-ip:${clientIp}`, SIGN_IN_LIMITS.perIp], [`sign-in-email:${hashToken(address)}`, SIGN_IN_LIMITS.perEmail]] as const) {
    const { allowed, resetMs } = await hit(sql, bucket, max);
    if (!allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(resetMs / 1000));
      throw new AppError('RATE_LIMITED', `Too many sign-in links asked for; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
  }
  const [reviewer] = await sql<{ id: string }[]>`
    select id from reviewers where deleted_at is null and not disabled and lower(email) = ${address}`;
  if (!reviewer) return { queued: false };
  // One pending job per reviewer: a burst of asks sends one mail.
  await sql`select enqueue_job('send_sign_in_link', ${sql.json({ reviewerId: reviewer.id })}::jsonb,
    p_job_key => ${`sign-in:${reviewer.id}`}, p_max_attempts => 3)`;
  return { queued: true };
}

/** The `send_sign_in_link` job: a fresh link, recorded (its hash), then emailed. */
export const sendSignInLink = (sql: Sql, channels: Channels): Task => async (payload, helpers) => {
  const { reviewerId } = payload as { reviewerId: string };
  const mailer = channels.adapters.email;
  if (!mailer?.direct) throw new Error('email is not configured in the worker: cannot send a sign-in link');
  const token = randomBytes(32).toString('base64url');
  const linkId = newId('link');
  const { appended } = await runSignInCommand(sql, reviewerId, { type: 'issue', linkId, tokenHash: hashToken(token), now: new Date() }, ISSUER_METADATA);
  const issued = appended[0];
  if (!issued) return; // disabled, deleted or without an address since it was asked for
  const { email, expiresAt } = issued.data as { email: string; expiresAt: string };
  // In the fragment: never sent to a server, so not in any access log on the way.
  const url = `${channels.baseUrl}/sign-in#token=${token}`;
  const minutes = SIGN_IN_LINK_TTL_MS / 60_000;
  await mailer.direct(email, {
    subject: '[AgentGate] Your sign-in link',
    text: [
      'Sign in to the AgentGate dashboard with this link:', '', url, '',
      `It works once, until ${expiresAt} (${minutes} minutes). If you did not ask for it, ignore this message: nothing happens without the link.`,
    ].join('\n'),
    html: `<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#222">
<p>Sign in to the AgentGate dashboard:</p>
<p><a href="${escapeHtml(url)}" style="display:inline-block;padding:.6em 1.2em;background:#1f5fbf;color:#fff;text-decoration:none;border-radius:4px">Sign in</a></p>
<p style="color:#666;font-size:.9em">The link works once, for ${minutes} minutes. If you did not ask for it, ignore this message.</p>
</body></html>`,
  });
  helpers.logger.debug(`sign-in link ${linkId} sent`);
};

/** Uses a link: the reviewer's session, opened in the transaction that records the use. */
export async function useSignInLink(sql: Sql, token: string, request: { ip: string; userAgent: string | undefined; requestId: string }, now = new Date()): Promise<{ session: SessionRow; reviewer: { id: string; name: string } }> {
  const [link] = await sql<{ id: string; reviewer_id: string }[]>`
    select id, reviewer_id from reviewer_sign_in_links where token_hash = ${hashToken(token)}`;
  if (!link) throw new AppError('LINK_GONE', 'The sign-in link no longer works: it was used, it expired, or it was not issued here. Ask for a new one.');
  const [reviewer] = await sql<{ name: string }[]>`select name from reviewers where id = ${link.reviewer_id}`;
  const name = reviewer?.name ?? link.reviewer_id;
  const sessionId = newId('session');
  let session: SessionRow | null = null;
  await runSignInCommand(sql, link.reviewer_id, { type: 'use', linkId: link.id, sessionId, now }, {
    actor: { type: 'reviewer', id: link.reviewer_id, name },
    channel: 'dashboard', requestId: request.requestId, ip: request.ip,
  }, async (tx) => {
    session = await openSession(tx, { type: 'reviewer', id: link.reviewer_id }, request.userAgent, sessionId);
  });
  if (!session) throw new AppError('INTERNAL_ERROR', 'The session was not opened');
  return { session, reviewer: { id: link.reviewer_id, name } };
}
