/**
 * /api/overrides: temporary, event-sourced rules in front of every policy, in both our
 * shape and the original API's.
 */
import t from 'tap';
import { testApp, type TestApp } from '../helpers/app.ts';

async function ask(h: TestApp, action: string, key?: string) {
  const res = await h.call('POST', '/api/requests', { key, body: { action } });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json() as { id: string; status: string; policyDecision: { decision: string; overrideId?: string; reason: string } };
}

t.test('an override holds what a policy would approve, denies outright, and stops when removed or expired', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read']);
  const other = await h.key(['request:create', 'request:read']);
  t.equal((await h.call('POST', '/api/policies', { body: { name: 'deploys', priority: 1, rules: [{ match: { action: 'deploy_*' }, decision: 'auto_approve' }] } })).statusCode, 201);
  t.equal((await ask(h, 'deploy_web', agent.key)).status, 'approved', 'the policy approves deploys');

  const hold = await h.call('POST', '/api/overrides', { body: { action: 'deploy_*', decision: 'route_to_human', reason: 'change freeze' } });
  t.equal(hold.statusCode, 201, hold.body);
  t.match(hold.json(), { id: /^ovr_/, action: 'deploy_*', agentKeyId: null, decision: 'route_to_human', reason: 'change freeze', expiresAt: null, createdBy: { type: 'key' } });
  const held = await ask(h, 'deploy_web', agent.key);
  t.equal(held.status, 'pending', 'held for a person instead');
  t.match(held.policyDecision, { decision: 'route_to_human', overrideId: hold.json().id, reason: /change freeze/ });
  t.equal((await ask(h, 'read_logs', agent.key)).status, 'pending', 'an action it does not match is left to the policies (none: a person)');

  const deny = await h.call('POST', '/api/overrides', { body: { action: 'deploy_db', agentKeyId: agent.id, decision: 'auto_deny', reason: 'this agent broke prod' } });
  t.equal(deny.statusCode, 201);
  const denied = await ask(h, 'deploy_db', agent.key);
  t.equal(denied.status, 'denied', 'a deny wins over a hold that matches too');
  t.equal(denied.policyDecision.overrideId, deny.json().id);
  t.equal((await ask(h, 'deploy_db', other.key)).status, 'pending', 'another key is only held');

  const listed = (await h.call('GET', '/api/overrides')).json() as { overrides: Array<{ id: string }> };
  t.same(listed.overrides.map((o) => o.id), [hold.json().id, deny.json().id], 'listed oldest first');

  const removed = await h.call('DELETE', `/api/overrides/${hold.json().id}`);
  t.same(removed.json(), { success: true, id: hold.json().id });
  t.equal((await ask(h, 'deploy_web', agent.key)).status, 'approved', 'removed: the policy decides again at once');
  t.equal((await h.call('DELETE', `/api/overrides/${hold.json().id}`)).statusCode, 404, 'removing twice is a 404');

  const brief = await h.call('POST', '/api/overrides', {
    body: { action: 'deploy_web', decision: 'auto_deny', reason: 'one second', expiresAt: new Date(Date.now() + 1500).toISOString() },
  });
  t.equal(brief.statusCode, 201);
  t.equal((await ask(h, 'deploy_web', agent.key)).status, 'denied', 'in force until it expires');
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(brief.json().expiresAt) - Date.now()) + 50));
  t.equal((await ask(h, 'deploy_web', agent.key)).status, 'approved', 'expired: no longer applies, nothing appended');
  t.notOk(((await h.call('GET', '/api/overrides')).json() as { overrides: Array<{ id: string }> }).overrides.some((o) => o.id === brief.json().id), 'and no longer listed');

  const events = await h.sql<{ type: string }[]>`select type from events where stream_type = 'override' order by position`;
  t.same(events.map((e) => e.type), ['override.created', 'override.created', 'override.removed', 'override.created'], 'every change is an event on override-<id>');
});

