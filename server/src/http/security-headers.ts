/**
 * Security headers on every response (@fastify/helmet): HTML pages — the dashboard, the
 * API docs, decision-link pages — may not be framed, sniffed or leak their URL in a
 * Referer, and run only scripts served by this server. Swagger UI needs inline styles
 * and data: images, nothing else. A route may tighten its own page further (the
 * decision-link pages set `default-src 'none'`).
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export const CONTENT_SECURITY_POLICY = {
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
  'upgrade-insecure-requests': null,
};

export async function securityHeaders(app: FastifyInstance) {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // The API is called cross-origin by design (CORS_ORIGINS); resources are not embedded.
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
}
