/**
 * An Approve or Deny click in a chat channel (Slack, Discord), the part every channel
 * shares: what the click calls for before anything is decided (a word, a reason modal, the
 * decision), and the decision itself through `decideFromChannel`, the one path that judges
 * channel users by the same rules as the API (the click's check before a modal goes through
 * the same decider). Each channel only translates to its own wire.
 */
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { checkFromChannel, decideFromChannel } from '../requests/commands.ts';
import type { ReviewerChannel } from '../requests/decider.ts';
import { findRequest } from '../requests/queries.ts';
import type { ApprovalRequest } from '../requests/schemas.ts';
import { outcomeLine } from './render.ts';

export type Decision = 'approved' | 'denied';

export type ClickStep =
  /** Nothing to decide: tell the clicker why (privately). */
  | { step: 'answer'; text: string }
  /** Ask for the reason first (a modal); the decision comes with its submission. */
  | { step: 'ask_reason'; request: ApprovalRequest }
  | { step: 'decide'; request: ApprovalRequest };

/** The channel's own user id of the clicker, and where they clicked. */
export interface Clicker {
  channel: Extract<ReviewerChannel, 'slack' | 'discord'>;
  externalId: string;
}

/**
 * What a click calls for. Deny always asks why; Approve asks when the rule demands a reason.
 * Before asking, the clicker is judged as the decision would judge them (checkFromChannel):
 * someone who may not decide is told why at once, and the refusal recorded, instead of being
 * handed a form whose submission could only be refused.
 */
export async function clickStep(sql: Sql, requestId: string, decision: Decision, clicker: Clicker): Promise<ClickStep> {
  const request = await findRequest(sql, requestId);
  if (!request) return { step: 'answer', text: 'This request no longer exists.' };
  if (request.status !== 'pending') return { step: 'answer', text: `Already decided — ${outcomeLine(request)}.` };
  // Without a reason to ask for, the decision itself is the check (and records a refusal).
  if (decision === 'approved' && !request.policyDecision?.requireReason) return { step: 'decide', request };
  try {
    const check = await checkFromChannel(sql, requestId, { decision, ...clicker }, {});
    if (check.outcome === 'refused') return { step: 'answer', text: notDecided(check.refusal.message) };
  } catch (err) {
    const text = unDecidable(err);
    if (text === null) throw err;
    return { step: 'answer', text };
  }
  return { step: 'ask_reason', request };
}

const notDecided = (why: string) => `Not decided: ${why}.`;

/** What to tell a clicker when the request cannot be decided any more; null for any other error. */
function unDecidable(err: unknown): string | null {
  if (!(err instanceof AppError)) return null;
  if (err.code === 'REASON_REQUIRED') return 'A reason is required to decide this request.';
  if (err.code === 'ALREADY_DECIDED' || err.code === 'REQUEST_EXPIRED' || err.code === 'NOT_FOUND') return notDecided(err.message);
  return null;
}

export type ClickResult =
  /** `answered`: the clicked message's update was recorded with the decision (see decideFromChannel). */
  | { decided: true; request: ApprovalRequest; answered: boolean }
  | { decided: false; text: string };

export interface Click extends Clicker {
  requestId: string;
  decision: Decision;
  reason: string | null;
  /** The clicked message, when the click's answer rewrites it. */
  answersMessage?: string;
}

/** Decides a click as the reviewer it came from; when it does not decide, says why. */
export async function decideClick(sql: Sql, click: Click): Promise<ClickResult> {
  try {
    const result = await decideFromChannel(sql, click.requestId, {
      decision: click.decision, reason: click.reason, channel: click.channel, externalId: click.externalId,
      ...(click.answersMessage !== undefined ? { answersMessage: click.answersMessage } : {}),
    }, {});
    if (result.outcome === 'refused') return { decided: false, text: notDecided(result.refusal.message) };
    return { decided: true, request: result.request, answered: result.answered };
  } catch (err) {
    const text = unDecidable(err);
    if (text === null) throw err;
    return { decided: false, text };
  }
}
