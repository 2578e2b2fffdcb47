/**
 * Overrides from our clients: the SDK's createOverride / listOverrides / removeOverride and
 * the CLI's `override create|list|rm`, with the original CLI's flags.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { liveServer } from './_helpers.ts';
import { clientSourceArgs } from '../helpers/process.ts';

function cli(t: Test, env: Record<string, string>) {
  const home = mkdtempSync(path.join(tmpdir(), 'agentgate-cli-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  return (args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [...clientSourceArgs('cli'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: home, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('SDK: create, list, remove', async (t) => {
  const s = await liveServer(t);
  const client = s.client();
  const o = await client.createOverride({ action: 'deploy_*', decision: 'route_to_human', reason: 'freeze' });
  t.match(o, { id: /^ovr_/, action: 'deploy_*', decision: 'route_to_human' });
  t.same((await client.listOverrides()).map((x) => x.id), [o.id]);
  t.equal((await client.request({ action: 'deploy_web' })).status, 'pending');
  t.same(await client.removeOverride(o.id), { success: true, id: o.id });
  t.same(await client.listOverrides(), []);
});

t.test('CLI: override create | list | rm with the original CLI\'s flags', async (t) => {
  const s = await liveServer(t);
  const agent = await s.key(['request:create', 'request:read']);
  const run = cli(t, { AGENTGATE_URL: s.baseUrl, AGENTGATE_API_KEY: s.adminKey });

  const made = await run(['override', 'create', '--agent', agent.id, '--tool', 'fs.*', '--action', 'deny', '--reason', 'no files', '--ttl', '600', '--json']);
  t.equal(made.code, 0, made.stderr);
  const o = JSON.parse(made.stdout) as { id: string; decision: string; agentKeyId: string; expiresAt: string };
  t.match(o, { decision: 'auto_deny', agentKeyId: agent.id, action: 'fs.*' });
  t.ok(Date.parse(o.expiresAt) > Date.now() + 500_000, '--ttl sets the expiry');
  t.equal((await s.client(agent.key).request({ action: 'fs.write' })).status, 'denied', 'in force for that key');

  const hold = await run(['override', 'create', '-t', 'deploy_*']);
  t.equal(hold.code, 0, hold.stderr);
  t.match(hold.stdout, /ovr_\w+ route_to_human deploy_\* for every key/);

  const listed = await run(['override', 'list']);
  t.match(listed.stdout, /^ID\s+DECISION\s+ACTION\s+KEY\s+EXPIRES\s+REASON/);
  t.match(listed.stdout, new RegExp(`${o.id}\\s+deny\\s+fs\\.\\*\\s+${agent.id}`));
  t.match(listed.stdout, /require_approval\s+deploy_\*\s+every key\s+never/);

  const rm = await run(['override', 'rm', o.id]);
  t.equal(rm.code, 0, rm.stderr);
  t.equal(rm.stdout, `Deleted override ${o.id}\n`);
  t.notMatch((await run(['override', 'list'])).stdout, o.id);
  const bad = await run(['override', 'create', '-t', 'x', '--action', 'maybe']);
  t.equal(bad.code, 2, 'a bad --action is a usage error');
  t.equal((await run(['override', 'rm', o.id])).code, 1, 'removing it again fails');
});
