import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ROOT_DIR } from '../db/paths.ts';

/** Serves the dashboard's entry page (web/). */
export async function dashboardRoutes(app: FastifyInstance) {
  const indexPath = path.join(ROOT_DIR, 'web', 'index.html');
  app.get('/', { config: { scope: null }, schema: { hide: true } }, async (_request, reply) => {
    reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-cache');
    return readFile(indexPath, 'utf8');
  });
}
