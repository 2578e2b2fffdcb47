/**
 * Notifications: requests routed to three channels — Slack, Discord (local stand-ins of
 * their APIs) and email (a local SMTP server) — with ONE worker process
 * (`server/src/worker-main.ts`, its concurrency as configured: the defaults unless the
 * environment or the options say otherwise; the table says which it used).
 *
 *  - post lag:   the create's commit (the create call returned) → the stand-in receiving
 *                the message (chat.postMessage, POST /channels/:id/messages, the mail).
 *                Each request takes two job hops: notify_request plans, post_notification
 *                posts (one job per destination).
 *  - update lag: the decision's commit → the stand-in receiving the message's update
 *                (chat.update, PATCH …/messages/:id). Email has no update (a sent mail cannot
 *                change; its links stop working).
 *
 * Two phases, on the same worker:
 *  - burst: N requests (1,000 by default) created at once, 8 at a time; once every message
 *    id is recorded, every request is approved, 8 at a time. The lags are mostly time
 *    queued behind the burst: how long the last of it waits.
 *  - paced: requests created at a steady rate (20 a second by default, for 20 s), open
 *    loop; once every message id is recorded, decided at the same rate. The lags of a
 *    worker that keeps up: what one request waits.
 *
 * Requests are created and decided through the commands the HTTP routes call, in this
 * process; the receivers (bench/receivers.ts) run here too, so one clock times both ends.
 *
 *   node --import tsx bench/notifications.ts [--quick]    (or npm run bench -- --only notifications)
 */
import { pathToFileURL } from 'node:url';
import { connect, type Sql } from '../server/src/db/connect.ts';
import { migrate } from '../server/src/db/migrate.ts';
import { installJobSchema } from '../server/src/jobs/schema.ts';
import { createKey, SYSTEM_METADATA } from '../server/src/keys/commands.ts';
import { createPolicy } from '../server/src/policies/commands.ts';
import { decideRequest } from '../server/src/requests/commands.ts';
import { RequestCreator } from '../server/src/requests/create.ts';
import type { Principal } from '../server/src/requests/decider.ts';
import { discordReceiver, mailReceiver, now, slackReceiver, type Arrivals } from './receivers.ts';
import { round, summarize, table } from './stats.ts';
import { startWorkerProcess, waitUntil, type WorkerProcess } from './worker-process.ts';

export interface NotificationBenchOptions {
  databaseUrl: string;
  quick?: boolean;
  /** Requests of the burst. */
  notificationRequests?: number;
  /** Concurrent creators (and deciders) of the burst. */
  creators?: number;
  /** The paced phase: requests per second, for so many seconds. */
  pacedRate?: number;
  pacedSeconds?: number;
  /** WORKER_CONCURRENCY and WORKER_CHANNEL_CONCURRENCY of the worker; unset: as the environment or the defaults say. */
  workerConcurrency?: number;
  channelConcurrency?: number;
  /** Write the worker's V8 CPU profile to this folder. */
  cpuProfDir?: string;
  log?: (line: string) => void;
}

const DISCORD_CHANNEL = '112233445566778899';
const CHANNELS = ['slack', 'discord', 'email'] as const;
const UPDATED_CHANNELS = ['slack', 'discord'] as const;

interface PhaseArrivals {
  posted: Record<(typeof CHANNELS)[number], Arrivals>;
  updated: Record<(typeof UPDATED_CHANNELS)[number], Arrivals>;
}

interface PhaseResult {
  requests: number;
  lags: Array<[string, ReturnType<typeof summarize>]>;
  messagesPerSecond: number;
  updatesPerSecond: number;
  createSeconds: number;
  postSeconds: number;
  updateSeconds: number;
}

/** Closed loop: `workers` callers, each starting the next item when its last one finished. */
async function inParallel(n: number, workers: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < n) await fn(next++);
  }));
}

/** Open loop: item i starts at start + i / rate, whether or not earlier ones finished. */
async function atRate(n: number, rate: number, fn: (i: number) => Promise<void>) {
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(fn(i));
  }
  await Promise.all(pending);
}

const lags = (from: Map<string, number>, to: Arrivals) =>
  summarize(Float64Array.from([...to.first].filter(([id]) => from.has(id)).map(([id, at]) => at - from.get(id)!)));

