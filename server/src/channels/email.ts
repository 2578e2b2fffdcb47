/**
 * Email through nodemailer (SMTP_URL, or SMTP_HOST/PORT/USER/PASS). Each recipient gets
 * their own message with their own approve and deny links: a link decides as the reviewer
 * with that address, checked against the directory and the rule when it is used. A sent
 * email cannot change, so there is no update: its links stop working instead.
 */
import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import { escapeHtml } from '../requests/decision-link-pages.ts';
import { compactLines, summaryLines, title } from './render.ts';
import type { ChannelAdapter, Destination, DirectMessage, PostedMessage, RequestView } from './types.ts';

export interface EmailSettings {
  /** An smtp:// URL, or host/port/user/pass. */
  url?: string;
  host?: string;
  port?: number;
  user?: string;
  pass?: string;
  from: string;
  defaultTo: string[];
  timeoutMs: number;
  /** SMTP connections kept open and shared by every message (SMTP_POOL_SIZE; nodemailer's 5 when unset). */
  poolSize?: number;
}

/**
 * A pooled transport: up to `poolSize` connections, each reused for message after message
 * (up to nodemailer's 100), so a burst of notifications pays the TCP, TLS and EHLO/AUTH
 * handshakes once per connection rather than once per message. A message finding every
 * connection busy waits for one. An idle connection is closed by us before the socket
 * timeout would end it, and opened again on the next message.
 */
export function emailTransportOptions(settings: EmailSettings) {
  return {
    ...(settings.url
      ? { url: settings.url }
      : {
          host: settings.host, port: settings.port ?? 587, secure: settings.port === 465,
          ...(settings.user ? { auth: { user: settings.user, pass: settings.pass ?? '' } } : {}),
        }),
    pool: true,
    ...(settings.poolSize ? { maxConnections: settings.poolSize } : {}),
    idleTimeout: Math.ceil(settings.timeoutMs / 2),
    // Retries are the job's (each attempt recorded), not the pool's.
    maxRequeues: 0,
    connectionTimeout: settings.timeoutMs, greetingTimeout: settings.timeoutMs, socketTimeout: settings.timeoutMs,
  };
}

export function emailChannel(settings: EmailSettings): ChannelAdapter {
  const transport: Transporter = nodemailer.createTransport(emailTransportOptions(settings) as never);
  const domain = /@([^>\s]+)>?\s*$/.exec(settings.from)?.[1] ?? 'agentgate.local';

  return {
    type: 'email',
    async post(view: RequestView, destination: Destination): Promise<PostedMessage> {
      const r = view.request;
      // The same request and recipient always make the same Message-ID, so a mail system that
      // dedupes on it drops a retry's copy.
      const messageId = `<${r.id}.${createHash('sha256').update(destination.key).digest('hex').slice(0, 16)}@${domain}>`;
      const info = await transport.sendMail({
        from: settings.from,
        to: destination.target,
        subject: `[AgentGate] ${title(r).replace(/^\S+ /u, '')}`,
        messageId,
        text: textBody(view),
        html: htmlBody(view),
        headers: { 'X-AgentGate-Request': r.id },
      });
      return { messageId: info.messageId ?? messageId, ref: { to: destination.target } };
    },
    async direct(to: string, message: DirectMessage) {
      const info = await transport.sendMail({ from: settings.from, to, subject: message.subject, text: message.text, ...(message.html ? { html: message.html } : {}) });
      return { messageId: info.messageId };
    },
    async test() {
      const to = settings.defaultTo[0];
      if (!to) throw new Error('EMAIL_DEFAULT_TO is not set: nowhere to send a test message');
      const info = await transport.sendMail({
        from: settings.from, to, subject: '[AgentGate] Test message',
        text: 'This is a test message from AgentGate: approval requests routed to email will arrive like this.',
      });
      return { target: to, messageId: info.messageId };
    },
    async close() {
      transport.close();
    },
  };
}

function textBody(view: RequestView): string {
  const r = view.request;
  return [
    title(r).replace(/^\S+ /u, ''),
    '',
    ...summaryLines(r),
    '',
    'Parameters:', ...compactLines(r.params).map((l) => `  ${l}`),
    ...(Object.keys(r.context).length ? ['Context:', ...compactLines(r.context).map((l) => `  ${l}`)] : []),
    '',
    ...(view.links ? [`Approve: ${view.links.approve}`, `Deny:    ${view.links.deny}`, ''] : []),
    `In the dashboard: ${view.dashboardUrl}`,
    '',
    'The links are yours alone: they decide as you, once, and ask you to confirm first.',
  ].join('\n');
}

function htmlBody(view: RequestView): string {
  const r = view.request;
  const list = (lines: string[]) => lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('');
  const button = (href: string, label: string, colour: string) =>
    `<a href="${escapeHtml(href)}" style="display:inline-block;padding:.6em 1.2em;margin-right:.5em;background:${colour};color:#fff;text-decoration:none;border-radius:4px">${label}</a>`;
  return `<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#222">
<h2>${escapeHtml(title(r))}</h2>
<ul>${list(summaryLines(r))}</ul>
<p><b>Parameters</b></p><ul>${list(compactLines(r.params))}</ul>
${Object.keys(r.context).length ? `<p><b>Context</b></p><ul>${list(compactLines(r.context))}</ul>` : ''}
${view.links ? `<p>${button(view.links.approve, 'Approve', '#2e7d32')}${button(view.links.deny, 'Deny', '#c62828')}</p>` : ''}
<p><a href="${escapeHtml(view.dashboardUrl)}">Open in the dashboard</a></p>
<p style="color:#666;font-size:.9em">These links are yours alone: they decide as you, once, and ask you to confirm first.</p>
</body></html>`;
}
