import type { FastifyRequest } from 'fastify';

/** Query parameters that carry credentials in clients we do not control (or links we send). */
const SECRET_QUERY = /([?&](?:token|key|api[_-]?key|access[_-]?token|secret|signature|sig)=)[^&#]*/gi;
/** An API key anywhere in a URL, e.g. pasted into a path by mistake. */
const API_KEY = /agk_[A-Za-z0-9_-]+/g;

/** The URL as it may be logged: credentials a client put in it are masked. */
export function loggableUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]').replace(API_KEY, 'agk_[redacted]');
}

/** fastify's default request serializer, with the URL masked. */
export function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: loggableUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