/** Creates `n` requests (as the schedule says), waits for all their messages and ids, decides them all, waits for the updates. */
async function runPhase(sql: Sql, arrivals: PhaseArrivals, principal: Principal, opts: {
  action: string; n: number; schedule: (n: number, fn: (i: number) => Promise<void>) => Promise<void>; timeoutMs: number;
}): Promise<PhaseResult> {
  const { n, timeoutMs } = opts;
  const creator = RequestCreator.standalone(sql);
  const createdAt = new Map<string, number>();
  const ids: string[] = [];
  const start = now();
  await opts.schedule(n, async (i) => {
    const { request } = await creator.create({ action: opts.action, params: { i, service: 'billing' } }, principal, SYSTEM_METADATA);
    createdAt.set(request.id, now());
    ids.push(request.id);
  });
  const createSeconds = (now() - start) / 1000;
  const mine = (a: Arrivals) => [...a.first.keys()].filter((id) => createdAt.has(id)).length;
  await waitUntil(() => CHANNELS.every((c) => mine(arrivals.posted[c]) >= n), `${n * 3} messages`, timeoutMs);
  const postSeconds = (Math.max(...CHANNELS.map((c) => arrivals.posted[c].last())) - start) / 1000;
  // Every message id recorded before deciding: an update waits for its message's id.
  await waitUntil(async () => (await sql<{ n: number }[]>`
    select count(*)::int as n from notification_messages where status = 'posted' and request_id = any(${ids}::text[])`)[0]!.n >= n * 3,
  'the message ids recorded', timeoutMs);

  const decidedAt = new Map<string, number>();
  const decideStart = now();
  await opts.schedule(n, async (i) => {
    const id = ids[i]!;
    await decideRequest(sql, id, 'approved', 'bench', null, principal, SYSTEM_METADATA);
    decidedAt.set(id, now());
  });
  await waitUntil(() => UPDATED_CHANNELS.every((c) => mine(arrivals.updated[c]) >= n), `${n * 2} updates`, timeoutMs);
  const updateSeconds = (Math.max(...UPDATED_CHANNELS.map((c) => arrivals.updated[c].last())) - decideStart) / 1000;
  return {
    requests: n,
    lags: [
      ...CHANNELS.map((c): [string, ReturnType<typeof summarize>] => [`post ${c}`, lags(createdAt, arrivals.posted[c])]),
      ...UPDATED_CHANNELS.map((c): [string, ReturnType<typeof summarize>] => [`update ${c}`, lags(decidedAt, arrivals.updated[c])]),
    ],
    messagesPerSecond: (n * 3) / postSeconds,
    updatesPerSecond: (n * 2) / updateSeconds,
    createSeconds, postSeconds, updateSeconds,
  };
}

