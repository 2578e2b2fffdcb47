/**
 * The route × scope matrix. The route set is read from the running app (its OpenAPI
 * document plus its router, which also knows the hidden /api/api-keys aliases) and must
 * equal the table below, so a new /api route without a table entry fails here.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';
import { SCOPES, type Scope } from '../../server/src/keys/scopes.ts';
import { testApp, type TestApp } from '../helpers/app.ts';

interface RouteSpec {
  scope: Scope;
  /** A body that would be accepted, so the exact-scope call exercises the handler, not only the schema. */
  body?: () => unknown;
  query?: string;
  /** In the contract but owned by a later piece of work: missing is reported as a todo, not a failure. */
  planned?: string;
}

let n = 0;
const unique = () => `${Date.now().toString(36)}${++n}`;
const policyBody = () => ({
  name: `scope-check-${unique()}`, priority: 1000, enabled: true,
  rules: [{ match: { action: 'scope_check_never_matches' }, decision: 'route_to_human', approvers: [], channels: [], requireReason: false }],
});
// key:manage alone may grant only key:manage (a key grants no more than it holds).
const keyBody = () => ({ name: `scope-check-${unique()}`, scopes: ['key:manage'], rateLimit: null });
const keyRoutes = (base: string): Record<string, RouteSpec> => ({
  [`POST ${base}`]: { scope: 'key:manage', body: keyBody },
  [`GET ${base}`]: { scope: 'key:manage' },
  [`GET ${base}/:id`]: { scope: 'key:manage' },
  [`PATCH ${base}/:id`]: { scope: 'key:manage', body: () => ({ name: `renamed-${unique()}` }) },
  [`DELETE ${base}/:id`]: { scope: 'key:manage' },
});

/** ../shared/api-contract.md, route by route. */
const ROUTES: Record<string, RouteSpec> = {
  'POST /api/requests': { scope: 'request:create', body: () => ({ action: 'scope_check', params: { n: 1 } }) },
  'POST /api/mcp/authorize': { scope: 'request:create', body: () => ({ toolName: 'scope_check', params: { n: 1 } }) },
  'GET /api/requests': { scope: 'request:read' },
  'GET /api/requests/:id': { scope: 'request:read' },
  'POST /api/requests/:id/decide': { scope: 'request:decide', body: () => ({ decision: 'approved', reason: 'ok' }) },
  'POST /api/requests/:id/cancel': { scope: 'request:create', body: () => ({ reason: 'no longer needed' }) },
  'GET /api/requests/:id/audit': { scope: 'request:read' },
  'GET /api/requests/:id/wait': { scope: 'request:read', query: 'timeout=1' },
  'POST /api/requests/:id/tokens': { scope: 'request:decide', body: () => ({ reviewer: 'scope-check@example.com' }) },

  'GET /api/policies': { scope: 'policy:read' },
  'POST /api/policies': { scope: 'policy:write', body: policyBody },
  'GET /api/policies/:id': { scope: 'policy:read' },
  'PUT /api/policies/:id': { scope: 'policy:write', body: policyBody },
  'DELETE /api/policies/:id': { scope: 'policy:write' },
  // Evaluates a draft without saving it: a read.
  'POST /api/policies/test': { scope: 'policy:read', body: () => ({ policy: policyBody(), request: { action: 'scope_check' } }) },
  'GET /api/overrides': { scope: 'policy:read' },
  'POST /api/overrides': { scope: 'policy:write', body: () => ({ action: `scope_check_${unique()}`, decision: 'route_to_human', reason: 'scope check' }) },
  'DELETE /api/overrides/:id': { scope: 'policy:write' },

  'GET /api/webhooks': { scope: 'webhook:manage' },
  'POST /api/webhooks': { scope: 'webhook:manage', body: () => ({ url: 'https://hooks.example.com/agentgate', events: ['request.created'] }) },
  'GET /api/webhooks/:id': { scope: 'webhook:manage' },
  'PATCH /api/webhooks/:id': { scope: 'webhook:manage', body: () => ({ events: ['*'] }) },
  'DELETE /api/webhooks/:id': { scope: 'webhook:manage' },
  'GET /api/webhooks/:id/deliveries': { scope: 'webhook:manage' },
  'POST /api/webhooks/:id/deliveries/:deliveryId/redeliver': { scope: 'webhook:manage' },
  'POST /api/webhooks/:id/test': { scope: 'webhook:manage' },

  ...keyRoutes('/api/keys'),
  ...keyRoutes('/api/api-keys'),

  'GET /api/reviewers': { scope: 'reviewer:manage' },
  'POST /api/reviewers': { scope: 'reviewer:manage', body: () => ({ name: `scope check ${unique()}`, groups: ['oncall'] }) },
  'GET /api/reviewers/:id': { scope: 'reviewer:manage' },
  'PATCH /api/reviewers/:id': { scope: 'reviewer:manage', body: () => ({ disabled: true }) },
  'DELETE /api/reviewers/:id': { scope: 'reviewer:manage' },

  // Notification channels: who manages who is notified checks that notifications get through.
  'GET /api/channels': { scope: 'reviewer:manage' },
  'POST /api/channels/:type/test': { scope: 'reviewer:manage' },
  'GET /api/channels/:type/tests/:id': { scope: 'reviewer:manage' },

  'GET /api/audit': { scope: 'audit:read' },
  'GET /api/audit/actors': { scope: 'audit:read' },
  'GET /api/audit/actions': { scope: 'audit:read' },
  // The event log as NDJSON: every stream type, so only for audit readers.
  'GET /api/events': { scope: 'audit:read' },
};

