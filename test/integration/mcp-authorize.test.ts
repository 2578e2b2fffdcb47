/**
 * POST /api/mcp/authorize, the guardrail the original MCP server calls before every tool
 * call (it blocks the call unless it hears `allow`).
 */
import t from 'tap';
import { testApp } from '../helpers/app.ts';

t.test('the policy engine judges the tool call as a request whose action is the tool', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read'], { name: 'mcp-agent' });
  for (const [name, action, decision] of [['reads', 'read_*', 'auto_approve'], ['no-deletes', 'delete_*', 'auto_deny']] as const) {
    const res = await h.call('POST', '/api/policies', { body: { name, priority: 10, rules: [{ match: { action }, decision }] } });
    t.equal(res.statusCode, 201, res.body);
  }
  const authorize = (body: unknown, key: string | null = agent.key) => h.call('POST', '/api/mcp/authorize', { key, body });

  const allow = await authorize({ toolName: 'read_file', params: { path: '/etc/motd' } });
  t.equal(allow.statusCode, 200, allow.body);
  t.match(allow.json(), { decision: 'allow', status: 'approved', requestId: /^req_/ });

  const deny = await authorize({ toolName: 'delete_repo', params: { name: 'prod' } });
  t.match(deny.json(), { decision: 'deny', status: 'denied', requestId: /^req_/, reason: /no-deletes|denied/i });

  const ask = await authorize({ toolName: 'deploy', params: { env: 'prod' }, context: { session: 's1' } });
  t.match(ask.json(), { decision: 'requires_approval', status: 'pending', requestId: /^req_/ });
  const pending = (await h.call('GET', `/api/requests/${ask.json().requestId}`, { key: agent.key })).json();
  t.match(pending, { action: 'deploy', status: 'pending', params: { env: 'prod' }, context: { source: 'mcp', session: 's1' } },
    'a person decides it like any request');
  const audit = (await h.call('GET', `/api/requests/${ask.json().requestId}/audit`)).json() as Array<{ eventType: string; channel?: string }>;
  t.equal(audit[0]!.eventType, 'created');

  const decided = await h.call('POST', `/api/requests/${ask.json().requestId}/decide`, { body: { decision: 'approved' } });
  t.equal(decided.statusCode, 200, 'decided through the ordinary path');

  t.equal((await authorize({ params: {} })).statusCode, 400, 'toolName is required');
  t.equal((await authorize({ toolName: '' })).statusCode, 400);
  t.equal((await authorize({ toolName: 'x', params: 'no' })).statusCode, 400, 'params must be an object');
  const reader = await h.key(['request:read']);
  t.equal((await authorize({ toolName: 'read_file' }, reader.key)).statusCode, 403, 'needs request:create');
  t.equal((await authorize({ toolName: 'read_file' }, null)).statusCode, 401);
});
