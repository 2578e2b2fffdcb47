import type { Command } from 'commander';
import pc from 'picocolors';
import { list, positiveInt, type Ctx, type Run } from '../context.ts';
import { eventLine } from '../output.ts';

export function eventCommands(program: Command, run: Run): void {
  program.command('watch').description('Follow events live, one line each (Ctrl-C to stop)')
    .option('--from <position>', 'replay from this log position first (0 = everything)')
    .option('--filter <types>', 'comma-separated event types; "request.*" matches a prefix')
    .action(run(async (ctx: Ctx, o: { from?: string; filter?: string }) => {
      const client = await ctx.client();
      const stream = client.events({
        from: positiveInt('--from', o.from),
        filter: list(o.filter),
        signal: ctx.signal,
        onStatus: (status) => {
          if (ctx.json) return;
          ctx.err(pc.dim(status === 'open' ? `watching ${client.baseUrl} (Ctrl-C to stop)` : 'connection lost; reconnecting…'));
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

  program.command('export').description('Write the event log as NDJSON to stdout (progress on stderr)')
    .option('--from <position>', 'start after this log position (default 0: everything)')
    .option('--filter <types>', 'comma-separated event types; "request.*" matches a prefix')
    .action(run(async (ctx: Ctx, o: { from?: string; filter?: string }) => {
      const client = await ctx.client();
      const from = positiveInt('--from', o.from) ?? 0;
      const tty = process.stderr.isTTY;
      let count = 0;
      let last: number | null = null;
      let shownAt = 0;
      const progress = (final: boolean) => {
        const line = `exported ${count} event${count === 1 ? '' : 's'}${last !== null ? ` (last position ${last})` : ''}`;
        if (tty) process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
        else if (final) ctx.err(line);
      };
      for await (const e of client.exportEvents({ from, filter: list(o.filter), signal: ctx.signal })) {
        if (!process.stdout.write(JSON.stringify(e) + '\n')) {
          await new Promise((resolve) => process.stdout.once('drain', resolve));
        }
        count++;
        last = e.position;
        if (tty && Date.now() - shownAt > 100) {
          shownAt = Date.now();
          progress(false);
        }
      }
      progress(true);
    }));
}
