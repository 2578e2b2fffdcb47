import { createRequire } from 'node:module';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AgentGateError, TimeoutError, type AgentGateClient, type ApprovalRequest, type Policy, type PolicyInput } from '@agentgate/sdk';

/** The package's own version: package.json sits one folder up from both src/ and dist/. */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

const urgency = z.enum(['low', 'normal', 'high', 'critical']);
const status = z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']);
const jsonObject = z.record(z.string(), z.unknown());

const rule = z.object({
  match: z.record(z.string(), z.unknown()).describe(
    'Conditions, all of which must hold. Keys are dot paths over the request: "action", "urgency", "params.<field>", "context.<field>" '
    + '(a bare key looks in params). A value is a literal for equality ("*" globs work on action, e.g. "read_*") or an operator object: '
    + '{"$in": [...]}, {"$nin": [...]}, {"$lt": n}, {"$lte": n}, {"$gt": n}, {"$gte": n}, {"$regex": "..."}, {"$exists": true}. '
    + 'Example: {"action": "send_email", "params.to": {"$regex": "@example\\\\.com$"}}. {} matches every request.'),
  decision: z.enum(['auto_approve', 'auto_deny', 'route_to_human']).describe('What happens to a matching request'),
  approvers: z.array(z.string()).optional().describe('Key ids allowed to decide routed requests; empty = anyone with request:decide'),
  channels: z.array(z.string()).optional().describe('Where people are notified, e.g. "slack:#approvals"'),
  requireReason: z.boolean().optional().describe('A human decision must carry a reason'),
  requireDistinctApprover: z.boolean().optional().describe('The key that asked may never decide, even an admin key'),
});

const policyFields = {
  name: z.string().min(1).max(200).describe('Unique, human-readable name'),
  description: z.string().max(2000).nullable().optional().describe('Why the policy exists'),
  priority: z.number().int().optional().describe('Lower runs first (default 100); the first matching rule of all policies wins'),
  enabled: z.boolean().optional().describe('Disabled policies are skipped (default true)'),
  rules: z.array(rule).min(1).describe('Tried in order; the first match decides'),
};

type Text = { type: 'text'; text: string };
const text = (t: string): Text => ({ type: 'text', text: t });
const result = (summary: string, data: unknown): CallToolResult => ({ content: [text(summary), text(JSON.stringify(data, null, 2))] });

function failure(err: unknown): CallToolResult {
  if (err instanceof AgentGateError) {
    const details = err.details === undefined ? '' : `\n${JSON.stringify(err.details, null, 2)}`;
    return { isError: true, content: [text(`${err.code}${err.status ? ` (HTTP ${err.status})` : ''}: ${err.message}${details}`)] };
  }
  return { isError: true, content: [text(`Error: ${(err as Error)?.message ?? String(err)}`)] };
}

