import t from 'tap';
import { testApp, type TestApp } from '../helpers/app.ts';

interface PolicyJson {
  id: string; name: string; description: string | null; priority: number; enabled: boolean;
  rules: unknown[]; version: number; createdAt: string; updatedAt: string;
}

async function eventCount(h: TestApp): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`select count(*)::int as n from events`;
  return row!.n;
}

async function createPolicy(h: TestApp, body: Record<string, unknown>): Promise<PolicyJson> {
  const res = await h.call('POST', '/api/policies', { body });
  if (res.statusCode !== 201) throw new Error(`policy creation failed: ${res.statusCode} ${res.body}`);
  return res.json() as PolicyJson;
}

const emailRule = {
  match: { action: 'send_email', 'params.to': { $regex: '@example\\.com$' }, 'params.amount': { $lt: 100 } },
  decision: 'auto_approve', approvers: [], channels: [], requireReason: false,
};

t.test('create, read, list, replace and delete a policy', async (t) => {
  const h = await testApp(t);

  const res = await h.call('POST', '/api/policies', { body: { name: 'auto-approve-emails', priority: 10, enabled: true, rules: [emailRule] } });
  t.equal(res.statusCode, 201, res.body);
  const created = res.json() as PolicyJson;
  t.match(created.id, /^pol_[0-9a-z]{26}$/);
  t.match(created, { name: 'auto-approve-emails', description: null, priority: 10, enabled: true, version: 1 });
  t.same(created.rules, [emailRule], 'rules come back exactly as sent');
  t.ok(!Number.isNaN(Date.parse(created.createdAt)));
  t.equal(created.createdAt, created.updatedAt);

  t.same((await h.call('GET', `/api/policies/${created.id}`)).json(), created);

  // defaults: priority 100, enabled, no description
  const defaults = await createPolicy(h, { name: 'catch-all', rules: [{ match: {}, decision: 'route_to_human' }] });
  t.match(defaults, { priority: 100, enabled: true, description: null, version: 1 });
  const tie = await createPolicy(h, { name: 'tie', priority: 10, rules: [] });

  const list = await h.call('GET', '/api/policies');
  t.equal(list.statusCode, 200);
  t.same((list.json() as { policies: PolicyJson[] }).policies.map((p) => p.id), [created.id, tie.id, defaults.id],
    'ordered by priority, then id');

  // PUT replaces the whole policy: omitted optional fields take their defaults
  const put = await h.call('PUT', `/api/policies/${created.id}`, {
    body: { name: 'emails', description: 'small mail', priority: 20, rules: [{ match: { action: 'send_*' }, decision: 'auto_deny' }] },
  });
  t.equal(put.statusCode, 200, put.body);
  const replaced = put.json() as PolicyJson;
  t.match(replaced, { id: created.id, name: 'emails', description: 'small mail', priority: 20, enabled: true, version: 2, createdAt: created.createdAt });
  t.same(replaced.rules, [{ match: { action: 'send_*' }, decision: 'auto_deny' }]);
  t.ok(Date.parse(replaced.updatedAt) >= Date.parse(created.updatedAt));

  const again = await h.call('PUT', `/api/policies/${created.id}`, { body: { name: 'emails', enabled: false, rules: [] } });
  t.match(again.json(), { priority: 100, enabled: false, description: null, version: 3 }, 'a second replace resets omitted fields');

  // replaying the same PUT writes nothing
  const before = await eventCount(h);
  const same = await h.call('PUT', `/api/policies/${created.id}`, { body: { name: 'emails', enabled: false, rules: [] } });
  t.equal(same.statusCode, 200);
  t.equal(same.json().version, 3);
  t.equal(await eventCount(h), before);

  const del = await h.call('DELETE', `/api/policies/${created.id}`);
  t.equal(del.statusCode, 200, del.body);
  t.same(del.json(), { success: true, id: created.id });
  t.equal((await h.call('GET', `/api/policies/${created.id}`)).statusCode, 404);
  for (const [method, body] of [['DELETE', undefined], ['PUT', { name: 'x', rules: [] }]] as const) {
    const gone = await h.call(method, `/api/policies/${created.id}`, { body });
    t.equal(gone.statusCode, 404, `${method} after delete`);
    t.equal(gone.json().error.code, 'NOT_FOUND');
  }
  t.same((await h.call('GET', '/api/policies')).json().policies.map((p: PolicyJson) => p.id), [tie.id, defaults.id]);

  // the history stays in the log
  const [history] = await h.sql<{ types: string[] }[]>`
    select array_agg(type order by version) as types from events where stream_id = ${'policy-' + created.id}`;
  t.same(history!.types, ['policy.created', 'policy.updated', 'policy.updated', 'policy.deleted']);
});

