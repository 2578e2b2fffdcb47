import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { auth, carriesValidKey } from './auth.ts';
import { errorHandler } from './errors.ts';
import { clientErrorHandler, frameworkErrors, notFoundHandler, refuseWhileClosing, RouteIndex } from './framework-errors.ts';
import { ErrorBody } from './schemas.ts';
import { guardrailRoutes } from '../guardrails/routes.ts';
import { listenBaseUrl } from './public-url.ts';
import { securityHeaders } from './security-headers.ts';
import { overrideRoutes } from '../overrides/routes.ts';
import { healthRoutes, type HealthCheck } from './health.ts';
import { serializeRequest } from './logging.ts';
import { parseJsonBody } from './json-body.ts';
import { dashboardRoutes } from './dashboard.ts';
import { requestRoutes } from '../requests/routes.ts';
import { decisionLinkRoutes } from '../requests/decision-link-routes.ts';
import { policyRoutes } from '../policies/routes.ts';
import { keyRoutes } from '../keys/routes.ts';
import { webhookRoutes } from '../webhooks/routes.ts';
import { auditRoutes } from '../audit/routes.ts';
import { reviewerRoutes } from '../reviewers/routes.ts';
import { discordInteractionRoutes, type DiscordInteractionSettings } from '../channels/discord-interactions.ts';
import { slackHttpRoutes, type SlackInteractionSettings } from '../channels/slack-interactions.ts';
import { channelRoutes } from '../channels/routes.ts';
import type { ChannelSetting } from '../channels/registry.ts';
import { Live } from '../live/live.ts';
import { liveRoutes } from '../live/routes.ts';
import { LiveLimits, type LiveCapSettings } from '../live/limits.ts';
import { Sessions } from '../sessions/sessions.ts';
import { sessionRoutes } from '../sessions/routes.ts';
import { metricsRoutes } from '../metrics/routes.ts';
import { PolicySet } from '../policies/policy-set.ts';
import { RequestCreator } from '../requests/create.ts';
import { CreateAppender, DEFAULT_GROUP_COMMIT_MS } from '../requests/group-commit.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The process's compiled policies (see policies/policy-set.ts). */
    policies: PolicySet;
  }
}

export interface AppOptions {
  sql: Sql;
  logLevel?: string;
  bodyLimit?: number;
  rateLimitWindowMs?: number;
  trustProxy?: boolean;
  corsOrigins?: string[];
  /** Extra checks for GET /health?deep=true (e.g. the worker), keyed by name. */
  healthChecks?: Record<string, HealthCheck>;
  /** GET /health?deep=true answers within this many ms (HEALTH_TIMEOUT_MS); a check still running then counts as failed. */
  healthTimeoutMs?: number;
  webhookAllowPrivate?: boolean;
  /** Timeout of a webhook test ping sent from the API (WEBHOOK_TIMEOUT_MS). */
  webhookTimeoutMs?: number;
  /** Expiry given to requests that name none (REQUEST_DEFAULT_TTL_SECONDS); unset = no expiry. */
  requestDefaultTtlSeconds?: number;
  /** The process's live hub (started by the caller); when absent the app starts and stops its own. */
  live?: Live;
  /** Caps on open long-polls, WebSockets and followers per key, and in all (LIVE_MAX_*); unset = the defaults in live/limits.ts. */
  liveCaps?: LiveCapSettings;
  /** Group commit window for creates (CREATE_GROUP_COMMIT_MS); 0 appends each create alone. Default 1. */
  createGroupCommitMs?: number;
  /** The server's public base URL (PUBLIC_URL) for links it hands out; unset = the address it listens on (never the Host header). */
  publicUrl?: string;
  /** Signs dashboard session tokens (JWT_SECRET); unset = a secret generated once and kept in the database. */
  jwtSecret?: string;
  /** METRICS_TOKEN: bearer token accepted by GET /metrics besides admin keys. */
  metricsToken?: string;
  /** DB_POOL_SIZE, shown in the metrics. */
  dbPoolSize?: number;
  /** Slack interactions over HTTP (POST /integrations/slack/events) when a signing secret is set. */
  slack?: SlackInteractionSettings;
  /** Discord interactions over HTTP (POST /integrations/discord/interactions) when the application's public key is set. */
  discord?: DiscordInteractionSettings;
  /**
   * The notification channels as configured, on or off (GET /api/channels); unset = all off.
   * Their default destinations also decide whether a routed request whose rule names no
   * channel is announced at all (see RequestCreatorOptions.defaultDestination).
   */
  channels?: readonly ChannelSetting[];
  /** Limits on slow and idle clients (see HTTP_* in config.ts); unset = the defaults there. */
  http?: Partial<HttpLimits>;
  /** Where the log goes (default stdout); tests capture it here. */
  logStream?: NodeJS.WritableStream;
  /**
   * Routes an embedding adds, registered after the API's own and under the same
   * authentication, scopes and error handling (the benchmark's write floor is one).
   */
  routes?: readonly FastifyPluginAsync<{ sql: Sql }>[];
}

