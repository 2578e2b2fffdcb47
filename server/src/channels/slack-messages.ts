/** Block Kit for a request: the same facts as every channel, buttons while it is pending. */
import type { types } from '@slack/bolt';
import type { ApprovalRequest } from '../requests/schemas.ts';
import { compactLines, outcomeLine, summaryLines, title } from './render.ts';
import type { RequestView } from './types.ts';

export const SLACK_ACTIONS = { approve: 'agentgate_approve', deny: 'agentgate_deny' } as const;
export const SLACK_REASON_VIEW = 'agentgate_reason';

const code = (lines: string[]) => (lines.length ? `\`\`\`${lines.join('\n').replace(/```/g, "'''")}\`\`\`` : '_none_');

export function slackBlocks(view: RequestView): { text: string; blocks: types.KnownBlock[] } {
  const r = view.request;
  const pending = r.status === 'pending';
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: title(r).slice(0, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: summaryLines(r).map(escapeMrkdwn).join('\n') } },
    { type: 'section', text: { type: 'mrkdwn', text: `*Parameters*\n${code(compactLines(r.params))}` } },
    ...(Object.keys(r.context).length ? [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: `*Context*\n${code(compactLines(r.context))}` } }] : []),
  ];
  if (pending) {
    blocks.push({
      type: 'actions', block_id: 'agentgate_decision',
      elements: [
        { type: 'button', action_id: SLACK_ACTIONS.approve, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: r.id },
        { type: 'button', action_id: SLACK_ACTIONS.deny, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: r.id },
        { type: 'button', action_id: 'agentgate_open', text: { type: 'plain_text', text: 'Open in dashboard' }, url: view.dashboardUrl },
      ],
    });
  } else {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*${escapeMrkdwn(outcomeLine(r))}*` } });
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${view.dashboardUrl}|Open in dashboard>` }] });
  }
  return { text: pending ? title(r) : `${r.action}: ${outcomeLine(r)}`, blocks };
}

/** The modal asking for a reason; private_metadata carries what the click was about. */
export function reasonModal(request: ApprovalRequest, decision: 'approved' | 'denied', origin: { channel?: string; ts?: string }) {
  return {
    type: 'modal' as const,
    callback_id: SLACK_REASON_VIEW,
    private_metadata: JSON.stringify({ requestId: request.id, decision, ...origin }),
    title: { type: 'plain_text' as const, text: decision === 'approved' ? 'Approve request' : 'Deny request' },
    submit: { type: 'plain_text' as const, text: decision === 'approved' ? 'Approve' : 'Deny' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${escapeMrkdwn(request.action)}* requested by ${escapeMrkdwn(request.requester?.name ?? 'unknown')}` } },
      {
        type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Reason' },
        element: { type: 'plain_text_input', action_id: 'reason', multiline: true, max_length: 2000 },
      },
    ],
  };
}

/** Text from requests is shown, not interpreted: no mentions, links or formatting injected by an agent. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