/** /api routes open to any valid key, whatever its scopes (checked below: 401 without one). */
const ANY_KEY: Record<string, string> = {
  'GET /api/keys/me': 'the caller\'s own key: a client checks its configuration with it',
};

/** /api routes that authenticate in-band instead of through the HTTP hook; each is checked below. */
const IN_BAND: Record<string, string> = {
  'GET /api/stream': 'WebSocket: browsers cannot set headers on the handshake, so the key comes with it or as the first message',
  // Dashboard sessions (test/integration/sessions.test.ts): the key comes in the body, the session in its cookie.
  'POST /api/session': 'sign-in: the key to exchange is the body',
  'GET /api/session': 'the session of the cookie, or 401',
  'DELETE /api/session': 'sign-out: ends the cookie\'s session (with its anti-CSRF header)',
  // Reviewers' sign-in by an emailed link (test/integration/sign-in-link.test.ts).
  'GET /api/session/methods': 'public: which sign-in methods the page may offer',
  'POST /api/session/email-link': 'asks for a link: the same answer for any address, rate-limited',
  'POST /api/session/email-link/use': 'the emailed token is the credential',
};

/** Routes outside /api are public; this is the whole list of them. */
// OPTIONS * answers CORS preflights, which browsers send without credentials.
// The dashboard: its hashed assets, and index.html for its client routes (GET /*).
// Probes for orchestrators (/live, /ready); /metrics checks METRICS_TOKEN or an admin key itself.
// Channel callbacks check their platform's signature (Slack: v0 HMAC on the raw body).
const PUBLIC_ROUTES = [/^GET \/assets\/[\w.-]+$/, /^GET \/favicon\.svg$/, /^GET \/\*$/, /^GET \/$/, /^GET \/health$/, /^GET \/openapi\.json$/, /^GET \/docs(\/.*)?$/, /^OPTIONS \*$/, /^(GET|POST) \/decide$/,
  /^GET \/(live|ready|metrics)$/, /^POST \/integrations\/slack\/events$/];

/** Scopes that grant `scope` (hasScope in keys/scopes.ts, restated so a change there shows here). */
function grantors(scope: Scope): Scope[] {
  return ['admin', scope, ...(scope === 'policy:read' ? (['policy:write'] as const) : [])];
}

const norm = (route: string) => route.replace(/:[A-Za-z_]\w*/g, ':_');

