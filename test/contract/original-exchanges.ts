/**
 * The HTTP exchanges the original project's clients make (agentkitai/agentgate: its SDK
 * `packages/sdk/src/client.ts`, CLI `packages/cli/src/api.ts`, MCP server
 * `packages/mcp/src/tools.ts` over `packages/core/src/http-client.ts`, and the audit calls of
 * its dashboard, `packages/dashboard/src/api.ts`), written down as
 * data: each request exactly as that client sends it (method, path and query, headers,
 * body), and what that client then reads from the answer. Replayed in order by
 * original-clients.test.ts against a real server, so that a change which would break one
 * of those clients fails here.
 *
 * Headers matter: the SDK and the CLI send `Content-Type: application/json` on every call,
 * GETs and DELETEs without a body included; the MCP server's client and the dashboard send it
 * only with a body.
 */

export type Client = 'sdk' | 'cli' | 'mcp' | 'dashboard';

/** Values captured from earlier answers (request ids, policy ids, …). */
export type Vars = Record<string, string>;

export interface Exchange {
  client: Client;
  /** What the client does, as its own code names it. */
  call: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: (v: Vars) => string;
  body?: (v: Vars) => Record<string, unknown>;
  status: number;
  /** Checks what the client reads; returns problems (empty: the client is served). May capture into `v`. */
  reads: (body: any, v: Vars) => string[];
}

const JSON_ALWAYS: Client[] = ['sdk', 'cli'];

/** The headers each client sends (the body decides Content-Type for the MCP server's client). */
export function headersFor(client: Client, apiKey: string, hasBody: boolean): Record<string, string> {
  const h: Record<string, string> = { authorization: `Bearer ${apiKey}` };
  if (hasBody || JSON_ALWAYS.includes(client)) h['content-type'] = 'application/json';
  return h;
}

// --- what the clients read ----------------------------------------------------------

const problems = (...checks: Array<[boolean, string]>) => checks.filter(([ok]) => !ok).map(([, m]) => m);
const isIso = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const isIsoOrNull = (v: unknown) => v === null || v === undefined || isIso(v);

/** What the SDK's parseRequest and the CLI's formatRequest read from a request. */
function approvalRequest(r: any): string[] {
  return problems(
    [typeof r?.id === 'string', 'id is a string'],
    [typeof r?.action === 'string', 'action is a string'],
    [['pending', 'approved', 'denied', 'expired', 'cancelled'].includes(r?.status), `status is a known status (${r?.status})`],
    [typeof r?.urgency === 'string', 'urgency is a string'],
    [isIso(r?.createdAt) && isIso(r?.updatedAt), 'createdAt and updatedAt are dates'],
    [isIsoOrNull(r?.decidedAt) && isIsoOrNull(r?.expiresAt), 'decidedAt and expiresAt are dates or null'],
    [typeof r?.params === 'object' && typeof r?.context === 'object', 'params and context are objects'],
  );
}

function requestList(b: any): string[] {
  return problems(
    [Array.isArray(b?.requests), 'requests is an array'],
    [typeof b?.pagination?.total === 'number' && typeof b?.pagination?.limit === 'number'
      && typeof b?.pagination?.offset === 'number' && typeof b?.pagination?.hasMore === 'boolean', 'pagination { total, limit, offset, hasMore }'],
  ).concat(...(Array.isArray(b?.requests) ? b.requests.map(approvalRequest) : []));
}

/** What the dashboard's audit page reads from an entry (AuditEntryWithRequest), printing `actor` as text. */
function auditEntry(e: any): string[] {
  return problems(
    [typeof e?.id === 'string', 'id is a string'],
    [typeof e?.eventType === 'string', 'eventType is a string'],
    [typeof e?.actor === 'string' && e.actor.length > 0, `actor is printable text (got ${JSON.stringify(e?.actor)})`],
    [isIso(e?.createdAt), 'createdAt is a date'],
    [e?.details === null || typeof e?.details === 'object', 'details is an object or null'],
    [e?.request === null || (typeof e?.request?.id === 'string' && typeof e?.request?.action === 'string'
      && typeof e?.request?.status === 'string' && typeof e?.request?.urgency === 'string'), 'request is { id, action, status, urgency } or null'],
  );
}

function auditList(b: any): string[] {
  return problems(
    [Array.isArray(b?.entries), 'entries is an array'],
    [typeof b?.pagination?.total === 'number' && typeof b?.pagination?.limit === 'number'
      && typeof b?.pagination?.offset === 'number' && typeof b?.pagination?.hasMore === 'boolean', 'pagination { total, limit, offset, hasMore }'],
  ).concat(...(Array.isArray(b?.entries) ? b.entries.map(auditEntry) : []));
}