export interface HttpLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Socket inactivity; must outlast the longest long-poll. */
  idleTimeoutMs: number;
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000, idleTimeoutMs: 330_000, maxConnections: 10_000,
};

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Body validation is strict (no coercion: "5" is not a number); query and params coerce. */
function validatorCompiler() {
  const common = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false } as const;
  const bodyAjv = addFormats.default(new Ajv({ ...common, coerceTypes: false }));
  const queryAjv = addFormats.default(new Ajv({ ...common, coerceTypes: 'array' }));
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema);
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...opts.http };
  const app = Fastify({
    // A client dripping its request is cut off (408) once the whole request has not
    // arrived in time; a long-poll's request arrives at once, so only idleTimeout bounds
    // it. Node checks these every connectionsCheckingInterval.
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(1_000, limits.requestTimeoutMs),
    },
    logger: {
      level: opts.logLevel ?? 'info',
      // Keys and secrets never reach the log.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.secret', '*.key', '*.apiKey'], censor: '[redacted]' },
      serializers: { req: serializeRequest },
      ...(opts.logStream ? { stream: opts.logStream } : {}),
    },
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    trustProxy: opts.trustProxy ?? false,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false } },
    // Our own 503 while closing (refuseWhileClosing), in the API's error shape.
    return503OnClosing: false,
    clientErrorHandler,
    frameworkErrors,
  });

  app.server.maxConnections = limits.maxConnections;
  const routes = new RouteIndex();
  routes.attach(app);
  refuseWhileClosing(app);
  app.setValidatorCompiler(validatorCompiler());
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler(routes));

  // JSON bodies: a clear INVALID_JSON with the parser's message; an empty body is "no body".
  app.removeContentTypeParser('application/json');
  // The API speaks JSON only: a text/plain body is a 415, not a string that fails validation.
  // (A plugin that needs another type, e.g. a form post, adds its parser in its own scope.)
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, parseJsonBody(text));
    } catch (err) {
      done(err as AppError, undefined);
    }
  });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-Id', request.id);
    done();
  });

  // Browsers on CORS_ORIGINS only; preflights are answered before authentication (the
  // OPTIONS route is public, and a browser sends no credentials on a preflight).
  await app.register(cors, {
    origin: opts.corsOrigins ?? [],
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id', 'X-AgentGate-Channel', 'X-Correlation-Id'],
    exposedHeaders: ['X-Request-Id', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'X-AgentGate-Wait'],
    maxAge: 600,
  });

  await securityHeaders(app);
  app.addSchema(ErrorBody);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'AgentGate API',
        version: '0.1.0',
        description: 'Approval requests, policies, webhooks and API keys. Every write is an immutable event.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key: agk_…' } },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true }, config: { scope: null } }, async () => app.swagger());

  const rateLimitWindowMs = opts.rateLimitWindowMs ?? 60_000;
  const sessions = await Sessions.create(opts.sql, { jwtSecret: opts.jwtSecret, rateLimitWindowMs });
  await app.register(cookie);
  await app.register(auth, { sql: opts.sql, rateLimitWindowMs, sessions });
  await app.register(sessionRoutes, { sql: opts.sql, sessions, rateLimitWindowMs, emailSignIn: opts.channels?.some((c) => c.type === 'email' && c.enabled) ?? false });

  await app.register(healthRoutes, {
    sql: opts.sql, checks: opts.healthChecks ?? {}, timeoutMs: opts.healthTimeoutMs,
    hasValidKey: (request) => carriesValidKey(opts.sql, request, rateLimitWindowMs),
  });
  await app.register(dashboardRoutes);
  let live = opts.live;
  if (!live) {
    const own = new Live(opts.sql, { log: app.log });
    await own.start();
    app.addHook('onClose', () => own.stop());
    live = own;
  }
  app.decorate('live', live);
  // The process's compiled policies, kept fresh by its live hub (and the create's guard).
  const policies = new PolicySet(opts.sql);
  live.attach(policies);
  app.addHook('onClose', async () => live.detach(policies));
  app.decorate('policies', policies);
  const creator = new RequestCreator(opts.sql, policies,
    new CreateAppender(opts.sql, { windowMs: opts.createGroupCommitMs ?? DEFAULT_GROUP_COMMIT_MS }),
    { defaultTtlSeconds: opts.requestDefaultTtlSeconds, defaultDestination: (opts.channels ?? []).some((c) => Boolean(c.defaultTarget)) });

  await app.register(requestRoutes, { sql: opts.sql, creator });
  await app.register(guardrailRoutes, { creator });
  await app.register(decisionLinkRoutes, { sql: opts.sql, baseUrl: () => opts.publicUrl ?? listenBaseUrl(app.server.address()) });
  await app.register(policyRoutes, { sql: opts.sql });
  await app.register(overrideRoutes, { sql: opts.sql });
  await app.register(keyRoutes, { sql: opts.sql });
  await app.register(webhookRoutes, { sql: opts.sql, allowPrivate: opts.webhookAllowPrivate ?? false, timeoutMs: opts.webhookTimeoutMs });
  await app.register(auditRoutes, { sql: opts.sql });
  await app.register(reviewerRoutes, { sql: opts.sql });
  await app.register(channelRoutes, { sql: opts.sql, settings: opts.channels ?? [] });
  if (opts.slack?.signingSecret) await app.register(slackHttpRoutes, { sql: opts.sql, settings: { ...opts.slack, signingSecret: opts.slack.signingSecret } });
  if (opts.discord) {
    await app.register(discordInteractionRoutes, {
      sql: opts.sql, settings: opts.discord, baseUrl: () => opts.publicUrl ?? listenBaseUrl(app.server.address()),
    });
  }

  const liveLimits = new LiveLimits(opts.liveCaps);
  app.decorate('liveLimits', liveLimits);
  await app.register(liveRoutes, { sql: opts.sql, live, rateLimitWindowMs, sessions, limits: liveLimits });
  await app.register(metricsRoutes, { sql: opts.sql, live, token: opts.metricsToken, poolMax: opts.dbPoolSize, rateLimitWindowMs });
  for (const routes of opts.routes ?? []) await app.register(routes, { sql: opts.sql });

  return app;
}
