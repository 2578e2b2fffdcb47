/**
 * `agentgate hook claude-code`: a Claude Code PreToolUse hook. Claude Code runs it before a
 * tool call with the call as JSON on stdin; it asks AgentGate (action = the tool's name,
 * params = its input), waits for the decision, and answers on stdout with the hook's
 * decision JSON. Policies decide what needs a person: read-only tools can be auto-approved,
 * `Bash` with `rm` routed to a human.
 *
 * It always exits 0 with a decision on stdout: Claude Code lets a tool call through when a
 * hook fails with any exit code but 2, so every failure here becomes an explicit decision
 * (deny by default: a gate that cannot reach its judge stays shut).
 */
import { Option, type Command } from 'commander';
import { TimeoutError, type ApprovalRequest } from '@agentgate/sdk';
import { positiveInt, type Ctx, type Run } from '../context.ts';
import { UsageError } from '../errors.ts';

/** What Claude Code sends a PreToolUse hook (fields it may add later are ignored). */
export interface PreToolUseInput {
  session_id?: string;
  transcript_path?: string;
  cwd?: string;
  permission_mode?: string;
  hook_event_name?: string;
  tool_name: string;
  tool_input: Record<string, unknown>;
  tool_use_id?: string;
}

export type PermissionDecision = 'allow' | 'deny' | 'ask';

export interface HookOutput {
  hookSpecificOutput: {
    hookEventName: 'PreToolUse';
    permissionDecision: PermissionDecision;
    permissionDecisionReason: string;
  };
}

const FALLBACKS = ['deny', 'ask'] as const;
type Fallback = (typeof FALLBACKS)[number];

export function parseHookInput(text: string): PreToolUseInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('the hook input on stdin is not JSON');
  }
  const v = value as Partial<PreToolUseInput> | null;
  if (!v || typeof v !== 'object' || typeof v.tool_name !== 'string' || !v.tool_name) {
    throw new UsageError('the hook input has no tool_name: is this a PreToolUse hook?');
  }
  if (v.hook_event_name !== undefined && v.hook_event_name !== 'PreToolUse') {
    throw new UsageError(`the hook input is for ${v.hook_event_name}; this command answers PreToolUse only`);
  }
  const toolInput = v.tool_input && typeof v.tool_input === 'object' && !Array.isArray(v.tool_input) ? v.tool_input : {};
  return { ...v, tool_name: v.tool_name, tool_input: toolInput as Record<string, unknown> };
}

/** The approval request for one tool call: everything a reviewer needs, nothing Claude Code keeps private. */
export function requestFor(input: PreToolUseInput, urgency?: string) {
  const context: Record<string, unknown> = { source: 'claude-code' };
  if (input.session_id) context.sessionId = input.session_id;
  if (input.cwd) context.cwd = input.cwd;
  if (input.permission_mode) context.permissionMode = input.permission_mode;
  if (input.tool_use_id) context.toolUseId = input.tool_use_id;
  return {
    body: { action: input.tool_name, params: input.tool_input, context, ...(urgency && { urgency: urgency as ApprovalRequest['urgency'] }) },
    // The same tool call asked twice (a retried hook) is one request, not two.
    idempotencyKey: input.tool_use_id ? `claude-code:${input.session_id ?? ''}:${input.tool_use_id}` : undefined,
  };
}

export function decisionFor(r: ApprovalRequest): { decision: PermissionDecision; reason: string } {
  const who = r.decidedByLabel ?? r.decider?.name ?? r.decidedBy;
  const policy = r.policyDecision && r.policyDecision.decision !== 'route_to_human' ? r.policyDecision.policyName ?? r.policyDecision.policyId : null;
  const by = who ? ` by ${who}` : policy ? ` by policy ${policy}` : '';
  const because = r.decisionReason ? `: ${r.decisionReason}` : '';
  switch (r.status) {
    case 'approved':
      return { decision: 'allow', reason: `AgentGate ${r.id} approved${by}${because}` };
    case 'denied':
      return { decision: 'deny', reason: `AgentGate ${r.id} denied${by}${because}` };
    default:
      return { decision: 'deny', reason: `AgentGate ${r.id} ${r.status}${because}` };
  }
}

export const hookOutput = (decision: PermissionDecision, reason: string): HookOutput => ({
  hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: decision, permissionDecisionReason: reason },
});

async function readStdin(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return text;
}

interface HookOpts {
  timeout?: string;
  urgency?: string;
  onTimeout: Fallback;
  onError: Fallback;
}

export function hookCommands(program: Command, run: Run): void {
  const hook = program.command('hook').description('Gate another program\'s actions through AgentGate');
  hook.command('claude-code')
    .description('A Claude Code PreToolUse hook: reads the tool call on stdin, waits for AgentGate\'s decision, prints the hook\'s decision JSON')
    .option('--timeout <seconds>', 'wait at most this long for a decision (keep it below the hook\'s own timeout)', '540')
    .addOption(new Option('--urgency <urgency>', 'urgency of the requests').choices(['low', 'normal', 'high', 'critical']))
    .addOption(new Option('--on-timeout <decision>', 'answer when no one decided in time').choices(FALLBACKS).default('deny'))
    .addOption(new Option('--on-error <decision>', 'answer when AgentGate cannot be asked (unreachable, bad key, bad input)').choices(FALLBACKS).default('deny'))
    .addHelpText('after', `
In .claude/settings.json (or ~/.claude/settings.json):
  { "hooks": { "PreToolUse": [ { "matcher": "*", "hooks": [
      { "type": "command", "command": "agentgate hook claude-code", "timeout": 600 } ] } ] } }
AGENTGATE_URL and AGENTGATE_API_KEY (a key with request:create and request:read) say where to ask.`)
    .action(run(async (ctx: Ctx, o: HookOpts) => {
      const answer = (decision: PermissionDecision, reason: string) => {
        process.stdout.write(JSON.stringify(hookOutput(decision, reason)) + '\n');
        return 0;
      };
      let input: PreToolUseInput;
      let timeoutSeconds: number;
      try {
        timeoutSeconds = positiveInt('--timeout', o.timeout) ?? 540;
        input = parseHookInput(await readStdin());
      } catch (err) {
        return answer(o.onError, `AgentGate hook: ${(err as Error).message}`);
      }
      let created: ApprovalRequest;
      try {
        const client = await ctx.client();
        const { body, idempotencyKey } = requestFor(input, o.urgency);
        created = await client.request(body, { ...(idempotencyKey && { idempotencyKey }), signal: ctx.signal });
        if (created.status === 'pending') {
          ctx.err(`AgentGate: waiting for a decision on ${created.id} (${input.tool_name})`);
          created = await client.waitForDecision(created.id, { timeout: timeoutSeconds * 1000, signal: ctx.signal });
        }
      } catch (err) {
        if (err instanceof TimeoutError) return answer(o.onTimeout, `AgentGate: no decision within ${timeoutSeconds} s`);
        const code = (err as { code?: string }).code;
        return answer(o.onError, `AgentGate could not be asked${code ? ` (${code})` : ''}: ${(err as Error).message}`);
      }
      const { decision, reason } = decisionFor(created);
      return answer(decision, reason);
    }));
}
