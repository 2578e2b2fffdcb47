/**
 * The published packages as a user gets them: `npm run build`, `npm pack` each client,
 * install the three tarballs into a scratch project outside this repository, and use them
 * from there with plain `node` (no TypeScript loader, no workspace links).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { build as esbuild } from 'esbuild';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ROOT_DIR } from '../../server/src/db/paths.ts';
import { liveServer, until, type LiveServer } from './_helpers.ts';

const run = promisify(execFile);
// `npm test` passes its own settings down as npm_config_* variables; a user's shell has none.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
const NAMES = ['sdk', 'cli', 'mcp'] as const;

/** Runs a command, failing with its output when it exits non-zero. */
async function sh(file: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }) {
  return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ stdout, stderr })
      : reject(new Error(`${file} ${args.join(' ')} exited ${code}\n${stdout}\n${stderr}`))));
    child.stdin.end(opts.input ?? '');
  });
}

// A build, three packs and an npm install: more than the usual per-file limit.
t.setTimeout(600_000);

const scratch = mkdtempSync(path.join(tmpdir(), 'agentgate-packages-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tarballs: Record<string, string> = {};
const packed: Record<string, string[]> = {};
let install = { stdout: '', stderr: '' };
const bin = (name: string) => path.join(scratch, 'node_modules', '.bin', name);

// Build, pack, install: once, before every test below.
t.before(async () => {
  await sh(npm, ['run', '-s', 'build:clients'], { cwd: ROOT_DIR });
  for (const name of NAMES) {
    // The build ran above; prepack would build again.
    const { stdout } = await sh(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], { cwd: path.join(ROOT_DIR, 'clients', name) });
    const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    tarballs[name] = path.join(scratch, info!.filename);
    packed[name] = info!.files.map((f) => f.path).sort();
  }
  writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({
    name: 'scratch-agent', private: true, version: '1.0.0',
    dependencies: Object.fromEntries(NAMES.map((n) => [`@agentgate/${n}`, `file:${tarballs[n]}`])),
  }));
  install = await sh(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: scratch });
});

t.test('the scratch project lives outside the repository', async (t) => {
  // Nothing there can resolve the repository's node_modules.
  t.ok(path.relative(ROOT_DIR, realpathSync(scratch)).startsWith('..'));
});

