/** The words every channel shows for a request, so Slack, Discord and email say the same. */
import type { ApprovalRequest } from '../requests/schemas.ts';

const MAX_VALUE = 120;

/**
 * The request's page in the dashboard: its client route `/requests/:id` (web/src/main.tsx),
 * which the server answers with the dashboard for any browser asking for HTML.
 */
export const dashboardUrl = (baseUrl: string, requestId: string) => `${baseUrl.replace(/\/+$/, '')}/requests/${encodeURIComponent(requestId)}`;
const MAX_LINES = 12;

/** `key: value` lines of a JSON object, long values and long lists cut short. */
export function compactLines(value: Record<string, unknown>): string[] {
  const entries = Object.entries(value);
  const lines = entries.slice(0, MAX_LINES).map(([k, v]) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return `${k}: ${text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text}`;
  });
  if (entries.length > MAX_LINES) lines.push(`… and ${entries.length - MAX_LINES} more`);
  return lines;
}

export const URGENCY_MARK: Record<string, string> = { low: '⚪', normal: '🔵', high: '🟠', critical: '🔴' };

export const title = (r: ApprovalRequest) => `${URGENCY_MARK[r.urgency] ?? ''} Approval needed: ${r.action}`.trim();

/** The facts under the title, one per line. */
export function summaryLines(r: ApprovalRequest): string[] {
  return [
    `Urgency: ${r.urgency}`,
    `Requested by: ${r.requester?.name ?? 'unknown'}`,
    ...(r.policyDecision?.reason ? [`Policy: ${r.policyDecision.reason}`] : []),
    ...(r.policyDecision?.requireReason ? ['A reason is required to decide.'] : []),
    `Expires: ${r.expiresAt ?? 'never'}`,
  ];
}

/** How a request ended, for the updated message: "✅ Approved by Alice (slack): looks fine". */
export function outcomeLine(r: ApprovalRequest): string {
  const mark = { approved: '✅ Approved', denied: '⛔ Denied', expired: '⌛ Expired', cancelled: '🚫 Cancelled', pending: '⏳ Pending' }[r.status];
  const who = r.status === 'expired' ? '' : r.decider ? ` by ${r.decider.name}${r.decider.channel ? ` (${r.decider.channel})` : ''}` : '';
  const why = r.decisionReason && r.status !== 'expired' ? `: ${r.decisionReason}` : '';
  return `${mark}${who}${why}`;
}
