import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import pc from 'picocolors';
import type { PolicyInput, WebhookEvent } from '@agentgate/sdk';
import { UsageError } from '../errors.ts';
import { list, positiveInt, type Ctx, type Run } from '../context.ts';
import { fields, table, when } from '../output.ts';

async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`Cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function keyCommands(program: Command, run: Run): void {
  const keys = program.command('keys').description('Manage API keys (needs key:manage or admin)');

  keys.command('whoami').description('Show the key the CLI is using: its name, scopes and rate limit (any key)')
    .action(run(async (ctx: Ctx) => {
      const me = await (await ctx.client()).whoami({ signal: ctx.signal });
      if (ctx.json) return ctx.outJson(me);
      ctx.out(fields([['id', me.id], ['name', me.name], ['scopes', me.scopes.join(',')],
        ['rate limit', me.rateLimit === null ? 'unlimited' : `${me.rateLimit}/min`]]));
    }));

  keys.command('list').description('List API keys (never the keys themselves)')
    .option('--all', 'include revoked keys')
    .action(run(async (ctx: Ctx, o: { all?: boolean }) => {
      const rows = await (await ctx.client()).listKeys({ includeRevoked: o.all ?? false }, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(rows);
      if (rows.length === 0) return ctx.out(pc.dim('No keys.'));
      ctx.out(table(rows, [
        { header: 'ID', value: (k) => k.id },
        { header: 'NAME', value: (k) => k.name },
        { header: 'PREFIX', value: (k) => `${k.prefix}…` },
        { header: 'SCOPES', value: (k) => k.scopes.join(',') },
        { header: 'RATE/MIN', value: (k) => (k.rateLimit === null ? '∞' : String(k.rateLimit)) },
        { header: 'CREATED', value: (k) => when(k.createdAt) },
        { header: 'LAST USED', value: (k) => (k.lastUsedAt ? when(k.lastUsedAt) : pc.dim('never')) },
        { header: 'STATE', value: (k) => (k.active ? pc.green('active') : pc.red('revoked')) },
      ]));
    }));

  keys.command('create').description('Create a key; it is shown once')
    .requiredOption('--name <name>', 'a name to recognise it by')
    .requiredOption('--scopes <scopes>', 'comma-separated, e.g. request:create,request:read')
    .option('--rate-limit <perMinute>', 'requests per minute (default unlimited)')
    .action(run(async (ctx: Ctx, o: { name: string; scopes: string; rateLimit?: string }) => {
      const created = await (await ctx.client()).createKey(
        { name: o.name, scopes: list(o.scopes) as never, rateLimit: positiveInt('--rate-limit', o.rateLimit) ?? null }, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(created);
      ctx.out(fields([['id', created.id], ['name', created.name], ['scopes', created.scopes.join(',')], ['key', pc.bold(created.key)]]));
      ctx.err(pc.yellow('Store the key now: it is not shown again.'));
    }));

  keys.command('revoke').description('Revoke a key: it stops working at once').argument('<id>')
    .action(run(async (ctx: Ctx, id: string) => {
      const k = await (await ctx.client()).revokeKey(id, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(k);
      ctx.out(`${k.id} (${k.name}) ${pc.red('revoked')}`);
    }));
}

export function policyCommands(program: Command, run: Run): void {
  const policies = program.command('policies').description('Manage policies (needs policy:read / policy:write)');

  policies.command('list').description('List policies in evaluation order')
    .action(run(async (ctx: Ctx) => {
      const rows = await (await ctx.client()).listPolicies({ signal: ctx.signal });
      if (ctx.json) return ctx.outJson(rows);
      if (rows.length === 0) return ctx.out(pc.dim('No policies: every request goes to a human.'));
      ctx.out(table(rows, [
        { header: 'ID', value: (p) => p.id },
        { header: 'PRIORITY', value: (p) => String(p.priority) },
        { header: 'NAME', value: (p) => p.name },
        { header: 'RULES', value: (p) => p.rules.map((r) => r.decision).join(',') },
        { header: 'ENABLED', value: (p) => (p.enabled ? pc.green('yes') : pc.gray('no')) },
        { header: 'VERSION', value: (p) => String(p.version) },
      ]));
    }));

  policies.command('get').description('Show one policy with its rules').argument('<id>')
    .action(run(async (ctx: Ctx, id: string) => {
      const p = await (await ctx.client()).getPolicy(id, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(p);
      ctx.out(fields([
        ['id', p.id], ['name', pc.bold(p.name)], ['description', p.description], ['priority', String(p.priority)],
        ['enabled', p.enabled ? 'yes' : 'no'], ['version', String(p.version)], ['updated', when(p.updatedAt)],
      ]));
      ctx.out(JSON.stringify(p.rules, null, 2));
    }));

  policies.command('create').description('Create a policy from a JSON file ("-" reads stdin)')
    .requiredOption('--file <path>', 'the policy as JSON: { name, priority, enabled, rules: [...] }')
    .action(run(async (ctx: Ctx, o: { file: string }) => {
      const body = await readJsonFile(o.file);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new UsageError(`${o.file} must hold a JSON object`);
      const p = await (await ctx.client()).createPolicy(body as PolicyInput, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(p);
      ctx.out(`${p.id} ${pc.bold(p.name)} created (priority ${p.priority}, ${p.rules.length} rule${p.rules.length === 1 ? '' : 's'})`);
    }));

  policies.command('delete').description('Delete a policy (its history stays in the log)').argument('<id>')
    .action(run(async (ctx: Ctx, id: string) => {
      const res = await (await ctx.client()).deletePolicy(id, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(res);
      ctx.out(`${id} deleted`);
    }));
}

export function webhookCommands(program: Command, run: Run): void {
  const webhooks = program.command('webhooks').description('Manage webhooks (needs webhook:manage)');

  webhooks.command('list').description('List webhooks')
    .action(run(async (ctx: Ctx) => {
      const rows = await (await ctx.client()).listWebhooks({ signal: ctx.signal });
      if (ctx.json) return ctx.outJson(rows);
      if (rows.length === 0) return ctx.out(pc.dim('No webhooks.'));
      ctx.out(table(rows, [
        { header: 'ID', value: (w) => w.id },
        { header: 'URL', value: (w) => w.url },
        { header: 'EVENTS', value: (w) => w.events.join(',') },
        { header: 'ENABLED', value: (w) => (w.enabled ? pc.green('yes') : pc.gray('no')) },
        { header: 'CREATED', value: (w) => when(w.createdAt) },
      ]));
    }));

  webhooks.command('create').description('Subscribe a URL to events; the signing secret is shown once')
    .requiredOption('--url <url>', 'where to POST the events (https://…)')
    .option('--events <events>', 'comma-separated: request.created,request.decided,request.expired,request.cancelled,policy.changed or *', '*')
    .option('--secret <secret>', 'the HMAC secret (≥ 32 characters; generated when absent)')
    .option('--description <text>')
    .action(run(async (ctx: Ctx, o: { url: string; events: string; secret?: string; description?: string }) => {
      const w = await (await ctx.client()).createWebhook({
        url: o.url, events: (list(o.events) ?? ['*']) as WebhookEvent[], ...(o.secret && { secret: o.secret }), ...(o.description && { description: o.description }),
      }, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(w);
      ctx.out(fields([['id', w.id], ['url', w.url], ['events', w.events.join(',')], ['secret', pc.bold(w.secret)]]));
      ctx.err(pc.yellow('Store the secret now: it is not shown again.'));
    }));

  webhooks.command('delete').description('Delete a webhook').argument('<id>')
    .action(run(async (ctx: Ctx, id: string) => {
      const res = await (await ctx.client()).deleteWebhook(id, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(res);
      ctx.out(`${id} deleted`);
    }));
}

/** The original CLI's `override` commands, with its flags, on /api/overrides. */
export function overrideCommands(program: Command, run: Run): void {
  const overrides = program.command('override').description('Temporary rules in front of every policy (needs policy:write; list needs policy:read)');

  overrides.command('create').description('Deny, or send to a person, every request whose action matches, until removed or expired')
    .requiredOption('-t, --tool <glob>', 'the action (tool) to match; * any run, ? one character, e.g. "deploy_*"')
    .option('-a, --agent <keyId>', 'only requests made with this key (default: every key)')
    .option('--action <action>', 'require_approval | deny', 'require_approval')
    .option('-r, --reason <reason>', 'why (shown on every request it holds)')
    .option('--ttl <seconds>', 'expire after this many seconds (default: until removed)')
    .action(run(async (ctx: Ctx, o: { tool: string; agent?: string; action: string; reason?: string; ttl?: string }) => {
      const decision = o.action === 'deny' ? 'auto_deny' : o.action === 'require_approval' ? 'route_to_human' : null;
      if (!decision) throw new UsageError('--action must be require_approval or deny');
      const ttl = positiveInt('--ttl', o.ttl);
      const created = await (await ctx.client()).createOverride({
        action: o.tool, decision, reason: o.reason ?? `override by ${o.action}`,
        ...(o.agent ? { agentKeyId: o.agent } : {}),
        ...(ttl !== undefined ? { expiresAt: new Date(Date.now() + ttl * 1000).toISOString() } : {}),
      }, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(created);
      ctx.out(`${created.id} ${created.decision} ${pc.bold(created.action)} for ${created.agentKeyId ?? 'every key'}`
        + (created.expiresAt ? ` until ${when(created.expiresAt)}` : ''));
    }));

  overrides.command('list').description('The overrides in force, oldest first')
    .action(run(async (ctx: Ctx) => {
      const rows = await (await ctx.client()).listOverrides({ signal: ctx.signal });
      if (ctx.json) return ctx.outJson(rows);
      if (rows.length === 0) return ctx.out(pc.dim('No active overrides.'));
      ctx.out(table(rows, [
        { header: 'ID', value: (r) => r.id },
        { header: 'DECISION', value: (r) => (r.decision === 'auto_deny' ? pc.red('deny') : pc.yellow('require_approval')) },
        { header: 'ACTION', value: (r) => r.action },
        { header: 'KEY', value: (r) => r.agentKeyId ?? 'every key' },
        { header: 'EXPIRES', value: (r) => (r.expiresAt ? when(r.expiresAt) : pc.dim('never')) },
        { header: 'REASON', value: (r) => r.reason },
      ]));
    }));

  overrides.command('rm').description('Remove an override: it stops applying at once').argument('<id>')
    .action(run(async (ctx: Ctx, id: string) => {
      const r = await (await ctx.client()).removeOverride(id, { signal: ctx.signal });
      if (ctx.json) return ctx.outJson(r);
      ctx.out(`Deleted override ${r.id}`);
    }));
}
