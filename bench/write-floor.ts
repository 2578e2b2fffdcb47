/**
 * The write floor: what the cheapest durable write costs through this same server. A POST
 * that takes a create's body and key (the same authentication, rate-limit count, scope
 * check, body validation and answer schema as `POST /api/requests`) and whose only work is
 * one row written into a table with nothing but a primary key, group-committed as creates
 * are (db/group-commit.ts, the same window): no event, no projection, no policy, no
 * trigger. A create cannot cost less than a write, so creates ÷ this floor says how much
 * of a create's cost is its own, and this floor ÷ the HTTP floor how much any write costs
 * next to a read-only answer: the ceiling of a create's ratio to the HTTP floor.
 *
 * Registered only by the bench's server child (bench/server.ts, through `routes` of
 * buildApp): the API itself has no such route.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Sql } from '../server/src/db/connect.ts';
import { GroupCommit } from '../server/src/db/group-commit.ts';
import { AppError } from '../server/src/errors.ts';
import { principalOf } from '../server/src/http/auth.ts';
import { newId } from '../server/src/ids.ts';
import { ApprovalRequest, CreateRequestBody, type CreateRequestBody as CreateBody } from '../server/src/requests/schemas.ts';

export const WRITE_FLOOR_PATH = '/bench/write-floor';

/** The floor's table, made by the bench in each database it measures. */
export async function createWriteFloorTable(sql: Sql): Promise<void> {
  await sql`create table if not exists bench_write_floor (id text primary key, body jsonb not null, created_at timestamptz not null default now())`;
  // The server may connect as a role of less privilege than the bench's.
  await sql`grant select, insert on bench_write_floor to public`;
}

interface Row {
  id: string;
  body: unknown;
}

interface Written {
  created_at: Date;
}

/** The floor's routes; `groupCommitMs` as the server's creates have it (0: each row alone). */
export const writeFloorRoutes = (options: { groupCommitMs: number }): FastifyPluginAsync<{ sql: Sql }> => async (app, { sql }) => {
  const rows = new GroupCommit<Row, Written, null>(async (items) => {
    const written = await sql<(Written & { id: string })[]>`
      insert into bench_write_floor (id, body)
      select x.row->>'id', x.row->'body' from jsonb_array_elements(${sql.json(items as never)}::jsonb) with ordinality as x(row, n)
      order by x.n
      returning id, created_at`;
    const byId = new Map(written.map((w) => [w.id, w]));
    return items.map((i) => byId.get(i.id)!);
  }, { windowMs: options.groupCommitMs });
  app.post(WRITE_FLOOR_PATH, {
    config: { scope: 'request:create' },
    schema: { hide: true, body: CreateRequestBody, response: { 201: ApprovalRequest } },
  }, async (request, reply) => {
    if (request.body === undefined) throw new AppError('VALIDATION_ERROR', 'A JSON body is required', [{ field: 'body', message: 'is required' }]);
    const body = request.body as CreateBody;
    const requester = principalOf(request);
    const id = newId('request');
    const row = await rows.add({ id, body }, null);
    const at = row.created_at.toISOString();
    // The answer a routed create gives (requests/created-view.ts), so both serialise the same.
    const answer: ApprovalRequest = {
      id, action: body.action, params: body.params ?? {}, context: body.context ?? {}, status: 'pending',
      urgency: body.urgency ?? 'normal', createdAt: at, updatedAt: at, decidedAt: null, decidedBy: null, decider: null,
      decidedByLabel: null, decisionReason: null, expiresAt: null, requester: { id: requester.id, name: requester.name }, policyDecision: null,
    };
    return reply.code(201).send(answer);
  });
};
