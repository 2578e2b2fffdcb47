/**
 * Notifications: N requests (1,000 by default) routed to three channels at once — Slack,
 * Discord (local stand-ins of their APIs at the documented endpoints, test/helpers/) and
 * email (a real SMTP server, smtp-server + mailparser) — with ONE worker process
 * (`server/src/worker-main.ts`, WORKER_CONCURRENCY as configured, default 5).
 *
 *  - post lag:   the create's commit (the create call returned) → the stand-in receiving
 *                the message (chat.postMessage, POST /channels/:id/messages, the mail parsed).
 *                Each request takes two job hops: notify_request plans, post_notification
 *                posts (one job per destination).
 *  - update lag: the decision's commit → the stand-in receiving the message's update
 *                (chat.update, PATCH …/messages/:id). Email has no update (a sent mail cannot
 *                change; its links stop working).
 *
 * Requests are created 8 at a time through RequestCreator (the command the HTTP route calls),
 * in this process; the stand-ins run here too, so one clock times both ends. Once every
 * message has arrived, every request is approved (8 at a time) and the updates are timed.
 *
 *   node --import tsx bench/notifications.ts [--quick]    (or npm run bench -- --only notifications)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Test } from 'tap';
import { connect, type Sql } from '../server/src/db/connect.ts';
import { migrate } from '../server/src/db/migrate.ts';
import { ROOT_DIR } from '../server/src/db/paths.ts';
import { installJobSchema } from '../server/src/jobs/schema.ts';
import { createKey, SYSTEM_METADATA } from '../server/src/keys/commands.ts';
import { createPolicy } from '../server/src/policies/commands.ts';
import { decideRequest } from '../server/src/requests/commands.ts';
import { RequestCreator } from '../server/src/requests/create.ts';
import type { Principal } from '../server/src/requests/decider.ts';
import { fakeDiscord } from '../test/helpers/fake-discord.ts';
import { fakeSlack } from '../test/helpers/fake-slack.ts';
import { smtpServer } from '../test/helpers/smtp.ts';
import { round, summarize, table } from './stats.ts';

export interface NotificationBenchOptions {
  databaseUrl: string;
  quick?: boolean;
  notificationRequests?: number;
  creators?: number;
  log?: (line: string) => void;
}

const REQUEST_ID = /req_[0-9a-hjkmnp-tv-z]{26}/;
const DISCORD_CHANNEL = '112233445566778899';
const BOT_TOKEN = 'bench-discord-token';

/** The stand-ins want a tap Test only for their teardown; the bench keeps the list itself. */
function teardowns() {
  const fns: Array<() => unknown> = [];
  return { t: { teardown: (fn: () => unknown) => fns.push(fn) } as unknown as Test, run: async () => { for (const fn of fns.reverse()) await fn(); } };
}

/** Stamps the arrival time of everything pushed onto a stand-in's record array. */
function stamped<T>(list: T[], requestIdOf: (item: T) => string | null, into: Map<string, number>) {
  const push = list.push.bind(list);
  list.push = (...items: T[]) => {
    const now = performance.now();
    for (const item of items) {
      const id = requestIdOf(item);
      if (id && !into.has(id)) into.set(id, now);
    }
    return push(...items);
  };
}

function startWorker(env: Record<string, string>): { child: ChildProcess; stop: () => Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT_DIR, 'server/src/worker-main.ts')], {
    cwd: ROOT_DIR, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function inParallel(n: number, workers: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < n) await fn(next++);
  }));
}

const lags = (from: Map<string, number>, to: Map<string, number>) =>
  summarize(Float64Array.from([...to].filter(([id]) => from.has(id)).map(([id, at]) => at - from.get(id)!)));

