import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { AgentGateClient, AgentGateError } from '@agentgate/sdk';
import { resolveConfig } from './config.ts';
import { UsageError } from './errors.ts';

/** The package's own version: package.json sits one folder up from both src/ and dist/. */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** What every command needs: the client, and whether to answer in JSON. */
export interface Ctx {
  json: boolean;
  client(): Promise<AgentGateClient>;
  out(text: string): void;
  outJson(value: unknown): void;
  err(text: string): void;
  /** Aborted on Ctrl-C so waits and streams end cleanly. */
  signal: AbortSignal;
}

export function makeCtx(cmd: Command, signal: AbortSignal): Ctx {
  const json = Boolean(cmd.optsWithGlobals().json);
  return {
    json,
    signal,
    async client() {
      const config = await resolveConfig();
      return new AgentGateClient({
        baseUrl: config.serverUrl,
        apiKey: config.apiKey,
        headers: { 'x-agentgate-channel': 'cli', 'user-agent': `agentgate-cli/${VERSION}` },
      });
    },
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
    outJson: (value) => process.stdout.write(JSON.stringify(value, null, 2) + '\n'),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
  };
}

/** Parses a JSON option that must be an object (`--params`, `--context`). */
export function jsonObject(option: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${option} is not valid JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${option} must be a JSON object, e.g. '{"to":"a@b.c"}'`);
  return value as Record<string, unknown>;
}

export function positiveInt(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${option} must be a whole number, got "${text}"`);
  return n;
}

export function list(text: string | undefined): string[] | undefined {
  return text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter(Boolean);
}

export { AgentGateError };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- commander hands positionals then options, typed per command
export type Action = (ctx: Ctx, ...args: any[]) => Promise<number | void>;
/** Wraps an action: builds its Ctx and records the exit code it returns. */
export type Run = (fn: Action) => (...args: unknown[]) => Promise<void>;
