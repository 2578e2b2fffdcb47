import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../db/connect.ts';
import { errorResponses, JsonObject, Nullable, Pagination, Timestamp } from '../http/schemas.ts';
import { searchAudit, type AuditSearch } from './queries.ts';

export const AuditEntrySchema = Type.Object({
  id: Type.String(),
  position: Type.Integer({ description: 'Position of the event in the log' }),
  requestId: Nullable(Type.String()),
  streamId: Type.String(),
  eventType: Type.String({ description: 'created, policy_evaluated, approved, … for requests; policy.updated, apikey.revoked, … otherwise' }),
  event: Type.String({ description: 'The full event type' }),
  action: Nullable(Type.String()),
  actor: Type.Object({
    type: Type.String(), id: Type.String(), name: Type.String(),
    channel: Type.Optional(Type.String({ description: 'A reviewer deciding from a channel: which one' })),
    externalId: Type.Optional(Type.String({ description: "The channel's own user id (Slack U…, Discord id, email)" })),
    keyId: Type.Optional(Type.String({ description: 'A reviewer deciding with their linked API key: that key' })),
  }),
  channel: Nullable(Type.String()),
  details: JsonObject,
  createdAt: Timestamp,
});

const AuditQuery = Type.Object({
  eventType: Type.Optional(Type.String({ maxLength: 100 })),
  action: Type.Optional(Type.String({ maxLength: 200 })),
  actor: Type.Optional(Type.String({ maxLength: 200 })),
  requestId: Type.Optional(Type.String({ maxLength: 64 })),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 100 })),
}, { additionalProperties: false });

export async function auditRoutes(app: FastifyInstance, opts: { sql: Sql }) {
  app.get('/api/audit', {
    config: { scope: 'audit:read' },
    schema: {
      tags: ['audit'], summary: 'Search the audit log (a projection of the event log), newest first',
      querystring: AuditQuery,
      response: { 200: Type.Object({ entries: Type.Array(AuditEntrySchema), pagination: Pagination }), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => searchAudit(opts.sql, request.query as AuditSearch));
}