/** Every route the router knows, as "METHOD /path/:param", HEAD left out (fastify adds it to each GET). */
export function registeredRoutes(app: FastifyInstance): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^(.*?)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = Array.from(m[1]!).length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const path = stack.join('').replace(/\/{2,}/g, '/');
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      if (method !== 'HEAD') out.push(`${method} ${path}`);
    }
  }
  return [...new Set(out)];
}

async function openApiRoutes(h: TestApp): Promise<string[]> {
  const res = await h.call('GET', '/openapi.json', { key: null });
  const paths = res.json().paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
}

/** A well-formed id of the right kind for each parameter, chosen by the segment before it. */
const ID_KIND: Record<string, string> = { requests: 'req', policies: 'pol', webhooks: 'whk', keys: 'key', 'api-keys': 'key', deliveries: 'dlv', reviewers: 'rev', overrides: 'ovr' };
const fakeId = (prefix: string) => `${prefix}_01${'0123456789abcdefghjkmnpqrstvwxyz'.slice(0, 24)}`;

function concreteUrl(route: string, spec: RouteSpec): { method: string; url: string } {
  const [method, path] = route.split(' ') as [string, string];
  const segments = path.split('/');
  const url = segments.map((s, i) => (s.startsWith(':') ? fakeId(ID_KIND[segments[i - 1] ?? ''] ?? 'xxx') : s)).join('/');
  return { method, url: spec.query ? `${url}?${spec.query}` : url };
}

const eventCount = async (h: TestApp) => Number((await h.sql<{ n: string }[]>`select count(*) as n from events`)[0]!.n);

