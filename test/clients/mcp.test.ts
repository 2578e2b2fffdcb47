import t, { type Test } from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { ApprovalRequest, Policy } from '@agentgate/sdk';
import { liveServer, until, type LiveServer } from './_helpers.ts';
import { clientSourceArgs } from '../helpers/process.ts';

const CLIENT = clientSourceArgs('mcp');

type Content = { type: string; text: string }[];
interface Called {
  isError: boolean;
  summary: string;
  data: unknown;
}

/** The MCP server as a real stdio child process, driven by the MCP SDK's own client. */
async function mcpClient(t: Test, s: LiveServer, key = s.adminKey) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: CLIENT,
    env: { PATH: process.env.PATH ?? '', AGENTGATE_URL: s.baseUrl, AGENTGATE_API_KEY: key },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const client = new Client({ name: 'agentgate-test', version: '0.0.0' });
  await client.connect(transport);
  t.teardown(() => client.close());
  const call = async (name: string, args: Record<string, unknown> = {}, options: Parameters<Client['callTool']>[2] = {}): Promise<Called> => {
    const res = await client.callTool({ name, arguments: args }, undefined, options);
    const content = res.content as Content;
    let data: unknown = null;
    if (content[1]) data = JSON.parse(content[1].text);
    return { isError: res.isError === true, summary: content[0]!.text, data };
  };
  return { client, call, stderr: () => stderr };
}

t.test('the seven functions of the contract are listed with described inputs', async (t) => {
  const s = await liveServer(t);
  const { client, stderr } = await mcpClient(t, s);
  const { tools } = await client.listTools();
  t.same(tools.map((x) => x.name).sort(), [
    'agentgate_check_request', 'agentgate_create_policy', 'agentgate_delete_policy', 'agentgate_list_policies',
    'agentgate_list_requests', 'agentgate_request_approval', 'agentgate_update_policy',
  ]);
  const ask = tools.find((x) => x.name === 'agentgate_request_approval')!;
  t.same(ask.inputSchema.required, ['action']);
  const props = ask.inputSchema.properties as Record<string, { description?: string }>;
  for (const p of ['action', 'params', 'context', 'urgency', 'wait', 'timeoutSeconds']) t.ok(props[p]?.description, `${p} is described`);
  t.match(ask.description, /approved/);
  t.match(stderr(), /serving http:\/\/127\.0\.0\.1:\d+ over stdio/, 'human-readable output goes to stderr');
});

t.test('asking, checking and listing requests; waiting for a human', async (t) => {
  const s = await liveServer(t);
  const { call } = await mcpClient(t, s);
  const admin = s.client();

  const asked = await call('agentgate_request_approval', { action: 'send_email', params: { to: 'a@b.c' }, context: { why: 'follow-up' }, urgency: 'high' });
  t.notOk(asked.isError, asked.summary);
  const req = asked.data as ApprovalRequest;
  t.match(req, { action: 'send_email', status: 'pending', urgency: 'high', params: { to: 'a@b.c' } });
  t.match(asked.summary, /PENDING.*Do not act yet/);
  t.equal((await admin.getAuditTrail(req.id))[0]!.channel, 'mcp', 'the MCP server says who it is (X-AgentGate-Channel)');

  const checked = await call('agentgate_check_request', { id: req.id, includeAudit: true });
  t.match(checked.data, { request: { id: req.id, status: 'pending' } });
  t.same((checked.data as { audit: { eventType: string }[] }).audit.map((e) => e.eventType), ['created']);

  await admin.request({ action: 'other' });
  const listed = await call('agentgate_list_requests', { action: 'send_email', status: 'pending' });
  t.same((listed.data as { requests: ApprovalRequest[] }).requests.map((r) => r.id), [req.id]);
  t.match(listed.summary, /1 of 1 request/);

  // wait=true holds the call until a person decides elsewhere; progress notices keep the caller patient.
  const progress: string[] = [];
  const waiting = call('agentgate_request_approval', { action: 'deploy', wait: true, timeoutSeconds: 120 },
    { onprogress: (p) => { progress.push(p.message ?? ''); }, resetTimeoutOnProgress: true });
  const pending = await until(async () => (await admin.listRequests({ action: 'deploy' })).requests[0], 'the deploy request');
  await until(() => progress.length > 0, 'a progress notice');
  t.match(progress[0], new RegExp(`waiting for a decision on ${pending.id}`));
  await admin.decide(pending.id, 'approved', { reason: 'ship it' });
  const decided = await waiting;
  t.match(decided.data, { id: pending.id, status: 'approved', decisionReason: 'ship it' });
  t.match(decided.summary, /APPROVED.*you may proceed/);

  const denying = call('agentgate_request_approval', { action: 'rm', wait: true });
  const rm = await until(async () => (await admin.listRequests({ action: 'rm' })).requests[0], 'the rm request');
  await until(() => s.app.live.watchCount > 0, 'the wait');
  await admin.decide(rm.id, 'denied', { reason: 'no' });
  t.match((await denying).summary, /DENIED: no\. Do not perform the action/);

  const slow = await call('agentgate_request_approval', { action: 'ponder', wait: true, timeoutSeconds: 1 });
  t.notOk(slow.isError, 'running out of patience is not an error');
  t.match(slow.data, { status: 'pending' });
  t.match(slow.summary, /PENDING.*\(waited 1 s\)/);
});