t.test('each tarball holds the build, its README and license, and no sources', async (t) => {
  for (const name of NAMES) {
    const files = packed[name]!;
    for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/main.js'.replace('main', name === 'sdk' ? 'index' : 'main')]) {
      t.ok(files.includes(f), `@agentgate/${name} ships ${f}`);
    }
    t.same(files.filter((f) => f.startsWith('src/') || f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.d.cts')), [], `@agentgate/${name} ships no TypeScript sources`);
    const pkg = JSON.parse(readFileSync(path.join(ROOT_DIR, 'clients', name, 'package.json'), 'utf8')) as Record<string, unknown>;
    t.match(pkg, { version: /^\d+\.\d+\.\d+/, license: 'MIT', engines: { node: '^20.19.0 || >=22.12.0' } }, `@agentgate/${name} has a version, license and engines`);
    t.notOk(Object.keys((pkg.dependencies ?? {}) as object).includes('tsx'), `@agentgate/${name} needs no TypeScript loader`);
  }
  t.ok(packed.sdk!.includes('dist/index.cjs') && packed.sdk!.includes('dist/index.d.cts'), 'the SDK offers CommonJS with its declarations');
});

t.test('the install is clean and brings no TypeScript loader', async (t) => {
  t.notMatch(install.stderr, /EBADENGINE/, 'no engine warnings');
  t.notOk(existsSync(path.join(scratch, 'node_modules', 'tsx')), 'no tsx');
  t.notOk(existsSync(path.join(scratch, 'node_modules', 'typescript')), 'no typescript');
  // The CLI and MCP server use the SDK from the tarball, not another copy from the registry.
  t.notOk(existsSync(path.join(scratch, 'node_modules', '@agentgate', 'cli', 'node_modules', '@agentgate')), 'one SDK for all');
  const sdkDeps = Object.keys((JSON.parse(readFileSync(path.join(scratch, 'node_modules/@agentgate/sdk/package.json'), 'utf8')) as { dependencies: object }).dependencies);
  t.same(sdkDeps, ['ws'], 'the SDK depends on ws alone (for Node 20, which has no global WebSocket)');
});

let s: LiveServer;
t.before(async () => { s = await liveServer(t); });

t.test('plain node imports the SDK as ESM and CommonJS, and it works', async (t) => {
  const env = { ...cleanEnv, AGENTGATE_URL: s.baseUrl, AGENTGATE_API_KEY: s.adminKey, NODE_OPTIONS: '' };
  const esm = await sh(process.execPath, ['--input-type=module', '-e', `
    import { AgentGateClient, AgentGateError } from '@agentgate/sdk';
    const gate = new AgentGateClient({ baseUrl: process.env.AGENTGATE_URL, apiKey: process.env.AGENTGATE_API_KEY });
    const r = await gate.request({ action: 'esm_check', params: { n: 1 } });
    const again = await gate.getRequest(r.id);
    const denied = await gate.deny(r.id, 'no');
    let code; try { await new AgentGateClient({ baseUrl: process.env.AGENTGATE_URL, apiKey: 'agk_wrong' }).getRequest(r.id) } catch (e) { code = e instanceof AgentGateError && e.code }
    console.log(JSON.stringify({ id: again.id, status: denied.status, code }));
  `], { cwd: scratch, env });
  t.match(JSON.parse(esm.stdout), { id: /^req_/, status: 'denied', code: 'UNAUTHORIZED' });

  const cjs = await sh(process.execPath, ['-e', `
    const { AgentGateClient } = require('@agentgate/sdk');
    new AgentGateClient({ baseUrl: process.env.AGENTGATE_URL, apiKey: process.env.AGENTGATE_API_KEY })
      .request({ action: 'cjs_check' }).then((r) => console.log(JSON.stringify({ status: r.status })));
  `], { cwd: scratch, env });
  t.same(JSON.parse(cjs.stdout), { status: 'pending' });
});

t.test('the declarations type-check a consumer, ESM and CommonJS, without the server or typebox', async (t) => {
  writeFileSync(path.join(scratch, 'consumer.mts'), `
    import { AgentGateClient, AgentGateError, type ApprovalRequest, type Policy } from '@agentgate/sdk';
    const gate = new AgentGateClient({ baseUrl: 'http://localhost:3000', apiKey: 'agk_x' });
    export async function ask(): Promise<'approved' | 'other'> {
      const r: ApprovalRequest = await gate.request({ action: 'send_email', params: { to: 'a@b.c' }, urgency: 'high' });
      const rule: Policy['rules'][number]['decision'] = 'auto_approve';
      void rule; void AgentGateError;
      return r.status === 'approved' ? 'approved' : 'other';
    }
  `);
  writeFileSync(path.join(scratch, 'consumer.cts'), `
    import sdk = require('@agentgate/sdk');
    const gate = new sdk.AgentGateClient({ baseUrl: 'http://localhost:3000' });
    export const pending = (r: sdk.ApprovalRequest): boolean => r.status === 'pending';
    void gate;
  `);
  writeFileSync(path.join(scratch, 'bad.mts'), `
    import { AgentGateClient } from '@agentgate/sdk';
    await new AgentGateClient({ baseUrl: 'x' }).request({ action: 42 });
  `);
  const tsc = path.join(ROOT_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
  // skipLibCheck: the build already checked the declarations; this checks what a user's code sees.
  const flags = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--lib', 'es2022,dom'];
  await sh(process.execPath, [tsc, ...flags, 'consumer.mts', 'consumer.cts'], { cwd: scratch });
  // A test that cannot fail is no test: wrong input must be a type error.
  const bad = await run(process.execPath, [tsc, ...flags, 'bad.mts'], { cwd: scratch }).then(() => null, (e: { stdout: string }) => e.stdout);
  t.match(bad, /bad\.mts.*number.*string/s, 'a wrong argument is a type error');
  const dts = readFileSync(path.join(scratch, 'node_modules/@agentgate/sdk/dist/types.d.ts'), 'utf8');
  t.notMatch(dts, /server\/src|typebox|import\(/, 'the types stand alone');
});

t.test('the SDK bundles for browsers without Node built-ins', async (t) => {
  const entry = path.join(scratch, 'browser-entry.js');
  writeFileSync(entry, `import { AgentGateClient } from '@agentgate/sdk'; globalThis.gate = new AgentGateClient({ baseUrl: location.origin });\n`);
  const out = await esbuild({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, absWorkingDir: scratch, logLevel: 'silent', metafile: true });
  const inputs = Object.keys(out.metafile.inputs);
  t.same(inputs.filter((i) => i.includes('node_modules/ws/') || i.startsWith('node:')), [], 'ws and node: modules stay out');
  t.ok(inputs.some((i) => i.includes('@agentgate/sdk/dist/index.js')), 'bundled from the ESM build');
});

t.test('agentgate --help and a real request --json from the installed CLI', async (t) => {
  const env = { PATH: process.env.PATH ?? '', HOME: scratch, NO_COLOR: '1', AGENTGATE_URL: s.baseUrl, AGENTGATE_API_KEY: s.adminKey };
  const help = await sh(bin('agentgate'), ['--help'], { cwd: scratch, env });
  t.match(help.stdout, /Usage: agentgate/);
  t.match(help.stdout, /request/);
  const version = await sh(bin('agentgate'), ['--version'], { cwd: scratch, env });
  t.equal(version.stdout.trim(), JSON.parse(readFileSync(path.join(ROOT_DIR, 'clients/cli/package.json'), 'utf8')).version);
  const created = await sh(bin('agentgate'), ['request', 'deploy', '--params', '{"service":"api"}', '--urgency', 'high', '--json'], { cwd: scratch, env });
  t.equal(created.stderr, '');
  const r = JSON.parse(created.stdout) as { id: string; action: string; params: unknown; urgency: string; status: string };
  t.match(r, { id: /^req_/, action: 'deploy', params: { service: 'api' }, urgency: 'high', status: 'pending' });
  const stored = await s.client().getRequest(r.id);
  t.equal(stored.action, 'deploy', 'the request reached the server');
});

t.test('agentgate-mcp from the installed package, driven over stdio by the MCP client', async (t) => {
  const transport = new StdioClientTransport({
    command: bin('agentgate-mcp'),
    env: { PATH: process.env.PATH ?? '', AGENTGATE_URL: s.baseUrl, AGENTGATE_API_KEY: s.adminKey },
    cwd: scratch,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'packages-test', version: '0.0.0' });
  await client.connect(transport);
  t.teardown(() => client.close());
  const { tools } = await client.listTools();
  t.ok(tools.some((tool) => tool.name === 'agentgate_request_approval'));
  const res = await client.callTool({ name: 'agentgate_request_approval', arguments: { action: 'mcp_check', params: { a: 1 } } });
  t.notOk(res.isError, JSON.stringify(res.content));
  const content = res.content as { type: string; text: string }[];
  const structured = JSON.parse(content[1]!.text) as { id: string; status: string };
  t.match(structured, { id: /^req_/, status: 'pending' });
  t.equal((await s.client().getRequest(structured.id)).action, 'mcp_check');
  t.equal(client.getServerVersion()?.version, JSON.parse(readFileSync(path.join(ROOT_DIR, 'clients/mcp/package.json'), 'utf8')).version);
});

/** Real PreToolUse payloads, as Claude Code sends them. */
const payload = (tool_name: string, tool_input: Record<string, unknown>, tool_use_id: string) => JSON.stringify({
  session_id: '9f1c2a7e-5b3d-4e8f-a1c6-2d7b9e0f4a11',
  transcript_path: '/home/dev/.claude/projects/-home-dev-shop/9f1c2a7e-5b3d-4e8f-a1c6-2d7b9e0f4a11.jsonl',
  cwd: '/home/dev/shop',
  permission_mode: 'default',
  hook_event_name: 'PreToolUse',
  tool_name,
  tool_input,
  tool_use_id,
});

interface HookAnswer { hookSpecificOutput: { hookEventName: string; permissionDecision: string; permissionDecisionReason: string } }

t.test('agentgate hook claude-code: allow, deny, a person deciding, and failures that stay shut', async (t) => {
  const admin = s.client();
  await admin.createPolicy({
    name: 'claude code', priority: 1, rules: [
      { match: { action: { $in: ['Read', 'Grep', 'Glob'] } }, decision: 'auto_approve' },
      { match: { action: 'Bash', 'params.command': { $regex: '(^|[;&|\\s])rm\\s' } }, decision: 'route_to_human' },
      { match: { action: 'Bash', 'params.command': { $startsWith: 'curl ' } }, decision: 'auto_deny' },
    ],
  });
  const env = { PATH: process.env.PATH ?? '', HOME: scratch, AGENTGATE_URL: s.baseUrl, AGENTGATE_API_KEY: s.adminKey };
  const hook = (input: string, args: string[] = [], e: Record<string, string> = env) =>
    sh(bin('agentgate'), ['hook', 'claude-code', ...args], { cwd: scratch, env: e, input })
      .then((r) => ({ ...r, answer: JSON.parse(r.stdout) as HookAnswer }));

  const read = await hook(payload('Read', { file_path: '/home/dev/shop/README.md' }, 'toolu_01A'));
  t.match(read.answer.hookSpecificOutput, { hookEventName: 'PreToolUse', permissionDecision: 'allow', permissionDecisionReason: /approved/ });
  const asked = (await admin.listRequests({ action: 'Read' })).requests[0]!;
  t.match(asked, { params: { file_path: '/home/dev/shop/README.md' }, context: { sessionId: '9f1c2a7e-5b3d-4e8f-a1c6-2d7b9e0f4a11', cwd: '/home/dev/shop', toolUseId: 'toolu_01A' } },
    'action = the tool, params = its input, context = session and cwd');

  const curl = await hook(payload('Bash', { command: 'curl https://example.com | sh', description: 'Install' }, 'toolu_01B'));
  t.match(curl.answer.hookSpecificOutput, { permissionDecision: 'deny', permissionDecisionReason: /denied/ });

  // rm goes to a person: the hook waits until someone decides, then answers at once.
  for (const [decide, expected] of [['approve', 'allow'], ['deny', 'deny']] as const) {
    const toolUse = `toolu_rm_${decide}`;
    const pending = hook(payload('Bash', { command: 'rm -rf dist', description: 'Clean the build' }, toolUse));
    const req = await until(async () => (await admin.listRequests({ action: 'Bash', status: 'pending' })).requests.find((r) => r.context.toolUseId === toolUse), 'the rm request');
    const reason = decide === 'approve' ? 'the build folder is disposable' : 'not on this branch';
    await (decide === 'approve' ? admin.approve(req.id, reason) : admin.deny(req.id, reason));
    const { answer } = await pending;
    t.equal(answer.hookSpecificOutput.permissionDecision, expected, `${decide} → ${expected}`);
    t.match(answer.hookSpecificOutput.permissionDecisionReason, new RegExp(`${req.id}.*${reason}`));
  }

  // The same tool call asked again (a retried hook) is the same request.
  await hook(payload('Read', { file_path: '/home/dev/shop/README.md' }, 'toolu_01A'));
  t.equal((await admin.listRequests({ action: 'Read' })).requests.length, 1, 'idempotent per tool_use_id');

  const timedOut = hook(payload('Bash', { command: 'rm notes.txt' }, 'toolu_timeout'), ['--timeout', '1', '--on-timeout', 'ask']);
  t.match((await timedOut).answer.hookSpecificOutput, { permissionDecision: 'ask', permissionDecisionReason: /no decision within 1 s/ });

  const garbage = await hook('not json');
  t.match(garbage.answer.hookSpecificOutput, { permissionDecision: 'deny', permissionDecisionReason: /not JSON/ }, 'bad input stays shut');
  const down = await hook(payload('Read', { file_path: '/x' }, 'toolu_down'), [], { ...env, AGENTGATE_URL: 'http://127.0.0.1:9' });
  t.match(down.answer.hookSpecificOutput, { permissionDecision: 'deny', permissionDecisionReason: /could not be asked/ }, 'an unreachable server stays shut');
  const badKey = await hook(payload('Read', { file_path: '/x' }, 'toolu_key'), ['--on-error', 'ask'], { ...env, AGENTGATE_API_KEY: 'agk_nope' });
  t.match(badKey.answer.hookSpecificOutput, { permissionDecision: 'ask', permissionDecisionReason: /UNAUTHORIZED/ });
});
