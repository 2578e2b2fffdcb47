/**
 * The audit log from our clients: the SDK's audit / auditActors / auditActions and the
 * CLI's `audit` (filters as the server takes them, printed actors) and `audit actors`.
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

t.test('SDK and CLI read the audit log by printed actor, status, offset and date', async (t) => {
  const s = await liveServer(t);
  const bot = await s.key(['request:create', 'request:read'], { name: 'ops-bot' });
  const agent = s.client(bot.key);
  const admin = s.client();
  const deploy = await agent.request({ action: 'deploy' });
  const pending = await agent.request({ action: 'rotate_keys', urgency: 'high' });
  await admin.decide(deploy.id, 'approved');
  await admin.createPolicy({ name: 'small-payments', priority: 1, rules: [{ match: { action: 'pay' }, decision: 'auto_approve' }] });
  const paid = await agent.request({ action: 'pay' });

  t.test('SDK', async (t) => {
    const page = await admin.audit({ actor: 'key:ops-bot' });
    t.equal(page.entries.length, 3);
    t.ok(page.entries.every((e) => e.actor === 'key:ops-bot' && e.actorInfo.id === bot.id));
    const waiting = await admin.audit({ status: 'pending' });
    t.same(waiting.entries.map((e) => e.request?.id), [pending.id]);
    t.same(waiting.entries[0]!.request, { id: pending.id, action: 'rotate_keys', status: 'pending', urgency: 'high' });
    const today = new Date().toISOString().slice(0, 10);
    const all = await admin.audit({ to: today, limit: 500 });
    const skipped = await admin.audit({ to: today, limit: 500, offset: 1 });
    t.equal(skipped.entries.length, all.entries.length - 1);
    t.equal(skipped.pagination.offset, 1);
    const actors = await admin.auditActors();
    t.ok(actors.includes('key:ops-bot') && actors.includes('system') && actors.includes('policy:small-payments'), actors.join(', '));
    t.same(await admin.auditActions(), ['deploy', 'pay', 'rotate_keys']);
    // A policy's decision at creation: an entry of its own, after the creation.
    const byPolicy = await admin.audit({ actor: 'policy:small-payments' });
    t.same(byPolicy.entries.map((e) => [e.requestId, e.eventType, e.actorInfo.type]), [[paid.id, 'approved', 'policy']]);
    const trail = await admin.getAuditTrail(paid.id);
    t.same(trail.map((e) => `${e.eventType} by ${e.actor}`), ['created by key:ops-bot', 'approved by policy:small-payments']);
    t.not(trail[0]!.id, trail[1]!.id);
  });

  t.test('CLI', async (t) => {
    const run = cli(t, { AGENTGATE_URL: s.baseUrl, AGENTGATE_API_KEY: s.adminKey });
    const listed = await run(['audit', '--actor', 'key:ops-bot']);
    t.equal(listed.code, 0, listed.stderr);
    t.match(listed.stdout, /^TIME\s+EVENT\s+ACTOR\s+REQUEST/);
    t.match(listed.stdout, new RegExp(`created\\s+key:ops-bot via api\\s+${pending.id} rotate_keys pending`));
    t.match(listed.stdout, new RegExp(`created\\s+key:ops-bot via api\\s+${deploy.id} deploy approved`));
    t.match(listed.stdout, /1-3 of 3/);
    const decisions = await run(['audit', '--actor', 'policy:small-payments']);
    t.equal(decisions.code, 0, decisions.stderr);
    t.match(decisions.stdout, new RegExp(`approved\\s+policy:small-payments via api\\s+${paid.id} pay approved`));
    t.match(decisions.stdout, /1-1 of 1/);

    const json = await run(['audit', '--status', 'approved', '--event-type', 'approved', '--json']);
    t.equal(json.code, 0, json.stderr);
    const page = JSON.parse(json.stdout) as { entries: { requestId: string; actor: string }[] };
    t.same(page.entries.map((e) => e.requestId), [paid.id, deploy.id], 'the policy\'s decision and the person\'s, newest first');
    t.match(page.entries.map((e) => e.actor), ['policy:small-payments', /^key:/]);

    const actors = await run(['audit', 'actors']);
    t.equal(actors.code, 0, actors.stderr);
    t.ok(actors.stdout.split('\n').includes('key:ops-bot'), actors.stdout);

    const bad = await run(['audit', '--status', 'approvd']);
    t.not(bad.code, 0, 'an unknown status is refused before any call');
  });
});
