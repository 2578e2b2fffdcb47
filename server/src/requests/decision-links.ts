/**
 * Decision links: a key with request:decide hands a reviewer who has no key a pair of
 * one-use links (approve, deny). A link decides as the issuing key, through the normal
 * decide command; the tokens are 256 random bits and only their SHA-256 is stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { executeCommand } from '../events/command.ts';
import { streamId, type EventMetadata } from '../events/types.ts';
import { hasScope } from '../keys/scopes.ts';
import { newId } from '../ids.ts';
import { decide, evolve, initialRequestState, type Principal, type RequestState } from './decider.ts';
import { decideFromChannel, decideRequest, withCreators } from './commands.ts';
import { findRequest } from './queries.ts';
import type { ApprovalRequest } from './schemas.ts';

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

const newToken = () => randomBytes(32).toString('base64url');
const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export interface IssuedLinks {
  requestId: string;
  tokens: { approve: { token: string; url: string }; deny: { token: string; url: string } };
  expiresAt: string;
}

export async function issueDecisionLinks(
  sql: Sql, requestId: string, opts: { reviewer: string | null; expiresInSeconds: number; baseUrl: string },
  principal: Principal, metadata: EventMetadata,
): Promise<IssuedLinks> {
  const approve = newToken();
  const deny = newToken();
  const now = new Date();
  const linkId = newId('link');
  const issuer = await withCreators(sql, principal);
  const { appended } = await executeCommand<RequestState>(sql, {
    streamId: streamId('request', requestId),
    streamType: 'request',
    initial: initialRequestState,
    evolve: (s, e) => evolve(s, e),
    decide: (s) => decide({
      type: 'issue_links', linkId, approveTokenHash: hashToken(approve), denyTokenHash: hashToken(deny),
      expiresAt: new Date(now.getTime() + opts.expiresInSeconds * 1000).toISOString(), reviewer: opts.reviewer, principal: issuer, now,
    }, s),
    metadata,
  });
  const expiresAt = String(appended[0]!.data.expiresAt);
  const url = (token: string) => `${opts.baseUrl}/decide?token=${token}`;
  return { requestId, tokens: { approve: { token: approve, url: url(approve) }, deny: { token: deny, url: url(deny) } }, expiresAt };
}

export interface ResolvedLink {
  linkId: string;
  decision: 'approved' | 'denied';
  reviewer: string | null;
  expiresAt: Date;
  request: ApprovalRequest;
  /** The issuing key as it is now; null when it was revoked or lost request:decide since. */
  issuer: Principal | null;
  /** Emailed by a notification: decides as the reviewer with this address, not as an issuer. */
  recipient: string | null;
}

interface LinkRow {
  id: string;
  request_id: string;
  approve_token_hash: string;
  reviewer: string | null;
  recipient: string | null;
  expires_at: Date;
  issuer_id: string;
  issuer_name: string | null;
  issuer_scopes: string[] | null;
  issuer_revoked_at: Date | null;
}

/** The link a token belongs to, or null for a malformed or unknown token. */
export async function resolveLink(sql: Sql, token: unknown): Promise<ResolvedLink | null> {
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return null;
  const hash = hashToken(token);
  const [row] = await sql<LinkRow[]>`
    select l.id, l.request_id, l.approve_token_hash, l.reviewer, l.recipient, l.expires_at,
      l.issued_by->>'id' as issuer_id, k.name as issuer_name, k.scopes as issuer_scopes, k.revoked_at as issuer_revoked_at
    from decision_links l left join api_keys k on k.id = l.issued_by->>'id'
    where l.approve_token_hash = ${hash} or l.deny_token_hash = ${hash}`;
  if (!row) return null;
  const request = await findRequest(sql, row.request_id);
  if (!request) return null;
  const active = row.issuer_scopes !== null && row.issuer_revoked_at === null && hasScope(row.issuer_scopes, 'request:decide');
  return {
    linkId: row.id,
    decision: row.approve_token_hash === hash ? 'approved' : 'denied',
    reviewer: row.reviewer,
    recipient: row.recipient,
    expiresAt: row.expires_at,
    request,
    issuer: active
      ? { type: 'key', id: row.issuer_id, name: row.issuer_name ?? row.issuer_id, admin: row.issuer_scopes!.includes('admin') }
      : null,
  };
}

/** Why a link no longer works, or null while it does. */
export function goneReason(link: ResolvedLink, now = new Date()): string | null {
  if (link.request.status !== 'pending') return `This request was already ${link.request.status}.`;
  if (link.request.expiresAt !== null && Date.parse(link.request.expiresAt) <= now.getTime()) return 'This request has expired.';
  if (link.expiresAt.getTime() <= now.getTime()) return 'This link has expired.';
  if (!link.issuer && !link.recipient) return 'The key that issued this link was revoked or may no longer decide.';
  return null;
}

/**
 * Decides through the link as the issuing key, with the reviewer as the label. A lost
 * race (the other link of the pair, an expiry) ends as LINK_GONE, never a second decision.
 */
export async function decideByLink(
  sql: Sql, link: ResolvedLink, reason: string | null, metadata: Omit<EventMetadata, 'actor' | 'channel' | 'causationId'>,
): Promise<ApprovalRequest> {
  const gone = goneReason(link);
  if (gone) throw new AppError('LINK_GONE', gone, { status: link.request.status });
  if (link.recipient) return decideAsRecipient(sql, link, link.recipient, reason, metadata);
  const issuer = link.issuer!;
  try {
    return await decideRequest(sql, link.request.id, link.decision, reason, link.reviewer ?? 'decision link', issuer, {
      ...metadata, actor: { type: issuer.type, id: issuer.id, name: issuer.name }, channel: 'email', causationId: link.linkId,
    }, link.linkId);
  } catch (err) {
    if (err instanceof AppError && (err.code === 'ALREADY_DECIDED' || err.code === 'REQUEST_EXPIRED')) {
      throw new AppError('LINK_GONE', err.message, err.details);
    }
    throw err;
  }
}

/**
 * An emailed link decides as the reviewer with the recipient's address, judged by the
 * directory and the rule now. A refusal is recorded and answered (403, with the reason).
 */
async function decideAsRecipient(
  sql: Sql, link: ResolvedLink, recipient: string, reason: string | null, metadata: Omit<EventMetadata, 'actor' | 'channel' | 'causationId'>,
): Promise<ApprovalRequest> {
  let result;
  try {
    result = await decideFromChannel(sql, link.request.id, {
      decision: link.decision, reason, channel: 'email', externalId: recipient, viaLink: link.linkId,
    }, { ...metadata, causationId: link.linkId });
  } catch (err) {
    if (err instanceof AppError && (err.code === 'ALREADY_DECIDED' || err.code === 'REQUEST_EXPIRED')) {
      throw new AppError('LINK_GONE', err.message, err.details);
    }
    throw err;
  }
  if (result.outcome === 'refused') throw new AppError(result.refusal.code, result.refusal.message);
  return result.request;
}
