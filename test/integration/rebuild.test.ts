/**
 * Projections are a pure function of the event log: after a varied history driven
 * through the HTTP API, rebuilding every projection from the log (in-process and with
 * the real `projections:rebuild` script) gives back exactly the same rows.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { connect } from '../../server/src/db/connect.ts';
import { rebuildProjections } from '../../server/src/db/migrate.ts';
import { ROOT_DIR } from '../../server/src/db/paths.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { appRoleUrl, ownerRoleUrl, serverDatabaseEnv } from '../helpers/db.ts';
import { projectionTableNames, snapshot, tamper } from '../helpers/projections.ts';

const run = promisify(execFile);

async function expectStatus(t: Test, h: TestApp, status: number, ...args: Parameters<TestApp['call']>) {
  const res = await h.call(...args);
  t.equal(res.statusCode, status, `${args[0]} ${args[1]} → ${status}: ${res.body.slice(0, 300)}`);
  return res.json();
}

/** Requests, decisions, policies, keys and webhooks: every kind of event the API can cause today. */
async function driveHistory(t: Test, h: TestApp): Promise<void> {
  const has = (method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string) => h.app.hasRoute({ method, url });
  const agent = await h.key(['request:create', 'request:read'], { name: 'mailer agent', rateLimit: 1000 });
  const approver = await h.key(['request:decide', 'request:read'], { name: 'approver' });
  const spare = await h.key(['request:read'], { name: 'spare' });
  const doomed = await h.key(['audit:read'], { name: 'doomed' });

  await expectStatus(t, h, 200, 'PATCH', `/api/keys/${spare.id}`, { body: { name: 'spare (renamed)', scopes: ['request:read', 'audit:read'], rateLimit: 30 } });
  await expectStatus(t, h, 200, 'DELETE', `/api/keys/${doomed.id}`);
  await expectStatus(t, h, 409, 'DELETE', `/api/keys/${doomed.id}`);

  if (has('POST', '/api/policies')) {
    await expectStatus(t, h, 201, 'POST', '/api/policies', {
      body: { name: 'reads are fine', priority: 10, rules: [{ match: { action: 'read_file' }, decision: 'auto_approve' }] },
    });
    const deny = await expectStatus(t, h, 201, 'POST', '/api/policies', {
      body: { name: 'never drop', priority: 20, rules: [{ match: { action: 'drop_table' }, decision: 'auto_deny' }] },
    });
    await expectStatus(t, h, 201, 'POST', '/api/policies', {
      body: {
        name: 'payments need a reason', priority: 30, description: 'money moves only with a why',
        rules: [{ match: { action: 'pay', 'params.amount': { $gte: 100 } }, decision: 'route_to_human', approvers: [approver.id], requireReason: true }],
      },
    });
    await expectStatus(t, h, 200, 'PUT', `/api/policies/${deny.id}`, {
      body: { name: 'never drop tables', priority: 5, rules: [{ match: { action: 'drop_table' }, decision: 'auto_deny' }] },
    });
    const gone = await expectStatus(t, h, 201, 'POST', '/api/policies', {
      body: { name: 'short-lived', enabled: false, rules: [{ match: {}, decision: 'auto_approve' }] },
    });
    await expectStatus(t, h, 200, 'DELETE', `/api/policies/${gone.id}`);
  } else {
    t.comment('no policy routes yet: history without policies');
  }

  if (has('POST', '/api/overrides')) {
    await expectStatus(t, h, 201, 'POST', '/api/overrides', { body: { action: 'deploy_*', decision: 'route_to_human', reason: 'freeze' } });
    const gone = await expectStatus(t, h, 201, 'POST', '/api/overrides', { body: { agentId: '*', toolPattern: 'rm_*', action: 'deny', ttlSeconds: 3600 } });
    await expectStatus(t, h, 200, 'DELETE', `/api/overrides/${gone.id}`);
  }

  if (has('POST', '/api/webhooks')) {
    const hook = await expectStatus(t, h, 201, 'POST', '/api/webhooks', {
      body: { url: 'http://127.0.0.1:9/hook', events: ['request.decided'], description: 'audit sink' },
    });
    await expectStatus(t, h, 200, 'PATCH', `/api/webhooks/${hook.id}`, { body: { enabled: false, events: ['request.decided', 'request.created'] } });
    const gone = await expectStatus(t, h, 201, 'POST', '/api/webhooks', { body: { url: 'http://127.0.0.1:9/other', events: ['*'], enabled: false } });
    await expectStatus(t, h, 200, 'DELETE', `/api/webhooks/${gone.id}`);
  } else {
    t.comment('no webhook routes yet: history without webhooks');
  }

  const ask = (body: object, headers?: Record<string, string>) =>
    h.call('POST', '/api/requests', { key: agent.key, body, ...(headers ? { headers } : {}) });

  const approved = (await ask({ action: 'send_email', params: { to: 'a@b.c' }, urgency: 'high' })).json();
  await expectStatus(t, h, 200, 'POST', `/api/requests/${approved.id}/decide`, { key: approver.key, body: { decision: 'approved', reason: 'fine', decidedBy: 'Alice' } });
  await expectStatus(t, h, 409, 'POST', `/api/requests/${approved.id}/decide`, { key: approver.key, body: { decision: 'denied' } });

  const denied = (await ask({ action: 'send_email', params: { to: 'x@evil.example' }, context: { agent: 'mailer' } })).json();
  await expectStatus(t, h, 200, 'POST', `/api/requests/${denied.id}/decide`, { body: { decision: 'denied', reason: 'not that address' } });

  const cancelled = (await ask({ action: 'send_sms', urgency: 'low' })).json();
  await expectStatus(t, h, 200, 'POST', `/api/requests/${cancelled.id}/cancel`, { key: agent.key, body: { reason: 'changed my mind' } });

  // Decision links: one pair used (the request decided by email), one left waiting.
  const linked = (await ask({ action: 'send_email', params: { to: 'ops@b.c' } })).json();
  const links = await expectStatus(t, h, 201, 'POST', `/api/requests/${linked.id}/tokens`, { key: approver.key, body: { reviewer: 'bob@example.com' } });
  await expectStatus(t, h, 201, 'POST', `/api/requests/${linked.id}/tokens`, { key: approver.key });
  const used = await h.app.inject({ method: 'POST', url: '/decide', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${links.tokens.deny.token}&reason=no` });
  t.equal(used.statusCode, 200, 'a decision link decides');

  const later = new Date(Date.now() + 3_600_000).toISOString();
  await expectStatus(t, h, 201, 'POST', '/api/requests', { key: agent.key, body: { action: 'deploy', urgency: 'critical', expiresAt: later } });

  const first = await ask({ action: 'charge', params: { amount: 5 } }, { 'idempotency-key': 'retry-1' });
  t.equal(first.statusCode, 201);
  const retry = await ask({ action: 'charge', params: { amount: 5 } }, { 'idempotency-key': 'retry-1' });
  t.equal(retry.statusCode, 200, 'an idempotent retry returns the same request');
  t.equal(retry.json().id, first.json().id);
  t.equal((await ask({ action: 'charge', params: { amount: 6 } }, { 'idempotency-key': 'retry-1' })).statusCode, 422);

  if (has('POST', '/api/policies')) {
    const auto = (await ask({ action: 'read_file', params: { path: '/etc/motd' } })).json();
    t.equal(auto.status, 'approved', 'auto-approved by policy');
    const autoDenied = (await ask({ action: 'drop_table', params: { table: 'users' } })).json();
    t.equal(autoDenied.status, 'denied', 'auto-denied by policy');
    const pay = (await ask({ action: 'pay', params: { amount: 250 } })).json();
    await expectStatus(t, h, 400, 'POST', `/api/requests/${pay.id}/decide`, { key: approver.key, body: { decision: 'approved' } });
    await expectStatus(t, h, 403, 'POST', `/api/requests/${pay.id}/decide`, { body: { decision: 'approved', reason: 'admin is not an approver here' } });
    await expectStatus(t, h, 200, 'POST', `/api/requests/${pay.id}/decide`, { key: approver.key, body: { decision: 'approved', reason: 'invoice 7' } });
  }
}

t.test('rebuilding every projection from the log gives back the same rows', async (t) => {
  const h = await testApp(t);
  await driveHistory(t, h);

  const tables = projectionTableNames();
  for (const known of ['requests', 'idempotency_keys', 'policies', 'api_keys', 'webhooks']) {
    t.ok(tables.includes(known), `projection table ${known} is discovered`);
  }
  const live = await snapshot(h.sql, tables);
  const populated = ['requests', 'idempotency_keys', 'api_keys'];
  if (h.app.hasRoute({ method: 'POST', url: '/api/policies' })) populated.push('policies');
  if (h.app.hasRoute({ method: 'POST', url: '/api/webhooks' })) populated.push('webhooks');
  for (const table of populated) {
    t.ok(live[table]!.length > 0, `${table} has rows to compare (${live[table]!.length})`);
  }
  const eventCount = (await h.sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;
  // The audit log is a view over events: nothing to rebuild, one entry per event, and one
  // more for each policy decision recorded inside a request.created.
  const audit = async () => h.sql`select * from audit_log order by id, part`;
  const liveAudit = await audit();
  const [{ n: decidedAtCreation }] = await h.sql<[{ n: number }]>`
    select count(*)::int as n from events where type = 'request.created' and jsonb_typeof(data->'autoDecision') = 'object'`;
  t.equal(liveAudit.length, eventCount + decidedAtCreation, 'one audit entry per event, and per decision made at creation');

  await tamper(h.sql, tables);
  t.notSame(await snapshot(h.sql, tables), live, 'the tampered tables differ');
  // As the owner, as `npm run projections:rebuild` does: the rebuilt tables stay its own.
  const owner = connect(ownerRoleUrl(h.dbUrl), { max: 1 });
  t.teardown(() => owner.end({ timeout: 1 }));
  const result = await rebuildProjections(owner);
  t.equal(result.events, eventCount, 'every event replayed');
  t.same(await snapshot(h.sql, tables), live, 'rebuildProjections restores every row');
  t.same([...await audit()], [...liveAudit], 'the audit entries read the same after the rebuild');

  t.test('the projections:rebuild script does the same', async (t) => {
    await tamper(h.sql, tables);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'server/src/projections-rebuild.ts'], {
      cwd: ROOT_DIR,
      env: { ...process.env, ...serverDatabaseEnv(h.dbUrl) },
      timeout: 120_000,
    });
    t.match(stdout, new RegExp(`replayed ${eventCount} events in \\d+ ms`));
    t.same(await snapshot(h.sql, tables), live, 'the script restores every row');

    const after = await h.call('GET', '/api/requests?limit=100');
    t.equal(after.statusCode, 200);
    t.ok(after.json().requests.every((r: { status: string }) => r.status !== 'bogus'), 'the API reads the rebuilt rows');
  });

  t.test('the script refuses the application role alone: rebuilding is the owner\'s work', async (t) => {
    const failed = await run(process.execPath, ['--import', 'tsx', 'server/src/projections-rebuild.ts'], {
      cwd: ROOT_DIR,
      env: { ...process.env, DATABASE_URL: appRoleUrl(h.dbUrl), MIGRATION_DATABASE_URL: '' },
      timeout: 120_000,
    }).then(() => null, (err: { code: number; stderr: string }) => err);
    t.equal(failed?.code, 1, 'exit code 1');
    t.match(failed?.stderr, /may not rebuild the projections .*set MIGRATION_DATABASE_URL/);
    t.same(await snapshot(h.sql, tables), live, 'nothing changed');
  });

  t.test('the script refuses clearly when the database is unreachable', async (t) => {
    const failed = await run(process.execPath, ['--import', 'tsx', 'server/src/projections-rebuild.ts'], {
      cwd: ROOT_DIR,
      env: { ...process.env, DATABASE_URL: 'postgres://agentgate:s3cret@127.0.0.1:1/agentgate' },
      timeout: 60_000,
    }).then(() => null, (err: { code: number; stdout: string; stderr: string }) => err);
    t.ok(failed, 'it fails');
    t.equal(failed?.code, 1, 'exit code 1');
    t.match(failed?.stderr, /Cannot reach the database at postgres:\/\/agentgate:\*\*\*@127\.0\.0\.1:1\/agentgate/);
    t.match(failed?.stderr, /Nothing was rebuilt/);
    t.notMatch(failed?.stderr, /s3cret/, 'the password is not printed');
    t.notMatch(failed?.stderr, /\n\s+at /, 'no stack trace');
  });
});
