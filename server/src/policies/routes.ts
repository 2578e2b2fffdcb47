import type { FastifyInstance } from 'fastify';
import type { Sql } from '../db/connect.ts';
// Routes for policies are written in policies/ (see docs/architecture.md).
export async function policyRoutes(_app: FastifyInstance, _opts: { sql: Sql }) {}