t.test('ids and scopes', async (t) => {
  const h = await testApp(t);
  const p = await createPolicy(h, { name: 'p', rules: [] });

  for (const [method, url] of [['GET', '/api/policies/nope'], ['DELETE', '/api/policies/req_01jabcdefghjkmnpqrstvwxyz0']] as const) {
    const res = await h.call(method, url);
    t.equal(res.statusCode, 400, `${method} ${url}`);
    t.equal(res.json().error.code, 'INVALID_ID');
  }
  const unknown = await h.call('GET', '/api/policies/pol_01jabcdefghjkmnpqrstvwxyz0');
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().error.code, 'NOT_FOUND');

  const reader = await h.key(['policy:read']);
  const writer = await h.key(['policy:write']);
  const agent = await h.key(['request:create', 'request:read', 'request:decide']);

  t.equal((await h.call('GET', '/api/policies', { key: reader.key })).statusCode, 200);
  t.equal((await h.call('GET', `/api/policies/${p.id}`, { key: reader.key })).statusCode, 200);
  const denied = await h.call('POST', '/api/policies', { key: reader.key, body: { name: 'q', rules: [] } });
  t.equal(denied.statusCode, 403);
  t.match(denied.json().error, { code: 'FORBIDDEN', details: { requiredScope: 'policy:write' } });
  t.equal((await h.call('DELETE', `/api/policies/${p.id}`, { key: reader.key })).statusCode, 403);

  t.equal((await h.call('POST', '/api/policies', { key: writer.key, body: { name: 'q', rules: [] } })).statusCode, 201);
  t.equal((await h.call('GET', '/api/policies', { key: writer.key })).statusCode, 200, 'policy:write includes reading');

  const agentRead = await h.call('GET', '/api/policies', { key: agent.key });
  t.equal(agentRead.statusCode, 403);
  t.match(agentRead.json().error, { code: 'FORBIDDEN', details: { requiredScope: 'policy:read' } });
  t.equal((await h.call('GET', '/api/policies', { key: null })).statusCode, 401);
});

t.test('invalid policies are refused and write nothing', async (t) => {
  const h = await testApp(t);
  const existing = await createPolicy(h, { name: 'existing', rules: [emailRule] });

  const cases: { name: string; body: unknown; code: string; field: string; message?: RegExp }[] = [
    {
      name: 'backreference',
      body: { name: 'a', rules: [{ match: { 'params.to': { $regex: '(a)\\1' } }, decision: 'auto_approve' }] },
      code: 'INVALID_POLICY', field: 'body.rules[0].match.params.to.$regex', message: /unsafe pattern/,
    },
    {
      name: 'lookahead',
      body: { name: 'a', rules: [{ match: {}, decision: 'auto_approve' }, { match: { action: { $regex: '^(?!delete)' } }, decision: 'auto_approve' }] },
      code: 'INVALID_POLICY', field: 'body.rules[1].match.action.$regex', message: /lookarounds are not allowed/,
    },
    {
      name: 'unknown operator',
      body: { name: 'a', rules: [{ match: { amount: { $between: [1, 2] } }, decision: 'auto_approve' }] },
      code: 'INVALID_POLICY', field: 'body.rules[0].match.amount.$between', message: /unknown operator/,
    },
    {
      name: 'unknown decision',
      body: { name: 'a', rules: [{ match: {}, decision: 'route_to_agent' }] },
      code: 'INVALID_POLICY', field: 'body.rules[0].decision',
    },
    {
      name: 'match on the requester\'s key name',
      body: { name: 'a', rules: [{ match: { 'requester.keyName': 'ci-bot' }, decision: 'auto_approve' }] },
      code: 'INVALID_POLICY', field: 'body.rules[0].match.requester.keyName', message: /only requester\.keyId.*names are not unique/,
    },
    {
      name: 'rule that is not an object',
      body: { name: 'a', rules: ['approve everything'] },
      code: 'INVALID_POLICY', field: 'body.rules[0]',
    },
    { name: 'priority as a string', body: { name: 'a', priority: '5', rules: [] }, code: 'VALIDATION_ERROR', field: 'body.priority' },
    { name: 'fractional priority', body: { name: 'a', priority: 1.5, rules: [] }, code: 'VALIDATION_ERROR', field: 'body.priority' },
    { name: 'enabled as a string', body: { name: 'a', enabled: 'yes', rules: [] }, code: 'VALIDATION_ERROR', field: 'body.enabled' },
    { name: 'missing rules', body: { name: 'a' }, code: 'VALIDATION_ERROR', field: 'body.rules' },
    { name: 'blank name', body: { name: '   ', rules: [] }, code: 'VALIDATION_ERROR', field: 'body.name' },
    { name: 'unknown field', body: { name: 'a', scope: 'global', rules: [] }, code: 'VALIDATION_ERROR', field: 'body.scope' },
  ];

  const before = await eventCount(h);
  for (const c of cases) {
    for (const [method, url] of [['POST', '/api/policies'], ['PUT', `/api/policies/${existing.id}`]] as const) {
      const res = await h.call(method, url, { body: c.body });
      t.equal(res.statusCode, 400, `${c.name} (${method}): ${res.body}`);
      const error = res.json().error as { code: string; message: string; details: { field: string }[] };
      t.equal(error.code, c.code, `${c.name} (${method}) code`);
      t.ok(error.details.some((d) => d.field === c.field), `${c.name} (${method}) names ${c.field}`);
      if (c.message) t.match(error.message, c.message, `${c.name} (${method}) message`);
    }
  }
  const empty = await h.call('POST', '/api/policies', { body: '' });
  t.equal(empty.statusCode, 400);

  t.equal(await eventCount(h), before, 'no event was written');
  const list = (await h.call('GET', '/api/policies')).json().policies as PolicyJson[];
  t.same(list.map((p) => [p.name, p.version]), [['existing', 1]]);
});