t.test('route × scope matrix', async (t) => {
  const h = await testApp(t);
  const registered = registeredRoutes(h.app);
  const documented = await openApiRoutes(h);
  const apiRoutes = [...new Set([...registered, ...documented].filter((r) => r.split(' ')[1]!.startsWith('/api/')))];

  t.test('the route set equals the table', async (t) => {
    const table = new Map([...Object.keys(ROUTES), ...Object.keys(ANY_KEY), ...Object.keys(IN_BAND)].map((r) => [norm(r), r]));
    for (const r of apiRoutes) {
      t.ok(table.has(norm(r)), `${r} is served: give it an entry (route → scope) in ROUTES of test/integration/scopes.test.ts`);
    }
    const served = new Set(apiRoutes.map(norm));
    for (const [route, spec] of Object.entries(ROUTES)) {
      if (spec.planned) t.ok(served.has(norm(route)), `${route} is served`, served.has(norm(route)) ? {} : { todo: `planned: ${spec.planned}` });
      else t.ok(served.has(norm(route)), `${route} (api-contract.md) is served`);
    }
    for (const route of [...Object.keys(ANY_KEY), ...Object.keys(IN_BAND)]) t.ok(served.has(norm(route)), `${route} is served`);
    for (const r of documented.filter((r) => r.split(' ')[1]!.startsWith('/api/'))) {
      t.ok(registered.some((x) => norm(x) === norm(r)), `${r} in the OpenAPI document is a real route`);
    }
    for (const r of registered.filter((r) => !r.split(' ')[1]!.startsWith('/api/'))) {
      t.ok(PUBLIC_ROUTES.some((p) => p.test(r)), `${r} is outside /api, hence public: is that intended? (PUBLIC_ROUTES)`);
    }
  });

  const served = new Set(apiRoutes.map(norm));
  const routes = Object.entries(ROUTES).filter(([r]) => served.has(norm(r)));

  // One key per scope, and one holding every scope but those that would grant it.
  const exact = new Map<Scope, string>();
  const allBut = new Map<Scope, string>();
  for (const scope of SCOPES.filter((s) => s !== 'admin')) {
    exact.set(scope, (await h.key([scope])).key);
    const others = SCOPES.filter((s) => !grantors(scope).includes(s));
    allBut.set(scope, (await h.key(others)).key);
  }
  const revoked = await h.key(SCOPES.filter((s) => s !== 'admin'));
  const revoke = await h.call('DELETE', `/api/keys/${revoked.id}`);
  t.equal(revoke.statusCode, 200, revoke.body);
  const unknownKey = `agk_${randomBytes(32).toString('base64url')}`;

  t.test('401 without a valid key, 403 without the scope — and nothing written', async (t) => {
    const before = await eventCount(h);
    for (const [route, spec] of routes) {
      const { method, url } = concreteUrl(route, spec);
      const body = spec.body?.();
      const unauthorized: [string, Record<string, string>][] = [
        ['no key', {}],
        ['an unknown agk_ key', { authorization: `Bearer ${unknownKey}` }],
        ['a token that is not a key', { authorization: 'Bearer not-a-key' }],
        ['a Basic header', { authorization: `Basic ${Buffer.from(`x:${h.adminKey}`).toString('base64')}` }],
        ['the admin key without "Bearer"', { authorization: h.adminKey }],
        ['a revoked key', { authorization: `Bearer ${revoked.key}` }],
      ];
      for (const [what, headers] of unauthorized) {
        const res = await h.call(method as 'GET', url, { key: null, headers, body });
        t.equal(res.statusCode, 401, `${route} with ${what} → 401`);
        t.equal(res.json().error?.code, 'UNAUTHORIZED', `${route} with ${what} → UNAUTHORIZED`);
        t.ok(res.headers['x-request-id'], `${route} with ${what} has X-Request-Id`);
      }
      if (method === 'GET') {
        const head = await h.call('HEAD', url, { key: null });
        t.equal(head.statusCode, 401, `HEAD ${route} without a key → 401`);
      }
      const forbidden = await h.call(method as 'GET', url, { key: allBut.get(spec.scope) ?? null, body });
      t.equal(forbidden.statusCode, 403, `${route} with every scope but ${grantors(spec.scope).join('/')} → 403`);
      t.match(forbidden.json(), { error: { code: 'FORBIDDEN', details: { requiredScope: spec.scope } } }, `${route} names "${spec.scope}"`);
      t.match(forbidden.json().error.message, spec.scope, `${route}: the message names the scope`);
    }
    t.equal(await eventCount(h), before, 'no event was written by a refused call');
  });

  t.test('a route open to any key: 401 without a valid one, 200 with a key of any single scope', async (t) => {
    for (const route of Object.keys(ANY_KEY)) {
      const { method, url } = concreteUrl(route, { scope: 'admin' });
      for (const [what, headers] of [['no key', {}], ['an unknown key', { authorization: `Bearer ${unknownKey}` }], ['a revoked key', { authorization: `Bearer ${revoked.key}` }]] as const) {
        const res = await h.call(method as 'GET', url, { key: null, headers });
        t.equal(res.statusCode, 401, `${route} with ${what} → 401`);
      }
      for (const [scope, key] of [...exact, ['admin', h.adminKey] as const]) {
        const res = await h.call(method as 'GET', url, { key });
        t.equal(res.statusCode, 200, `${route} with ${scope} → 200`);
      }
    }
  });

  t.test('the exact scope (and admin) gets past auth', async (t) => {
    for (const [route, spec] of routes) {
      const { method, url } = concreteUrl(route, spec);
      const withScope = spec.scope === 'admin' ? h.adminKey : exact.get(spec.scope)!;
      for (const [who, key] of [[spec.scope, withScope], ['admin', h.adminKey]] as const) {
        const res = await h.call(method as 'GET', url, { key, body: spec.body?.() });
        const code = res.statusCode >= 400 ? res.json().error?.code : null;
        t.notOk([401, 403].includes(res.statusCode), `${route} with ${who} → ${res.statusCode} ${code ?? ''}`.trim());
        t.ok(res.statusCode < 500, `${route} with ${who} is not a server error: ${res.statusCode} ${res.statusCode >= 500 ? res.body : ''}`);
        if (method === 'GET' && !url.includes('/wait')) t.notOk(res.statusCode === 400, `${route} with ${who}: a well-formed GET is not a 400 (${res.body.slice(0, 200)})`);
      }
    }
  });
});

