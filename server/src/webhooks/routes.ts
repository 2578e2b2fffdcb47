import type { FastifyInstance } from 'fastify';
import type { Sql } from '../db/connect.ts';
export async function webhookRoutes(_app: FastifyInstance, _opts: { sql: Sql; allowPrivate: boolean }) {}
