import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import type { Sql } from '../../server/src/db/connect.ts';
import { buildApp, type AppOptions } from '../../server/src/http/app.ts';
import { bootstrapAdminKey } from '../../server/src/keys/commands.ts';
import { testDatabase } from './db.ts';

export interface TestApp {
  app: FastifyInstance;
  sql: Sql;
  dbUrl: string;
  adminKey: string;
  /** app.inject with a bearer key and a JSON body. */
  call(method: InjectOptions['method'], url: string, opts?: { key?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  /** Creates a key with the given scopes (through the API) and returns its plaintext and id. */
  key(scopes: string[], opts?: { name?: string; rateLimit?: number | null }): Promise<{ key: string; id: string }>;
}

export async function testApp(t: Test, options: Partial<AppOptions> = {}): Promise<TestApp> {
  const { sql, url } = await testDatabase(t);
  const app = await buildApp({ sql, logLevel: 'silent', webhookAllowPrivate: true, ...options });
  t.teardown(() => app.close());
  const boot = await bootstrapAdminKey(sql);
  const adminKey = boot.key!;
  const call: TestApp['call'] = (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? adminKey : opts.key;
    if (key) headers.authorization = `Bearer ${key}`;
    const inject: InjectOptions = { method, url: path, headers };
    if (opts.body !== undefined) {
      inject.payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    return app.inject(inject);
  };
  let n = 0;
  const key: TestApp['key'] = async (scopes, o = {}) => {
    const res = await call('POST', '/api/keys', { body: { name: o.name ?? `test key ${++n}`, scopes, rateLimit: o.rateLimit ?? null } });
    if (res.statusCode !== 201) throw new Error(`key creation failed: ${res.statusCode} ${res.body}`);
    const body = res.json() as { key: string; id: string };
    return { key: body.key, id: body.id };
  };
  return { app, sql, dbUrl: url, adminKey, call, key };
}
