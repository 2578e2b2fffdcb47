/**
 * The HTML a reviewer sees when following a decision link. Every value that came from
 * a request (action, params, context, names) is escaped: an agent writes those.
 */
import type { ApprovalRequest } from './schemas.ts';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);

/** No scripts, no external anything, forms only back to this server; the token stays out of caches and Referer. */
export const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
} as const;

const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
pre{background:#f4f4f4;padding:.75rem;overflow:auto;white-space:pre-wrap}dt{font-weight:600;margin-top:.75rem}
textarea{width:100%;min-height:5rem}button{font-size:1rem;padding:.5rem 1.25rem;margin-top:1rem}
.approved{color:#17692b}.denied{color:#a11}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)} · AgentGate</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

const verb = (decision: 'approved' | 'denied') => (decision === 'approved' ? 'Approve' : 'Deny');

export function confirmationPage(request: ApprovalRequest, decision: 'approved' | 'denied', token: string, reviewer: string | null): string {
  const reasonRequired = request.policyDecision?.requireReason === true;
  return page(`${verb(decision)} this request?`, `
<p>Following this link ${decision === 'approved' ? 'approves' : 'denies'} the request below${reviewer ? ` on behalf of <strong>${escapeHtml(reviewer)}</strong>` : ''}. Nothing has been decided yet.</p>
<dl>
<dt>Action</dt><dd><code>${escapeHtml(request.action)}</code></dd>
<dt>Urgency</dt><dd>${escapeHtml(request.urgency)}</dd>
<dt>Requested by</dt><dd>${escapeHtml(request.requester?.name ?? 'unknown')}</dd>
<dt>Parameters</dt><dd><pre>${escapeHtml(JSON.stringify(request.params, null, 2))}</pre></dd>
<dt>Context</dt><dd><pre>${escapeHtml(JSON.stringify(request.context, null, 2))}</pre></dd>
${request.expiresAt ? `<dt>Expires</dt><dd>${escapeHtml(request.expiresAt)}</dd>` : ''}
</dl>
<form method="post" action="/decide">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<label for="reason">Reason${reasonRequired ? ' (required)' : ' (optional)'}</label>
<textarea id="reason" name="reason" maxlength="2000"${reasonRequired ? ' required' : ''}></textarea>
<button type="submit" class="${decision}">${verb(decision)}</button>
</form>`);
}

export function resultPage(request: ApprovalRequest): string {
  return page(`Request ${request.status}`, `
<p>The request <code>${escapeHtml(request.action)}</code> is now <strong class="${escapeHtml(request.status)}">${escapeHtml(request.status)}</strong>.</p>
${request.decisionReason ? `<p>Reason: ${escapeHtml(request.decisionReason)}</p>` : ''}
<p>You can close this page.</p>`);
}

export function messagePage(title: string, message: string): string {
  return page(title, `<p>${escapeHtml(message)}</p>`);
}
