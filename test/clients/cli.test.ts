import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { ApprovalRequest } from '@agentgate/sdk';
import { liveServer, until, type LiveServer } from './_helpers.ts';
import { clientSourceArgs } from '../helpers/process.ts';

const CLIENT = clientSourceArgs('cli');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Cli {
  home: string;
  env: Record<string, string>;
  run(args: string[], opts?: { env?: Record<string, string>; input?: string }): Promise<Run>;
  /** Starts a long-running command; `lines` fills as stdout arrives. */
  start(args: string[], opts?: { env?: Record<string, string> }): { child: ChildProcess; lines: string[]; stderr: () => string; done: Promise<Run> };
}

/** The CLI as a child process, with HOME in a fresh temp folder and no inherited AgentGate settings. */
function cliFor(t: Test, base: Record<string, string> = {}): Cli {
  const home = mkdtempSync(path.join(tmpdir(), 'agentgate-cli-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const env = { PATH: process.env.PATH ?? '', HOME: home, NO_COLOR: '1', ...base };
  const start: Cli['start'] = (args, opts = {}) => {
    // An empty value removes a variable (NO_COLOR disables colour by its mere presence).
    const merged = Object.fromEntries(Object.entries({ ...env, ...opts.env }).filter(([, v]) => v !== ''));
    const child = spawn(process.execPath, [...CLIENT, ...args], { env: merged, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const lines: string[] = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      lines.splice(0, lines.length, ...stdout.split('\n').filter(Boolean));
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    return { child, lines, stderr: () => stderr, done };
  };
  return {
    home,
    env,
    start,
    run: async (args, opts = {}) => {
      const p = start(args, opts);
      p.child.stdin!.end(opts.input ?? '');
      return p.done;
    },
  };
}


const json = <T = unknown>(r: Run): T => {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}): ${r.stdout}\nstderr: ${r.stderr}`);
  }
};

async function server(t: Test): Promise<{ s: LiveServer; cli: Cli }> {
  const s = await liveServer(t);
  return { s, cli: cliFor(t, { AGENTGATE_URL: s.baseUrl, AGENTGATE_API_KEY: s.adminKey }) };
}

t.test('config: show, set, file permissions, environment overrides', async (t) => {
  const cli = cliFor(t);
  const empty = await cli.run(['config', 'show', '--json']);
  t.equal(empty.code, 0, empty.stderr);
  t.same(json(empty), {
    serverUrl: 'http://localhost:3000', apiKey: null, sources: { serverUrl: 'default', apiKey: 'unset' },
    file: path.join(cli.home, '.agentgate', 'config.json'),
  });

  t.equal((await cli.run(['config', 'set', 'serverUrl', 'http://127.0.0.1:4000/'])).code, 0);
  const key = 'agk_abcdefghijklmnopqrstuvwxyz0123456789';
  const set = await cli.run(['config', 'set', 'apiKey', key]);
  t.equal(set.code, 0, set.stderr);
  t.notMatch(set.stdout, key, 'the key is not echoed');
  const file = path.join(cli.home, '.agentgate', 'config.json');
  t.same(JSON.parse(readFileSync(file, 'utf8')), { serverUrl: 'http://127.0.0.1:4000', apiKey: key });
  t.equal(statSync(file).mode & 0o777, 0o600, 'the file holding the key is private');

  const shown = await cli.run(['config', 'show']);
  t.match(shown.stdout, /serverUrl\s+http:\/\/127\.0\.0\.1:4000\s+\(config file\)/);
  t.match(shown.stdout, /apiKey\s+agk_abcd…\s+\(config file\)/);
  t.notMatch(shown.stdout, key);

  const overridden = json<{ serverUrl: string; sources: Record<string, string> }>(
    await cli.run(['config', 'show', '--json'], { env: { AGENTGATE_URL: 'http://10.0.0.1:9', AGENTGATE_API_KEY: 'agk_fromenv_123456' } }));
  t.same([overridden.serverUrl, overridden.sources], ['http://10.0.0.1:9', { serverUrl: 'environment', apiKey: 'environment' }]);

  t.equal((await cli.run(['config', 'set', 'colour', 'blue'])).code, 2, 'unknown setting: usage error');
  t.equal((await cli.run(['config', 'set', 'apiKey', 'secret'])).code, 2, 'not a key: usage error');
  t.equal((await cli.run(['config', 'set', 'serverUrl', 'ftp://x'])).code, 2);
});

t.test('usage errors exit 2; help and version exit 0', async (t) => {
  const cli = cliFor(t);
  for (const args of [['bogus'], ['request'], ['request', 'x', '--urgency', 'soon'], ['request', 'x', '--params', '[1]'],
    ['request', 'x', '--params', '{oops'], ['request', 'x', '--timeout', '5'], ['list', '--limit', '500'], ['list', '--status', 'maybe'],
    ['keys', 'create', '--name', 'x']]) {
    const r = await cli.run(args);
    t.equal(r.code, 2, `${args.join(' ')} → 2 (${r.stderr.trim().split('\n')[0]})`);
  }
  const help = await cli.run(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Exit codes: 0 ok, 1 error, 2 usage, 3/);
  t.match((await cli.run(['--version'])).stdout, /^\d+\.\d+\.\d+/);
  const json = await cli.run(['request', 'x', '--params', '[1]', '--json']);
  t.match(JSON.parse(json.stderr), { error: { code: 'USAGE' } }, '--json errors are JSON on stderr');
});

t.test('request, status, list, approve, deny, cancel', async (t) => {
  const { s, cli } = await server(t);
  const created = await cli.run(['request', 'send_email', '--params', '{"to":"a@b.c"}', '--context', '{"why":"test"}', '--urgency', 'high', '--json']);
  t.equal(created.code, 0, created.stderr);
  const req = json<ApprovalRequest>(created);
  t.match(req, { action: 'send_email', status: 'pending', urgency: 'high', params: { to: 'a@b.c' }, context: { why: 'test' } });
  const trail = await s.client().getAuditTrail(req.id);
  t.equal(trail[0]!.channel, 'cli', 'the CLI says who it is (X-AgentGate-Channel)');

  const table = await cli.run(['request', 'deploy']);
  t.equal(table.code, 0);
  t.match(table.stdout, /id\s+req_\w+/);
  t.match(table.stdout, /status\s+pending/);

  const status = await cli.run(['status', req.id]);
  t.match(status.stdout, /action\s+send_email/);
  t.match(status.stdout, /params\s+\{"to":"a@b.c"\}/);
  t.same(json(await cli.run(['status', req.id, '--json'])), await s.client().getRequest(req.id));

  const listed = json<{ requests: ApprovalRequest[]; pagination: { total: number } }>(await cli.run(['list', '--status', 'pending', '--limit', '1', '--json']));
  t.equal(listed.requests.length, 1);
  t.equal(listed.pagination.total, 2);
  const tableList = await cli.run(['list']);
  t.match(tableList.stdout, /^ID\s+ACTION\s+STATUS\s+URGENCY\s+CREATED\s+DECIDED BY/);
  t.match(tableList.stdout, /send_email\s+pending\s+high/);
  t.match(tableList.stdout, /2 of 2/);

  const approved = await cli.run(['approve', req.id, '--reason', 'looks fine', '--as', 'alice']);
  t.equal(approved.code, 0, approved.stderr);
  t.match(approved.stdout, new RegExp(`✓ ${req.id} approved`));
  t.match(await s.client().getRequest(req.id), { status: 'approved', decisionReason: 'looks fine', decidedByLabel: 'alice' });

  const twice = await cli.run(['deny', req.id, '--json']);
  t.equal(twice.code, 1, 'deciding twice is an error');
  t.match(JSON.parse(twice.stderr), { error: { code: 'ALREADY_DECIDED', status: 409 } });
  const twiceText = await cli.run(['deny', req.id]);
  t.match(twiceText.stderr, /error: .*already approved.*ALREADY_DECIDED, HTTP 409, request id /);

  const other = json<ApprovalRequest>(await cli.run(['request', 'y', '--json']));
  const denied = json<ApprovalRequest>(await cli.run(['deny', other.id, '--reason', 'no', '--json']));
  t.match(denied, { status: 'denied', decisionReason: 'no' });

  const third = json<ApprovalRequest>(await cli.run(['request', 'z', '--json']));
  const cancelled = await cli.run(['cancel', third.id]);
  t.equal(cancelled.code, 0);
  t.match(cancelled.stdout, `${third.id} cancelled`);

  const missing = await cli.run(['status', 'req_00000000000000000000000000']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /NOT_FOUND, HTTP 404/);
});

t.test('request --wait: exit 0 when approved, 3 when denied or cancelled or refused by policy, 1 on timeout', async (t) => {
  const { s, cli } = await server(t);
  const admin = s.client();
  const newest = async (action: string) => (await admin.listRequests({ action })).requests[0];

  const approving = cli.start(['request', 'ship', '--wait', '--json']);
  const a = await until(() => newest('ship'), 'the request to exist');
  await until(() => s.app.live.watchCount > 0, 'the CLI to wait');
  await admin.decide(a.id, 'approved', { reason: 'ok' });
  const approved = await approving.done;
  t.equal(approved.code, 0, approved.stderr);
  t.match(json(approved), { id: a.id, status: 'approved' });
  t.equal(approved.stderr, '', 'no spinner when stderr is not a terminal');
  t.notMatch(approved.stderr, /⠋|waiting for a decision/);

  const denying = cli.start(['request', 'wipe', '--wait']);
  const d = await until(() => newest('wipe'), 'the request to exist');
  await until(() => s.app.live.watchCount > 0, 'the CLI to wait');
  await admin.decide(d.id, 'denied', { reason: 'too risky' });
  const denied = await denying.done;
  t.equal(denied.code, 3, 'denied → 3');
  t.match(denied.stdout, /status\s+denied/);
  t.match(denied.stdout, /reason\s+too risky/);

  const cancelling = cli.start(['request', 'nap', '--wait', '--json']);
  const c = await until(() => newest('nap'), 'the request to exist');
  await until(() => s.app.live.watchCount > 0, 'the CLI to wait');
  await admin.cancel(c.id);
  t.equal((await cancelling.done).code, 3, 'cancelled → 3');

  await admin.createPolicy({ name: 'never', rules: [{ match: { action: 'drop_db' }, decision: 'auto_deny' }] });
  const refused = await cli.run(['request', 'drop_db', '--wait', '--json']);
  t.equal(refused.code, 3, 'denied by policy at once → 3');
  t.match(json(refused), { status: 'denied', policyDecision: { decision: 'auto_deny' } });

  const slow = await cli.run(['request', 'ponder', '--wait', '--timeout', '1']);
  t.equal(slow.code, 1, 'timeout → 1');
  t.match(slow.stderr, /still pending after 1 s; check later with: agentgate status req_/);
});

t.test('watch: one coloured line per event, or NDJSON with --json', async (t) => {
  const { s, cli } = await server(t);
  const admin = s.client();
  const before = await admin.request({ action: 'before' });

  const watching = cli.start(['watch', '--json', '--from', '0', '--type', 'request.created,request.approved']);
  await until(() => watching.lines.length >= 1, 'the replayed event');
  const r = await admin.request({ action: 'live_one' });
  await admin.decide(r.id, 'approved');
  await until(() => watching.lines.length >= 3, 'the live events');
  const events = watching.lines.map((l) => JSON.parse(l) as { eventType: string; streamId: string; data: { action?: string } });
  t.same(events.map((e) => [e.eventType, e.streamId]), [
    ['request.created', `request-${before.id}`], ['request.created', `request-${r.id}`], ['request.approved', `request-${r.id}`],
  ], 'replay then live, filtered');
  watching.child.kill('SIGINT');
  t.equal((await watching.done).code, 0, 'Ctrl-C ends a watch normally');

  const coloured = cli.start(['watch'], { env: { FORCE_COLOR: '1', NO_COLOR: '' } });
  await until(() => coloured.stderr().includes('watching'), 'the stream to open');
  const x = await admin.request({ action: 'colourful' });
  await until(() => coloured.lines.some((l) => l.includes(x.id)), 'the event line');
  const line = coloured.lines.find((l) => l.includes(x.id))!;
  t.match(line, /request\.created/);
  t.match(line, /colourful/);
  t.match(line, /by key:/);
  t.match(line, /\x1b\[/, 'coloured on request');
  coloured.child.kill('SIGINT');
  await coloured.done;
});

t.test('export: NDJSON of the whole log on stdout, progress on stderr', async (t) => {
  const { s, cli } = await server(t);
  const admin = s.client();
  let last = '';
  for (const action of ['a', 'b', 'c']) last = (await admin.request({ action })).id;
  // The log is readable up to the oldest open transaction of the whole Postgres server,
  // so wait until the export reaches the last request's events before comparing.
  const all = await until(async () => {
    const events = [];
    for await (const e of admin.exportEvents()) events.push(e);
    return events.some((e) => e.streamId === `request-${last}`) ? events : null;
  }, 'the log to be readable to its end');

  const out = await cli.run(['export', '--from', '0']);
  t.equal(out.code, 0, out.stderr);
  const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { position: number; type: string });
  t.same(lines.map((e) => e.position), all.map((e) => e.position), 'every event, in log order');
  t.ok(lines.every((e) => e.type === 'event'));
  t.match(out.stderr, new RegExp(`exported ${all.length} events; continue later with --from \\d+`));

  const from = lines[2]!.position;
  const rest = await cli.run(['export', '--from', String(from)]);
  t.same(rest.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { position: number }).position), all.slice(3).map((e) => e.position), '--from resumes after a position');

  const onlyCreated = await cli.run(['export', '--type', 'request.created']);
  t.equal(onlyCreated.stdout.trim().split('\n').length, 3);
});

t.test('keys, policies, webhooks', async (t) => {
  const { s, cli } = await server(t);
  const made = await cli.run(['keys', 'create', '--name', 'ci bot', '--scopes', 'request:create,request:read', '--rate-limit', '60', '--json']);
  t.equal(made.code, 0, made.stderr);
  const key = json<{ id: string; key: string; scopes: string[]; rateLimit: number }>(made);
  t.match(key, { key: /^agk_/, scopes: ['request:create', 'request:read'], rateLimit: 60 });
  const tableMade = await cli.run(['keys', 'create', '--name', 'other', '--scopes', 'request:read']);
  t.match(tableMade.stdout, /key\s+agk_/);
  t.match(tableMade.stderr, /not shown again/);

  const listed = await cli.run(['keys', 'list']);
  t.match(listed.stdout, /ci bot\s+agk_\S+…\s+request:create,request:read\s+60/);
  t.notMatch(listed.stdout, key.key, 'never the key itself');

  const asBot = { AGENTGATE_API_KEY: key.key };
  t.equal((await cli.run(['list'], { env: asBot })).code, 0, 'the new key works');
  const revoked = await cli.run(['keys', 'revoke', key.id]);
  t.match(revoked.stdout, `${key.id} (ci bot) revoked`);
  const refused = await cli.run(['list'], { env: asBot });
  t.equal(refused.code, 1);
  t.match(refused.stderr, /revoked.*UNAUTHORIZED/);
  t.notOk(json<{ id: string }[]>(await cli.run(['keys', 'list', '--json'])).some((k) => k.id === key.id), 'revoked keys are hidden…');
  t.ok(json<{ id: string }[]>(await cli.run(['keys', 'list', '--all', '--json'])).some((k) => k.id === key.id), '…unless asked for');

  const file = path.join(cli.home, 'policy.json');
  writeFileSync(file, JSON.stringify({ name: 'reads', priority: 5, rules: [{ match: { action: 'read_file' }, decision: 'auto_approve' }] }));
  const created = await cli.run(['policies', 'create', '--file', file, '--json']);
  t.equal(created.code, 0, created.stderr);
  const policy = json<{ id: string; name: string }>(created);
  t.equal((await s.client().request({ action: 'read_file' })).status, 'approved', 'the policy is in force');
  const fromStdin = await cli.run(['policies', 'create', '--file', '-'], {
    input: JSON.stringify({ name: 'deploys', rules: [{ match: { action: 'deploy' }, decision: 'route_to_human' }] }),
  });
  t.match(fromStdin.stdout, /pol_\w+ deploys created \(priority 100, 1 rule\)/);
  const plist = await cli.run(['policies', 'list']);
  t.match(plist.stdout, /^ID\s+PRIORITY\s+NAME/);
  t.match(plist.stdout, /5\s+reads\s+auto_approve\s+yes\s+1/);
  const got = await cli.run(['policies', 'get', policy.id]);
  t.match(got.stdout, /name\s+reads/);
  t.match(got.stdout, /"decision": "auto_approve"/);
  writeFileSync(file, '{ not json');
  t.equal((await cli.run(['policies', 'create', '--file', file])).code, 2, 'an unreadable file is a usage error');
  writeFileSync(file, JSON.stringify({ name: 'broken', rules: [{ match: {}, decision: 'perhaps' }] }));
  const invalid = await cli.run(['policies', 'create', '--file', file]);
  t.equal(invalid.code, 1, 'a policy the server refuses is an error');
  t.match(invalid.stderr, /HTTP 400/);
  t.match(json(await cli.run(['policies', 'delete', policy.id, '--json'])), { id: policy.id });
  t.notMatch((await cli.run(['policies', 'list'])).stdout, /reads/);

  const hook = await cli.run(['webhooks', 'create', '--url', 'http://127.0.0.1:9/hook', '--events', 'request.decided,request.expired', '--json']);
  t.equal(hook.code, 0, hook.stderr);
  const w = json<{ id: string; secret: string; events: string[] }>(hook);
  t.same(w.events, ['request.decided', 'request.expired']);
  t.ok(w.secret.length >= 32);
  const hooks = await cli.run(['webhooks', 'list']);
  t.match(hooks.stdout, /http:\/\/127\.0\.0\.1:9\/hook\s+request\.decided,request\.expired\s+yes/);
  t.notMatch(hooks.stdout, w.secret);
  t.equal((await cli.run(['webhooks', 'create', '--url', 'http://x', '--events', 'nonsense'])).code, 1);
  t.match(await cli.run(['webhooks', 'delete', w.id]), { code: 0, stdout: `${w.id} deleted\n` });
  t.match((await cli.run(['webhooks', 'list'])).stdout, /No webhooks/);
});

t.test('failures: no key, no server', async (t) => {
  const s = await liveServer(t);
  const noKey = cliFor(t, { AGENTGATE_URL: s.baseUrl });
  const r = await noKey.run(['list']);
  t.equal(r.code, 1);
  t.match(r.stderr, /No API key is set: agentgate config set apiKey/);

  const nowhere = cliFor(t, { AGENTGATE_URL: 'http://127.0.0.1:1', AGENTGATE_API_KEY: s.adminKey });
  const down = await nowhere.run(['status', 'req_00000000000000000000000000', '--json']);
  t.equal(down.code, 1);
  t.match(JSON.parse(down.stderr), { error: { code: 'NETWORK_ERROR', status: 0 } });
});