t.test('policy names are unique', async (t) => {
  const h = await testApp(t);
  const first = await createPolicy(h, { name: 'only-one', rules: [] });
  const other = await createPolicy(h, { name: 'other', rules: [] });
  const before = await eventCount(h);

  const dup = await h.call('POST', '/api/policies', { body: { name: 'only-one', priority: 1, rules: [] } });
  t.equal(dup.statusCode, 409, dup.body);
  t.match(dup.json().error, { code: 'DUPLICATE_NAME', message: /only-one/, details: [{ field: 'body.name' }] });

  const padded = await h.call('POST', '/api/policies', { body: { name: ' only-one ', rules: [] } });
  t.equal(padded.statusCode, 409, 'names are compared after trimming');

  const rename = await h.call('PUT', `/api/policies/${other.id}`, { body: { name: 'only-one', rules: [] } });
  t.equal(rename.statusCode, 409);
  t.equal(rename.json().error.code, 'DUPLICATE_NAME');
  t.equal(await eventCount(h), before, 'no event was written');

  // concurrent creates with one name: exactly one wins
  const race = await Promise.all([1, 2, 3].map(() => h.call('POST', '/api/policies', { body: { name: 'racy', rules: [] } })));
  t.same(race.map((r) => r.statusCode).sort(), [201, 409, 409]);

  t.equal((await h.call('DELETE', `/api/policies/${first.id}`)).statusCode, 200);
  t.equal((await h.call('POST', '/api/policies', { body: { name: 'only-one', rules: [] } })).statusCode, 201, 'a deleted name is free again');
});

interface RequestJson {
  id: string; status: string;
  policyDecision: { decision: string; policyId: string | null; policyVersion?: number | null; ruleIndex: number | null; approvers: string[] };
}

