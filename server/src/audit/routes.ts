import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';
import { clampLimit, errorResponses, JsonObject, Nullable, PageLimit, Pagination, Timestamp } from '../http/schemas.ts';
import { auditActions, auditActors, searchAudit, type AuditSearch } from './queries.ts';

const ActorInfo = Type.Object({
  type: Type.String({ description: 'key, reviewer, policy or system' }), id: Type.String(), name: Type.String(),
  channel: Type.Optional(Type.String({ description: 'A reviewer deciding from a channel: which one' })),
  externalId: Type.Optional(Type.String({ description: "The channel's own user id (Slack U…, Discord id, email)" })),
  keyId: Type.Optional(Type.String({ description: 'A reviewer deciding with their linked API key: that key' })),
});

export const AuditEntrySchema = Type.Object({
  id: Type.String({ description: 'Unique and stable: the event\'s position, or `<position>.1` for the decision a policy made as the request was created (recorded inside that `request.created`)' }),
  position: Type.Integer({ description: 'Position of the event in the log (shared by a `request.created` and the decision it carries)' }),
  requestId: Nullable(Type.String()),
  streamId: Type.String(),
  eventType: Type.String({ description: 'created, policy_evaluated, approved, … for requests; policy.updated, apikey.revoked, … otherwise. A policy\'s decision at creation reads approved or denied' }),
  event: Type.String({ description: 'The full event type (request.approved or request.denied for a policy\'s decision at creation)' }),
  action: Nullable(Type.String()),
  actor: Type.String({ description: 'Who acted, printable and usable as the `actor` filter: `key:<name>`, `reviewer:<name>`, `policy:<name>`, or `system`' }),
  actorInfo: ActorInfo,
  channel: Nullable(Type.String()),
  details: JsonObject,
  createdAt: Timestamp,
  request: Nullable(Type.Object({
    id: Type.String(), action: Type.String(), status: Type.String({ description: 'The request\'s status now' }), urgency: Type.String(),
  }, { description: 'The request the entry is about, as it stands now; null for other streams' })),
});

const MAX_LIMIT = 500;
const DEFAULT_LIMIT = 50;
const DateBound = (what: string) => Type.String({
  maxLength: 40,
  description: `${what}: an ISO-8601 date-time, or a date alone (YYYY-MM-DD, UTC)`,
});

const AuditQuery = Type.Object({
  eventType: Type.Optional(Type.String({ maxLength: 100 })),
  action: Type.Optional(Type.String({ maxLength: 200 })),
  status: Type.Optional(Type.Union(['pending', 'approved', 'denied', 'expired', 'cancelled'].map((s) => Type.Literal(s)), { description: 'The request\'s current status' })),
  actor: Type.Optional(Type.String({ maxLength: 200, description: '`key:ops-bot`, `policy:small-payments`, `reviewer:Alice`, `system`; a bare name or id also works' })),
  requestId: Type.Optional(Type.String({ maxLength: 64 })),
  from: Type.Optional(DateBound('Entries at or after this; a date alone means from the start of that day')),
  to: Type.Optional(DateBound('Entries before this; a date alone means to the end of that day')),
  limit: Type.Optional(PageLimit(MAX_LIMIT, DEFAULT_LIMIT)),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'Skip this many entries (or page with cursor)' })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'The nextCursor of the previous page' })),
}, { additionalProperties: false });

const MAX_DISTINCT = 1000;

export async function auditRoutes(app: FastifyInstance, opts: { sql: Sql }) {
  app.get('/api/audit', {
    config: { scope: 'audit:read' },
    schema: {
      tags: ['audit'], summary: 'Search the audit log (a projection of the event log), newest first',
      description: 'One entry per event, and one more for each decision a policy made as a request was created. Pages by `cursor` (the `nextCursor` of the previous page, which also carries its total) or by `offset`.',
      querystring: AuditQuery,
      response: { 200: Type.Object({ entries: Type.Array(AuditEntrySchema), pagination: Pagination }), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => {
    const q = request.query as AuditSearch;
    return searchAudit(opts.sql, { ...q, limit: clampLimit(q.limit, MAX_LIMIT, DEFAULT_LIMIT) });
  });

  app.get('/api/audit/actors', {
    config: { scope: 'audit:read' },
    schema: {
      tags: ['audit'], summary: 'The distinct actors of the audit log, printed as in entries (for a filter list)',
      response: {
        200: Type.Object({
          actors: Type.Array(Type.String()),
          truncated: Type.Boolean({ description: `More than ${MAX_DISTINCT} distinct actors: the list stops there` }),
        }),
        ...errorResponses(401, 403),
      },
    },
  }, async () => auditActors(opts.sql, MAX_DISTINCT));

  app.get('/api/audit/actions', {
    config: { scope: 'audit:read' },
    schema: {
      tags: ['audit'], summary: 'The distinct actions of requests (for a filter list)',
      response: {
        200: Type.Object({
          actions: Type.Array(Type.String()),
          truncated: Type.Boolean({ description: `More than ${MAX_DISTINCT} distinct actions: the list stops there` }),
        }),
        ...errorResponses(401, 403),
      },
    },
  }, async () => auditActions(opts.sql, MAX_DISTINCT));
}
