import { Option, type Command } from 'commander';
import pc from 'picocolors';
import type { AuditQuery } from '@agentgate/sdk';
import { UsageError } from '../errors.ts';
import { positiveInt, type Ctx, type Run } from '../context.ts';
import { colorStatus, table, when } from '../output.ts';

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'];

interface AuditOptions {
  eventType?: string; action?: string; status?: string; actor?: string; request?: string;
  from?: string; to?: string; limit?: string; offset?: string; cursor?: string;
}

export function auditCommands(program: Command, run: Run): void {
  const audit = program.command('audit').description('Search the audit log, newest first (needs audit:read)')
    .option('--event-type <type>', 'created, approved, policy.updated, …')
    .option('--action <action>', 'only entries about requests for this action')
    .addOption(new Option('--status <status>', 'only entries about requests now in this status').choices(STATUSES))
    .option('--actor <actor>', 'who acted, as printed: key:ops-bot, policy:small-payments, reviewer:Alice, system')
    .option('--request <id>', 'only this request\'s entries')
    .option('--from <date>', 'from this date (YYYY-MM-DD, UTC) or date-time on')
    .option('--to <date>', 'until this date (YYYY-MM-DD: to the end of that day, UTC) or before this date-time')
    .option('--limit <n>', 'at most this many (1-500, default 50)')
    .option('--offset <n>', 'skip this many')
    .option('--cursor <cursor>', 'the next page, from a previous search')
    .action(run(async (ctx: Ctx, o: AuditOptions) => {
      const limit = positiveInt('--limit', o.limit);
      if (limit !== undefined && (limit < 1 || limit > 500)) throw new UsageError('--limit must be between 1 and 500');
      const query: AuditQuery = {
        ...(o.eventType ? { eventType: o.eventType } : {}), ...(o.action ? { action: o.action } : {}),
        ...(o.status ? { status: o.status } : {}), ...(o.actor ? { actor: o.actor } : {}),
        ...(o.request ? { requestId: o.request } : {}), ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}),
        ...(limit !== undefined ? { limit } : {}), ...(o.offset !== undefined ? { offset: positiveInt('--offset', o.offset) } : {}),
        ...(o.cursor ? { cursor: o.cursor } : {}),
      };
      const page = await (await ctx.client()).audit(query, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(page);
      if (page.entries.length === 0) return ctx.out(pc.dim('No entries.'));
      ctx.out(table(page.entries, [
        { header: 'TIME', value: (e) => when(e.createdAt) },
        { header: 'EVENT', value: (e) => e.eventType },
        { header: 'ACTOR', value: (e) => `${e.actor}${e.channel ? pc.dim(` via ${e.channel}`) : ''}` },
        { header: 'REQUEST', value: (e) => (e.request ? `${e.request.id} ${e.request.action} ${colorStatus(e.request.status)}` : pc.dim(e.streamId)) },
      ]));
      const { total, offset, hasMore, nextCursor } = page.pagination;
      const more = hasMore && nextCursor ? `; next page: --cursor ${nextCursor}` : '';
      ctx.out(pc.dim(`${offset + 1}-${offset + page.entries.length} of ${total}${more}`));
    }));

  audit.command('actors').description('Who appears in the audit log, as the --actor filter takes them')
    .action(run(async (ctx: Ctx) => {
      const actors = await (await ctx.client()).auditActors({ signal: ctx.signal });
      if (ctx.json) return ctx.outJson(actors);
      ctx.out(actors.length ? actors.join('\n') : pc.dim('No actors yet.'));
    }));
}
