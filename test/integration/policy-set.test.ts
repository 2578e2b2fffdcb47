/**
 * Policies are compiled once per process and kept in memory; a change made through
 * another server process is in force for the next create here, both through the live hub
 * (a reload on `policy.*`) and through the guard on the append (policy_set.version).
 */
import t from 'tap';
import { testApp } from '../helpers/app.ts';
import { serverDatabaseEnv } from '../helpers/db.ts';
import { startServerProcess } from '../helpers/process.ts';
import { eventually } from '../helpers/worker.ts';

t.test('a policy change through another process is in force for the next create', async (t) => {
  const h = await testApp(t);
  const admin = await h.key(['admin'], { name: 'second process admin' });
  const other = await startServerProcess(serverDatabaseEnv(h.dbUrl));
  t.teardown(() => { other.child.kill('SIGKILL'); });
  const viaOther = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${other.base}${path}`, {
      method, headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    t.ok(res.ok, `${method} ${path} through the other process: ${res.status}`);
    return res.json() as Promise<{ id: string; version: number }>;
  };
  const agent = await h.key(['request:create', 'request:read'], { name: 'agent' });
  const create = async () => {
    const res = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy' } });
    t.equal(res.statusCode, 201, res.body);
    return res.json() as { status: string; policyDecision: { policyVersion: number | null } };
  };
  const rule = (decision: string) => ({ name: 'deploys', priority: 1, rules: [{ match: { action: 'deploy' }, decision }] });
  const dbVersion = async () => Number((await h.sql<{ version: string }[]>`select version::text from policy_set`)[0]!.version);

  t.equal((await create()).status, 'pending', 'no policy yet: routed to humans');
  const policy = await viaOther('POST', '/api/policies', rule('auto_approve'));
  t.match(await create(), { status: 'approved', policyDecision: { policyVersion: 1 } }, 'the new policy decides the very next create');

  t.test('the live hub reloads the set on a policy event, without any create asking', async (t) => {
    await viaOther('PUT', `/api/policies/${policy.id}`, rule('auto_deny'));
    const target = await dbVersion();
    await eventually(async () => (await h.app.policies.current()).version === target, 'the hub to reload the policies');
    const loads = h.app.policies.stats.loads;
    t.match(await create(), { status: 'denied', policyDecision: { policyVersion: 2 } });
    for (let i = 0; i < 10; i++) await create();
    t.equal(h.app.policies.stats.loads, loads, 'creates read no policy: the compiled set serves them');
  });

  t.test('without the hub, the append guard still refuses a stale set', async (t) => {
    h.app.live.detach(h.app.policies);
    t.teardown(() => { h.app.live.attach(h.app.policies); });
    for (const [version, decision, status] of [[3, 'auto_approve', 'approved'], [4, 'route_to_human', 'pending'], [5, 'auto_deny', 'denied']] as const) {
      const updated = await viaOther('PUT', `/api/policies/${policy.id}`, rule(decision));
      t.equal(updated.version, version);
      t.match(await create(), { status, policyDecision: { policyVersion: version } }, `${decision} holds at once`);
    }
    const disabled = await viaOther('PUT', `/api/policies/${policy.id}`, { ...rule('auto_approve'), enabled: false });
    t.equal(disabled.version, 6);
    t.match(await create(), { status: 'pending', policyDecision: { policyId: null } }, 'a disabled policy no longer decides');
  });
});
