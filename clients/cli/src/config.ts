import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { UsageError } from './errors.ts';

export interface FileConfig {
  serverUrl?: string;
  apiKey?: string;
}

export type Source = 'environment' | 'config file' | 'default' | 'unset';

export interface ResolvedConfig {
  serverUrl: string;
  apiKey: string | undefined;
  sources: { serverUrl: Source; apiKey: Source };
  file: string;
}

export const DEFAULT_URL = 'http://localhost:3000';

/** Names users may type for each setting; the file keeps the contract's names. */
const KEY_ALIASES: Record<string, keyof FileConfig> = {
  serverUrl: 'serverUrl', url: 'serverUrl', server: 'serverUrl', 'server-url': 'serverUrl',
  apiKey: 'apiKey', key: 'apiKey', 'api-key': 'apiKey',
};

/** `~/.agentgate/config.json`; the home folder comes from HOME, so tests and scripts can move it. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.HOME || homedir(), '.agentgate', 'config.json');
}

export async function readConfigFile(file = configPath()): Promise<FileConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as FileConfig;
  } catch (err) {
    throw new Error(`${file} is not valid: ${(err as Error).message}`);
  }
}

export async function resolveConfig(env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  const file = configPath(env);
  const saved = await readConfigFile(file);
  const url = env.AGENTGATE_URL || saved.serverUrl;
  const key = env.AGENTGATE_API_KEY || saved.apiKey;
  return {
    serverUrl: url || DEFAULT_URL,
    apiKey: key || undefined,
    sources: {
      serverUrl: env.AGENTGATE_URL ? 'environment' : saved.serverUrl ? 'config file' : 'default',
      apiKey: env.AGENTGATE_API_KEY ? 'environment' : saved.apiKey ? 'config file' : 'unset',
    },
    file,
  };
}

export function settingName(key: string): keyof FileConfig {
  const name = KEY_ALIASES[key];
  if (!name) throw new UsageError(`Unknown setting "${key}"; use serverUrl or apiKey`);
  return name;
}

export function checkSetting(name: keyof FileConfig, value: string): string {
  const v = value.trim();
  if (name === 'serverUrl') {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      throw new UsageError(`serverUrl must be a URL such as ${DEFAULT_URL}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('serverUrl must start with http:// or https://');
    return v.replace(/\/+$/, '');
  }
  if (!v.startsWith('agk_')) throw new UsageError('apiKey must be an AgentGate key (agk_…)');
  return v;
}

/** Written atomically with owner-only permissions: the file holds a secret. */
export async function writeConfigFile(config: FileConfig, file = configPath()): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/** Shows enough of a key to recognise it, never enough to use it. */
export function maskKey(key: string | undefined): string {
  if (!key) return '(none)';
  return `${key.slice(0, Math.min(8, Math.floor(key.length / 2)))}…`;
}
