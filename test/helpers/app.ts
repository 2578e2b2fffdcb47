import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { connect, type Sql } from '../../server/src/db/connect.ts';
import { buildApp, type AppOptions } from '../../server/src/http/app.ts';
import { bootstrapAdminKey } from '../../server/src/keys/commands.ts';
import { testDatabase } from './db.ts';

export interface TestApp {
  app: FastifyInstance;
  /** The database as its superuser, for the test's own set-up and inspection. */
  sql: Sql;
  /** The connection the app runs on: the application's restricted role. */
  appSql: Sql;
  dbUrl: string;
  /** The application's role (DATABASE_URL of a server process on this database). */
  appUrl: string;
  adminKey: string;
  /** app.inject with a bearer key and a JSON body. */
  call(method: InjectOptions['method'], url: string, opts?: { key?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  /** Creates a key with the given scopes (through the API) and returns its plaintext and id. */
  key(scopes: string[], opts?: { name?: string; rateLimit?: number | null }): Promise<{ key: string; id: string }>;
}

export async function testApp(t: Test, options: Partial<AppOptions> = {}): Promise<TestApp> {
  const { sql, url, appUrl } = await testDatabase(t);
  // The app runs as the application's role, as a server does: whatever it needs beyond
  // that role's privileges fails here first.
  const appSql = connect(appUrl);
  const app = await buildApp({ sql: appSql, logLevel: 'silent', webhookAllowPrivate: true, ...options });
  t.teardown(async () => {
    await app.close();
    await appSql.end({ timeout: 1 });
  });
  const boot = await bootstrapAdminKey(appSql);
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
  return { app, sql, appSql, dbUrl: url, appUrl, adminKey, call, key };
}