t.test('holding one scope never grants another', async (t) => {
  const h = await testApp(t);
  const creator = await h.key(['request:create', 'request:read']);
  const created = await h.call('POST', '/api/requests', { key: creator.key, body: { action: 'deploy' } });
  t.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  const reader = await h.key(['policy:read']);
  const manager = await h.key(['key:manage']);
  const before = await h.sql`select count(*)::int as n from events`;

  const decide = await h.call('POST', `/api/requests/${id}/decide`, { key: creator.key, body: { decision: 'approved' } });
  t.equal(decide.statusCode, 403, 'request:create cannot decide');
  t.match(decide.json(), { error: { code: 'FORBIDDEN', details: { requiredScope: 'request:decide' } } });

  for (const [method, url] of [['POST', '/api/policies'], ['PUT', `/api/policies/${fakeId('pol')}`], ['DELETE', `/api/policies/${fakeId('pol')}`]] as const) {
    const res = await h.call(method, url, { key: creator.key, body: method === 'DELETE' ? undefined : policyBody() });
    t.equal(res.statusCode, 403, `request:create cannot ${method} policies`);
    t.match(res.json(), { error: { code: 'FORBIDDEN', details: { requiredScope: 'policy:write' } } }, `${method} ${url} names policy:write`);
  }

  const write = await h.call('POST', '/api/policies', { key: reader.key, body: policyBody() });
  t.equal(write.statusCode, 403, 'policy:read cannot write policies');
  t.match(write.json(), { error: { code: 'FORBIDDEN', details: { requiredScope: 'policy:write' } } });

  const mint = await h.call('POST', '/api/keys', { key: manager.key, body: { name: 'escalate', scopes: ['admin'] } });
  t.equal(mint.statusCode, 403, 'key:manage cannot mint an admin key');
  t.match(mint.json(), { error: { code: 'FORBIDDEN', details: { requiredScope: 'admin' } } });
  const mintMixed = await h.call('POST', '/api/api-keys', { key: manager.key, body: { name: 'escalate', scopes: ['request:read', 'admin'] } });
  t.equal(mintMixed.statusCode, 403, 'key:manage cannot mint an admin key through /api/api-keys either');
  const self = await h.call('PATCH', `/api/keys/${manager.id}`, { key: manager.key, body: { scopes: ['key:manage', 'admin'] } });
  t.equal(self.statusCode, 403, 'key:manage cannot promote itself to admin');
  const admins = await h.call('GET', '/api/keys', { key: manager.key });
  const adminId = (admins.json().keys as { id: string; scopes: string[] }[]).find((k) => k.scopes.includes('admin'))!.id;
  const revokeAdmin = await h.call('DELETE', `/api/keys/${adminId}`, { key: manager.key });
  t.equal(revokeAdmin.statusCode, 403, 'key:manage cannot revoke an admin key');
  const demote = await h.call('PATCH', `/api/keys/${adminId}`, { key: manager.key, body: { scopes: ['request:read'] } });
  t.equal(demote.statusCode, 403, 'key:manage cannot change an admin key');

  // A key:manage key hands out only what it holds (see key-escalation.test.ts).
  const widen = await h.call('POST', '/api/keys', { key: manager.key, body: { name: 'reader', scopes: ['request:read'] } });
  t.equal(widen.statusCode, 403, 'key:manage cannot hand out a scope it lacks');
  t.equal(widen.json().error.code, 'KEY_ESCALATION');
  const minted = await h.call('POST', '/api/keys', { key: manager.key, body: { name: 'deputy', scopes: ['key:manage'] } });
  t.equal(minted.statusCode, 201, minted.body);

  const after = await h.sql`select count(*)::int as n from events`;
  t.equal(after[0]!.n, before[0]!.n + 1, 'only the permitted key creation wrote an event');
});

