/**
 * Answers that fastify and Node's HTTP parser would otherwise write in their own shapes
 * (or with no body at all): unparsable requests, oversized headers, client timeouts,
 * bad URLs, a known path asked with the wrong method, and requests arriving while the
 * server closes. Each is rendered as `{ error: { code, message, details? } }`.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { ERRORS, type ErrorCode } from '../errors.ts';
import { sendError } from './errors.ts';

const errorJson = (code: ErrorCode, message?: string) =>
  JSON.stringify({ error: { code, message: message ?? ERRORS[code].message } });

/**
 * Node's `clientError`: the request never reached fastify (headers too large, a client
 * too slow to send them, bytes that are not HTTP). Written straight to the socket, which
 * is then closed: the connection's framing cannot be trusted any more.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode =
    err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE'
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT' ? 'REQUEST_TIMEOUT'
    : 'MALFORMED_REQUEST';
  const status = ERRORS[code].status;
  const body = errorJson(code);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** fastify's router errors: a URL that does not decode, a path parameter over the length limit. */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return sendError(reply, 'URL_TOO_LONG', err.message);
  return sendError(reply, 'INVALID_URL', err.message);
}

const METHODS: HTTPMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * A second router holding every route's path, so the 404 handler can tell "no such
 * path" (404) from "this path, another method" (405 with Allow). fastify's own router
 * answers only the exact method.
 */
export class RouteIndex {
  private readonly router = FindMyWay();

  /** Call before any route is registered. */
  attach(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      // A catch-all (the dashboard's client routes) answers GET anywhere, but is no reason to
      // call another method on an unknown path "not allowed" rather than not found.
      if ((route.config as { fallback?: boolean } | undefined)?.fallback) return;
      for (const method of [route.method].flat()) {
        if (!METHODS.includes(method as HTTPMethod)) continue; // HEAD follows GET; OPTIONS is CORS' catch-all
        try {
          this.router.on(method as HTTPMethod, route.url, () => {});
        } catch {
          // The same path and method registered twice (with constraints): once is enough here.
        }
      }
    });
  }

  allowed(path: string): string[] {
    const found = METHODS.filter((m) => this.router.find(m, path) !== null);
    return found.includes('GET') ? [...found, 'HEAD'] : found;
  }
}

export function notFoundHandler(index: RouteIndex) {
  return (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!;
    const allowed = index.allowed(path);
    if (allowed.length > 0) {
      reply.header('Allow', allowed.join(', '));
      return sendError(reply, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`, { allowed });
    }
    return sendError(reply, 'ROUTE_NOT_FOUND', `No route for ${request.method} ${path}`);
  };
}

/**
 * While the server closes, new requests get a 503 in our shape with a hint to retry
 * (fastify's built-in answer has its own shape). Requests already running finish.
 */
export function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // A callback hook, not an async one: every request passes here, and almost all go on at once.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    reply.header('Connection', 'close').header('Retry-After', 1);
    sendError(reply, 'SERVICE_UNAVAILABLE', 'The server is shutting down; retry on another instance');
  });
}