/** A date input's value (YYYY-MM-DD), `days` from today (UTC). */
const day = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

const capture = (v: Vars, name: string, value: unknown) => {
  if (typeof value === 'string') v[name] = value;
};

const rule = (action: string, decision: string) => ({ match: { action }, decision });

// --- the exchanges, in the order the scenario replays them ---------------------------------

export const EXCHANGES: Exchange[] = [
  // SDK: AgentGateClient
  {
    client: 'sdk', call: 'request()', method: 'POST', path: () => '/api/requests',
    body: () => ({ action: 'send_email', params: { to: 'ops@example.com' }, context: { agent: 'mailer' }, urgency: 'normal' }),
    status: 201,
    reads: (b, v) => { capture(v, 'sdkRequest', b?.id); return approvalRequest(b); },
  },
  {
    client: 'sdk', call: 'request() with expiresAt', method: 'POST', path: () => '/api/requests',
    body: () => ({ action: 'transfer_funds', params: { amount: 5 }, context: {}, urgency: 'high', expiresAt: new Date(Date.now() + 3_600_000).toISOString() }),
    status: 201,
    reads: (b) => approvalRequest(b).concat(problems([isIso(b?.expiresAt), 'expiresAt kept'])),
  },
  {
    client: 'sdk', call: 'getRequest() / waitForDecision() poll', method: 'GET', path: (v) => `/api/requests/${v.sdkRequest}`,
    status: 200, reads: (b, v) => approvalRequest(b).concat(problems([b?.id === v.sdkRequest, 'the same request'])),
  },
  {
    client: 'sdk', call: 'listRequests({ status, action, limit, offset })', method: 'GET',
    path: () => '/api/requests?status=pending&action=send_email&limit=10&offset=0',
    status: 200, reads: (b) => requestList(b).concat(problems([b?.requests?.length >= 1, 'the pending send_email is listed'])),
  },

  // CLI: ApiClient
  {
    client: 'cli', call: 'createRequest() (agentgate request)', method: 'POST', path: () => '/api/requests',
    body: () => ({ action: 'deploy', params: { env: 'staging' }, context: {}, urgency: 'high' }),
    status: 201, reads: (b, v) => { capture(v, 'cliRequest', b?.id); return approvalRequest(b); },
  },
  {
    client: 'cli', call: 'createRequest() (agentgate request, to deny)', method: 'POST', path: () => '/api/requests',
    body: () => ({ action: 'deploy', params: { env: 'prod' }, context: {}, urgency: 'critical' }),
    status: 201, reads: (b, v) => { capture(v, 'cliRequest2', b?.id); return approvalRequest(b); },
  },
  {
    client: 'cli', call: 'getRequest() (agentgate status)', method: 'GET', path: (v) => `/api/requests/${v.cliRequest}`,
    status: 200, reads: approvalRequest,
  },
  {
    client: 'cli', call: 'listRequests() (agentgate list --limit 500)', method: 'GET', path: () => '/api/requests?status=pending&limit=500&offset=1',
    status: 200,
    reads: (b) => requestList(b).concat(problems([b?.pagination?.limit === 100, 'a limit above the maximum is clamped (pagination.limit 100)'])),
  },
  {
    client: 'cli', call: 'approveRequest() (agentgate approve)', method: 'POST', path: (v) => `/api/requests/${v.cliRequest}/decide`,
    body: () => ({ decision: 'approved', decidedBy: 'cli', reason: 'staging is fine' }),
    status: 200,
    reads: (b) => approvalRequest(b).concat(problems(
      [b?.status === 'approved', 'approved'], [b?.decisionReason === 'staging is fine', 'decisionReason kept'],
      [typeof b?.decidedBy === 'string' && b.decidedBy.length > 0, 'decidedBy printable'],
    )),
  },
  {
    client: 'cli', call: 'denyRequest() (agentgate deny)', method: 'POST', path: (v) => `/api/requests/${v.cliRequest2}/decide`,
    body: () => ({ decision: 'denied', decidedBy: 'cli', reason: 'not on a Friday' }),
    status: 200, reads: (b) => approvalRequest(b).concat(problems([b?.status === 'denied', 'denied'])),
  },
  {
    client: 'cli', call: 'getServerStatus()', method: 'GET', path: () => '/health',
    status: 200, reads: (b) => problems([b?.status === 'ok', 'status ok'], [isIso(b?.timestamp), 'timestamp']),
  },

  {
    client: 'cli', call: 'createOverride() (agentgate override create -a -t --action deny --ttl)', method: 'POST', path: () => '/api/overrides',
    body: (v) => ({ agentId: v.adminKeyId!, toolPattern: 'fs.*', action: 'deny', reason: 'no files', ttlSeconds: 600 }),
    status: 201,
    reads: (b, v) => {
      capture(v, 'override', b?.id);
      return problems(
        [typeof b?.id === 'string', 'id'], [b?.toolPattern === 'fs.*', 'toolPattern'], [b?.agentId === v.adminKeyId, 'agentId'],
        [typeof b?.action === 'string', 'action printable'], [isIso(b?.expiresAt) && isIso(b?.createdAt), 'createdAt, expiresAt'],
      );
    },
  },
  {
    client: 'cli', call: 'listOverrides() (agentgate override list)', method: 'GET', path: () => '/api/overrides',
    status: 200,
    reads: (b, v) => problems([Array.isArray(b?.overrides) && b.overrides.some((o: any) => o.id === v.override && o.toolPattern === 'fs.*'), 'the override is listed']),
  },
  {
    client: 'cli', call: 'deleteOverride() (agentgate override rm)', method: 'DELETE', path: (v) => `/api/overrides/${v.override}`,
    status: 200, reads: (b, v) => problems([b?.success === true && b?.id === v.override, '{ success: true, id }']),
  },

  // MCP server: tools over AgentGateHttpClient
  {
    client: 'mcp', call: 'authorizeTool() for a tool a policy allows', method: 'POST', path: () => '/api/mcp/authorize',
    body: () => ({ toolName: 'agentgate_list', params: { status: 'pending' } }),
    status: 200, reads: (b) => problems([b?.decision === 'allow', `allow (got ${b?.decision})`]),
  },
  {
    client: 'mcp', call: 'authorizeTool() for a tool that needs a person', method: 'POST', path: () => '/api/mcp/authorize',
    body: () => ({ toolName: 'shell_exec', params: { cmd: 'ls' } }),
    status: 200,
    reads: (b, v) => {
      capture(v, 'mcpGated', b?.requestId);
      return problems([b?.decision === 'requires_approval', `requires_approval (got ${b?.decision})`], [typeof b?.requestId === 'string', 'requestId']);
    },
  },
  {
    client: 'mcp', call: 'waitForApproval() poll', method: 'GET', path: (v) => `/api/requests/${v.mcpGated}`,
    status: 200, reads: (b) => problems([b?.status === 'pending', 'status pending']),
  },
  {
    client: 'mcp', call: 'authorizeTool() for a tool a policy denies', method: 'POST', path: () => '/api/mcp/authorize',
    body: () => ({ toolName: 'drop_database', params: {} }),
    status: 200, reads: (b) => problems([b?.decision === 'deny', `deny (got ${b?.decision})`]),
  },
  {
    client: 'mcp', call: 'handleRequest() (agentgate_request)', method: 'POST', path: () => '/api/requests',
    body: () => ({ action: 'make_purchase', params: { item: 'laptop' }, context: { why: 'new hire' }, urgency: 'low' }),
    status: 201, reads: (b, v) => { capture(v, 'mcpRequest', b?.id); return approvalRequest(b); },
  },
  {
    client: 'mcp', call: 'handleGet() (agentgate_get)', method: 'GET', path: (v) => `/api/requests/${v.mcpRequest}`,
    status: 200, reads: approvalRequest,
  },
  {
    client: 'mcp', call: 'handleList() (agentgate_list)', method: 'GET', path: () => '/api/requests?status=pending&limit=10',
    status: 200, reads: requestList,
  },
  {
    client: 'mcp', call: 'handleDecide() (agentgate_decide)', method: 'POST', path: (v) => `/api/requests/${v.mcpRequest}/decide`,
    body: () => ({ decision: 'approved', reason: 'budgeted', decidedBy: 'mcp:user' }),
    status: 200, reads: (b) => problems([b?.status === 'approved', 'approved']),
  },
  {
    client: 'mcp', call: 'handleCreatePolicy() (agentgate_create_policy)', method: 'POST', path: () => '/api/policies',
    body: () => ({ name: 'mcp-made', rules: [rule('send_sms', 'auto_approve')], priority: 50, enabled: true }),
    status: 201, reads: (b, v) => { capture(v, 'mcpPolicy', b?.id); return problems([typeof b?.id === 'string', 'id'], [Array.isArray(b?.rules), 'rules array']); },
  },
  {
    client: 'mcp', call: 'handleListPolicies() (agentgate_list_policies)', method: 'GET', path: () => '/api/policies',
    status: 200,
    reads: (b, v) => problems(
      [Array.isArray(b?.policies) && b.policies.some((p: any) => p.id === v.mcpPolicy), 'the new policy is listed'],
      [Array.isArray(b?.policies) && b.policies.every((p: any) => Array.isArray(p.rules)), 'rules are arrays, not JSON strings'],
      [typeof b?.pagination?.total === 'number', 'pagination'],
    ),
  },
  {
    client: 'mcp', call: 'handleUpdatePolicy() (agentgate_update_policy)', method: 'PUT', path: (v) => `/api/policies/${v.mcpPolicy}`,
    body: () => ({ name: 'mcp-made', rules: [rule('send_sms', 'route_to_human')], priority: 60, enabled: false }),
    status: 200, reads: (b) => problems([b?.priority === 60 && b?.enabled === false, 'the replacement is in force']),
  },
  {
    client: 'mcp', call: 'handleDeletePolicy() (agentgate_delete_policy)', method: 'DELETE', path: (v) => `/api/policies/${v.mcpPolicy}`,
    status: 200, reads: (b) => problems([b?.success === true, 'success: true']),
  },

  // Dashboard: the audit page (api.listAuditEntries, getAuditActions, getAuditActors, getAuditLog)
  {
    client: 'dashboard', call: 'listAuditEntries({ action, status, from, to }) with date inputs', method: 'GET',
    path: () => `/api/audit?action=deploy&status=approved&from=${day(-1)}&to=${day(0)}&limit=20`,
    status: 200,
    reads: (b, v) => auditList(b).concat(problems(
      [b?.entries?.length >= 2, 'the approved deploy\'s entries, through the end of today'],
      [b?.entries?.every((e: any) => e.request?.action === 'deploy' && e.request?.status === 'approved'), 'only approved deploys'],
      [b?.entries?.some((e: any) => e.request?.id === v.cliRequest), 'the CLI\'s approved deploy is among them'],
    )),
  },
  {
    client: 'dashboard', call: 'listAuditEntries({ eventType, limit, offset })', method: 'GET', path: () => '/api/audit?eventType=created&limit=2&offset=1',
    status: 200, reads: (b) => auditList(b).concat(problems([b?.pagination?.offset === 1 && b?.entries?.length === 2, 'offset 1, two entries'])),
  },
  {
    client: 'dashboard', call: 'getAuditActors()', method: 'GET', path: () => '/api/audit/actors',
    status: 200,
    reads: (b, v) => {
      const keyActor = Array.isArray(b?.actors) ? b.actors.find((a: unknown) => typeof a === 'string' && a.startsWith('key:')) : undefined;
      capture(v, 'auditActor', keyActor);
      return problems([Array.isArray(b?.actors) && b.actors.every((a: unknown) => typeof a === 'string'), 'actors is an array of strings'],
        [typeof keyActor === 'string', 'a key is among the actors']);
    },
  },
  {
    client: 'dashboard', call: 'listAuditEntries({ actor }) with an actor from the list', method: 'GET', path: (v) => `/api/audit?actor=${encodeURIComponent(v.auditActor!)}`,
    status: 200, reads: (b, v) => auditList(b).concat(problems([b?.entries?.length > 0 && b.entries.every((e: any) => e.actor === v.auditActor), 'only that actor\'s entries'])),
  },
  {
    client: 'dashboard', call: 'getAuditActions()', method: 'GET', path: () => '/api/audit/actions',
    status: 200, reads: (b) => problems([Array.isArray(b?.actions) && b.actions.includes('deploy') && b.actions.includes('send_email'), 'actions lists deploy and send_email']),
  },
  {
    client: 'dashboard', call: 'getAuditLog(id)', method: 'GET', path: (v) => `/api/requests/${v.cliRequest}/audit`,
    status: 200, reads: (b) => problems([Array.isArray(b) && b.length >= 2, 'created and approved']).concat(...(Array.isArray(b) ? b.map(auditEntry) : [])),
  },
];

/** Policies the scenario starts with, so that the guardrail has something to judge. */
export const SEED_POLICIES = [
  { name: 'agentgate-tools', priority: 1, rules: [rule('agentgate_*', 'auto_approve')] },
  { name: 'no-drops', priority: 2, rules: [rule('drop_*', 'auto_deny')] },
];