/** Tells the model what the status means for what it may do next. */
function outcome(r: ApprovalRequest): string {
  switch (r.status) {
    case 'approved': return `Request ${r.id} (${r.action}) is APPROVED${r.decidedBy ? ` by ${r.decidedBy}` : ''}: you may proceed with the action.`;
    case 'denied': return `Request ${r.id} (${r.action}) is DENIED${r.decisionReason ? `: ${r.decisionReason}` : ''}. Do not perform the action.`;
    case 'expired': return `Request ${r.id} (${r.action}) EXPIRED without a decision. Do not perform the action.`;
    case 'cancelled': return `Request ${r.id} (${r.action}) was CANCELLED. Do not perform the action.`;
    default: return `Request ${r.id} (${r.action}) is PENDING a human decision. Do not act yet; check again later with agentgate_check_request.`;
  }
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Failures become error results the model can read, instead of protocol errors. */
const safely = <A,>(fn: (args: A, extra: Extra) => Promise<CallToolResult>) =>
  async (args: A, extra: Extra): Promise<CallToolResult> => {
    try {
      return await fn(args, extra);
    } catch (err) {
      return failure(err);
    }
  };

/** The AgentGate MCP server: the seven functions of the contract, over one SDK client. */
export function createServer(client: AgentGateClient): McpServer {
  const server = new McpServer({ name: 'agentgate', version: VERSION });

  server.registerTool('agentgate_request_approval', {
    title: 'Ask a human for approval',
    description:
      'Ask for approval BEFORE doing something sensitive or irreversible (sending messages, spending money, deleting or changing data, '
      + 'deploying). Policies may approve or deny at once; otherwise a person decides. Only proceed when the returned status is "approved". '
      + 'With wait=true the call returns once the request is decided (or timeoutSeconds pass, leaving it pending).',
    inputSchema: {
      action: z.string().min(1).max(200).describe('A short snake_case verb for what you want to do, e.g. "send_email", "delete_file"'),
      params: jsonObject.optional().describe('The exact parameters of the action, so the reviewer sees what will happen, e.g. {"to": "a@b.c", "subject": "…"}'),
      context: jsonObject.optional().describe('Why you want to do it and anything that helps the reviewer decide'),
      urgency: urgency.optional().describe('How soon a decision is needed (default normal)'),
      expiresAt: z.string().optional().describe('ISO-8601 time after which the request expires undecided, e.g. 2030-01-01T00:00:00Z'),
      wait: z.boolean().optional().describe('Wait for the decision before returning (default false)'),
      timeoutSeconds: z.number().int().min(1).max(3600).optional().describe('With wait: how long to wait at most (default 300)'),
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  }, safely(async (args: {
    action: string; params?: Record<string, unknown>; context?: Record<string, unknown>; urgency?: z.infer<typeof urgency>;
    expiresAt?: string; wait?: boolean; timeoutSeconds?: number;
  }, extra) => {
    const created = await client.request({
      action: args.action,
      ...(args.params && { params: args.params }),
      ...(args.context && { context: args.context }),
      ...(args.urgency && { urgency: args.urgency }),
      ...(args.expiresAt && { expiresAt: args.expiresAt }),
    }, { signal: extra.signal });
    if (!args.wait || created.status !== 'pending') return result(outcome(created), created);
    const timeoutSeconds = args.timeoutSeconds ?? 300;
    // Progress notices keep a waiting client from timing the call out (MCP clients reset their timer on progress).
    const token = extra._meta?.progressToken;
    const started = Date.now();
    const ticker = token === undefined ? null : setInterval(() => {
      const elapsed = Math.round((Date.now() - started) / 1000);
      extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress: elapsed, total: timeoutSeconds, message: `waiting for a decision on ${created.id} (${elapsed}s)` },
      }).catch(() => {});
    }, 5_000);
    try {
      const decided = await client.waitForDecision(created.id, { timeout: timeoutSeconds * 1000, signal: extra.signal });
      return result(outcome(decided), decided);
    } catch (err) {
      if (err instanceof TimeoutError) {
        const current = await client.getRequest(created.id);
        return result(`${outcome(current)} (waited ${timeoutSeconds} s)`, current);
      }
      throw err;
    } finally {
      if (ticker) clearInterval(ticker);
    }
  }));

  server.registerTool('agentgate_check_request', {
    title: 'Check an approval request',
    description: 'Get the current status of an approval request by id (req_…): pending, approved, denied, expired or cancelled.',
    inputSchema: {
      id: z.string().describe('The request id returned by agentgate_request_approval'),
      includeAudit: z.boolean().optional().describe('Also return the request\'s audit trail (who did what, when)'),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, safely(async (args: { id: string; includeAudit?: boolean }, extra) => {
    const r = await client.getRequest(args.id, { signal: extra.signal });
    if (!args.includeAudit) return result(outcome(r), r);
    const audit = await client.getAuditTrail(args.id, { signal: extra.signal });
    return result(outcome(r), { request: r, audit });
  }));

  server.registerTool('agentgate_list_requests', {
    title: 'List approval requests',
    description: 'List approval requests, newest first, optionally filtered by status, action or urgency.',
    inputSchema: {
      status: status.optional().describe('Only requests in this status'),
      action: z.string().optional().describe('Only requests for this action'),
      urgency: urgency.optional(),
      limit: z.number().int().min(1).max(100).optional().describe('At most this many (default 20)'),
      cursor: z.string().optional().describe('pagination.nextCursor from a previous answer, for the next page'),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, safely(async (args: { status?: z.infer<typeof status>; action?: string; urgency?: z.infer<typeof urgency>; limit?: number; cursor?: string }, extra) => {
    const page = await client.listRequests({ ...args, limit: args.limit ?? 20 }, { signal: extra.signal });
    return result(`${page.requests.length} of ${page.pagination.total} request(s)${page.pagination.hasMore ? '; more with cursor' : ''}.`, page);
  }));

  server.registerTool('agentgate_list_policies', {
    title: 'List policies',
    description: 'List the approval policies in evaluation order (lowest priority number first). Each has rules that auto-approve, auto-deny or route matching requests to people.',
    inputSchema: {},
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, safely(async (_args: Record<string, never>, extra) => {
    const policies = await client.listPolicies({ signal: extra.signal });
    return result(`${policies.length} polic${policies.length === 1 ? 'y' : 'ies'}.`, policies);
  }));

  server.registerTool('agentgate_create_policy', {
    title: 'Create a policy',
    description: 'Create an approval policy: rules that decide matching requests automatically (auto_approve / auto_deny) or send them to people (route_to_human). Needs a key with policy:write.',
    inputSchema: policyFields,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  }, safely(async (args: PolicyInput, extra) => {
    const p = await client.createPolicy(args, { signal: extra.signal });
    return result(`Created policy ${p.id} "${p.name}".`, p);
  }));

  server.registerTool('agentgate_update_policy', {
    title: 'Update a policy',
    description: 'Change a policy by id: only the fields given change; "rules", when given, replaces the whole rule list.',
    inputSchema: {
      id: z.string().describe('The policy id (pol_…)'),
      name: policyFields.name.optional(),
      description: policyFields.description,
      priority: policyFields.priority,
      enabled: policyFields.enabled,
      rules: policyFields.rules.optional(),
    },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  }, safely(async (args: { id: string } & Partial<PolicyInput>, extra) => {
    const { id, ...changes } = args;
    const current: Policy = await client.getPolicy(id, { signal: extra.signal });
    // The API replaces a policy whole (PUT), so the unchanged fields are carried over from the current one.
    const next: PolicyInput = {
      name: changes.name ?? current.name,
      description: changes.description !== undefined ? changes.description : current.description,
      priority: changes.priority ?? current.priority,
      enabled: changes.enabled ?? current.enabled,
      rules: changes.rules ?? current.rules,
    };
    const p = await client.updatePolicy(id, next, { signal: extra.signal });
    return result(`Updated policy ${p.id} "${p.name}" (version ${p.version}).`, p);
  }));

  server.registerTool('agentgate_delete_policy', {
    title: 'Delete a policy',
    description: 'Delete a policy by id. Requests it already decided keep their decision; its history stays in the audit log.',
    inputSchema: { id: z.string().describe('The policy id (pol_…)') },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  }, safely(async (args: { id: string }, extra) => {
    const res = await client.deletePolicy(args.id, { signal: extra.signal });
    return result(`Deleted policy ${args.id}.`, res);
  }));

  return server;
}
