import { Option, type Command } from 'commander';
import pc from 'picocolors';
import { TimeoutError, type ApprovalRequest, type RequestStatus, type Urgency } from '@agentgate/sdk';
import { EXIT, UsageError } from '../errors.ts';
import { jsonObject, positiveInt, type Ctx, type Run } from '../context.ts';
import { colorStatus, requestColumns, requestDetails, table } from '../output.ts';
import { spinner } from '../spinner.ts';

const URGENCIES = ['low', 'normal', 'high', 'critical'];
const STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'];
const REFUSED: RequestStatus[] = ['denied', 'expired', 'cancelled'];

/** Denied, expired and cancelled all mean "do not act": exit 3 so a script's `&&` stops. */
const exitFor = (r: ApprovalRequest) => (REFUSED.includes(r.status) ? EXIT.refused : EXIT.ok);

function show(ctx: Ctx, r: ApprovalRequest): void {
  if (ctx.json) ctx.outJson(r);
  else ctx.out(requestDetails(r));
}

interface RequestOpts {
  params?: string;
  context?: string;
  urgency?: Urgency;
  expiresAt?: string;
  wait?: boolean;
  timeout?: string;
  idempotencyKey?: string;
}

export function requestCommands(program: Command, run: Run): void {
  program.command('request').description('Ask for approval of an action (and, with --wait, wait for the decision)')
    .argument('<action>', 'what the agent wants to do, e.g. send_email')
    .option('--params <json>', 'the action\'s parameters, a JSON object')
    .option('--context <json>', 'context for the reviewer, a JSON object')
    .addOption(new Option('--urgency <urgency>', 'how urgent the decision is').choices(URGENCIES))
    .option('--expires-at <iso>', 'when the request expires undecided (ISO-8601)')
    .option('--wait', 'wait until the request is decided; exit 3 if denied, expired or cancelled')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds (default 300)')
    .option('--idempotency-key <key>', 'send again with the same key to get the same request, not a new one')
    .action(run(async (ctx: Ctx, action: string, o: RequestOpts) => {
      const params = jsonObject('--params', o.params);
      const context = jsonObject('--context', o.context);
      const timeoutSeconds = positiveInt('--timeout', o.timeout) ?? 300;
      if (o.timeout !== undefined && !o.wait) throw new UsageError('--timeout only applies with --wait');
      if (o.expiresAt !== undefined && Number.isNaN(Date.parse(o.expiresAt))) throw new UsageError('--expires-at must be an ISO-8601 date');
      const client = await ctx.client();
      const created = await client.request(
        { action, ...(params && { params }), ...(context && { context }), ...(o.urgency && { urgency: o.urgency }), ...(o.expiresAt && { expiresAt: o.expiresAt }) },
        { ...(o.idempotencyKey && { idempotencyKey: o.idempotencyKey }), signal: ctx.signal },
      );
      if (!o.wait || created.status !== 'pending') {
        show(ctx, created);
        return exitFor(created);
      }
      if (!ctx.json) ctx.err(`${pc.dim('created')} ${created.id} ${colorStatus(created.status)}`);
      const spin = spinner(`waiting for a decision on ${created.id}`);
      try {
        const decided = await client.waitForDecision(created.id, { timeout: timeoutSeconds * 1000, signal: ctx.signal });
        spin.stop();
        show(ctx, decided);
        return exitFor(decided);
      } catch (err) {
        spin.stop();
        if (err instanceof TimeoutError) {
          throw new TimeoutError(`${created.id} is still pending after ${timeoutSeconds} s; check later with: agentgate status ${created.id}`, { id: created.id });
        }
        throw err;
      }
    }));

  program.command('status').description('Show one request').argument('<id>')
    .action(run(async (ctx: Ctx, id: string) => {
      const r = await (await ctx.client()).getRequest(id, { signal: ctx.signal });
      show(ctx, r);
    }));

  program.command('list').description('List requests, newest first')
    .addOption(new Option('--status <status>', 'only requests in this status').choices(STATUSES))
    .option('--action <action>', 'only this action')
    .addOption(new Option('--urgency <urgency>').choices(URGENCIES))
    .option('--limit <n>', 'at most this many (1-100, default 50)')
    .option('--cursor <cursor>', 'the next page, from a previous list')
    .action(run(async (ctx: Ctx, o: { status?: RequestStatus; action?: string; urgency?: Urgency; limit?: string; cursor?: string }) => {
      const limit = positiveInt('--limit', o.limit);
      if (limit !== undefined && (limit < 1 || limit > 100)) throw new UsageError('--limit must be between 1 and 100');
      const page = await (await ctx.client()).listRequests(
        { status: o.status, action: o.action, urgency: o.urgency, limit, cursor: o.cursor }, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(page);
      if (page.requests.length === 0) return ctx.out(pc.dim('No requests.'));
      ctx.out(table(page.requests, requestColumns));
      const more = page.pagination.hasMore && page.pagination.nextCursor ? `; next page: --cursor ${page.pagination.nextCursor}` : '';
      ctx.out(pc.dim(`${page.requests.length} of ${page.pagination.total}${more}`));
    }));

  const decide = (decision: 'approved' | 'denied') => run(async (ctx: Ctx, id: string, o: { reason?: string; as?: string }) => {
    const r = await (await ctx.client()).decide(id, decision, { reason: o.reason ?? null, decidedBy: o.as ?? null, signal: ctx.signal });
    if (ctx.json) return ctx.outJson(r);
    ctx.out(`${decision === 'approved' ? pc.green('✓') : pc.red('✗')} ${r.id} ${colorStatus(r.status)} ${pc.dim(`(${r.action})`)}`);
  });
  program.command('approve').description('Approve a pending request').argument('<id>')
    .option('--reason <text>', 'why (some policies require one)').option('--as <label>', 'a label recorded beside your key')
    .action(decide('approved'));
  program.command('deny').description('Deny a pending request').argument('<id>')
    .option('--reason <text>', 'why (some policies require one)').option('--as <label>', 'a label recorded beside your key')
    .action(decide('denied'));

  program.command('cancel').description('Cancel a pending request you created').argument('<id>')
    .option('--reason <text>')
    .action(run(async (ctx: Ctx, id: string, o: { reason?: string }) => {
      const r = await (await ctx.client()).cancel(id, { reason: o.reason ?? null, signal: ctx.signal });
      if (ctx.json) return ctx.outJson(r);
      ctx.out(`${r.id} ${colorStatus(r.status)}`);
    }));
}
