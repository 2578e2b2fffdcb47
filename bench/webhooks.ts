/**
 * Webhook delivery: N requests (1,000 by default) × 5 webhooks to a receiver on 127.0.0.1.
 *
 * - The worker is `server/src/worker-main.ts` (what `npm run worker` runs) as a child
 *   process, WORKER_CONCURRENCY 5 (the default): the receiver and the request creators
 *   run in this process, so they do not share the worker's event loop.
 * - Requests are created in this process through RequestCreator (the command the HTTP
 *   route calls, without HTTP), 8 at a time; each one's `request.created` fans out to 5
 *   deliveries (one queue per webhook, so at most 5 run at once whatever the concurrency).
 * - The receiver answers 200 at once; every delivery has exactly one attempt, recorded as
 *   an event (checked at the end).
 *
 * Phases, each with its own 5 webhooks:
 *   backlog — all requests created with the worker stopped, then the worker starts:
 *             deliveries/s while draining (worker start → last delivery received).
 *   live    — requests created as fast as the creators go while the worker runs:
 *             deliveries/s (first event → last delivery) and event → first-attempt latency
 *             (the event's recorded_at, which the body carries as `timestamp`, to the
 *             receiver's arrival; one clock). The creators outrun the worker, so this
 *             latency is mostly time spent queued.
 *   paced   — requests at a fixed rate below the worker's capacity (open loop): the
 *             event → first-attempt latency of a worker that keeps up.
 *
 *   node --import tsx bench/webhooks.ts [--quick]    (DATABASE_URL: the server to create a scratch database on)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect, type Sql } from '../server/src/db/connect.ts';
import { migrate } from '../server/src/db/migrate.ts';
import { ROOT_DIR } from '../server/src/db/paths.ts';
import { installJobSchema } from '../server/src/jobs/schema.ts';
import { createKey, SYSTEM_METADATA } from '../server/src/keys/commands.ts';
import { RequestCreator } from '../server/src/requests/create.ts';
import type { Principal } from '../server/src/requests/decider.ts';
import { createWebhook, deleteWebhook } from '../server/src/webhooks/commands.ts';
import { round, summarize, table } from './stats.ts';

export interface WebhookBenchOptions {
  databaseUrl: string;
  quick?: boolean;
  /** Requests of the backlog and live phases (each fans out to `webhooks` deliveries); not
   *  the runner's --requests, which sizes the create bench. */
  webhookRequests?: number;
  webhooks?: number;
  workerConcurrency?: number;
  /** Concurrent request creators. */
  creators?: number;
  /** Requests of the paced phase, and their rate per second. */
  pacedRequests?: number;
  pacedRate?: number;
  log?: (line: string) => void;
}

const creators = new WeakMap<Sql, RequestCreator>();
/** One creator per pool, as a server process has one. */
function creatorFor(sql: Sql): RequestCreator {
  let c = creators.get(sql);
  if (!c) creators.set(sql, (c = RequestCreator.standalone(sql)));
  return c;
}

interface Arrival { at: number; latencyMs: number }

function startReceiver(): Promise<{ server: Server; url: string; arrivals: Map<string, Arrival>; onArrival: (fn: () => void) => void }> {
  const arrivals = new Map<string, Arrival>();
  let listener = () => {};
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { deliveryId: string; timestamp: string };
      if (!arrivals.has(body.deliveryId)) arrivals.set(body.deliveryId, { at, latencyMs: at - Date.parse(body.timestamp) });
      res.writeHead(200).end();
      listener();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrivals,
    onArrival: (fn) => { listener = fn; },
  })));
}