t.test('policies decide at request creation', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read']);
  const ask = async (body: Record<string, unknown>) => {
    const res = await h.call('POST', '/api/requests', { key: agent.key, body });
    t.equal(res.statusCode, 201, res.body);
    return res.json() as RequestJson;
  };

  // nothing configured: routed to a human
  const none = await ask({ action: 'send_email', params: { to: 'a@example.com', amount: 5 } });
  t.match(none, { status: 'pending', policyDecision: { decision: 'route_to_human', policyId: null, ruleIndex: null } });

  const approve = await createPolicy(h, { name: 'approve-small-mail', priority: 10, rules: [emailRule] });
  const deny = await createPolicy(h, { name: 'deny-deletes', priority: 20, rules: [
    { match: { action: 'delete_*' }, decision: 'auto_deny' },
  ] });

  const approved = await ask({ action: 'send_email', params: { to: 'bob@example.com', amount: 5 } });
  t.match(approved, { status: 'approved', policyDecision: { decision: 'auto_approve', policyId: approve.id, policyVersion: 1, ruleIndex: 0 } });

  const denied = await ask({ action: 'delete_repo', params: { repo: 'x' } });
  t.match(denied, { status: 'denied', policyDecision: { decision: 'auto_deny', policyId: deny.id, ruleIndex: 0 } });

  for (const params of [{ to: 'bob@elsewhere.com', amount: 5 }, { to: 'bob@example.com', amount: 500 }, { to: 'bob@example.com' }]) {
    const pending = await ask({ action: 'send_email', params });
    t.match(pending, { status: 'pending', policyDecision: { decision: 'route_to_human', policyId: null } }, JSON.stringify(params));
  }

  // the audit trail names the policy and the version that decided
  const audit = await h.call('GET', `/api/requests/${approved.id}/audit`, { key: agent.key });
  t.equal(audit.statusCode, 200);
  const entries = audit.json() as { eventType: string; actor: string; actorInfo: { type: string; id: string }; details: Record<string, unknown> }[];
  t.same(entries.map((e) => e.eventType), ['created', 'approved'], 'one fact, two entries: the creation, then the policy\'s decision');
  t.match(entries[0]!.details, {
    policy: { decision: 'auto_approve', policyId: approve.id, policyVersion: 1, ruleIndex: 0 },
    autoDecision: { status: 'approved', decider: { type: 'policy', id: approve.id } },
  });
  t.match(entries[0]!.actorInfo, { type: 'key', id: agent.id }, 'the requester made the request');
  t.match(entries[1]!.actorInfo, { type: 'policy', id: approve.id }, 'the policy decided it');
  t.match(entries[1]!.details, { decider: { type: 'policy', id: approve.id }, policy: { policyVersion: 1, ruleIndex: 0 } });

  // an update is a new version; later requests record it
  const put = await h.call('PUT', `/api/policies/${approve.id}`, { body: { name: 'approve-small-mail', priority: 10, rules: [
    { ...emailRule, match: { ...emailRule.match, 'params.amount': { $lt: 1000 } } },
  ] } });
  t.equal(put.json().version, 2);
  const bigger = await ask({ action: 'send_email', params: { to: 'bob@example.com', amount: 500 } });
  t.match(bigger, { status: 'approved', policyDecision: { policyId: approve.id, policyVersion: 2 } });
  const laterAudit = (await h.call('GET', `/api/requests/${bigger.id}/audit`, { key: agent.key })).json() as { eventType: string; details: Record<string, unknown> }[];
  t.match(laterAudit.find((e) => e.eventType === 'created')!.details, { policy: { policyId: approve.id, policyVersion: 2 } });
  // the earlier request still names the version that decided it
  t.match((await h.call('GET', `/api/requests/${approved.id}`, { key: agent.key })).json(), { policyDecision: { policyVersion: 1 } });

  // a deleted policy no longer decides
  t.equal((await h.call('DELETE', `/api/policies/${deny.id}`)).statusCode, 200);
  t.match(await ask({ action: 'delete_repo' }), { status: 'pending', policyDecision: { policyId: null } });
});

t.test('priority orders policies; disabled policies are ignored', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create']);
  const ask = async () => (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy', params: { env: 'prod' } } })).json() as RequestJson;

  const denyBody = { name: 'deny-prod', priority: 50, rules: [{ match: { 'params.env': 'prod' }, decision: 'auto_deny' }] };
  const approveBody = { name: 'approve-deploys', priority: 60, rules: [{ match: { action: 'deploy' }, decision: 'auto_approve' }] };
  const deny = await createPolicy(h, denyBody);
  const approve = await createPolicy(h, approveBody);

  t.match(await ask(), { status: 'denied', policyDecision: { policyId: deny.id } }, 'the lower priority number wins');

  await h.call('PUT', `/api/policies/${approve.id}`, { body: { ...approveBody, priority: 40 } });
  t.match(await ask(), { status: 'approved', policyDecision: { policyId: approve.id, policyVersion: 2 } }, 'reordered by a priority change');

  await h.call('PUT', `/api/policies/${approve.id}`, { body: { ...approveBody, priority: 40, enabled: false } });
  t.match(await ask(), { status: 'denied', policyDecision: { policyId: deny.id } }, 'a disabled policy is skipped');

  await h.call('PUT', `/api/policies/${deny.id}`, { body: { ...denyBody, enabled: false } });
  t.match(await ask(), { status: 'pending', policyDecision: { decision: 'route_to_human', policyId: null } }, 'all disabled: routed to a human');
});

