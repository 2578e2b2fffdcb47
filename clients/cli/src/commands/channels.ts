import type { Command } from 'commander';
import pc from 'picocolors';
import type { ChannelTest, ChannelType } from '@agentgate/sdk';
import { EXIT, UsageError } from '../errors.ts';
import { positiveInt, type Ctx, type Run } from '../context.ts';
import { fields, table, when } from '../output.ts';

const TYPES = ['slack', 'discord', 'email'];

/** `agentgate channels` and `agentgate channels test <type>` (need reviewer:manage). */
export function channelCommands(program: Command, run: Run): void {
  const channels = program.command('channels').description('Notification channels: on or off, last delivery, test message (needs reviewer:manage)')
    .action(run(listChannels));

  channels.command('list').description('The channels, on or off as configured, with their last delivery and last test')
    .action(run(listChannels));

  channels.command('test').description('Send a test message to the channel\'s default destination and wait for the outcome')
    .argument('<type>', TYPES.join(' | '))
    .option('--timeout <seconds>', 'how long to wait for the worker to send it', '30')
    .action(run(async (ctx: Ctx, type: string, o: { timeout: string }) => {
      if (!TYPES.includes(type)) throw new UsageError(`<type> must be one of ${TYPES.join(', ')}`);
      const timeoutMs = (positiveInt('--timeout', o.timeout) ?? 30) * 1000;
      const client = await ctx.client();
      let test: ChannelTest = await client.testChannel(type as ChannelType, { signal: ctx.signal });
      // The worker sends it; poll its record until it has an outcome.
      const deadline = Date.now() + timeoutMs;
      while (test.status === 'queued' && Date.now() < deadline && !ctx.signal.aborted) {
        await new Promise((r) => setTimeout(r, 250));
        test = await client.getChannelTest(type as ChannelType, test.id, { signal: ctx.signal });
      }
      if (ctx.json) ctx.outJson(test);
      else if (test.status === 'sent') ctx.out(`${pc.green('sent')} to ${test.target} (message ${test.messageId})`);
      else if (test.status === 'failed') ctx.err(`${pc.red('failed')}: ${test.error}`);
      else ctx.err(`${pc.yellow('still queued')} after ${timeoutMs / 1000} s: is a worker running? (test ${test.id})`);
      return test.status === 'sent' ? EXIT.ok : EXIT.error;
    }));
}

async function listChannels(ctx: Ctx): Promise<void> {
  const rows = await (await ctx.client()).listChannels({ signal: ctx.signal });
  if (ctx.json) return ctx.outJson(rows);
  ctx.out(table(rows, [
    { header: 'CHANNEL', value: (c) => c.type },
    { header: 'STATE', value: (c) => (c.enabled ? pc.green('on') : `${pc.gray('off')} ${pc.dim(`(${c.reason})`)}`) },
    { header: 'DEFAULT', value: (c) => c.defaultTarget ?? '' },
    { header: 'LAST DELIVERY', value: (c) => (c.lastDelivery ? `${outcome(c.lastDelivery.status)} ${c.lastDelivery.destination} ${when(c.lastDelivery.at)}` : pc.dim('none')) },
    { header: 'LAST TEST', value: (c) => (c.lastTest ? `${outcome(c.lastTest.status)} ${when(c.lastTest.finishedAt ?? c.lastTest.requestedAt)}` : pc.dim('none')) },
  ]));
  const failing = rows.filter((c) => c.lastDelivery?.status === 'failed');
  if (failing.length) ctx.out(fields(failing.map((c) => [`${c.type} error`, c.lastDelivery!.error])));
}

const outcome = (status: string) =>
  status === 'failed' ? pc.red(status) : status === 'queued' || status === 'planned' ? pc.yellow(status) : pc.green(status);
