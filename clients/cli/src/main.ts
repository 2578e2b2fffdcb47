import { Command, CommanderError } from 'commander';
import pc from 'picocolors';
import { AgentGateError } from '@agentgate/sdk';
import { resolveConfig } from './config.ts';
import { EXIT, UsageError } from './errors.ts';
import { makeCtx, VERSION, type Action, type Run } from './context.ts';
import { configCommands } from './commands/config.ts';
import { requestCommands } from './commands/requests.ts';
import { eventCommands } from './commands/events.ts';
import { hookCommands } from './commands/hook.ts';
import { keyCommands, overrideCommands, policyCommands, webhookCommands } from './commands/admin.ts';
import { channelCommands } from './commands/channels.ts';
import { auditCommands } from './commands/audit.ts';

export function buildProgram(run: Run): Command {
  const program = new Command('agentgate')
    .description('AgentGate from the command line: ask for approval, decide, watch, manage keys, policies and webhooks.')
    .version(VERSION)
    .option('--json', 'answer in JSON (for scripts)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Settings come from ~/.agentgate/config.json (agentgate config set serverUrl|apiKey …);
AGENTGATE_URL and AGENTGATE_API_KEY override it.
Exit codes: 0 ok, 1 error, 2 usage, 3 the request was denied, expired or cancelled.`);
  configCommands(program, run);
  requestCommands(program, run);
  eventCommands(program, run);
  keyCommands(program, run);
  policyCommands(program, run);
  overrideCommands(program, run);
  webhookCommands(program, run);
  channelCommands(program, run);
  auditCommands(program, run);
  hookCommands(program, run);
  // Every command and subcommand reports usage errors the same way (exit 2).
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

async function explain(err: AgentGateError): Promise<string> {
  let message = err.message;
  if (err.code === 'UNAUTHORIZED') {
    const config = await resolveConfig().catch(() => null);
    if (config && !config.apiKey) message += '\n  No API key is set: agentgate config set apiKey agk_…  (or AGENTGATE_API_KEY)';
  }
  if (err.code === 'NETWORK_ERROR') message += '\n  Is the server running? Check: agentgate config show';
  return message;
}

/** Runs the CLI and returns its exit code. */
export async function main(argv: string[]): Promise<number> {
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new DOMException('Interrupted', 'AbortError'));
  process.once('SIGINT', onSigint);
  let code: number = EXIT.ok;
  const run: Run = (fn: Action) => async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const result = await fn(makeCtx(cmd, interrupt.signal), ...args.slice(0, -1));
    if (typeof result === 'number') code = result;
  };
  const program = buildProgram(run);
  const json = argv.includes('--json');
  const fail = (exit: number, payload: Record<string, unknown>, text: string) => {
    if (json) process.stderr.write(JSON.stringify({ error: payload }) + '\n');
    else process.stderr.write(`${pc.red('error:')} ${text}\n`);
    return exit;
  };
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (interrupt.signal.aborted) return EXIT.interrupted;
    if (err instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; commander already printed its message.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UsageError) return fail(EXIT.usage, { code: 'USAGE', message: err.message }, err.message);
    if (err instanceof AgentGateError) {
      const where = [err.code, err.status ? `HTTP ${err.status}` : '', err.requestId ? `request id ${err.requestId}` : ''].filter(Boolean).join(', ');
      return fail(EXIT.error, { code: err.code, message: err.message, status: err.status, details: err.details, requestId: err.requestId },
        `${await explain(err)} ${pc.dim(`(${where})`)}`);
    }
    return fail(EXIT.error, { code: 'ERROR', message: (err as Error)?.message ?? String(err) }, (err as Error)?.message ?? String(err));
  } finally {
    process.off('SIGINT', onSigint);
  }
}

const exitCode = await main(process.argv);
// Flush what is buffered for pipes before leaving; an open socket must not keep the CLI alive.
process.stdout.write('', () => process.exit(exitCode));