function startWorker(databaseUrl: string, concurrency: number): { child: ChildProcess; stop: () => Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT_DIR, 'server/src/worker-main.ts')], {
    cwd: ROOT_DIR,
    env: {
      ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', WEBHOOK_ALLOW_PRIVATE: 'true',
      WORKER_CONCURRENCY: String(concurrency),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
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

/** Open loop: request i is sent at start + i / rate, whether or not earlier ones finished. */
async function createPaced(sql: Sql, n: number, rate: number, principal: Principal) {
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(creatorFor(sql).create({ action: 'bench.webhook.paced', params: { i } }, principal, SYSTEM_METADATA));
  }
  await Promise.all(pending);
}

async function createRequests(sql: Sql, n: number, creators: number, principal: Principal, phase: string) {
  let next = 0;
  const one = async () => {
    while (next < n) {
      const i = next++;
      await creatorFor(sql).create({ action: `bench.webhook.${phase}`, params: { i } }, principal, SYSTEM_METADATA);
    }
  };
  await Promise.all(Array.from({ length: creators }, one));
}

export async function run(opts: WebhookBenchOptions): Promise<Record<string, number | string>> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const requests = opts.webhookRequests ?? (opts.quick ? 200 : 1000);
  const webhookCount = opts.webhooks ?? 5;
  const concurrency = opts.workerConcurrency ?? 5;
  const creators = opts.creators ?? 8;
  const pacedRequests = opts.pacedRequests ?? (opts.quick ? 50 : 300);
  const pacedRate = opts.pacedRate ?? 20;
  const expected = requests * webhookCount;
  const timeoutMs = Math.max(120_000, expected * 20);

  const sql = connect(opts.databaseUrl, { max: creators + 2, applicationName: 'agentgate-bench-webhooks' });
  const receiver = await startReceiver();
  let worker: ReturnType<typeof startWorker> | null = null;
  try {
    await migrate(sql);
    await installJobSchema(sql, opts.databaseUrl);
    const { id: keyId } = await createKey(sql, { name: 'bench webhooks', scopes: ['admin'], rateLimit: null }, SYSTEM_METADATA);
    const principal: Principal = { type: 'key', id: keyId, name: 'bench webhooks', admin: true };

    const subscribe = async () => {
      const ids: string[] = [];
      for (let i = 0; i < webhookCount; i++) {
        const { id } = await createWebhook(sql, { url: `${receiver.url}/${i}`, events: ['request.created'] }, { allowPrivate: true }, SYSTEM_METADATA);
        ids.push(id);
      }
      return ids;
    };
    const unsubscribe = async (ids: string[]) => { for (const id of ids) await deleteWebhook(sql, id, SYSTEM_METADATA); };
    const workerReady = async (child: ChildProcess) => {
      await waitUntil(async () => {
        if (child.exitCode !== null) throw new Error('the worker process exited');
        return (await sql`select 1 from worker_heartbeats`).length > 0;
      }, 'the worker to start', 60_000);
    };

    // backlog: everything queued first, then drained.
    let hooks = await subscribe();
    await createRequests(sql, requests, creators, principal, 'backlog');
    const [queued] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'deliver_webhook'`;
    if (queued!.n !== expected) throw new Error(`expected ${expected} queued deliveries, found ${queued!.n}`);
    worker = startWorker(opts.databaseUrl, concurrency);
    await workerReady(worker.child);
    const drainStart = Date.now();
    await waitUntil(() => receiver.arrivals.size >= expected, 'the backlog to drain', timeoutMs);
    const backlogSeconds = (Math.max(...[...receiver.arrivals.values()].map((a) => a.at)) - drainStart) / 1000;
    await unsubscribe(hooks);

    // live: requests created while the worker runs.
    receiver.arrivals.clear();
    hooks = await subscribe();
    const liveStart = Date.now();
    await createRequests(sql, requests, creators, principal, 'live');
    const createSeconds = (Date.now() - liveStart) / 1000;
    await waitUntil(() => receiver.arrivals.size >= expected, 'the live deliveries', timeoutMs);
    const live = [...receiver.arrivals.values()];
    const liveSeconds = (Math.max(...live.map((a) => a.at)) - liveStart) / 1000;
    const latency = summarize(Float64Array.from(live.map((a) => a.latencyMs)));
    await unsubscribe(hooks);

    // paced: a rate the worker keeps up with.
    receiver.arrivals.clear();
    hooks = await subscribe();
    const pacedExpected = pacedRequests * webhookCount;
    await createPaced(sql, pacedRequests, pacedRate, principal);
    await waitUntil(() => receiver.arrivals.size >= pacedExpected, 'the paced deliveries', timeoutMs);
    const paced = summarize(Float64Array.from([...receiver.arrivals.values()].map((a) => a.latencyMs)));
    const totalExpected = 2 * expected + pacedExpected;

    // Every delivery was recorded exactly once, as one successful attempt (events, since
    // deleting a phase's webhooks removes its rows from the deliveries projection).
    const recorded = async () => (await sql<{ attempts: number; distinct: number; ok: number }[]>`
      select count(*)::int as attempts,
             count(distinct (data->>'deliveryId', data->>'attempt'))::int as distinct,
             count(*) filter (where (data->>'ok')::boolean)::int as ok
      from events where type = 'webhook.delivery_attempted'`)[0]!;
    await waitUntil(async () => (await recorded()).attempts >= totalExpected, 'every attempt to be recorded', timeoutMs);
    const check = await recorded();
    if (check.attempts !== totalExpected || check.distinct !== totalExpected || check.ok !== totalExpected) {
      throw new Error(`expected ${totalExpected} successful attempts recorded once, got ${JSON.stringify(check)}`);
    }

    const result = {
      'backlog.deliveries': expected,
      'backlog.seconds': round(backlogSeconds),
      'backlog.deliveries_per_s': round(expected / backlogSeconds, 0),
      'live.deliveries': expected,
      'live.seconds': round(liveSeconds),
      'live.deliveries_per_s': round(expected / liveSeconds, 0),
      'live.requests_per_s': round(requests / createSeconds, 0),
      'live.latency_p50_ms': round(latency.p50, 0),
      'live.latency_p95_ms': round(latency.p95, 0),
      'live.latency_p99_ms': round(latency.p99, 0),
      'live.latency_max_ms': round(latency.max, 0),
      'paced.deliveries': pacedExpected,
      'paced.requests_per_s': pacedRate,
      'paced.deliveries_per_s': pacedRate * webhookCount,
      'paced.latency_p50_ms': round(paced.p50, 0),
      'paced.latency_p95_ms': round(paced.p95, 0),
      'paced.latency_p99_ms': round(paced.p99, 0),
      'paced.latency_max_ms': round(paced.max, 0),
      requests_per_phase: requests,
      webhooks: webhookCount,
      worker: `1 process (npm run worker), WORKER_CONCURRENCY=${concurrency}`,
    };
    log(`webhooks: ${requests} requests × ${webhookCount} webhooks per phase, worker concurrency ${concurrency}, ${creators} creators`);
    log(table(
      ['phase', 'deliveries', 's', 'deliveries/s', 'requests/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      [
        ['backlog', expected, result['backlog.seconds'], result['backlog.deliveries_per_s'], '', '', '', '', ''],
        ['live', expected, result['live.seconds'], result['live.deliveries_per_s'], result['live.requests_per_s'],
          result['live.latency_p50_ms'], result['live.latency_p95_ms'], result['live.latency_p99_ms'], result['live.latency_max_ms']],
        ['paced', pacedExpected, '', `${pacedRate * webhookCount} (offered)`, pacedRate,
          result['paced.latency_p50_ms'], result['paced.latency_p95_ms'], result['paced.latency_p99_ms'], result['paced.latency_max_ms']],
      ],
    ));
    log('latency: event recorded → first attempt received; live is a burst the worker queues, paced a rate it keeps up with\n');
    return result;
  } finally {
    await worker?.stop();
    await new Promise<void>((resolve) => {
      receiver.server.closeAllConnections();
      receiver.server.close(() => resolve());
    });
    await sql.end({ timeout: 1 });
  }
}

// Alone: a scratch database on DATABASE_URL's server, dropped afterwards.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `agentgate_bench_${randomBytes(6).toString('hex')}`;
  const admin = connect(serverUrl, { max: 1 });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let code = 0;
  try {
    await run({ databaseUrl: url.toString(), quick: process.argv.includes('--quick') });
  } catch (err) {
    console.error(err);
    code = 1;
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 1 });
  }
  process.exit(code);
}
