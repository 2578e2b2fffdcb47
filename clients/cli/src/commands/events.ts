import type { Command } from 'commander';
import pc from 'picocolors';
import type { EventFilter } from '@agentgate/sdk';
import { list, positiveInt, type Ctx, type Run } from '../context.ts';
import { eventLine } from '../output.ts';

interface FilterOpts {
  type?: string;
  streamType?: string;
  request?: string;
}

function filterOf(o: FilterOpts): EventFilter | undefined {
  const f: EventFilter = {
    ...(o.type && { types: list(o.type) }),
    ...(o.streamType && { streamTypes: list(o.streamType) }),
    ...(o.request && { requestIds: list(o.request) }),
  };
  return Object.keys(f).length ? f : undefined;
}

const withFilters = (cmd: Command) => cmd
  .option('--type <types>', 'only these event types, comma-separated (e.g. request.approved,request.denied)')
  .option('--stream-type <types>', 'only these streams: request, policy, apikey, webhook')
  .option('--request <ids>', 'only events of these requests');

export function eventCommands(program: Command, run: Run): void {
  withFilters(program.command('watch').description('Follow events live, one line each (Ctrl-C to stop)')
    .option('--from <position>', 'replay the log after this position first (0 = everything)'))
    .action(run(async (ctx: Ctx, o: { from?: string } & FilterOpts) => {
      const client = await ctx.client();
      const stream = client.events({
        from: positiveInt('--from', o.from),
        filter: filterOf(o),
        signal: ctx.signal,
        onStatus: (status, detail) => {
          if (ctx.json) return;
          if (status === 'open' && detail.attempt === 0) ctx.err(pc.dim(`watching ${client.baseUrl} (Ctrl-C to stop)`));
          else if (status === 'open') ctx.err(pc.dim(`reconnected; resuming after position ${detail.position ?? 0}`));
          else if (status === 'reconnecting') ctx.err(pc.dim(`connection lost (${detail.reason}); reconnecting…`));
        },
      });
      try {
        for await (const e of stream) {
          // NDJSON in --json mode, so `agentgate watch --json | jq` works line by line.
          ctx.out(ctx.json ? JSON.stringify(e) : eventLine(e));
        }
      } catch (err) {
        if (ctx.signal.aborted) return;
        throw err;
      }
    }));

  withFilters(program.command('export').description('Write the event log as NDJSON to stdout (progress on stderr)')
    .option('--from <position>', 'start after this log position (default 0: everything)'))
    .action(run(async (ctx: Ctx, o: { from?: string } & FilterOpts) => {
      const client = await ctx.client();
      const from = positiveInt('--from', o.from) ?? 0;
      const tty = process.stderr.isTTY;
      let count = 0;
      let cursor = from;
      let shownAt = 0;
      const progress = (final: boolean) => {
        const line = `exported ${count} event${count === 1 ? '' : 's'}; continue later with --from ${cursor}`;
        if (tty) process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
        else if (final) ctx.err(line);
      };
      const filter = filterOf(o);
      const events = client.exportEvents({ from, ...(filter && { filter }), signal: ctx.signal, onCursor: (p) => { cursor = p; } });
      for await (const e of events) {
        if (!process.stdout.write(JSON.stringify(e) + '\n')) {
          await new Promise((resolve) => process.stdout.once('drain', resolve));
        }
        count++;
        cursor = e.position;
        if (tty && Date.now() - shownAt > 100) {
          shownAt = Date.now();
          progress(false);
        }
      }
      progress(true);
    }));
}