t.test('a revoked key stops working on the very next request', async (t) => {
  const h = await testApp(t);
  const k = await h.key(['request:read', 'key:manage']);
  t.equal((await h.call('GET', '/api/requests', { key: k.key })).statusCode, 200);
  const revoked = await h.call('DELETE', `/api/keys/${k.id}`, { key: k.key });
  t.equal(revoked.statusCode, 200, 'a key:manage key may revoke itself');
  t.equal(revoked.json().revoked, true);
  const next = await h.call('GET', '/api/requests', { key: k.key });
  t.equal(next.statusCode, 401);
  t.match(next.json(), { error: { code: 'UNAUTHORIZED', message: /revoked/ } });
  const again = await h.call('DELETE', `/api/keys/${k.id}`);
  t.equal(again.statusCode, 409, 'revoking twice is a conflict');
  t.equal(again.json().error.code, 'KEY_REVOKED');
  const patched = await h.call('PATCH', `/api/keys/${k.id}`, { body: { scopes: ['admin'] } });
  t.equal(patched.statusCode, 409, 'a revoked key cannot be revived by an update');
  t.equal((await h.call('GET', '/api/requests', { key: k.key })).statusCode, 401, 'still refused');
});

t.test('a route that forgets its scope is admin-only, however its path is spelled', async (t) => {
  const h = await testApp(t);
  h.app.get('/api/forgot-scope', async () => ({ ok: true }));
  const reader = await h.key(['request:read']);
  for (const url of ['/api/forgot-scope', '/%61pi/forgot-scope', '/api/forgot-scope?x=1']) {
    const anonymous = await h.call('GET', url, { key: null });
    t.equal(anonymous.statusCode, 401, `${url} without a key → 401 (${anonymous.body})`);
    const res = await h.call('GET', url, { key: reader.key });
    t.equal(res.statusCode, 403, `${url} with a non-admin key → 403`);
    t.match(res.json(), { error: { code: 'FORBIDDEN', details: { requiredScope: 'admin' } } });
    t.equal((await h.call('GET', url)).statusCode, 200, `${url} with the admin key → 200`);
  }
});

t.test('an unknown route is a 404 for anyone, not a scope error', async (t) => {
  const h = await testApp(t);
  const reader = await h.key(['request:read']);
  for (const key of [null, reader.key, h.adminKey]) {
    const res = await h.call('GET', '/api/requestz', { key });
    t.equal(res.statusCode, 404, `${key === null ? 'no key' : key === h.adminKey ? 'admin' : 'request:read'} → 404`);
    t.equal(res.json().error.code, 'ROUTE_NOT_FOUND');
  }
});

t.test('the WebSocket stream checks the key in-band like the HTTP hook does', async (t) => {
  const h = await testApp(t);
  const reader = await h.key(['request:read']);
  const creator = await h.key(['request:create']);
  const revoked = await h.key(['request:read', 'audit:read']);
  t.equal((await h.call('DELETE', `/api/keys/${revoked.id}`)).statusCode, 200);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = h.app.server.address() as { port: number };

  /** The first thing the server does: close (with its code) or send a message. */
  const firstOutcome = (authorization: string | null, firstMessage?: object) =>
    new Promise<{ closed: number } | { message: { type: string } }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/stream`, ['agentgate.v1'], authorization ? { headers: { authorization } } : {});
      ws.once('error', reject);
      ws.once('open', () => { if (firstMessage) ws.send(JSON.stringify(firstMessage)); });
      ws.once('close', (code) => resolve({ closed: code }));
      ws.once('message', (data) => {
        resolve({ message: JSON.parse(String(data)) });
        ws.close();
      });
    });

  t.same(await firstOutcome(null, { type: 'subscribe' }), { closed: 4001 }, 'no key: subscribing first is refused');
  t.same(await firstOutcome(`Bearer agk_${randomBytes(32).toString('base64url')}`), { closed: 4001 }, 'unknown key → 4001');
  t.same(await firstOutcome('Bearer not-a-key'), { closed: 4001 }, 'not a key → 4001');
  t.same(await firstOutcome(`Bearer ${revoked.key}`), { closed: 4001 }, 'revoked key → 4001');
  t.same(await firstOutcome(null, { type: 'auth', apiKey: revoked.key }), { closed: 4001 }, 'revoked key in the auth message → 4001');
  t.same(await firstOutcome(`Bearer ${creator.key}`), { closed: 4003 }, 'a key that may read nothing → 4003');
  t.match(await firstOutcome(`Bearer ${reader.key}`), { message: { type: 'authenticated' } }, 'request:read gets in');
});
