/**
 * Security headers on every response, as two fixed sets built once at start-up: a
 * request only copies one of them onto its reply.
 *
 * HTML pages — the dashboard, the API docs, decision-link pages — may not be framed,
 * sniffed or leak their URL in a Referer, and run only scripts served by this server.
 * Swagger UI needs inline styles and data: images, nothing else. A route may tighten its
 * own page further (the decision-link pages set `default-src 'none'`).
 *
 * Answers under /api/ are JSON (or NDJSON) for programs, never a page: they get what still
 * matters if a browser opens or embeds one — no sniffing it into HTML, no framing, nothing
 * loaded or run should it be rendered, no cross-site reads, no Referer, HSTS — and not
 * the headers that only govern documents (opener isolation, DNS prefetch, the XSS
 * auditor, downloads in old IE, Flash policies).
 */
import type { FastifyInstance } from 'fastify';

export const CONTENT_SECURITY_POLICY: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'base-uri': ["'none'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  // Not upgrade-insecure-requests: a server on plain HTTP in a private network would
  // have its own scripts rewritten to an https:// it does not serve.
};

const policyText = (directives: Readonly<Record<string, readonly string[]>>) =>
  Object.entries(directives).map(([name, values]) => [name, ...values].join(' ')).join('; ');

/** Headers every answer carries. */
const COMMON_HEADERS = {
  'cross-origin-resource-policy': 'same-site', // the API is called cross-origin by design (CORS_ORIGINS); nothing is embedded
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
} as const;

/** HTML pages (and anything else outside /api/). */
export const DOCUMENT_HEADERS: Readonly<Record<string, string>> = {
  ...COMMON_HEADERS,
  'content-security-policy': policyText(CONTENT_SECURITY_POLICY),
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

/** JSON answers under /api/. */
export const API_HEADERS: Readonly<Record<string, string>> = {
  ...COMMON_HEADERS,
  'content-security-policy': policyText({ 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] }),
};

export async function securityHeaders(app: FastifyInstance) {
  // Set with reply.headers (not on the raw response) so a route's own value, set later, wins.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.url.startsWith('/api/') ? API_HEADERS : DOCUMENT_HEADERS);
    done();
  });
}