export async function run(opts: NotificationBenchOptions): Promise<Record<string, number | string>> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const burst = opts.notificationRequests ?? (opts.quick ? 100 : 1000);
  const creators = opts.creators ?? 8;
  const pacedRate = opts.pacedRate ?? 20;
  const pacedSeconds = opts.pacedSeconds ?? (opts.quick ? 5 : 20);
  const paced = Math.round(pacedRate * pacedSeconds);
  const timeoutMs = Math.max(180_000, burst * 300);
  const sql: Sql = connect(opts.databaseUrl, { max: creators + 2, applicationName: 'agentgate-bench-notifications' });
  const receivers: Array<{ close(): Promise<void> }> = [];
  let worker: WorkerProcess | null = null;
  try {
    await migrate(sql);
    await installJobSchema(sql, opts.databaseUrl);
    const slack = await slackReceiver();
    receivers.push(slack);
    const discord = await discordReceiver();
    receivers.push(discord);
    const mail = await mailReceiver();
    receivers.push(mail);
    const arrivals: PhaseArrivals = {
      posted: { slack: slack.posted, discord: discord.posted, email: mail.posted },
      updated: { slack: slack.updated, discord: discord.updated },
    };

    const { id: keyId } = await createKey(sql, { name: 'bench notifications', scopes: ['admin'], rateLimit: null }, SYSTEM_METADATA);
    const principal: Principal = { type: 'key', id: keyId, name: 'bench notifications', admin: true };
    await createPolicy(sql, {
      name: 'bench: three channels', priority: 1, enabled: true,
      rules: [{ match: { action: 'bench.notify.*' }, decision: 'route_to_human', channels: ['slack:#approvals', `discord:${DISCORD_CHANNEL}`, 'email:ops@example.com'] }],
    } as never, SYSTEM_METADATA);

    worker = startWorkerProcess({
      DATABASE_URL: opts.databaseUrl, PUBLIC_URL: 'https://gate.example.com',
      SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_API_URL: slack.url,
      DISCORD_BOT_TOKEN: 'bench-discord-token', DISCORD_API_URL: discord.url,
      SMTP_URL: mail.url, SMTP_FROM: 'AgentGate <gate@example.com>',
      ...(opts.workerConcurrency ? { WORKER_CONCURRENCY: String(opts.workerConcurrency) } : {}),
      ...(opts.channelConcurrency ? { WORKER_CHANNEL_CONCURRENCY: String(opts.channelConcurrency) } : {}),
    }, opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {});
    await worker.ready(sql);
    const { WORKER_CONCURRENCY, WORKER_CHANNEL_CONCURRENCY, SMTP_POOL_SIZE } = worker.config;

    const phases: Array<[string, PhaseResult]> = [
      ['burst', await runPhase(sql, arrivals, principal, {
        action: 'bench.notify.burst', n: burst, timeoutMs,
        schedule: (n, fn) => inParallel(n, creators, fn),
      })],
      ['paced', await runPhase(sql, arrivals, principal, {
        action: 'bench.notify.paced', n: paced, timeoutMs,
        schedule: (n, fn) => atRate(n, pacedRate, fn),
      })],
    ];
    const extra = {
      slack: slack.posted.extra, discord: discord.posted.extra, email: mail.posted.extra,
      slackUpdates: slack.updated.extra, discordUpdates: discord.updated.extra,
    };

    const workerNote = `1 process (npm run worker), WORKER_CONCURRENCY=${WORKER_CONCURRENCY}, WORKER_CHANNEL_CONCURRENCY=${WORKER_CHANNEL_CONCURRENCY}, SMTP_POOL_SIZE=${SMTP_POOL_SIZE}`;
    log(`notifications: burst of ${burst} requests × 3 channels (${creators} at a time), then ${paced} paced at ${pacedRate}/s; worker: ${workerNote}`);
    log(table(['phase', 'lag (ms)', 'count', 'p50', 'p95', 'p99', 'max'], phases.flatMap(([phase, r]) =>
      r.lags.map(([name, s]) => [phase, name, s.count, round(s.p50, 1), round(s.p95, 1), round(s.p99, 1), round(s.max, 1)]))));
    for (const [phase, r] of phases) {
      log(`${phase}: created in ${round(r.createSeconds, 1)} s; ${r.requests * 3} messages in ${round(r.postSeconds, 1)} s from the first create `
        + `(${round(r.messagesPerSecond, 0)} messages/s); ${r.requests * 2} updates in ${round(r.updateSeconds, 1)} s from the first decision (${round(r.updatesPerSecond, 0)} updates/s)`);
    }
    log(`SMTP connections opened: ${mail.connections()}; extra posts/updates: ${JSON.stringify(extra)}\n`);

    const out: Record<string, number | string> = {};
    for (const [phase, r] of phases) {
      for (const [name, s] of r.lags) {
        const key = `${phase}.${name.replace(' ', '-')}`;
        out[`${key}.count`] = s.count;
        out[`${key}.p50_ms`] = round(s.p50, 1);
        out[`${key}.p95_ms`] = round(s.p95, 1);
        out[`${key}.p99_ms`] = round(s.p99, 1);
      }
      out[`${phase}.messages_per_s`] = round(r.messagesPerSecond, 0);
      out[`${phase}.updates_per_s`] = round(r.updatesPerSecond, 0);
    }
    out['paced rate'] = `${pacedRate} requests/s (${pacedRate * 3} messages/s offered) for ${pacedSeconds} s`;
    out['worker'] = workerNote;
    out['extra posts/updates'] = JSON.stringify(extra);
    return out;
  } finally {
    await worker?.stop();
    for (const r of receivers.reverse()) await r.close();
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('set DATABASE_URL (a scratch database: the bench migrates it and adds data), or run npm run bench -- --only notifications');
  await run({ databaseUrl, quick: process.argv.includes('--quick') });
  process.exit(0);
}
