/**
 * An Approve or Deny click in a chat channel (Slack, Discord), the part every channel
 * shares: what the click calls for before anything is decided (a word, a reason modal, the
 * decision), and the decision itself through `decideFromChannel`, the one path that judges
 * channel users by the same rules as the API. Each channel only translates to its own wire.
 */
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { decideFromChannel } from '../requests/commands.ts';
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

/** What a click calls for. Deny always asks why; Approve asks when the rule demands a reason. */
export async function clickStep(sql: Sql, requestId: string, decision: Decision): Promise<ClickStep> {
  const request = await findRequest(sql, requestId);
  if (!request) return { step: 'answer', text: 'This request no longer exists.' };
  if (request.status !== 'pending') return { step: 'answer', text: `Already decided — ${outcomeLine(request)}.` };
  if (decision === 'denied' || request.policyDecision?.requireReason) return { step: 'ask_reason', request };
  return { step: 'decide', request };
}

export type ClickResult =
  /** `answered`: the clicked message's update was recorded with the decision (see decideFromChannel). */
  | { decided: true; request: ApprovalRequest; answered: boolean }
  | { decided: false; text: string };

export interface Click {
  requestId: string;
  decision: Decision;
  reason: string | null;
  channel: Extract<ReviewerChannel, 'slack' | 'discord'>;
  /** The channel's own user id of the clicker. */
  externalId: string;
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
    if (result.outcome === 'refused') return { decided: false, text: `Not decided: ${result.refusal.message}.` };
    return { decided: true, request: result.request, answered: result.answered };
  } catch (err) {
    if (err instanceof AppError) {
      if (err.code === 'REASON_REQUIRED') return { decided: false, text: 'A reason is required to decide this request.' };
      if (err.code === 'ALREADY_DECIDED' || err.code === 'REQUEST_EXPIRED' || err.code === 'NOT_FOUND') return { decided: false, text: `Not decided: ${err.message}.` };
    }
    throw err;
  }
}