t.test('the original API\'s body, and bad input', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create']);
  const res = await h.call('POST', '/api/overrides', { body: { agentId: agent.id, toolPattern: 'fs.*', action: 'deny', reason: 'no files', ttlSeconds: 600 } });
  t.equal(res.statusCode, 201, res.body);
  const o = res.json();
  t.match(o, { action: 'fs.*', toolPattern: 'fs.*', agentKeyId: agent.id, agentId: agent.id, decision: 'auto_deny', reason: 'no files' });
  t.ok(Math.abs(Date.parse(o.expiresAt) - (Date.now() + 600_000)) < 10_000, 'ttlSeconds became expiresAt');
  t.equal((await ask(h, 'fs.write', agent.key)).status, 'denied');
  const everyone = await h.call('POST', '/api/overrides', { body: { agentId: '*', toolPattern: 'shell', action: 'require_approval' } });
  t.match(everyone.json(), { agentKeyId: null, decision: 'route_to_human', reason: 'no reason given' });

  const bad = async (body: unknown, field: RegExp) => {
    const r = await h.call('POST', '/api/overrides', { body });
    t.equal(r.statusCode, 400, JSON.stringify(body));
    t.match(JSON.stringify(r.json().error), field);
  };
  await bad({ action: 'x', decision: 'auto_approve', reason: 'r' }, /decision|body/);
  await bad({ action: 'x', decision: 'auto_deny' }, /reason|body/);
  await bad({ action: 'x', decision: 'auto_deny', reason: 'r', expiresAt: new Date(Date.now() - 1000).toISOString() }, /expiresAt/);
  await bad({ action: 'x', decision: 'auto_deny', reason: 'r', agentKeyId: 'bob' }, /agentKeyId/);
  await bad({ agentId: 'agt_1', toolPattern: 'x', action: 'deny' }, /agentId/);
  await bad({ agentId: '*', toolPattern: 'x', action: 'deny', ttlSeconds: -5 }, /ttlSeconds|body/);
  t.equal((await h.call('DELETE', '/api/overrides/nope')).statusCode, 400);
  const reader = await h.key(['policy:read']);
  t.equal((await h.call('GET', '/api/overrides', { key: reader.key })).statusCode, 200, 'policy:read lists them');
  t.equal((await h.call('POST', '/api/overrides', { key: reader.key, body: { action: 'x', decision: 'auto_deny', reason: 'r' } })).statusCode, 403, 'policy:write makes them');
  t.equal((await h.sql`select 1 from events where stream_type = 'override'`).length, 2, 'nothing half-written by the refused ones');
});

t.test("an override's denial is the override's own in the request and the audit trail, not a nameless policy's", async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read']);
  t.equal((await h.call('POST', '/api/policies', { body: { name: 'deploys', priority: 1, rules: [{ match: { action: 'deploy_*' }, decision: 'auto_approve' }] } })).statusCode, 201);
  const deny = (await h.call('POST', '/api/overrides', { body: { action: 'deploy_db', decision: 'auto_deny', reason: 'freeze' } })).json() as { id: string };
  const denied = await ask(h, 'deploy_db', agent.key);
  t.equal(denied.status, 'denied');
  const label = `override:${deny.id}`;

  const request = (await h.call('GET', `/api/requests/${denied.id}`)).json();
  t.match(request.decider, { type: 'override', id: deny.id, name: label }, 'the request names the override as its decider');

  const trail = (await h.call('GET', `/api/audit?requestId=${denied.id}`)).json() as { entries: Array<{ eventType: string; actor: string; actorInfo: { type: string; id: string } }> };
  const decision = trail.entries.find((e) => e.eventType === 'denied');
  t.match(decision, { actor: label, actorInfo: { type: 'override', id: deny.id } }, 'its audit entry is printed as the override');
  t.notOk(trail.entries.some((e) => e.actor === 'policy:null'), 'no nameless policy in the trail');

  const byActor = (await h.call('GET', `/api/audit?actor=${encodeURIComponent(label)}`)).json() as { entries: Array<{ requestId: string; eventType: string }>; pagination: { total: number } };
  t.same(byActor.entries.map((e) => [e.requestId, e.eventType]), [[denied.id, 'denied']], 'actor=override:<id> finds the denial');
  t.equal(byActor.pagination.total, 1);
  const actors = (await h.call('GET', '/api/audit/actors')).json() as { actors: string[] };
  t.ok(actors.actors.includes(label), 'the override is among the actors');
  t.ok(actors.actors.includes('policy:deploys') === false, 'the policy it overrode decided nothing');
});