export async function run(opts: NotificationBenchOptions): Promise<Record<string, number | string>> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const requests = opts.notificationRequests ?? (opts.quick ? 100 : 1000);
  const creators = opts.creators ?? 8;
  const timeoutMs = Math.max(180_000, requests * 300);
  const down = teardowns();
  const sql: Sql = connect(opts.databaseUrl, { max: creators + 2, applicationName: 'agentgate-bench-notifications' });
  let worker: ReturnType<typeof startWorker> | null = null;
  try {
    await migrate(sql);
    await installJobSchema(sql, opts.databaseUrl);
    const slack = await fakeSlack(down.t);
    const discord = await fakeDiscord(down.t, { botToken: BOT_TOKEN });
    const mailbox = await smtpServer(down.t);

    const posted = { slack: new Map<string, number>(), discord: new Map<string, number>(), email: new Map<string, number>() };
    const updated = { slack: new Map<string, number>(), discord: new Map<string, number>() };
    const idIn = (x: unknown) => REQUEST_ID.exec(JSON.stringify(x))?.[0] ?? null;
    stamped(slack.calls, (c) => (c.method === 'chat.postMessage' ? idIn(c.args) : null), posted.slack);
    stamped(slack.calls, (c) => (c.method === 'chat.update' ? idIn(c.args) : null), updated.slack);
    stamped(discord.calls, (c) => (c.method === 'POST' && c.path.endsWith('/messages') ? idIn(c.body) : null), posted.discord);
    stamped(discord.calls, (c) => (c.method === 'PATCH' ? idIn(c.body) : null), updated.discord);
    stamped(mailbox.mails, (m) => String(m.headers.get('x-agentgate-request') ?? '') || null, posted.email);

    const { id: keyId } = await createKey(sql, { name: 'bench notifications', scopes: ['admin'], rateLimit: null }, SYSTEM_METADATA);
    const principal: Principal = { type: 'key', id: keyId, name: 'bench notifications', admin: true };
    await createPolicy(sql, {
      name: 'bench: three channels', priority: 1, enabled: true,
      rules: [{ match: { action: 'bench.notify' }, decision: 'route_to_human', channels: ['slack:#approvals', `discord:${DISCORD_CHANNEL}`, 'email:ops@example.com'] }],
    } as never, SYSTEM_METADATA);

    worker = startWorker({
      DATABASE_URL: opts.databaseUrl, PUBLIC_URL: 'https://gate.example.com',
      SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_API_URL: slack.apiUrl,
      DISCORD_BOT_TOKEN: BOT_TOKEN, DISCORD_API_URL: discord.apiUrl,
      SMTP_URL: mailbox.url, SMTP_FROM: 'AgentGate <gate@example.com>',
    });
    await waitUntil(async () => {
      if (worker!.child.exitCode !== null) throw new Error('the worker process exited');
      return (await sql`select 1 from worker_heartbeats`).length > 0;
    }, 'the worker to start', 60_000);

    const creator = RequestCreator.standalone(sql);
    const createdAt = new Map<string, number>();
    const ids: string[] = [];
    const start = performance.now();
    await inParallel(requests, creators, async (i) => {
      const { request } = await creator.create({ action: 'bench.notify', params: { i, service: 'billing' } }, principal, SYSTEM_METADATA);
      createdAt.set(request.id, performance.now());
      ids.push(request.id);
    });
    const createSeconds = (performance.now() - start) / 1000;
    const all = () => posted.slack.size + posted.discord.size + posted.email.size;
    await waitUntil(() => all() >= requests * 3, `${requests * 3} messages`, timeoutMs);
    const postSeconds = (Math.max(...Object.values(posted).flatMap((m) => [...m.values()])) - start) / 1000;
    // Every message id recorded before deciding: an update waits for its message's id.
    await waitUntil(async () => (await sql<{ n: number }[]>`select count(*)::int as n from notification_messages where status = 'posted'`)[0]!.n >= requests * 3, 'the message ids recorded', timeoutMs);

    const decidedAt = new Map<string, number>();
    const decideStart = performance.now();
    await inParallel(ids.length, creators, async (i) => {
      const id = ids[i]!;
      await decideRequest(sql, id, 'approved', 'bench', null, principal, SYSTEM_METADATA);
      decidedAt.set(id, performance.now());
    });
    await waitUntil(() => updated.slack.size + updated.discord.size >= requests * 2, `${requests * 2} updates`, timeoutMs);
    const updateSeconds = (Math.max(...[...updated.slack.values(), ...updated.discord.values()]) - decideStart) / 1000;

    const dupes = {
      slack: slack.posted().length - requests, discord: discord.posts().length - requests, email: mailbox.mails.length - requests,
      slackUpdates: slack.updates().length - requests, discordUpdates: discord.edits().length - requests,
    };
    const rows: Array<[string, ReturnType<typeof summarize>]> = [
      ['post slack', lags(createdAt, posted.slack)], ['post discord', lags(createdAt, posted.discord)], ['post email', lags(createdAt, posted.email)],
      ['update slack', lags(decidedAt, updated.slack)], ['update discord', lags(decidedAt, updated.discord)],
    ];
    log(`notifications: ${requests} requests × 3 channels, one worker process`);
    log(table(['lag (ms)', 'count', 'p50', 'p95', 'p99', 'max'], rows.map(([name, s]) => [name, s.count, round(s.p50, 1), round(s.p95, 1), round(s.p99, 1), round(s.max, 1)])));
    log(`created in ${round(createSeconds, 1)} s; all ${requests * 3} messages in ${round(postSeconds, 1)} s (${round((requests * 3) / postSeconds, 0)} messages/s); `
      + `${requests * 2} updates in ${round(updateSeconds, 1)} s after the first decision; extra posts/updates: ${JSON.stringify(dupes)}`);
    const out: Record<string, number | string> = {};
    for (const [name, s] of rows) {
      const key = name.replace(' ', '-');
      out[`${key}.count`] = s.count;
      out[`${key}.p50_ms`] = round(s.p50, 1);
      out[`${key}.p99_ms`] = round(s.p99, 1);
    }
    out['messages per second'] = round((requests * 3) / postSeconds, 0);
    out['duplicates'] = JSON.stringify(dupes);
    return out;
  } finally {
    await worker?.stop();
    await down.run();
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('set DATABASE_URL (a scratch database: the bench migrates it and adds data), or run npm run bench -- --only notifications');
  await run({ databaseUrl, quick: process.argv.includes('--quick') });
  process.exit(0);
}