t.test('policies: create, list, update, delete, and they decide requests', async (t) => {
  const s = await liveServer(t);
  const { call } = await mcpClient(t, s);

  const created = await call('agentgate_create_policy', {
    name: 'reads are fine', priority: 10,
    rules: [{ match: { action: 'read_*' }, decision: 'auto_approve' }],
  });
  t.notOk(created.isError, created.summary);
  const policy = created.data as Policy;
  t.match(policy, { name: 'reads are fine', priority: 10, enabled: true, version: 1 });

  const approved = await call('agentgate_request_approval', { action: 'read_file', params: { path: '/etc/hosts' }, wait: true });
  t.match(approved.data, { status: 'approved', policyDecision: { policyId: policy.id } });
  t.match(approved.summary, /APPROVED/);

  const listed = await call('agentgate_list_policies');
  t.same((listed.data as Policy[]).map((p) => p.id), [policy.id]);

  const updated = await call('agentgate_update_policy', { id: policy.id, enabled: false });
  t.notOk(updated.isError, updated.summary);
  t.match(updated.data, { id: policy.id, enabled: false, version: 2, name: 'reads are fine', priority: 10 });
  t.same((updated.data as Policy).rules, policy.rules, 'fields not given are kept');
  t.match((await call('agentgate_request_approval', { action: 'read_file' })).data, { status: 'pending' }, 'a disabled policy decides nothing');

  const renamed = await call('agentgate_update_policy', { id: policy.id, enabled: true, rules: [{ match: { action: 'read_file' }, decision: 'auto_deny' }] });
  t.match(renamed.data, { enabled: true, version: 3, rules: [{ decision: 'auto_deny' }] });
  t.match((await call('agentgate_request_approval', { action: 'read_file' })).summary, /DENIED/);

  const deleted = await call('agentgate_delete_policy', { id: policy.id });
  t.notOk(deleted.isError);
  t.same((await call('agentgate_list_policies')).data, []);
});

t.test('failures come back as readable error results', async (t) => {
  const s = await liveServer(t);
  const { call } = await mcpClient(t, s);
  const missing = await call('agentgate_check_request', { id: 'req_00000000000000000000000000' });
  t.ok(missing.isError);
  t.match(missing.summary, /^NOT_FOUND \(HTTP 404\): /);

  const bad = await call('agentgate_create_policy', { name: 'x', rules: [{ match: { amount: { $lt: 'ten' } }, decision: 'auto_deny' }] });
  t.ok(bad.isError);
  t.match(bad.summary, /INVALID_POLICY \(HTTP 400\)/);

  const wrongShape = await call('agentgate_request_approval', { params: {} });
  t.ok(wrongShape.isError, 'input is checked against the schema');

  const readOnly = await mcpClient(t, s, (await s.key(['request:read'])).key);
  const refused = await readOnly.call('agentgate_request_approval', { action: 'x' });
  t.ok(refused.isError);
  t.match(refused.summary, /FORBIDDEN \(HTTP 403\).*request:create/);
});
