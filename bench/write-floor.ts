/**
 * The write floor: what the cheapest durable write costs through this same server. A POST
 * that takes a create's body and key (the same authentication, rate-limit count, scope
 * check, body validation and answer schema as `POST /api/requests`) and whose only work is
 * one single-row INSERT in autocommit, into a table with nothing but a primary key: no
 * event, no projection, no policy, no trigger, no group commit. A create cannot cost less
 * than a write, so creates ÷ this floor says how much of a create's cost is its own, and
 * the HTTP floor ÷ this floor how much any write costs next to a read-only answer.
 *
 * Registered only by the bench's server child (bench/server.ts, through `routes` of
 * buildApp): the API itself has no such route.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Sql } from '../server/src/db/connect.ts';
import { AppError } from '../server/src/errors.ts';
import { principalOf } from '../server/src/http/auth.ts';
import { newId } from '../server/src/ids.ts';
import { ApprovalRequest, CreateRequestBody, type CreateRequestBody as CreateBody } from '../server/src/requests/schemas.ts';

export const WRITE_FLOOR_PATH = '/bench/write-floor';

/** The floor's table; made by the bench in each database it measures (see createWriteFloorTable). */
export async function createWriteFloorTable(sql: Sql): Promise<void> {
  await sql`create table if not exists bench_write_floor (id text primary key, body jsonb not null, created_at timestamptz not null default now())`;
  // The server may connect as a role of less privilege than the bench's.
  await sql`grant select, insert on bench_write_floor to public`;
}

export const writeFloorRoutes: FastifyPluginAsync<{ sql: Sql }> = async (app, { sql }) => {
  app.post(WRITE_FLOOR_PATH, {
    config: { scope: 'request:create' },
    schema: { hide: true, body: CreateRequestBody, response: { 201: ApprovalRequest } },
  }, async (request, reply) => {
    if (request.body === undefined) throw new AppError('VALIDATION_ERROR', 'A JSON body is required', [{ field: 'body', message: 'is required' }]);
    const body = request.body as CreateBody;
    const requester = principalOf(request);
    const id = newId('request');
    const [row] = await sql<{ created_at: Date }[]>`
      insert into bench_write_floor (id, body) values (${id}, ${sql.json(body as never)}) returning created_at`;
    const at = row!.created_at.toISOString();
    // The answer a routed create gives (requests/created-view.ts), so both serialise the same.
    const answer: ApprovalRequest = {
      id, action: body.action, params: body.params ?? {}, context: body.context ?? {}, status: 'pending',
      urgency: body.urgency ?? 'normal', createdAt: at, updatedAt: at, decidedAt: null, decidedBy: null, decider: null,
      decidedByLabel: null, decisionReason: null, expiresAt: null, requester: { id: requester.id, name: requester.name }, policyDecision: null,
    };
    return reply.code(201).send(answer);
  });
};