t.test('rules decide who may decide and how', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read'], { name: 'agent' });
  const alice = await h.key(['request:decide'], { name: 'alice' });
  const bob = await h.key(['request:decide'], { name: 'bob' });
  const fakeAlice = await h.key(['request:decide'], { name: 'alice' });
  await createPolicy(h, { name: 'people', rules: [
    { match: { action: 'deploy' }, decision: 'route_to_human', approvers: [alice.id] },
    { match: { action: 'refund' }, decision: 'route_to_human', requireReason: true },
    { match: { action: 'wire_money' }, decision: 'route_to_human', requireDistinctApprover: true },
  ] });
  const ask = async (action: string, key = agent.key) => {
    const res = await h.call('POST', '/api/requests', { key, body: { action } });
    t.equal(res.statusCode, 201, res.body);
    return res.json() as RequestJson;
  };
  const decide = (id: string, key: string, body: Record<string, unknown> = { decision: 'approved', reason: 'fine' }) =>
    h.call('POST', `/api/requests/${id}/decide`, { key, body });

  t.test('only a named approver may decide', async (t) => {
    const req = await ask('deploy');
    t.match(req, { status: 'pending', policyDecision: { approvers: [alice.id] } });
    const byBob = await decide(req.id, bob.key);
    t.equal(byBob.statusCode, 403, byBob.body);
    t.equal(byBob.json().error.code, 'NOT_AN_APPROVER');
    const byNamesake = await decide(req.id, fakeAlice.key);
    t.equal(byNamesake.statusCode, 403, 'a key that merely shares the approver\'s name is refused');
    t.equal(byNamesake.json().error.code, 'NOT_AN_APPROVER');
    const byAdmin = await decide(req.id, h.adminKey);
    t.equal(byAdmin.statusCode, 403, 'admin is not an approver unless named');
    t.equal(byAdmin.json().error.code, 'NOT_AN_APPROVER');
    t.equal((await h.call('GET', `/api/requests/${req.id}`, { key: agent.key })).json().status, 'pending', 'refusals change nothing');
    const byAlice = await decide(req.id, alice.key);
    t.equal(byAlice.statusCode, 200, byAlice.body);
    t.match(byAlice.json(), { status: 'approved', decidedBy: 'alice', decider: { id: alice.id } });
  });

  t.test('a reason is required when the rule says so', async (t) => {
    const req = await ask('refund');
    for (const body of [{ decision: 'denied' }, { decision: 'denied', reason: '   ' }, { decision: 'denied', reason: null }]) {
      const res = await decide(req.id, bob.key, body);
      t.equal(res.statusCode, 400, JSON.stringify(body));
      t.equal(res.json().error.code, 'REASON_REQUIRED');
    }
    const ok = await decide(req.id, bob.key, { decision: 'denied', reason: 'duplicate refund' });
    t.equal(ok.statusCode, 200, ok.body);
    t.match(ok.json(), { status: 'denied', decisionReason: 'duplicate refund' });
  });

  t.test('a key without admin never decides its own request', async (t) => {
    const selfish = await h.key(['request:create', 'request:decide'], { name: 'selfish' });
    const req = await ask('anything', selfish.key);
    const own = await decide(req.id, selfish.key);
    t.equal(own.statusCode, 403, own.body);
    t.equal(own.json().error.code, 'SELF_APPROVAL_FORBIDDEN');
    const other = await decide(req.id, bob.key);
    t.equal(other.statusCode, 200, other.body);
  });

  t.test('an admin may decide its own request unless the rule demands a distinct approver', async (t) => {
    const plain = await ask('anything', h.adminKey);
    const own = await decide(plain.id, h.adminKey);
    t.equal(own.statusCode, 200, own.body);

    const wire = await ask('wire_money', h.adminKey);
    const refused = await decide(wire.id, h.adminKey);
    t.equal(refused.statusCode, 403, refused.body);
    t.equal(refused.json().error.code, 'SELF_APPROVAL_FORBIDDEN');
    const byOther = await decide(wire.id, alice.key);
    t.equal(byOther.statusCode, 200, byOther.body);
  });
});
